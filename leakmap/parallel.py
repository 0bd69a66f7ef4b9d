"""One capture on every core: `analyze --jobs N` given a single capture file.

The requests of one capture are analysed in two parts (pipeline.Analyzer): `prepare`
depends on the request alone (a rule's or a payload shape's decoding and extraction: nearly
all of the work), `finish` on the requests before it (recordings read on, the generic path
that learns the app's own domains, attribution). Worker processes prepare chunks of
requests (of a mitmproxy dump: chunks of its raw records, which they also parse with
FlowReader, most of a mixed capture's time); this process reads the capture, hands out the
chunks, and finishes and stores each request in capture order. The findings are those of `--jobs 1`: `finish` sees the
same requests in the same order with the same prepared parts.

Why processes, and what crosses: one interpreter runs one thread of Python at a time, so
only processes use more cores. Workers are forked after the rules are compiled and inherit
the analyzer (where there is no fork, as on Windows, Session.replay analyses one capture in
one process). A request travels as a tuple of builtin types; a prepared analysis comes back as
one too (`marshal`), its evidence tree and fields already encoded as the JSON the store
writes (`text.JsonText`): about 40 µs a request in all, where pickling the Analysis and
Finding objects cost 100 µs to write and 400 µs to read, as much as analysing them. A value
marshal cannot write sends its chunk by pickle instead.

The first WARM_CHUNKS chunks are prepared here before any worker is forked, so that every
worker inherits the analyzer they warmed (remembered leaf labels) rather than each learning
the same labels again.

Bounded: at most WINDOW chunks per worker, and MAX_PENDING_BYTES of request bodies, are in
flight; a chunk is at most CHUNK_REQUESTS requests or CHUNK_BYTES of bodies, and its results
about RESULT_BYTES (what does not fit is prepared by the reading process). Failures: a
request that fails in `prepare` is one problem line as in one process (prepare catches
it); a worker that dies (killed, out of memory) ends the pool, and the chunks not yet
prepared are prepared in this process: nothing is lost or analysed twice. A dump's damaged
tail is read by read_mitm here, and a record that does not parse ends the file with the
problem line one process writes.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, BinaryIO

from . import parallel_wire as pw
from .limits import Limits
from .model import Problem, Request
from .pipeline import Analyzer, Prepared
from .processes import ignore_interrupts
from .read import Progress
from .read_mitm import items_of_record, mitm_records, read_mitm

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
# The first chunks are prepared by the reading process before the workers are forked: each
# worker starts from what they taught its analyzer (leaf labels by place and value, path
# shapes, field lookups) instead of learning it again. Two workers that each learn alone
# call the detectors 19% more often and spend 20-25% more CPU preparing the adtech corpus;
# warmed, the run takes 5% less CPU and 2% less time (median of 6 pairs).
WARM_CHUNKS = 8

Item = Request | Problem
Record = tuple[int, int, bytes]  # a dump's record: flow number, end offset, bytes

# The analyzer a forked worker inherits from the process that started the pool.
_analyzer: Analyzer | None = None


def prepared_in_processes(analyzer: Analyzer, items: Iterable[Item], jobs: int) -> Iterator[tuple[Item, Prepared]]:
    """Each item of *items* (requests and problems, in capture order) with its prepared
    analysis (None for a problem), prepared by *jobs* worker processes, in the same order."""
    def submit(pool: ProcessPoolExecutor, chunk: list[Item]) -> Future[bytes] | None:
        shots = [pw.request_tuple(item) for item in chunk if isinstance(item, Request)]
        return pool.submit(_prepare_chunk, shots) if shots else None

    def finish(chunk: list[Item], wires: Iterator[Any] | None) -> Generator[tuple[Item, Prepared], None, bool]:
        for item in chunk:
            if isinstance(item, Problem):
                yield item, None
            else:
                wire = next(wires) if wires is not None else HERE
                yield item, analyzer.prepare(item) if wire == HERE else pw.decoded(wire, item)
        return False

    yield from _in_flight(analyzer, items, _body_bytes, submit, finish, jobs)


def prepared_dump_in_processes(analyzer: Analyzer, path: Path, limits: Limits, label: str, progress: Progress,
                               jobs: int) -> Iterator[tuple[Item, Prepared]]:
    """`read_mitm` and `prepared_in_processes` in one for a mitmproxy dump: this process only
    cuts the dump into records (read_mitm.mitm_records); the workers parse them with
    mitmproxy's FlowReader (most of a mixed capture's time) and prepare their requests. Where
    the framing stops (a damaged tail) the rest is read here by read_mitm, and a record a
    worker cannot parse ends the file with read_mitm's problem line: the items are those one
    process reads."""
    source = str(path)
    framed = 0  # records cut so far

    def cut(f: BinaryIO) -> Iterator[Record]:
        nonlocal framed
        for framed, (_, end, record) in enumerate(mitm_records(f), 1):
            yield framed, end, record

    def submit(pool: ProcessPoolExecutor, chunk: list[Record]) -> Future[bytes]:
        return pool.submit(_prepare_records, chunk, source, limits, label)

    def finish(chunk: list[Record], wires: Iterator[Any] | None) -> Generator[tuple[Item, Prepared], None, bool]:
        for number, end, record in chunk:
            if progress and number % 256 == 0:
                progress(end)
            wire = next(wires) if wires is not None else HERE
            if wire == HERE:
                items, problem = items_of_record(record, number, end, source, limits, label)
                pairs = [(item, analyzer.prepare(item) if isinstance(item, Request) else None) for item in items]
            else:
                pairs, problem = pw.record_decoded(wire, source)
            yield from pairs
            if problem is not None:
                yield problem, None
                return True
        return False

    with path.open("rb") as f:
        if (yield from _in_flight(analyzer, cut(f), _record_bytes, submit, finish, jobs)):
            return
        start = f.tell()  # the end of the file, or the start of what mitm_records could not cut
    for item in read_mitm(path, limits, label, progress, start=start, first=framed):  # a damaged tail
        yield item, analyzer.prepare(item) if isinstance(item, Request) else None


def _in_flight(analyzer: Analyzer, units: Iterable[Any], size_of: Callable[[Any], int],
               submit: Callable[[ProcessPoolExecutor, Any], Future[bytes] | None],
               finish: Callable[[Any, Iterator[Any] | None], Generator[tuple[Item, Prepared], None, bool]],
               jobs: int) -> Generator[tuple[Item, Prepared], None, bool]:
    """The window both kinds of capture share: hands *units* (requests or a dump's records)
    in chunks to *jobs* forked workers (*submit*), at most WINDOW chunks per worker and
    MAX_PENDING_BYTES (*size_of* each unit) in flight, and
    yields each chunk's items in order (*finish*, given the worker's results, or None when
    this process is to prepare them: the pool broke or the worker failed). Returns True
    when *finish* says the capture ends there."""
    global _analyzer
    _analyzer = analyzer
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                                           initializer=ignore_interrupts)
    window: deque[tuple[Any, Future[bytes] | None]] = deque()
    pending_bytes = 0
    warm = WARM_CHUNKS
    try:
        for chunk in _chunks(units, size_of):
            if warm:  # prepared here, before the workers are forked: they inherit what it taught
                warm -= 1
                if (yield from finish(chunk, None)):
                    return True
                continue
            size = sum(map(size_of, chunk))
            while window and (len(window) >= jobs * WINDOW or pending_bytes + size > MAX_PENDING_BYTES):
                done, future = window.popleft()
                pending_bytes -= sum(map(size_of, done))
                wires, pool = _results(future, pool)
                if (yield from finish(done, wires)):
                    return True
            future = None
            if pool is not None:
                try:
                    future = submit(pool, chunk)
                except BrokenProcessPool:
                    pool = _broken(pool)
            window.append((chunk, future))
            pending_bytes += size
        while window:
            done, future = window.popleft()
            wires, pool = _results(future, pool)
            if (yield from finish(done, wires)):
                return True
        return False
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        _analyzer = None


def _results(future: Future[bytes] | None,
             pool: ProcessPoolExecutor | None) -> tuple[Iterator[Any] | None, ProcessPoolExecutor | None]:
    """A chunk's results from its worker, or None when this process is to prepare the chunk;
    and the pool, None once it is broken."""
    if future is None or pool is None:
        return None, pool
    try:
        return iter(pw.decode_message(future.result())), pool
    except BrokenProcessPool:
        return None, _broken(pool)
    except Exception as e:  # the worker lives on; this chunk is prepared here
        log.error(f"leakmap: a worker process failed ({type(e).__name__}); its requests are analysed here")
        return None, pool


def _record_bytes(record: Record) -> int:
    return len(record[2])


def _broken(pool: ProcessPoolExecutor | None) -> None:
    """A worker died (killed, out of memory): the pool is unusable, its other chunks too."""
    log.error("leakmap: a worker process died; the rest of the capture is analysed in this process")
    if pool is not None:
        pool.shutdown(cancel_futures=True)
    return None


def _chunks(units: Iterable[Any], size_of: Callable[[Any], int]) -> Iterator[list[Any]]:
    """*units* in chunks of CHUNK_REQUESTS, or fewer once they hold CHUNK_BYTES."""
    chunk: list[Any] = []
    size = 0
    for unit in units:
        chunk.append(unit)
        size += size_of(unit)
        if len(chunk) >= CHUNK_REQUESTS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _body_bytes(item: Item) -> int:
    return len(item.body) if isinstance(item, Request) else 0


# --- in a worker -------------------------------------------------------------------------------

def _prepare_chunk(shots: list[tuple[Any, ...]]) -> bytes:
    """Prepare each request of a chunk; the results in one message (b"m" marshal, b"p" pickle)."""
    analyzer = _inherited()

    def prepared(shot: tuple[Any, ...]) -> tuple[Any, int]:
        request = pw.request_of(shot)
        wire = pw.encode(analyzer.prepare(request), request)
        return wire, pw.weight(wire)

    return _bounded(shots, prepared)


def _prepare_records(records: list[Record], source: str, limits: Limits, label: str) -> bytes:
    """Parse and prepare each record of a chunk (read_mitm.items_of_record, then prepare); per
    record: its items and their prepared analyses, the problem that ends the file, or HERE."""
    analyzer = _inherited()

    def prepared(record: Record) -> tuple[Any, int]:
        number, end, data = record
        items, problem = items_of_record(data, number, end, source, limits, label)
        wire = ([pw.item_wire(item, analyzer) for item in items],
                (problem.where, problem.message) if problem is not None else None)
        # The requests travel back too (this process only cut the record): their bodies count.
        return wire, sum(pw.weight(p) + (len(item[1][6]) if item[0] == "r" else 0) for item, p in wire[0])

    return _bounded(records, prepared)


def _inherited() -> Analyzer:
    assert _analyzer is not None, "workers are forked from the process that set it"
    return _analyzer


def _bounded(units: list[Any], prepared: Callable[[Any], tuple[Any, int]]) -> bytes:
    """The results of *units* (each: its wire form and about how many bytes it takes) in one
    message, bounded: a result over RESULT_BYTES, and every unit after the chunk's results
    passed it, is HERE, prepared by the reading process instead."""
    results: list[Any] = []
    size = 0
    for unit in units:
        if size > RESULT_BYTES:
            results.append(HERE)
            continue
        wire, weight = prepared(unit)
        results.append(wire if weight <= RESULT_BYTES else HERE)
        size += weight
    return pw.message(results)


