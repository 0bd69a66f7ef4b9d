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


def make_private(path: Path | str) -> Path:
    """Ensure *path* exists as a regular file with mode 0600, without changing its content.

    O_CREAT with mode 0600 means the file never exists readable by others, not even for a
    moment; fchmod narrows a file that was already there (the umask cannot widen 0600)."""
    path = Path(path)
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # not /dev/stdout or a pipe the user named
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def make_store_private(path: Path | str) -> None:
    """The SQLite store and the side files a previous run may have left (-wal, -shm): a store
    made before leakmap created files private is narrowed the next time it is opened."""
    path = Path(path)
    make_private(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.is_file() and not side.is_symlink():
            os.chmod(side, FILE_MODE)
