"""Real small filesystems for store-fault tests: a tmpfs of a few KiB fills up like a full
disk (ENOSPC), and a tmpfs remounted read-only refuses writes like a read-only medium (EROFS).
Mounting needs root (or CAP_SYS_ADMIN); the tests that need it skip otherwise."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise OSError(result.stderr.strip())


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """*folder* as a tmpfs of *size* (e.g. "64k") for the duration; skips the test when
    this process may not mount."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder))
    except (OSError, FileNotFoundError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def remount_read_only(folder: Path) -> None:
    _mount("-o", "remount,ro", str(folder))
