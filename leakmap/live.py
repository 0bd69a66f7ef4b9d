"""Live analysis in one child process: the proxy forwards, the child decodes and stores.

Why a process, not a thread: the proxy and a worker thread share one interpreter lock, so
every millisecond of decoding or SQLite work was a millisecond mitmproxy's event loop could
not serve connections, and every hand-over of the lock cost a switch. Measured with
benchmarks/bench_proxy_load.py, a worker thread added about 500 µs of CPU per request to the
mitmdump process (+39%); the analysis process adds about 10 µs there, and spends about
0.2 ms per request itself, on another core. It (leakmap/live_worker.py) owns the Session:
the analyzer with its attribution state, the store and its SQLite connection. The proxy
keeps only what must answer at once: the rules' host index, to block a tracker's host in
block mode before any decoding, and an analyzer for the content view. POSIX only (the pipes
are inherited by descriptor).

What crosses the pipe (frames of marshalled builtin types, `encode_frame`; never pickle):
proxy → child, batches of compact tuples, one per request (`snapshot`: flow id, time,
method, URL, the raw header bytes, the body as sent, client and proxy mode; Content-Encoding
is undone in the child), the session's options (tracker keys included: a pipe, never argv
or the environment), report/stats/exit commands and problem lines. Child → proxy: one
result per request (nothing found, failed, or tracker/endpoint/status/comment, which marks
the flow in mitmweb) once it is committed, and its log records, which the proxy logs as its
own. Requests nobody waits for are written in batches (`FLUSH_SECONDS`), those block mode
waits for at the end of the event-loop turn; writes never block (a full pipe is finished
when it drains) and results are read when the pipe is readable: the event loop never waits.

Grouped commits: the child commits as soon as no request is waiting (a quiet proxy commits
each request at once) and, while requests keep coming, at least every `COMMIT_SECONDS` or
`COMMIT_REQUESTS` requests (live_worker.py), whichever comes first. A request's result is sent only once it
is committed, so block mode acknowledges a tracker request only when a crash can no longer
lose it. What a crash loses: `kill -9` of the child loses its open group (at most the commit
window; each of those requests becomes a problem line, see below); of the proxy, also the
batch not yet written (at most `FLUSH_SECONDS`) and whatever is queued; a clean exit
analyses and commits everything first.

Bounded: bytes sent and not yet answered are the backlog; beyond `MAX_BACKLOG_BYTES` a
request is stored as a problem line instead of queued, and beyond `PROBLEM_ALLOWANCE` more
it is only counted (logged once). Failures: one bad request is one problem line (in the
child). If the child dies, the proxy logs it, fails every waiting request closed (block mode
answers it locally: nothing that was to be blocked is forwarded), starts a new child and
records each request the old one had not confirmed as a problem line (one it had committed
just before dying may then have both); a child that keeps dying is given up after
`MAX_RESTARTS` in `RESTART_WINDOW`, and the proxy keeps serving. A child that hangs is
covered by the addon's MAX_WAIT_SECONDS: blocked flows are answered locally, never forwarded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .live_wire import FrameReader, Outcome, Snapshot, encode_frame, failed, printable

log = logging.getLogger(__name__)
MAX_BACKLOG_BYTES = 256 * 1024 * 1024
PROBLEM_ALLOWANCE = 16 * 1024 * 1024  # problem lines queued on top of a full backlog, then only counted
MAX_RESTARTS = 3  # child deaths within RESTART_WINDOW before the proxy stops restarting it
RESTART_WINDOW = 60.0
CLOSE_SECONDS = 600.0  # the longest an exit waits for the child to finish (a report on a huge store)
# Requests nobody waits for are sent in batches at most this late (or once BATCH_BYTES are
# queued): each write wakes the child and each answer wakes the proxy, which on a busy
# machine costs more than the request itself; in batches the child also runs with warm
# caches. Requests block mode waits for, and commands, are sent at the end of the current
# event-loop turn, and the child answers them at once.
FLUSH_SECONDS = 0.05
BATCH_BYTES = 1 << 20


# --- the proxy's end -----------------------------------------------------------------------------

class Pending:
    """A request sent to the child and not answered yet."""

    __slots__ = ("size", "flow", "future", "where", "is_request")

    def __init__(self, size: int, flow: Any, future: asyncio.Future | None, where: tuple[str, str, str],
                 is_request: bool = True) -> None:
        self.size, self.flow, self.future, self.where, self.is_request = size, flow, future, where, is_request


class LiveAnalysis:
    """Starts the analysis process, sends it requests, routes its results back.

    Runs entirely on mitmproxy's event loop (no thread). *on_found(flow, outcome)* is called
    there for each request the child found to be a tracker's or to carry personal data."""

    def __init__(self, on_found: Callable[[Any, Outcome], None]) -> None:
        self._on_found = on_found
        self._process: subprocess.Popen[bytes] | None = None
        self._to_child = self._from_child = -1
        self._reader: FrameReader | None = None
        self._batch: list[tuple] = []
        self._outgoing = bytearray()
        self._pending: dict[int, Pending] = {}
        self._next_token = 0
        self._open: tuple | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_soon = False
        self._flush_later: asyncio.TimerHandle | None = None
        self._batch_bytes = 0
        self._urgent = False
        self._writer_registered = False
        self._deaths: deque[float] = deque()
        self._given_up = False
        self._closing = False
        self._ready: str | None = None  # the child's answer to "open": "" ready, else its error
        self.backlog_bytes = 0
        self.dropped = 0  # requests neither analysed nor recorded (backlog and problem allowance full)

    # --- lifecycle ---------------------------------------------------------------------------

    def open(self, options: dict[str, Any], timeout: float = 60.0) -> str:
        """Start the child (or tell the running one) to analyse with *options* from now on,
        and wait until it has opened its session: from then on every request is answered
        as soon as it is committed. Returns the child's error ("" once it is ready)."""
        self._open = ("open", options)
        self._ready = None
        if self._process is None and not self._given_up:
            self._spawn()
        else:
            self._send(self._open)
        if not self._wait_for(lambda: self._ready is not None, timeout):
            return f"leakmap's analysis process did not start within {timeout:g}s"
        return self._ready or ""

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read results on *loop* (the event loop the hooks run on), from now on."""
        if self._loop is loop:
            return
        self._loop = loop
        if self._from_child >= 0:
            loop.add_reader(self._from_child, self._readable)

    def _spawn(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # a checkout works without pip install
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "leakmap.live_worker", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._to_child, self._from_child = to_child_w, from_child_r
        os.set_blocking(to_child_w, False)
        self._reader = FrameReader(from_child_r)
        self._outgoing = bytearray()
        if self._loop is not None:
            self._loop.add_reader(from_child_r, self._readable)
        assert self._open is not None
        self._send(self._open)

    def close(self, last: list[tuple]) -> None:
        """Send the *last* commands (report, stats), then wait until the child has done them,
        committed and exited: nothing seen is lost on a clean exit."""
        if self._process is None:
            return
        for message in (*last, ("exit",)):
            self._send(message)
        self._closing = True
        if not self._wait_for(lambda: self._process is None, timeout=CLOSE_SECONDS):
            log.error(f"leakmap: the analysis process did not finish within {CLOSE_SECONDS:.0f}s; stopped. What it "
                      "had committed is in the store")
            self._process.kill()
            self._gone()
        if self.dropped:
            log.error(f"leakmap: {self.dropped} requests were neither analysed nor recorded "
                      "(the analysis process did not keep up)")

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The analysis process (tests and benchmarks stop or kill it)."""
        return self._process

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait (blocking) until every request sent so far has its result; tests and `done`."""
        return self._wait_for(lambda: not self._pending, timeout)

    # --- sending -----------------------------------------------------------------------------

    def analyse(self, shot: Snapshot, flow: Any = None, awaited: bool = False) -> asyncio.Future | None:
        """Queue one request; with *awaited*, a future on the running loop gives its Outcome."""
        size = len(shot[5]) + len(shot[3]) + 200
        future = asyncio.get_running_loop().create_future() if awaited else None
        where = (shot[0], shot[2], shot[3])
        if self._process is None:  # given up: nothing analyses it
            self.dropped += 1
            if future is not None:
                future.set_result(failed("leakmap's analysis process is not running"))
            return future
        if self.backlog_bytes and self.backlog_bytes + size > MAX_BACKLOG_BYTES:
            reason = (f"not analysed: leakmap's queue is full (more than {MAX_BACKLOG_BYTES // 2**20} MiB "
                      "waiting)")
            if not self._problem(where, reason, future):
                self.dropped += 1
                if self.dropped == 1:
                    log.error("leakmap: the analysis process does not keep up; requests are counted, not recorded")
                if future is not None:
                    future.set_result(failed(reason))
            return future
        token = self._token()
        self._pending[token] = Pending(size, flow, future, where)
        self.backlog_bytes += size
        self._send(("request", token, shot), size, urgent=awaited)
        return future

    def command(self, *message: Any) -> None:
        """A command run in order with the requests: report, stats, a refused handshake."""
        if self._process is not None:
            self._send(message)

    def _problem(self, where: tuple[str, str, str], reason: str, future: asyncio.Future | None = None) -> bool:
        """Have the child store *reason* as the request's problem line; False when even the
        problem allowance is used up."""
        flow_id, method, url = where
        size = len(url[:200]) + len(reason) + 100
        if self.backlog_bytes + size > MAX_BACKLOG_BYTES + PROBLEM_ALLOWANCE:
            return False
        token = self._token()
        self._pending[token] = Pending(size, None, future, where, is_request=False)
        self.backlog_bytes += size
        self._send(("problem", token, flow_id, method, url[:200], reason))
        return True

    def _token(self) -> int:
        self._next_token += 1
        return self._next_token

    def _send(self, message: tuple, size: int = 0, urgent: bool = True) -> None:
        self._batch.append(message)
        self._batch_bytes += size
        loop = self._loop
        if loop is None or not loop.is_running():
            self._flush()
        elif urgent or self._batch_bytes >= BATCH_BYTES:
            self._urgent = self._urgent or urgent
            if not self._flush_soon:  # at most one frame per event-loop turn, whatever the traffic
                self._flush_soon = True
                loop.call_soon(self._flush)
        elif self._flush_later is None:
            self._flush_later = loop.call_later(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        if not self._batch or self._process is None:
            return
        if self._urgent:
            self._batch.append(("flush",))  # someone waits: the child answers after this frame
        batch, self._batch, self._batch_bytes, self._urgent = self._batch, [], 0, False
        self._outgoing += encode_frame(batch)
        self._write()

    def _write(self) -> None:
        while self._outgoing:
            try:
                with memoryview(self._outgoing) as view:
                    written = os.write(self._to_child, view)
            except BlockingIOError:
                if self._loop is not None and not self._writer_registered:
                    self._loop.add_writer(self._to_child, self._write)
                    self._writer_registered = True
                return
            except OSError:  # the child is gone: its end of the pipe is closed
                self._gone()
                return
            del self._outgoing[:written]
        if self._writer_registered and self._loop is not None:
            self._loop.remove_writer(self._to_child)
            self._writer_registered = False

    # --- receiving ---------------------------------------------------------------------------

    def _readable(self) -> None:
        assert self._reader is not None
        try:
            alive = self._reader.feed()
        except OSError:
            alive = False
        for frame in self._reader.frames():
            for message in frame:
                self._receive(message)
        if not alive:
            self._gone()

    def _receive(self, message: tuple) -> None:
        if message[0] == "done":
            _, token, outcome = message
            pending = self._pending.pop(token, None)
            if pending is None:
                return
            self.backlog_bytes -= pending.size
            if pending.future is not None and not pending.future.done():
                pending.future.set_result(outcome)
            if pending.flow is not None and outcome is not None and outcome[0] == "found":
                try:
                    self._on_found(pending.flow, outcome)
                except Exception as e:  # a mark must never stop the results of the others
                    log.error(f"leakmap: could not mark a flow: {type(e).__name__}: {printable(str(e))}")
        elif message[0] == "log":
            log.log(message[1], message[2])
        elif message[0] == "ready":
            self._ready = message[1]

    def _wait_for(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        """Serve the pipes without the event loop until *condition* holds (or *timeout*)."""
        self._flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not condition() and self._process is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            readable, writable, _ = select.select([self._from_child], [self._to_child] if self._outgoing else [],
                                                  [], left)
            if writable:
                self._write()
            if readable:
                self._readable()
        return condition()

    # --- the child's death -------------------------------------------------------------------

    def _gone(self) -> None:
        """The child closed its pipe: it exited (asked to, or not). Fail closed what waited,
        restart it, and record what it had not confirmed."""
        process, self._process = self._process, None
        if process is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._from_child)
            if self._writer_registered:
                self._loop.remove_writer(self._to_child)
        self._writer_registered = False
        os.close(self._to_child)
        os.close(self._from_child)
        self._to_child = self._from_child = -1
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        lost = list(self._pending.values())
        self._pending.clear()
        self.backlog_bytes = 0
        self._batch.clear()
        self._batch_bytes = 0
        reason = f"not analysed: leakmap's analysis process stopped ({_exit_status(code)}) before confirming it"
        for pending in lost:
            if pending.future is not None and not pending.future.done():
                pending.future.set_result(failed(reason))
        if self._closing:  # it was asked to exit
            if code:
                log.error(f"leakmap: the analysis process stopped ({_exit_status(code)}) while finishing; "
                          f"{len(lost)} requests were not confirmed")
            return
        now = time.monotonic()
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > RESTART_WINDOW:
            self._deaths.popleft()
        if len(self._deaths) > MAX_RESTARTS:
            self._given_up = True
            log.error(f"leakmap: the analysis process stopped ({_exit_status(code)}) {len(self._deaths)} times in "
                      f"{RESTART_WINDOW:.0f}s; live analysis is off, the proxy keeps serving (block mode still "
                      "answers trackers' hosts)")
            return
        log.error(f"leakmap: the analysis process stopped ({_exit_status(code)}); restarted. {len(lost)} requests "
                  "it had not confirmed are recorded as problems; the proxy kept serving")
        self._spawn()
        for pending in lost:
            if pending.is_request:  # a problem line it had not stored is not worth a second one
                self._problem(pending.where, reason)


def _exit_status(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
