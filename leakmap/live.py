"""Live analysis off mitmproxy's event loop: one worker thread owns the session.

Why one thread: findings keep the order requests arrived in, the analyzer's attribution
state and the SQLite connection are only ever used from that thread, and the event loop
(which serves every other connection) never waits for a decode. Why a bounded backlog: a
client can upload faster than Python decodes; beyond `MAX_BACKLOG_BYTES` waiting, requests
are recorded as problems instead of held in memory.

Why grouped commits: a commit per request costs the worker time a busy proxy needs for
analysis. The worker commits as soon as its queue is empty (a quiet proxy commits every
request at once) and, while requests keep coming, at least every `COMMIT_SECONDS` or
`COMMIT_REQUESTS` requests, whichever comes first: `kill -9` loses at most that window. A
job's future resolves only once what it wrote is committed, so block mode still acknowledges
a tracker request only when a crash can no longer lose it. Each request is written inside
its own SAVEPOINT: a request that fails half-way is undone alone, not with its group.

Failures stay inside the job: an exception while analysing one request is logged and stored
as a problem line; a store fault (full disk, corrupt page) is logged once per reason and the
proxy keeps running.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .decode import Limits
from .model import LIVE_SOURCE, Analysis, Problem, Request
from .read import decode_request_body
from .session import Session
from .store import Store, StoreError, store_fault

log = logging.getLogger(__name__)
MAX_BACKLOG_BYTES = 256 * 1024 * 1024
COMMIT_SECONDS = 0.2  # the longest an analysed request waits for its commit while the proxy is busy
COMMIT_REQUESTS = 100  # ... or this many requests, whichever comes first
T = TypeVar("T")


class Failed:
    """What a job returns when the request could not be analysed or stored."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


Outcome = Analysis | Failed | None  # None: not a tracker, nothing found (not stored)


def printable(text: str, limit: int = 200) -> str:
    """Captured text made safe for a log line: no control characters, bounded length."""
    return text[:limit].encode("ascii", "backslashreplace").decode("ascii").replace("\n", "\\n")


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _sql(store: Store, statement: str) -> None:
    """Run a transaction statement; a SQLite failure becomes the store's one-line StoreError."""
    try:
        store.db.execute(statement)
    except sqlite3.Error as e:
        store.rollback()
        raise store_fault(store.path, e) from None


class LiveQueue:
    """A single-worker executor plus the bookkeeping that keeps it bounded, quiet and its
    commits grouped."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leakmap")
        self._lock = threading.Lock()
        self._backlog_bytes = 0
        self._waiting = 0  # jobs queued, not started
        self._store_faults: set[str] = set()
        self.unsaved = 0  # requests whose analysis could not be written to the store
        # The open group: requests written since the last commit, and into which store.
        self._group: list[tuple[Future[Outcome], Outcome]] = []
        self._group_store: Store | None = None
        self._group_started = 0.0
        self.commits = 0  # how many groups were committed (tests and benchmarks read it)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run *fn* in the worker after everything queued before it, and wait for it."""
        return self.submit(fn, *args).result()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run *fn* in the worker once everything queued before it is analysed and committed
        (reports, closing a store, recording a refused handshake)."""
        return self._enqueue(self._committed_then, fn, *args)

    def analyse(self, session: Session, request: Request, limits: Limits) -> Future[Outcome]:
        """Queue one request; the future gives its outcome once it is committed."""
        size = len(request.body) + len(request.url)
        with self._lock:
            full = self._backlog_bytes > 0 and self._backlog_bytes + size > MAX_BACKLOG_BYTES
            if not full:
                self._backlog_bytes += size
        done: Future[Outcome] = Future()
        if full:
            self._enqueue(self._record, session, request, "not analysed: leakmap's queue is full "
                          f"(more than {MAX_BACKLOG_BYTES // 2**20} MiB waiting)", done)
        else:
            self._enqueue(self._analyse, session, request, limits, size, done)
        return done

    def close(self) -> None:
        """Finish every queued job, commit, then stop the thread."""
        self._enqueue(self.commit)
        self._executor.shutdown(wait=True)
        if self.unsaved:
            log.error(f"leakmap: {self.unsaved} requests could not be saved to the findings store")

    # --- in the worker thread ----------------------------------------------------------

    def _enqueue(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            self._waiting += 1
        return self._executor.submit(self._job, fn, *args)

    def _job(self, fn: Callable[..., T], *args: Any) -> T:
        """Every job: commit the open group when it is due, run, then commit if nothing else
        is waiting (a quiet proxy never holds a finding uncommitted)."""
        with self._lock:
            self._waiting -= 1
        if self._group and (len(self._group) >= COMMIT_REQUESTS
                            or time.monotonic() - self._group_started >= COMMIT_SECONDS):
            self.commit()
        try:
            return fn(*args)
        finally:
            with self._lock:
                idle = self._waiting == 0
            if idle and self._group:
                self.commit()
            # Let mitmproxy's event loop take the interpreter lock between two jobs: while a
            # backlog lasts it would otherwise wait a whole switch interval (5 ms) each time.
            time.sleep(0)

    def _committed_then(self, fn: Callable[..., T], *args: Any) -> T:
        self.commit()
        return fn(*args)

    def commit(self) -> None:
        """Commit the open group; each of its jobs' futures resolves now."""
        group, store = self._group, self._group_store
        self._group, self._group_store = [], None
        if store is None:
            return
        try:
            store.commit()
            self.commits += 1
        except StoreError as e:
            failed = self.store_fault(e, len(group))
            group = [(future, failed) for future, _ in group]
        for future, outcome in group:
            future.set_result(outcome)

    def _begin(self, store: Store) -> None:
        """Open the group's transaction (on *store*) and this request's savepoint in it."""
        if self._group_store is not store:
            self.commit()  # another session's store (the options changed): close its group first
            self._group_store, self._group_started = store, time.monotonic()
        if not store.db.in_transaction:
            _sql(store, "BEGIN")
        _sql(store, "SAVEPOINT leakmap_request")

    def _join(self, future: Future[Outcome], outcome: Outcome) -> None:
        """The request's writes are done: keep them in the group; its future waits for the commit."""
        _sql(self._group_store, "RELEASE leakmap_request")  # type: ignore[arg-type]
        self._group.append((future, outcome))

    def _undo(self) -> None:
        """Drop what the current request wrote, keep the rest of the group."""
        store = self._group_store
        if store is not None and store.db.in_transaction:
            _sql(store, "ROLLBACK TO leakmap_request")
            _sql(store, "RELEASE leakmap_request")

    def _analyse(self, session: Session, request: Request, limits: Limits, size: int, done: Future[Outcome]) -> None:
        try:
            self._begin(session.store)
            decode_request_body(request, limits)
            outcome = session.feed(request, commit=False)
            if outcome is None:  # nothing written: nothing to wait for
                _sql(session.store, "RELEASE leakmap_request")
                done.set_result(None)
            else:
                self._join(done, outcome)
        except StoreError as e:  # the store rolled back the whole transaction: the group is lost
            self._lose_group(e, done)
        except Exception as e:  # one hostile request must never stop the capture
            reason = f"not analysed: {type(e).__name__}: {e}"
            log.error(f"leakmap: {printable(request.method + ' ' + request.url)}: {printable(reason)}")
            try:
                self._undo()
            except StoreError as fault:
                self._lose_group(fault, done)
                return
            self._record(session, request, reason, done)
        finally:
            with self._lock:
                self._backlog_bytes -= size

    def _lose_group(self, error: StoreError, done: Future[Outcome]) -> None:
        group, self._group, self._group_store = self._group, [], None
        failed = self.store_fault(error, len(group) + 1)
        for future, _ in group:
            future.set_result(failed)
        done.set_result(failed)

    def _record(self, session: Session, request: Request, reason: str, done: Future[Outcome]) -> None:
        """Store *reason* as the request's problem line (the report lists it). Captured text
        may hold lone surrogates (undecodable bytes): they are kept as `\\udcxx` escapes."""
        where = f"flow {request.flow_id} ({request.method} {request.url[:200]})"
        try:
            self._begin(session.store)
            session.problem(Problem(LIVE_SOURCE, _storable(where), _storable(reason)))
            self._join(done, Failed(reason))
        except StoreError as e:
            self._lose_group(e, done)
        except Exception as e:  # never let one request's problem line stop the worker
            log.error(f"leakmap: could not record a problem: {type(e).__name__}: {printable(str(e))}")
            try:
                self._undo()
            except StoreError:
                pass
            done.set_result(Failed(reason))

    def store_fault(self, error: StoreError, requests: int = 1) -> Failed:
        """Log a store fault once per reason: a full disk would otherwise log every request."""
        self.unsaved += requests
        message = str(error)
        if message not in self._store_faults:
            self._store_faults.add(message)
            log.error(f"leakmap: findings not saved: {message}; the proxy keeps running "
                      "(further requests hit by this are counted, not logged)")
        return Failed(message)
