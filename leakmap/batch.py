"""Many captures at once: `analyze --jobs N` (processes on this machine) and Dask
(`analyze --dask ADDRESS --dataset DIR`, or `analyse_to_dataset` from Python).

Both rest on one unit of work, `analyse_capture`: one capture file analysed into a findings
store of its own, by a process that compiled the rules once. Each capture is analysed on its
own (`Analyzer.start_capture`), so the findings do not depend on which worker got which file
or in what order: `--jobs N`, Dask and `--jobs 1` give the same findings.

- `--jobs N`: worker processes analyse into temporary stores; the CLI process is the only
  writer of the user's store and merges the workers' stores into it in the order the files
  were given (leakmap/merge.py), so ids, order and "already in the store" counts are what one
  process would have written. Problem lines and the progress bar come back through a queue.
- Dask: each capture becomes a task on the cluster's workers; the task writes the capture's
  findings into a Parquet dataset (leakmap/dataset.py), atomically and named by the capture's
  content hash, so a task retried after its worker died replaces, never duplicates.

Python use (a Dask cluster, or a `distributed.LocalCluster` on a laptop):

    from distributed import Client
    from leakmap.batch import AnalysisOptions, analyse_to_dataset
    with Client("tcp://scheduler:8786") as client:
        for summary in analyse_to_dataset(client, captures, "study-findings", AnalysisOptions(label="")):
            print(summary["capture"], summary["findings"])
"""

from __future__ import annotations

import multiprocessing
import queue
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .decode import Limits
from .extract import Indicator
from .merge import merge_store
from .model import Problem
from .pipeline import Stats
from .processes import can_fork, ignore_interrupts
from .replay import ReplayLimits
from .session import Session
from .store import Store


@dataclass(frozen=True)
class AnalysisOptions:
    """What `leakmap analyze` is told about how to analyse, in a form worker processes and
    Dask tasks receive (picklable). *keys* (--tracker-key) travel with each task and stay in
    the workers' memory."""

    rule_dirs: tuple[Path, ...] = ()
    bundled_rules: bool = True
    limits: Limits = field(default_factory=Limits)
    indicators: tuple[Indicator, ...] = ()
    label: str = ""
    keys: tuple[tuple[str, str], ...] = ()
    first_party: tuple[str, ...] = ()
    replay_limits: ReplayLimits | None = None
    keylog: Path | None = None

    def session(self, store: Store) -> Session:
        return Session(store, self.rule_dirs, self.bundled_rules, self.limits, list(self.indicators), self.label,
                       dict(self.keys), self.first_party, self.replay_limits)


# --- one capture, in a worker --------------------------------------------------------------

# The session a forked --jobs worker inherits from the CLI process (rules compiled once there).
_inherited: tuple[AnalysisOptions, Session] | None = None
# Elsewhere (a Dask worker runs several tasks at once, one per thread) each thread builds its
# own with its first capture and keeps it: a session's analyzer and store are one thread's.
_per_thread = threading.local()


def _session_for(options: AnalysisOptions, store: Store) -> Session:
    cached = getattr(_per_thread, "session", None) or _inherited
    if cached is None or cached[0] != options:
        cached = (options, options.session(store))
    _per_thread.session = cached
    cached[1].use_store(store)
    return cached[1]


def analyse_capture(path: Path, options: AnalysisOptions, store_path: Path,
                    on_problem: Callable[[Problem], None] | None = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, Stats]:
    """Analyse one capture into a new store at *store_path*; returns its per-source counters."""
    store = Store(store_path)
    try:
        session = _session_for(options, store)
        session.replay(path, options.limits, options.label, on_problem, progress, options.keylog)
        return session.stats
    finally:
        store.close()


# --- --jobs N: processes on this machine, one writer -----------------------------------------

_events: Any = None  # the worker side of the progress/problem queue


def _start_worker(events: Any) -> None:
    global _events
    ignore_interrupts()
    _events = events


def _job(index: int, path: Path, options: AnalysisOptions, store_path: Path) -> dict[str, Stats]:
    return analyse_capture(path, options, store_path, lambda problem: _events.put(("problem", str(problem))),
                           lambda position: _events.put(("progress", index, position)))


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: a worker starts in milliseconds with the rules already
    compiled (the CLI process has no threads and no open transaction at that point)."""
    return multiprocessing.get_context("fork" if can_fork() else "spawn")


def replay_in_processes(session: Session, options: AnalysisOptions, files: list[Path], jobs: int,
                        report_problem: Callable[[str], None], progress: Callable[[int], None]) -> None:
    """Analyse *files* in *jobs* worker processes and merge each into *session*'s store, in
    order, as soon as it and every file before it are done. *progress* gets the bytes done so far."""
    global _inherited
    context = _context()
    events = context.Queue()
    sizes = [path.stat().st_size for path in files]
    positions = [0] * len(files)
    session.store.commit()
    _inherited = (options, session)  # forked workers start with it
    with tempfile.TemporaryDirectory(prefix="leakmap-jobs-") as tmp, \
            ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(events,)) as pool:
        stores = [Path(tmp) / f"capture-{n}.db" for n in range(len(files))]
        futures = [pool.submit(_job, n, path, options, stores[n]) for n, path in enumerate(files)]
        merged = 0
        try:
            while merged < len(files):
                _drain(events, positions, report_problem, timeout=0.05)
                while merged < len(files) and futures[merged].done():
                    _drain(events, positions, report_problem, timeout=0)  # its last lines first
                    _merge(session, futures[merged], stores[merged])
                    positions[merged] = sizes[merged]
                    merged += 1
                progress(sum(positions))
        except BaseException:  # a store fault, a bug, Ctrl-C: the files not started are not started
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            _inherited = None


def _drain(events: Any, positions: list[int], report_problem: Callable[[str], None], timeout: float) -> None:
    try:
        while True:
            event = events.get(timeout=timeout) if timeout else events.get_nowait()
            if event[0] == "problem":
                report_problem(event[1])
            else:
                positions[event[1]] = event[2]
            timeout = 0
    except queue.Empty:
        pass


def _merge(session: Session, future: Future[dict[str, Stats]], store_path: Path) -> None:
    stats = future.result()  # a worker's StoreError or bug ends the run here, as in one process
    already = merge_store(session.store, store_path)
    for source, counters in stats.items():
        counters.already_stored += already.get(source, 0)
        session.stats[source] = counters
    session.save_stats()
    store_path.unlink(missing_ok=True)


# --- Dask: a cluster writes a Parquet dataset -------------------------------------------------

def capture_task(path: str, dataset: str, options: AnalysisOptions) -> dict[str, Any]:
    """A Dask task: analyse one capture and publish its findings in *dataset* (dataset.py).
    A capture already published (same content hash) is not analysed again."""
    from .dataset import Dataset

    target = Dataset(Path(dataset))
    digest = target.content_hash(Path(path))
    done = target.summary(digest)
    if done is not None:
        return {**done, "capture": path, "cached": True}
    problems: list[str] = []
    with target.staging(digest) as staging:
        stats = analyse_capture(Path(path), options, staging / "capture.db", lambda p: problems.append(str(p)))
        return {**target.publish(digest, path, staging, stats), "problems": problems, "cached": False}


def analyse_to_dataset(client: Any, captures: Iterable[str | Path], dataset: str | Path,
                       options: AnalysisOptions | None = None, retries: int = 2) -> Iterator[dict[str, Any]]:
    """Map *captures* to the workers of a `distributed.Client` and yield each capture's
    summary as it completes (`capture`, `sha256`, `flows_read`, `findings`, `apps`,
    `problems`, `cached`; or `error` when its task failed for good). Capture paths must be
    readable by the workers (a shared file system); *dataset* a folder they can all write."""
    from distributed import as_completed

    paths = [str(Path(p).resolve()) for p in captures]
    Path(dataset).mkdir(parents=True, exist_ok=True)
    run = uuid.uuid4().hex[:8]
    futures = client.map(capture_task, paths, dataset=str(Path(dataset).resolve()), options=options or AnalysisOptions(),
                         key=[f"leakmap-{run}-{n}" for n in range(len(paths))], retries=retries)
    where = {future.key: path for future, path in zip(futures, paths)}
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as e:  # e.g. KilledWorker: the capture killed its worker several times
            yield {"capture": where[future.key], "error": f"{type(e).__name__}: {e}"}
