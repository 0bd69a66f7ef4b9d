"""Exports on every core: a CSV export written in parts at once, and the findings export
written beside the HTML report instead of after it.

Why: once the analysis is done, the findings export (a few µs of Python per row, 200,000
rows and more for a large capture) and the report are independent reads of the store, and
one process runs one thread of Python at a time. Each part, and the export beside the
report, is written by a forked process with its own read-only connection to the store (a
SQLite connection must not cross a fork); the parent never waits on a pipe before the
child has finished, and a child's failure is reported as the export's error.

A CSV export in parts: the requests with findings, in export order (export.finding_rows),
are divided into one range per part; part 1 is written here, the others by children, each
into a private file beside the target; the parts are then appended in order to the target.
The file is byte for byte the one a single process writes (tests/test_export_parts.py).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import processes
from .export import export_findings, requests_with_findings
from .private_files import make_private
from .store import Store, StoreError

MIN_PART_REQUESTS = 2_000  # fewer requests with findings: one process (a fork costs more than it saves)


def can_fork(store: Store) -> bool:
    """Whether a forked process can read *store* on a connection of its own (committed)."""
    return processes.can_fork() and store.readable_elsewhere()


class Child:
    """*work*(store) run in a forked process with its own connection to the store at
    *path*; `result()` waits for it and returns what *work* returned (or raises its error)."""

    def __init__(self, path: Path, work: Callable[[Store], Any]) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(path, work, send), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> Any:
        try:
            outcome, value = self._receive.recv()
        except EOFError:  # it died before answering (killed, out of memory)
            outcome, value = "error", "the export process ended unexpectedly"
        finally:
            self._process.join()
            self._receive.close()
        if outcome == "error":
            raise StoreError(f"findings export: {value}")
        return value

    def wait(self) -> None:
        """Wait until the process has ended (after `result`, at once)."""
        self._process.join()


def _run(path: Path, work: Callable[[Store], Any], send: Any) -> None:
    """The child's body: never touches the parent's connection, leaves by os._exit (no
    finalizer may close what the parent still uses)."""
    code = 0
    processes.ignore_interrupts()  # this daemon ends with its parent
    try:
        store = Store.reader(path)
        try:
            send.send(("ok", work(store)))
        finally:
            store.close()
    except BaseException as e:  # everything goes back to the parent, which reports it
        code = 1
        try:
            send.send(("error", f"{type(e).__name__}: {e}"))
        except Exception:
            pass
    finally:
        send.close()
        os._exit(code)


def export_csv_in_parts(store: Store, path: Path, redact: bool, show_secrets: bool, parts: int) -> int:
    """export.export_findings(store, path, "csv", ...) with the rows written by *parts*
    processes at once; returns the rows written."""
    total = requests_with_findings(store)
    parts = min(parts, total // MIN_PART_REQUESTS) if can_fork(store) else 1
    if parts <= 1:
        return export_findings(store, path, "csv", redact, show_secrets)
    bounds = [total * k // parts for k in range(parts + 1)]
    files = [path.with_name(f".{path.name}.part{k}") for k in range(1, parts)]
    children = [Child(store.path, _part_writer(file, redact, show_secrets, (bounds[k], bounds[k + 1] - bounds[k])))
                for k, file in enumerate(files, 1)]
    try:
        rows = export_findings(store, path, "csv", redact, show_secrets, (0, bounds[1]))
        for child in children:
            rows += child.result()
        with path.open("ab") as out:
            for file in files:
                with file.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
    finally:
        for child in children:  # (already finished unless the parent's own part failed)
            child.wait()
        for file in files:
            file.unlink(missing_ok=True)
    return rows


def _part_writer(file: Path, redact: bool, show_secrets: bool,
                 requests: tuple[int, int]) -> Callable[[Store], int]:
    def write(store: Store) -> int:
        make_private(file)
        return export_findings(store, file, "csv", redact, show_secrets, requests, header=False)
    return write


def export_beside(store: Store, path: Path, fmt: str, redact: bool, show_secrets: bool) -> Child | None:
    """Start the findings export in a child process, to run while this one builds the
    report; None where processes cannot be forked (then export after the report)."""
    if not can_fork(store) or requests_with_findings(store) < MIN_PART_REQUESTS:
        return None
    return Child(store.path, lambda reader: export_findings(reader, path, fmt, redact, show_secrets))
