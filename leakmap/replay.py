"""Session replays revealed: what a recording showed and what the user typed into it.

Called from the pipeline on each request's decoded document, whatever its host: the
recordings in it are recognised by content (replay_formats.py), added to their recording
across requests (replay_recording.py rebuilds the page with replay_dom.py), and what was
shown and typed goes through the same detectors as every other field (key names, value
patterns, credentials, honey values). A recording spans many requests: `ReplayBook` keeps
one `Recording` per (receiver, replay or session id) for the run, so the page from the first
request's FullSnapshot is the page later inputs and clicks act on. Everything is capped per
recording (`ReplayLimits`); past a cap, what was read is kept and a problem line says why.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .credentials import SECRET_TYPES
from .extract import Indicator, value_patterns
from .value_types import classify_key
from .replay_formats import Budget, Stream, find_streams, may_hold_recording, recording_id, restore, trimmed
from .replay_recording import Recording, ReplayLimits, is_masked

__all__ = ["ReplayBook", "ReplayFinding", "ReplayLimits", "Recording", "is_masked", "may_hold_recording", "restore",
           "trimmed"]


@dataclass(slots=True)
class ReplayFinding:
    """A personal value found inside a recording, with where in it and when."""

    data_type: str
    value: str
    path: str
    detail: str
    masked: bool = False


# --- the run's recordings ---------------------------------------------------------------------------

class ReplayBook:
    """The open recordings of one run, keyed by receiver and recording id; the oldest is
    closed (kept in `closed` as a summary) when more than `max_recordings` are open."""

    def __init__(self, limits: ReplayLimits | None = None, indicators: list[Indicator] | None = None) -> None:
        self.limits = limits or ReplayLimits()
        self.indicators = indicators or []
        self.open: OrderedDict[str, Recording] = OrderedDict()
        self.closed: list[dict[str, Any]] = []

    def find(self, doc: Any) -> list[Stream]:
        """The recordings in one request's document (reads nothing into the book yet)."""
        return find_streams(doc, Budget(self.limits.max_bytes))

    def read(self, streams: list[Stream], receiver: str, tracker: str,
             client: str) -> tuple[list[Recording], list[ReplayFinding]]:
        """Add one request's recording streams to their recordings; returns the recordings
        touched and the personal values found in what they showed and what was typed."""
        budget = Budget(self.limits.max_bytes)
        touched: list[Recording] = []
        found: list[ReplayFinding] = []
        for stream in streams:
            rid = recording_id(stream.ids)
            key = f"{receiver}\x00{rid or client}"
            recording = self.open.get(key)
            if recording is None:
                recording = Recording(key, receiver, tracker, rid or f"(no id; client {client or '?'})", self.limits)
                self.open[key] = recording
                if len(self.open) > self.limits.max_recordings:
                    _, oldest = self.open.popitem(last=False)
                    self.closed.append(oldest.summary())
            self.open.move_to_end(key)
            checks = recording.apply(stream, budget)
            found.extend(self._check(recording, checks))
            if budget.left < 0:
                recording.problem(f"more than {self.limits.max_bytes} bytes of events in one request: "
                                  "the rest is not read")
            if recording not in touched:
                touched.append(recording)
        return touched, found

    def _check(self, recording: Recording, checks: list) -> list[ReplayFinding]:
        """Run the detectors on what the recording showed and what was typed into it."""
        out = []
        for kind, value, where, when, entry in checks:
            hits: list[tuple[str, str, str]] = []
            if kind == "input":
                how = f"typed into {entry['selector']} ({entry['type'] or 'field'}" + \
                      (f", “{entry['label']}”" if entry.get("label") else "") + "), sent unmasked"
                if entry.get("password"):
                    hits.append(("password", value, how))
                elif entry["type"] == "email" and "@" in value:
                    hits.append(("email", value.strip(), how))
                for key in (entry.get("name"), entry.get("autocomplete"), entry["selector"].split("#")[-1]):
                    data_type = classify_key(key, value) if key else ""
                    if data_type:
                        hits.append((data_type, value, how))
                hits.extend((t, v, f"{how}; {name}") for t, v, name in value_patterns(value))
            else:
                how = "text shown on the page"
                hits.extend((t, v, f"{how}; {name}") for t, v, name in value_patterns(value))
            for indicator in self.indicators:
                form = indicator.find(value)
                if form:
                    hits.append((indicator.data_type, indicator.value, f"{how}; honey value ({form})"))
            for data_type, found_value, detail in hits:
                if (data_type, found_value) in recording._finding_keys:
                    continue
                recording._finding_keys.add((data_type, found_value))
                finding = ReplayFinding(data_type, found_value, where, f"session replay: {detail}, at {when}")
                out.append(finding)
                recording.findings.append({"data_type": data_type, "value": found_value, "masked": False,
                                           "secret": data_type in SECRET_TYPES, "path": where, "time": when,
                                           "how": detail})
        return out

    def summaries(self) -> list[dict[str, Any]]:
        return self.closed + [r.summary() for r in self.open.values()]
