"""What every part of leakmap that forks worker processes shares: one capture on every core
(parallel.py), several captures at once (batch.py), exports in parts (export_parts.py)."""

from __future__ import annotations

import multiprocessing
import signal


def can_fork() -> bool:
    """Worker processes that inherit the compiled rules or an open store's path need fork
    (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def ignore_interrupts() -> None:
    """A worker's first step: Ctrl-C in the terminal reaches the whole process group, and
    it is the CLI process's to handle (it stops its workers); a worker would only print a
    traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
