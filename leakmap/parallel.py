"""One capture on every core: `analyze --jobs N` given a single capture file.

The requests of one capture are analysed in two parts (pipeline.Analyzer): `prepare`
depends on the request alone (a rule's or a payload shape's decoding and extraction: nearly
all of the work), `finish` on the requests before it (recordings read on, the generic path
that learns the app's own domains, attribution). Worker processes prepare chunks of
requests; this process reads the capture, hands out the chunks, and finishes and stores
each request in capture order. The findings are those of `--jobs 1`: `finish` sees the
same requests in the same order with the same prepared parts.

Why processes, and what crosses: one interpreter runs one thread of Python at a time, so
only processes use more cores. Workers are forked after the rules are compiled and inherit
the analyzer (where there is no fork, as on Windows, one capture is analysed in one
process). A request travels as a tuple of builtin types; a prepared analysis comes back as
one too (`marshal`), its evidence tree and fields already encoded as the JSON the store
writes (`text.JsonText`): about 40 µs a request in all, where pickling the Analysis and
Finding objects cost 100 µs to write and 400 µs to read, as much as analysing them. A value
marshal cannot write sends its chunk by pickle instead.

Bounded: at most WINDOW chunks per worker, and MAX_PENDING_BYTES of request bodies, are in
flight; a chunk is at most CHUNK_REQUESTS requests or CHUNK_BYTES of bodies, and its results
about RESULT_BYTES (what does not fit is prepared by the reading process). Failures: a
request that fails in `prepare` is one problem line as in one process (prepare catches
it); a worker that dies (killed, out of memory) ends the pool, and the chunks not yet
prepared are prepared in this process: nothing is lost or analysed twice.
"""

from __future__ import annotations

import dataclasses
import logging
import marshal
import multiprocessing
import pickle
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from . import text
from .model import Analysis, Finding, Problem, Request
from .pipeline import GENERIC, Analyzer, Prepared
from .replay_formats import Stream
from .text import JsonText

log = logging.getLogger(__name__)
CHUNK_REQUESTS = 32
CHUNK_BYTES = 4 * 1024 * 1024
WINDOW = 4  # chunks in flight per worker
MAX_PENDING_BYTES = 64 * 1024 * 1024
# A chunk's results stop at about this many bytes: its other requests, and one whose own
# result is larger (a decompression bomb within --max-decompressed), are sent back as HERE
# and prepared by the reading process, as with --jobs 1. So the results in flight stay
# within WINDOW × jobs × 2 × RESULT_BYTES whatever the capture holds.
RESULT_BYTES = 8 * 1024 * 1024
HERE = "here"

Item = Request | Problem

# The analyzer a forked worker inherits from the process that started the pool.
_analyzer: Analyzer | None = None


def prepared_in_processes(analyzer: Analyzer, items: Iterable[Item], jobs: int) -> Iterator[tuple[Item, Prepared]]:
    """Each item of *items* (requests and problems, in capture order) with its prepared
    analysis (None for a problem), prepared by *jobs* worker processes, in the same order."""
    global _analyzer
    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: workers would start without the rules
        for item in items:
            yield item, analyzer.prepare(item) if isinstance(item, Request) else None
        return
    _analyzer = analyzer
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                                           initializer=ignore_interrupts)
    window: deque[tuple[list[Item], Future[bytes] | None]] = deque()
    pending_bytes = 0
    try:
        for chunk in _chunks(items):
            size = _body_bytes(chunk)
            while window and (len(window) >= jobs * WINDOW or pending_bytes + size > MAX_PENDING_BYTES):
                done, future = window.popleft()
                pending_bytes -= _body_bytes(done)
                pool = yield from _finished(analyzer, done, future, pool)
            future = None
            if pool is not None:
                shots = [_request_tuple(item) for item in chunk if isinstance(item, Request)]
                try:
                    future = pool.submit(_prepare_chunk, shots) if shots else None
                except BrokenProcessPool:
                    pool = _broken(pool)
            window.append((chunk, future))
            pending_bytes += size
        while window:
            done, future = window.popleft()
            pool = yield from _finished(analyzer, done, future, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        _analyzer = None


def _finished(analyzer: Analyzer, chunk: list[Item], future: Future[bytes] | None,
              pool: ProcessPoolExecutor | None) -> Iterator[tuple[Item, Prepared]]:
    """The chunk's items with their prepared analyses (prepared here once the pool is
    broken); returns the pool, or None once it is broken."""
    wires: Iterator[Any] | None = None
    if future is not None and pool is not None:
        try:
            wires = iter(_decode_chunk(future.result()))
        except BrokenProcessPool:
            pool = _broken(pool)
        except Exception as e:  # the worker lives on; this chunk is prepared here
            log.error(f"leakmap: a worker process failed ({type(e).__name__}); its requests are analysed here")
    for item in chunk:
        if isinstance(item, Problem):
            yield item, None
        else:
            wire = next(wires) if wires is not None else HERE
            yield item, analyzer.prepare(item) if wire == HERE else _decoded(wire, item)
    return pool


def _broken(pool: ProcessPoolExecutor | None) -> None:
    """A worker died (killed, out of memory): the pool is unusable, its other chunks too."""
    log.error("leakmap: a worker process died; the rest of the capture is analysed in this process")
    if pool is not None:
        pool.shutdown(cancel_futures=True)
    return None


def _chunks(items: Iterable[Item]) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item.body) if isinstance(item, Request) else 0
        if len(chunk) >= CHUNK_REQUESTS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _body_bytes(chunk: list[Item]) -> int:
    return sum(len(item.body) for item in chunk if isinstance(item, Request))


# --- in a worker -------------------------------------------------------------------------------

def ignore_interrupts() -> None:
    """A worker's first step: Ctrl-C in the terminal reaches the whole process group, and
    it is the CLI process's to handle (it stops the pool); a worker would only print a
    traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _prepare_chunk(shots: list[tuple[Any, ...]]) -> bytes:
    """Prepare each request of a chunk; the results in one message (b"m" marshal, b"p" pickle)."""
    analyzer = _analyzer
    assert analyzer is not None, "workers are forked from the process that set it"
    results: list[Any] = []
    size = 0
    for request in map(_request_of, shots):
        if size > RESULT_BYTES:  # the rest of the chunk is prepared by the reading process
            results.append(HERE)
            continue
        wire = _encode(analyzer.prepare(request), request)
        weight = _weight(wire)
        results.append(wire if weight <= RESULT_BYTES else HERE)
        size += weight
    try:
        return b"m" + marshal.dumps(results)
    except ValueError:  # a value of a type marshal does not write (none of the bundled steps make one)
        return b"p" + pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)


# --- the wire forms ------------------------------------------------------------------------------

def _request_tuple(request: Request) -> tuple[Any, ...]:
    return (request.flow_id, request.source, request.timestamp, request.method, request.url, request.headers,
            request.body, request.client, request.proxy_mode, request.body_error, request.label, request.key,
            request.capture_app)


def _request_of(shot: tuple[Any, ...]) -> Request:
    return Request(*shot)


def _encode(prepared: Prepared, request: Request) -> Any:
    """A prepared analysis as builtin types (marshal's)."""
    if prepared is None or prepared is GENERIC:
        return prepared
    analysis, streams = prepared  # type: ignore[misc]
    # The evidence tree and the fields go as the JSON the store writes: encoding it here
    # spares this process decoding the trees and the writing process encoding them.
    return (analysis.status, analysis.tracker, analysis.company, analysis.category, analysis.endpoint,
            analysis.rule_source, analysis.match_via, analysis.matched_by, analysis.error, analysis.decode_chain,
            text.dumps(analysis.payload), text.dumps(analysis.fields) if analysis.fields else None,
            [(f.data_type, f.value, f.path, f.context, f.detector, f.detail) for f in analysis.findings],
            analysis.identity, [(s.path, s.events, s.ids) for s in streams],
            analysis.request.url if analysis.request.url != request.url else None)  # tracker keys masked


def _weight(wire: Any) -> int:
    """About how many bytes a prepared analysis takes on the wire."""
    if not isinstance(wire, tuple):
        return 0
    streams = wire[14]
    return len(wire[10]) + len(wire[11] or "") + (len(marshal.dumps(streams)) if streams else 0)


def _decode_chunk(message: bytes) -> list[Any]:
    return marshal.loads(message[1:]) if message[:1] == b"m" else pickle.loads(message[1:])  # noqa: S301 (our workers')


def _decoded(wire: Any, request: Request) -> Prepared:
    if wire is None or wire == GENERIC:
        return None if wire is None else GENERIC
    (status, tracker, company, category, endpoint, rule_source, match_via, matched_by, error, decode_chain,
     payload, fields, findings, identity, streams, url) = wire
    if url is not None:
        request = dataclasses.replace(request, url=url)
    analysis = Analysis(request, status, tracker=tracker, company=company, category=category, endpoint=endpoint,
                        rule_source=rule_source, match_via=match_via, matched_by=matched_by, error=error,
                        decode_chain=decode_chain, payload=JsonText(payload),
                        fields=JsonText(fields) if fields is not None else [],
                        findings=[Finding(*f) for f in findings], identity=identity)
    return analysis, [Stream(path, events, ids) for path, events, ids in streams]
