"""Live analysis off mitmproxy's event loop: one worker thread owns the session.

Why one thread: findings keep the order requests arrived in, the analyzer's attribution
state and the SQLite connection are only ever used from that thread, and the event loop
(which serves every other connection) never waits for a decode. Why a bounded backlog: a
client can upload faster than Python decodes; beyond `MAX_BACKLOG_BYTES` waiting, requests
are recorded as problems instead of held in memory.

Failures stay inside the job: an exception while analysing one request is logged and stored
as a problem line; a store fault (full disk, corrupt page) is logged once per reason and the
proxy keeps running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .decode import Limits
from .model import LIVE_SOURCE, Analysis, Problem, Request
from .read import decode_request_body
from .session import Session
from .store import StoreError

log = logging.getLogger(__name__)
MAX_BACKLOG_BYTES = 256 * 1024 * 1024
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


class LiveQueue:
    """A single-worker executor plus the bookkeeping that keeps it bounded and quiet."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leakmap")
        self._lock = threading.Lock()
        self._backlog_bytes = 0
        self._store_faults: set[str] = set()
        self.unsaved = 0  # requests whose analysis could not be written to the store

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run *fn* in the worker after everything queued before it, and wait for it."""
        return self._executor.submit(fn, *args).result()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._executor.submit(fn, *args)

    def analyse(self, session: Session, request: Request, limits: Limits) -> Future[Outcome]:
        """Queue one request; the future gives its outcome once it is committed."""
        size = len(request.body) + len(request.url)
        with self._lock:
            full = self._backlog_bytes > 0 and self._backlog_bytes + size > MAX_BACKLOG_BYTES
            if not full:
                self._backlog_bytes += size
        if full:
            return self._executor.submit(self._record, session, request, "not analysed: leakmap's queue is full "
                                         f"(more than {MAX_BACKLOG_BYTES // 2**20} MiB waiting)")
        return self._executor.submit(self._analyse, session, request, limits, size)

    def close(self) -> None:
        """Finish every queued job, then stop the thread."""
        self._executor.shutdown(wait=True)
        if self.unsaved:
            log.error(f"leakmap: {self.unsaved} requests could not be saved to the findings store")

    # --- in the worker thread ----------------------------------------------------------

    def _analyse(self, session: Session, request: Request, limits: Limits, size: int) -> Outcome:
        try:
            decode_request_body(request, limits)
            return session.feed(request)
        except StoreError as e:
            return self.store_fault(e)
        except Exception as e:  # one hostile request must never stop the capture
            session.store.rollback()
            reason = f"not analysed: {type(e).__name__}: {e}"
            log.error(f"leakmap: {printable(request.method + ' ' + request.url)}: {printable(reason)}")
            return self._record(session, request, reason)
        finally:
            with self._lock:
                self._backlog_bytes -= size

    def _record(self, session: Session, request: Request, reason: str) -> Failed:
        """Store *reason* as the request's problem line (the report lists it). Captured text
        may hold lone surrogates (undecodable bytes): they are kept as `\\udcxx` escapes."""
        where = f"flow {request.flow_id} ({request.method} {request.url[:200]})"
        try:
            session.problem(Problem(LIVE_SOURCE, _storable(where), _storable(reason)))
            session.store.commit()
        except StoreError as e:
            self.store_fault(e)
        except Exception as e:  # never let one request's problem line stop the worker
            session.store.rollback()
            log.error(f"leakmap: could not record a problem: {type(e).__name__}: {printable(str(e))}")
        return Failed(reason)

    def store_fault(self, error: StoreError) -> Failed:
        """Log a store fault once per reason: a full disk would otherwise log every request."""
        self.unsaved += 1
        message = str(error)
        if message not in self._store_faults:
            self._store_faults.add(message)
            log.error(f"leakmap: findings not saved: {message}; the proxy keeps running "
                      "(further requests hit by this are counted, not logged)")
        return Failed(message)
