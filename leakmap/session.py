"""Glue for one analysis run: flow source → Analyzer → Store, with per-source counters.

Used by the CLI (replay of capture files) and by the addon (live traffic), so both count,
store and report exactly the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .decode import Limits
from .extract import Indicator
from .match import registrable_domain
from .model import Analysis, Problem, Request
from .pipeline import STOPPED, Analyzer, Prepared, Stats, internal_error
from .processes import can_fork
from .read import BODY_LOST, read_any, sniff_format
from .replay import ReplayLimits
from .text import display
from .rules import load_rules
from .store import Store

UNPREPARED = object()  # Session.feed: the request is analysed whole, here


def readable_dump(path: Path) -> bool:
    """A mitmproxy dump this process can open (read_any reports any other case itself)."""
    try:
        return sniff_format(path) == "mitm"
    except OSError:
        return False


# Honey types a tester naturally writes that leakmap's vocabulary spells otherwise.
HONEY_ALIASES = {"first_name": "name", "last_name": "name", "full_name": "name", "given_name": "name",
                 "family_name": "name", "surname": "name"}


def parse_indicator(text: str) -> Indicator:
    """`email=alice@example.com` → Indicator. A value without a type is an error, not a
    silent `other_id`: the type is what the report says was leaked."""
    from .datatypes import DATA_TYPES

    data_type, sep, value = text.partition("=")
    data_type = HONEY_ALIASES.get(data_type.strip(), data_type.strip())
    if not sep or " " in data_type:
        raise ValueError(f"honey value {text!r} has no type: write TYPE=VALUE, e.g. email={text} or "
                         f"other_id={text} (types: leakmap/datatypes.py, also first_name, last_name)")
    if data_type not in DATA_TYPES:
        raise ValueError(f"unknown data type {data_type!r} in honey value {text!r}")
    if not value:
        raise ValueError(f"empty honey value in {text!r}")
    return Indicator.make(data_type, value)


def parse_key(text: str) -> tuple[str, str]:
    """`applovin=<SDK key>` → (name, key), for --tracker-key and the addon's leakmap_keys.
    Error messages never repeat the key: it is the user's secret."""
    name, sep, key = text.partition("=")
    name = name.strip()
    if not sep or not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError("expected NAME=KEY, NAME being a key name a rule uses (e.g. applovin=<the app's SDK key>)")
    if len(key.strip()) < 8:
        raise ValueError(f"the key given for {name} is empty or shorter than 8 characters")
    return name, key.strip()


def parse_keys(texts: Iterable[str]) -> dict[str, str]:
    """Several NAME=KEY texts → {name: key}; a name given twice is an error."""
    keys: dict[str, str] = {}
    for text in texts:
        name, key = parse_key(text)
        if name in keys:
            raise ValueError(f"a key for {name} is given twice")
        keys[name] = key
    return keys


HOSTILE_REASONS = (*STOPPED, "limit:", BODY_LOST)  # BODY_LOST: the HAR lacks the bytes, say which request


def request_problem(analysis: Analysis, where: str = "") -> Problem | None:
    """A problem line for a request that stopped the pipeline (an exception, its time
    budget, a size/depth/count limit): those name the flow, unlike ordinary "could not
    decode" results, which the summary counts. The URL is not repeated (it can carry
    personal data); the method and host say which request it was."""
    if not analysis.error.startswith(HOSTILE_REASONS):
        return None
    request = analysis.request
    where = where or f"flow {request.flow_id}"
    return Problem(display(request.source), f"{where} ({display(f'{request.method} {request.host}')[:120]})",
                   f"not decoded: {analysis.error}")


class Session:
    """One analyzer and one store; `feed` takes requests from any source."""

    def __init__(self, store: Store, rule_dirs: Iterable[Path] = (), bundled_rules: bool = True,
                 limits: Limits | None = None, indicators: list[Indicator] | None = None, label: str = "",
                 keys: Mapping[str, str] | None = None, first_party: Iterable[str] = (),
                 replay_limits: ReplayLimits | None = None) -> None:
        """*keys*: keys the user supplied for decode steps (parse_keys); ValueError when no
        loaded rule uses one of their names. They are kept in memory only."""
        rules, self.rule_problems = load_rules(rule_dirs, bundled=bundled_rules)
        self.analyzer = Analyzer(rules, limits, indicators, label, keys, first_party, replay_limits)
        self.last_problem: Problem | None = None  # of the last request fed, see request_problem
        self._trackers = [(r.id, r.name, r.company, r.category, r.country, r.website) for r in rules]
        self.use_store(store)

    def use_store(self, store: Store) -> None:
        """Write into *store* from now on, with fresh counters: a worker process analyses each
        capture into a store of its own with the rules it compiled once (leakmap/batch.py)."""
        self.store = store
        self.stats: dict[str, Stats] = {}
        self.analyzer.replays.closed.clear()  # summaries of recordings stored elsewhere: not kept for ever
        store.set_trackers(self._trackers)
        for problem in self.rule_problems:
            store.add_problem(problem)

    def stats_for(self, source: str) -> Stats:
        stats = self.stats.get(source)  # not setdefault: a Stats (four Counters) per request is not free
        if stats is None:
            stats = self.stats[source] = Stats()
        return stats

    def feed(self, request: Request, commit: bool = True, where: str = "",
             prepared: Prepared | object = UNPREPARED) -> Analysis | None:
        """Analyse and store one request; returns its analysis (None: nothing of interest).
        A request that stopped the pipeline (an exception, a limit, its time budget) is
        also stored as a Problem naming it (*where*: e.g. "flow 12"; default its flow id), so
        it gets its own line in the CLI and the report; see `request_problem`. *prepared*:
        what `Analyzer.prepare` made of it already (in a worker process: leakmap/parallel.py)."""
        stats = self.stats_for(request.source)
        stats.flows_read += 1
        try:
            analysis = self.analyzer.analyze(request) if prepared is UNPREPARED else \
                self.analyzer.finish(request, prepared)  # type: ignore[arg-type]
        except Exception as e:  # the analyzer contains its own failures; this is the last guard
            analysis = Analysis(request, "not_decoded", error=internal_error(e))
        stats.count(analysis)
        if analysis is not None:
            if not self.store.add(analysis, commit=commit):  # 0: stored by an earlier analysis
                stats.already_stored += 1
            problem = request_problem(analysis, where)
            if problem is not None:
                self.store.add_problem(problem)
                self.last_problem = problem
            for recording in analysis.replays:  # a damaged or capped recording: one line per problem
                for message in recording.problems[recording.problems_reported:]:
                    self.store.add_problem(Problem(request.source, f"session recording {recording.replay_id}", message))
                recording.problems_reported = len(recording.problems)
        elif request.host and request.method != "OPTIONS":
            stats.other_hosts[display(registrable_domain(request.host))] += 1
        if analysis is None:
            stats.generic_skipped["cors_preflight" if request.method == "OPTIONS"
                                  else self.analyzer.generic.last_skip or "other"] += 1
        return analysis

    def problem(self, problem: Problem) -> None:
        problem = Problem(display(problem.source), display(problem.where), display(problem.message))
        self.store.add_problem(problem)
        reason = problem.message.split(":", 1)[0]
        self.stats_for(problem.source).skipped[reason] += 1

    def save_stats(self) -> None:
        for source, stats in self.stats.items():
            self.store.set_stats(display(source), stats.to_dict())

    def replay(self, path: Path, limits: Limits, label: str = "", on_problem: Callable[[Problem], None] | None = None,
               progress: Callable[[int], None] | None = None, keylog: Path | None = None, jobs: int = 1) -> Stats:
        """Analyse every flow of one capture file, committing in batches for speed (a replay
        can simply be rerun, unlike a live capture). *jobs* > 1: the requests are prepared
        in that many worker processes (leakmap/parallel.py), with the same findings."""
        stats = self.stats_for(str(path))
        self.analyzer.start_capture()
        pairs: Iterable[tuple[Request | Problem, Any]]
        if jobs > 1 and can_fork() and readable_dump(path):
            from .parallel import prepared_dump_in_processes  # the workers parse the dump too

            pairs = prepared_dump_in_processes(self.analyzer, path, limits, label, progress, jobs)
        elif jobs > 1 and can_fork():
            from .parallel import prepared_in_processes

            pairs = prepared_in_processes(self.analyzer, read_any(path, limits, label, progress, keylog), jobs)
        else:
            pairs = ((item, UNPREPARED) for item in read_any(path, limits, label, progress, keylog))
        for n, (item, prepared) in enumerate(pairs, 1):
            if isinstance(item, Problem):
                self.problem(item)
                if on_problem:
                    on_problem(item)
            else:
                self.last_problem = None
                self.feed(item, commit=False, where=f"flow {n}", prepared=prepared)
                if self.last_problem is not None and on_problem:
                    on_problem(self.last_problem)
            if n % 2000 == 0:
                self.store.commit()
        self.store.commit()
        self.save_stats()
        return stats
