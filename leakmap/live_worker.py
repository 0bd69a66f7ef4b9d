"""The live analysis process (`python -m leakmap.live_worker IN_FD OUT_FD`), started by the
proxy's addon (leakmap/live.py explains why a process and what crosses the pipe).

It reads request batches from IN_FD in arrival order, analyses and stores each one with the
session it owns, commits in groups and writes one result per request to OUT_FD once what the
request wrote is committed. Each request is written inside its own SAVEPOINT: a request that
fails half-way is undone alone, not with its group. It exits when the proxy says so or
closes the pipe (the proxy exited), after committing; Ctrl-C in the terminal is the proxy's
to handle, so the process ignores SIGINT and finishes what it was sent.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .decode import Limits
from .live_wire import FrameReader, Outcome, encode_frame, failed, printable, request_of
from .model import LIVE_SOURCE, Analysis, Problem, Request
from .read import decode_request_body
from .session import Session, parse_indicator
from .store import Store, StoreError, store_fault

log = logging.getLogger("leakmap.live")
COMMIT_SECONDS = 0.2  # the longest an analysed request waits for its commit while the proxy is busy
COMMIT_REQUESTS = 100  # ... or this many requests, whichever comes first
Emit = Callable[[int, "Analysis | str | None"], None]  # token, then the Analysis, a failure reason or None


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _sql(store: Store, statement: str) -> None:
    """Run a transaction statement; a SQLite failure becomes the store's one-line StoreError."""
    try:
        store.db.execute(statement)
    except sqlite3.Error as e:
        store.rollback()
        raise store_fault(store.path, e) from None


class GroupedCommits:
    """Writes requests into the open group and commits it when due; *emit* hands out each
    request's result once it is committed (at once when nothing was written)."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self._group: list[tuple[int, Analysis | str]] = []
        self._group_store: Store | None = None
        self._group_started = 0.0
        self._store_faults: set[str] = set()
        self.unsaved = 0  # requests whose analysis could not be written to the store
        self.commits = 0  # how many groups were committed (tests and benchmarks read it)

    def due(self) -> bool:
        return bool(self._group) and (len(self._group) >= COMMIT_REQUESTS
                                      or time.monotonic() - self._group_started >= COMMIT_SECONDS)

    def seconds_left(self) -> float | None:
        """Until the open group is due; None when no group is open."""
        if not self._group:
            return None
        return max(0.0, COMMIT_SECONDS - (time.monotonic() - self._group_started))

    def commit(self) -> None:
        """Commit the open group; each of its requests' results goes out now."""
        group, store = self._group, self._group_store
        self._group, self._group_store = [], None
        if store is None:
            return
        try:
            store.commit()
            self.commits += 1
        except StoreError as e:
            reason = self.store_fault(e, len(group))
            group = [(token, reason) for token, _ in group]
        for token, outcome in group:
            self.emit(token, outcome)

    def analyse(self, session: Session, request: Request, limits: Limits, encoded: bool, token: int) -> None:
        if self.due():
            self.commit()
        try:
            self._begin(session.store)
            if encoded:
                decode_request_body(request, limits)
            outcome = session.feed(request, commit=False)
            if outcome is None:  # nothing written: nothing to wait for
                _sql(session.store, "RELEASE leakmap_request")
                self.emit(token, None)
            else:
                self._join(token, outcome)
        except StoreError as e:  # the store rolled back the whole transaction: the group is lost
            self._lose_group(e, token)
        except Exception as e:  # one hostile request must never stop the capture
            reason = f"not analysed: {type(e).__name__}: {e}"
            log.error(f"leakmap: {printable(request.method + ' ' + request.url)}: {printable(reason)}")
            try:
                self._undo()
            except StoreError as fault:
                self._lose_group(fault, token)
                return
            self.record(session, request, reason, token)

    def record(self, session: Session, request: Request, reason: str, token: int) -> None:
        """Store *reason* as the request's problem line (the report lists it). Captured text
        may hold lone surrogates (undecodable bytes): they are kept as `\\udcxx` escapes."""
        if self.due():
            self.commit()
        where = f"flow {request.flow_id} ({request.method} {request.url[:200]})"
        try:
            self._begin(session.store)
            session.problem(Problem(LIVE_SOURCE, _storable(where), _storable(reason)))
            self._join(token, reason)
        except StoreError as e:
            self._lose_group(e, token)
        except Exception as e:  # never let one request's problem line stop the process
            log.error(f"leakmap: could not record a problem: {type(e).__name__}: {printable(str(e))}")
            try:
                self._undo()
            except StoreError:
                pass
            self.emit(token, reason)

    def _begin(self, store: Store) -> None:
        """Open the group's transaction (on *store*) and this request's savepoint in it."""
        if self._group_store is not store:
            self.commit()  # another session's store (the options changed): close its group first
            self._group_store, self._group_started = store, time.monotonic()
        if not store.db.in_transaction:
            _sql(store, "BEGIN")
        _sql(store, "SAVEPOINT leakmap_request")

    def _join(self, token: int, outcome: Analysis | str) -> None:
        """The request's writes are done: keep them in the group; its result waits for the commit."""
        _sql(self._group_store, "RELEASE leakmap_request")  # type: ignore[arg-type]
        self._group.append((token, outcome))

    def _undo(self) -> None:
        """Drop what the current request wrote, keep the rest of the group."""
        store = self._group_store
        if store is not None and store.db.in_transaction:
            _sql(store, "ROLLBACK TO leakmap_request")
            _sql(store, "RELEASE leakmap_request")

    def _lose_group(self, error: StoreError, token: int) -> None:
        group, self._group, self._group_store = self._group, [], None
        reason = self.store_fault(error, len(group) + 1)
        for waiting, _ in group:
            self.emit(waiting, reason)
        self.emit(token, reason)

    def store_fault(self, error: StoreError, requests: int = 1) -> str:
        """Log a store fault once per reason: a full disk would otherwise log every request."""
        self.unsaved += requests
        message = str(error)
        if message not in self._store_faults:
            self._store_faults.add(message)
            log.error(f"leakmap: findings not saved: {message}; the proxy keeps running "
                      "(further requests hit by this are counted, not logged)")
        return message


class Worker:
    """The process's state: the session and its options, the commit group, the results to send."""

    def __init__(self, out_fd: int) -> None:
        self.out_fd = out_fd
        self.results: list[tuple] = []
        self.commits = GroupedCommits(self._emit)
        self.session: Session | None = None
        self.limits = Limits()
        self.options: dict[str, Any] = {}
        self.answer_now = False  # the proxy waits for a result in the current frame
        self._rule_names: dict[str, str] = {}

    def handle(self, message: tuple) -> bool:
        """Run one message from the proxy; False once it says exit."""
        kind = message[0]
        if kind == "request":
            _, token, shot = message
            if self.session is None:
                self._emit(token, "not analysed: leakmap could not open its findings store")
                return True
            try:
                request = request_of(shot, LIVE_SOURCE)
            except Exception as e:  # a URL urlsplit refuses: one problem line, like any bad request
                request = Request(shot[0], LIVE_SOURCE, time.time(), shot[2], "(unreadable URL)", [])
                self.commits.record(self.session, request, f"not analysed: {type(e).__name__}: {e}", token)
                return True
            self.commits.analyse(self.session, request, self.limits, shot[8], token)
        elif kind == "problem":
            _, token, flow_id, method, url, reason = message
            if self.session is None:
                self._emit(token, reason)
            else:
                request = Request(flow_id, LIVE_SOURCE, time.time(), method, url, [])
                self.commits.record(self.session, request, reason, token)
        elif kind == "flush":
            self.answer_now = True
        elif kind == "open":
            self.commits.commit()
            self.results.append(("ready", self._open(message[1])))
            self.flush()
        elif kind == "exit":
            self.commits.commit()
            self._close()
            return False
        else:
            self.commits.commit()  # a command sees every request before it committed
            if self.session is not None:
                self._command(kind, message[1:])
        return True

    def _open(self, options: dict[str, Any]) -> str:
        """A session with the proxy's options (the proxy validated them already); returns
        why it could not be opened, or ""."""
        from .match import registrable_domain

        self._close()
        self.options = options
        self.limits = Limits(max_body=options["max_body"], max_seconds=options["max_seconds"])
        registrable_domain("warm.example")  # load the public-suffix list now, not on the first request
        try:
            store = Store(options["db"])
        except StoreError as e:
            return str(e)
        try:
            indicators = [parse_indicator(text) for text in options["honey"]]
            self.session = Session(store, [Path(d) for d in options["rules"]], True, self.limits, indicators,
                                   options["app"], options["keys"], options["first_party"])
            store.commit()
        except Exception as e:
            store.close()
            return f"could not start the live session: {type(e).__name__}: {printable(str(e))}"
        self._rule_names = {rule.id: rule.name for rule in self.session.analyzer.rules}
        return ""

    def _close(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            session.store.close()
        except StoreError as e:
            log.error(f"leakmap: {e}")

    def _command(self, kind: str, args: tuple) -> None:
        session = self.session
        assert session is not None
        try:
            if kind == "report":
                self._report(session, Path(args[0]))
            elif kind == "stats":
                session.save_stats()
            elif kind == "unseen":
                self._unseen(session, *args)
        except StoreError as e:
            log.error(f"leakmap: {e}")

    @staticmethod
    def _report(session: Session, target: Path) -> None:
        from .report import write_report

        started = time.monotonic()
        try:
            session.save_stats()
            write_report(session.store, target)
        except StoreError as e:
            log.error(f"leakmap: could not write the report: {e}")
            return
        except Exception:
            log.exception("leakmap: could not write the report")
            return
        log.info(f"leakmap: report written to {target} in {time.monotonic() - started:.1f}s")

    @staticmethod
    def _unseen(session: Session, timestamp: float, client: str, host: str, mode: str, reason: str) -> None:
        """A client that refused the proxy's certificate: what the report says it could not see."""
        request = Request("", LIVE_SOURCE, timestamp, "CONNECT", f"https://{host}/", [], client=client,
                          proxy_mode=mode)
        found = session.analyzer.attributor.attribute(Analysis(request, "no_rule"))
        session.store.add_unseen(request.source, request.timestamp, request.client, request.host, reason,
                                 found.app, found.evidence)

    # --- results -----------------------------------------------------------------------------

    def _emit(self, token: int, outcome: Analysis | str | None) -> None:
        self.results.append(("done", token, self._outcome(outcome)))

    def _outcome(self, outcome: Analysis | str | None) -> Outcome:
        if outcome is None:
            return None
        if isinstance(outcome, str):
            return failed(outcome)
        from .contentview import console_line, flow_comment

        receiver = self._receiver(outcome)
        if self.options.get("announce"):  # `leakmap capture`'s console: a line per tracker request
            print(console_line(outcome, receiver, color=self.options.get("color", False)), file=sys.stderr, flush=True)
        comment = flow_comment(outcome, receiver)  # for mitmweb's flow list, when leakmap_mark is on
        return ("found", outcome.tracker, outcome.endpoint, outcome.status, comment)

    def _receiver(self, analysis: Analysis) -> str:
        """The rule's product name (Mixpanel), else the company or receiving domain."""
        from .match import registrable_domain

        return self._rule_names.get(analysis.tracker) or analysis.company or registrable_domain(analysis.request.host)

    def log(self, level: int, text: str) -> None:
        self.results.append(("log", level, text))

    def flush(self) -> None:
        """Send the results gathered so far as one frame (blocking: the proxy reads them)."""
        if not self.results:
            return
        frame, self.results = encode_frame(self.results), []
        view = memoryview(frame)
        while view:
            view = view[os.write(self.out_fd, view):]


class _ToProxy(logging.Handler):
    """Log records go to the proxy, which logs them as its own (mitmweb's event log shows them)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(logging.INFO)
        self.worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.worker.log(record.levelno, self.format(record))
        except Exception:
            self.handleError(record)


def serve(in_fd: int, out_fd: int) -> None:
    """Handle the proxy's messages until it says exit or goes away. Commits as soon as no
    message is waiting, else when the group is due (checked before each request). Results
    are sent after a commit, and after a frame the proxy marked as awaited: one write per
    batch, not per request (each write wakes the proxy)."""
    worker = Worker(out_fd)
    handler = _ToProxy(worker)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    reader = FrameReader(in_fd)
    try:
        while True:
            while True:
                for frame in reader.frames():
                    commits = worker.commits.commits
                    for message in frame:
                        if not worker.handle(message):
                            return
                    if worker.answer_now or worker.commits.commits != commits:
                        worker.answer_now = False
                        worker.flush()
                if not select.select([in_fd], [], [], 0)[0]:
                    break  # nothing more is waiting
                if not reader.feed():
                    return
            worker.commits.commit()  # quiet: commit what was written
            worker.flush()
            if not reader.feed():  # the proxy closed the pipe: it exited
                return
    finally:  # after "exit", or the proxy went away (its counters are then saved here)
        worker.commits.commit()
        if worker.session is not None:
            try:
                worker.session.save_stats()
            except StoreError as e:
                log.error(f"leakmap: could not save the capture's counters: {e}")
        worker._close()
        try:
            worker.flush()
        except OSError:
            pass


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    serve(in_fd, out_fd)


if __name__ == "__main__":
    main()
