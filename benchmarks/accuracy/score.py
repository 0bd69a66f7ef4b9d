"""Score leakmap's findings against the independent ground truth (truth.py).

For each recording and each source (the `.mitm` dumps, mitmproxy's HAR of them, Chromium's
HAR), leakmap analyses the file with every bundled rule, as `leakmap analyze` does. A
finding is matched to the truth by (receiver, value); the receiver is named from the
request's host by truth.HOSTS, so leakmap's own tracker naming plays no part.

- typed recall: truth values found with one of their accepted types / truth values
- value recall: truth values found with any type / truth values
- precision: typed findings whose type the truth accepts / typed findings that have truth
  (a finding of type `unlabelled` is not typed; a value without truth is not judged)
- wrong high: findings of a high-sensitivity type that the truth contradicts
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from truth import Truth, receiver_of

SOURCES = {"mitm": "capture*.mitm", "mitmproxy_har": "capture*.har", "browser_har": "browser*.har"}
Found = dict[tuple[str, str], set[str]]  # (receiver, value) → leakmap's types for it


@cache
def _analyzer():  # type: ignore[no-untyped-def]
    """leakmap with every bundled rule, compiled once per run."""
    from leakmap.pipeline import Analyzer
    from leakmap.rules import load_rules

    return Analyzer(load_rules([], bundled=True)[0])


def findings_of(files: Iterable[Path]) -> tuple[Found, list[str]]:
    """(receiver, value) → types leakmap gave, over all *files*; and the problems it reported."""
    from leakmap.decode import Limits
    from leakmap.model import Problem
    from leakmap.read import read_any

    analyzer = _analyzer()
    found: Found = defaultdict(set)
    problems: list[str] = []
    for path in files:
        for item in read_any(path, Limits()):
            if isinstance(item, Problem):
                problems.append(f"{path.name}: {item}")
                continue
            analysis = analyzer.analyze(item)
            receiver = receiver_of(item.host)
            if analysis is None or receiver is None:
                continue
            for finding in analysis.findings:
                found[(receiver, finding.value.strip())].add(finding.data_type)
    return found, problems


@dataclass
class Tally:
    """Counts behind one row of the table."""

    truth: int = 0
    typed: int = 0
    valued: int = 0
    judged: int = 0  # typed findings that have truth
    wrong: int = 0  # ... whose type the truth contradicts

    def add(self, other: Tally) -> None:
        for name in ("truth", "typed", "valued", "judged", "wrong"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self) -> dict[str, float | int | None]:
        ratio = (lambda a, b: round(a / b, 3) if b else None)
        return {"truth": self.truth, "typed_recall": ratio(self.typed, self.truth),
                "value_recall": ratio(self.valued, self.truth),
                "precision": ratio(self.judged - self.wrong, self.judged), "judged": self.judged, "wrong": self.wrong}


@dataclass
class Score:
    per_receiver: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    per_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    sdk_collected: Tally = field(default_factory=Tally)  # truth values that are not honey
    misses: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # receiver, value, wanted, got
    wrong: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # receiver, value, found type, truth
    wrong_high: list[tuple[str, str, str, list[str]]] = field(default_factory=list)

    def overall(self) -> Tally:
        total = Tally()
        for tally in self.per_receiver.values():
            total.add(tally)
        return total


def score(truth: Truth, found: Found, score_into: Score | None = None) -> Score:
    """Compare one recording's truth with what leakmap found in one source."""
    from leakmap.datatypes import DATA_TYPES, HIGH

    result = score_into or Score()
    for (receiver, value), entry in truth.items():
        got = found.get((receiver, value), set())
        typed = [t for t in got if t != "unlabelled"]
        primary = sorted(entry.types)[0]
        hit = bool(set(typed) & entry.types)
        tallies = [result.per_receiver[receiver], result.per_type[primary]]
        if not entry.honey:
            tallies.append(result.sdk_collected)
        for tally in tallies:
            tally.truth += 1
            tally.typed += hit
            tally.valued += bool(got)
        if not hit:
            result.misses.append((receiver, value[:80], "/".join(sorted(entry.types)), sorted(got)))
        for data_type in typed:
            right = data_type in entry.types
            for tally in (result.per_receiver[receiver], result.per_type[primary]):
                tally.judged += 1
                tally.wrong += not right
            if not right:
                item = (receiver, value[:80], data_type, sorted(entry.types))
                result.wrong.append(item)
                if DATA_TYPES.get(data_type) and DATA_TYPES[data_type].sensitivity == HIGH:
                    result.wrong_high.append(item)
    return result
