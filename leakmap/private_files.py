"""Files holding captured data are readable by their owner only, whatever the umask.

The findings store, the report and every export hold other people's emails, locations and
device ids; on a shared machine or in a synced folder the usual 0644 would show them to
everyone. Writers call `make_private(path)` just before they write: the file then exists with
mode 0600 (created so, or narrowed if it was already there), and every writer used here
(open(..., "w"), pandas, pyarrow, SQLite) truncates it in place, which keeps that mode, so
overwriting a report stays private too. SQLite gives its -wal and -shm files the database
file's permissions, so a 0600 store keeps its journal private as well.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private_dir(directory: Path) -> None:
    """Create missing directories (and their missing parents) with mode 0700; directories that
    already exist are the user's and keep their mode."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for created in reversed(missing):
        created.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(created, DIR_MODE)  # mkdir's mode is filtered by the umask


def _narrow(path: Path) -> None:
    """Mode 0600 for an existing regular file we own; other files (/dev/stdout, a pipe, one
    another user lets us write) are left as they are."""
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o777 != FILE_MODE and info.st_uid == os.getuid():
            os.chmod(path, FILE_MODE)
    except OSError:
        pass  # the writer that follows reports what is wrong with the path


def make_private(path: Path | str) -> Path:
    """Ensure *path* is a file with mode 0600 before it is written, without changing its content.

    A new file is created with mode 0600 (O_EXCL: it never exists readable by others, not
    even for a moment, and the umask cannot widen 0600); an existing one is narrowed."""
    path = Path(path)
    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE))
    except FileExistsError:
        _narrow(path)
    return path


def make_store_private(path: Path | str) -> None:
    """The SQLite store and the side files a previous run may have left (-wal, -shm): a store
    made before leakmap created files private is narrowed the next time it is opened."""
    path = Path(path)
    make_private(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        _narrow(side)
