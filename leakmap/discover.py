"""Unknown trackers: rank the hosts no rule covers by how tracker-like their traffic is.

Why: a rule set never covers every tracker; the hosts it misses are exactly where an
auditor must look next. Raw captures are read again (leakmap/read.py) so every host counts,
not only those whose requests the analysis stored. Each request to an uncovered host is
opened with generic decode steps (leakmap/decode.py) and its leaves go through the same
detectors as rule-less requests (key names, value patterns, honey values). Signals, each
with its evidence: values the detectors recognise, identifier-like values repeated across
requests, batched events, beacon-like endpoints, and being third party to the apps or
sites that contact the host (a host named like the app is more likely its own server).
Per host we keep counters and a bounded sample, never the requests themselves.
"""

from __future__ import annotations

import time

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import paths
from .datatypes import DATA_TYPES, SENSITIVITY_RANK
from .decode import Chain, DecodeError, Limits, compile_steps
from .attribute import from_headers, from_site
from .extract import Indicator, scalar_text
from .value_types import classify_key, value_shapes
from .match import HostIndex, registrable_domain
from .model import Problem, Request
from .pipeline import build_document
from .read import read_any
from .rules import Rule

# Generic ways to open a body, tried in order (the first that decodes wins).
BODY_CHAINS: tuple[tuple[str, ...], ...] = (
    ("json",), ("ndjson",), ("gzip", "json"), ("zlib", "json"), ("base64", "json"), ("base64", "gzip", "json"),
    ("form",),
)
# Ways to open a form or query value that holds a payload (`data=<base64 JSON>`).
VALUE_CHAINS: tuple[tuple[str, ...], ...] = (("json",), ("base64", "json"), ("lzstring", "json"))
# Values exclude `&`, so there is one way to split a body: linear, whatever a hostile body holds.
_FORM = re.compile(rb"^[\w.$%+\-\[\]]+=[^\s&]*(?:&[\w.$%+\-\[\]]+=[^\s&]*)*$")
_FORM_KEY = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")
_ID_LIKE = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,64}|"
                      r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,64})$", re.I)
_BEACON_WORDS = {"track", "collect", "event", "events", "batch", "log", "logs", "beacon", "pixel", "analytics",
                 "metrics", "telemetry", "capture", "identify", "engage", "ingest", "e", "i", "t", "p", "v1", "rum"}
MAX_SAMPLE = 5  # evidence kept per host and signal
MAX_ENDPOINTS = 1000  # distinct path patterns (and senders) counted per host
MAX_FINDINGS = 200  # detector hits listed per host in JSON
MAX_IDS_PER_HOST = 2000  # distinct identifier-like values tracked per host


@dataclass(slots=True)
class Hit:
    """One detector hit in a decoded request: where, what type, which value, which detector."""

    path: str
    data_type: str
    value: str
    detector: str
    detail: str


@dataclass(slots=True)
class Opened:
    """A request opened without a rule: its document, the decode operations that worked
    (at, steps) and the problems met."""

    doc: dict[str, Any]
    operations: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@lru_cache(maxsize=64)
def _chain(steps: tuple[str, ...]) -> Chain:
    return compile_steps(list(steps))


def _try(chains: Iterable[tuple[str, ...]], value: Any, limits: Limits) -> tuple[Any, tuple[str, ...]] | None:
    """The first chain that turns *value* into a non-empty object or array, with its steps."""
    for steps in chains:
        try:
            out, _ = _chain(steps).run(value, limits)
        except (DecodeError, ValueError, TypeError, RecursionError, UnicodeDecodeError):
            continue
        if isinstance(out, (dict, list)) and out:
            return out, steps
    return None


def open_request(request: Request, limits: Limits) -> Opened:
    """Decode a request no rule covers as far as generic steps go: the body, then one level
    of payload-holding form or query values (`data=<base64 JSON>`)."""
    doc, error = build_document(request, None, limits)
    opened = Opened(doc, errors=[error] if error else [])
    body = doc.get("body")
    if isinstance(body, bytes):
        chains = BODY_CHAINS if _FORM.match(body[:4096].strip()) else BODY_CHAINS[:-1]
        found = _try(chains, body, limits)
        if found:
            doc["body"], steps = found
            opened.operations.append(("body", steps))
        else:
            try:
                doc["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                pass
    for root in ("body", "query"):
        container = doc.get(root)
        if not isinstance(container, dict) or (root == "body" and opened.operations[-1:] != [("body", ("form",))]):
            continue
        for key, value in list(container.items()):
            if isinstance(value, str) and len(value) >= 8 and _FORM_KEY.match(key):
                found = _try(VALUE_CHAINS, value, limits)
                if found:
                    container[key], steps = found
                    opened.operations.append((f"{root}.{key}", steps))
    return opened


def detect(doc: dict[str, Any], indicators: Iterable[Indicator], max_depth: int) -> Iterator[Hit]:
    """The detectors of rule-less requests on every leaf: key names (outside headers),
    value patterns, honey values."""
    indicators = list(indicators)
    for path, raw in paths.leaves(doc, max_depth=max_depth):
        value = scalar_text(raw)
        if not value:
            continue
        typed = classify_key(paths.last_key(path), value) if not path.startswith("header") else ""
        if typed:
            yield Hit(path, typed, value, "key_name", paths.last_key(path))
        for data_type, found, name in value_shapes(value):
            if data_type != typed:
                yield Hit(path, data_type, found, "pattern", name)
        for indicator in indicators:
            form = indicator.find(value)
            if form:
                yield Hit(path, indicator.data_type, indicator.value, "indicator", form)


def path_pattern(path: str) -> str:
    """`/v1/users/8f3a…/events` → `/v1/users/{id}/events`: segments that vary per user or
    per request (numbers, hex, UUIDs, long tokens) become `{id}`."""
    parts = [("{id}" if re.fullmatch(r"\d+|[0-9a-f]{8,}|[0-9a-f-]{36}", p, re.I) or _ID_LIKE.match(p) else p)
             for p in path.split("/")]
    return "/".join(parts) or "/"


@dataclass(slots=True)
class HostStats:
    """What one uncovered host received, as counters and a bounded sample of evidence."""

    host: str
    requests: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)
    hits: dict[tuple[str, str], Hit] = field(default_factory=dict)  # (type, value) → first hit (bounded)
    hit_kinds: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # detector, detail, type, shape
    # identifier-like value → [requests it was in, number of the last one]: a count, not the
    # request numbers, so a value sent in every request costs the same as one sent twice
    ids: dict[str, list[int]] = field(default_factory=dict)
    id_paths: dict[str, str] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    beacons: list[str] = field(default_factory=list)
    third_party: set[str] = field(default_factory=set)  # apps or sites it is a third party to (bounded)
    first_party: set[str] = field(default_factory=set)  # apps or sites it seems to belong to (bounded)
    decoded: Counter[str] = field(default_factory=Counter)

    def observe(self, n: int, request: Request, opened: Opened, hits: Iterable[Hit]) -> None:
        self.requests += 1
        self.methods[request.method] += 1
        endpoint = f"{request.method} {path_pattern(request.path)}"
        if endpoint in self.endpoints or len(self.endpoints) < MAX_ENDPOINTS:
            self.endpoints[endpoint] += 1
        self.decoded[" + ".join(f"{at}: {' → '.join(s)}" for at, s in opened.operations) or "not opened"] += 1
        for hit in hits:
            self.hit_kinds[(hit.detector, hit.detail, hit.data_type, paths.shape(hit.path))] += 1
            if len(self.hits) < MAX_FINDINGS:
                self.hits.setdefault((hit.data_type, hit.value), hit)
        for path, raw in paths.leaves(opened.doc, max_depth=16):
            value = scalar_text(raw)
            if value and _ID_LIKE.match(value) and not path.startswith("header"):
                seen = self.ids.get(value)
                if seen is None and len(self.ids) < MAX_IDS_PER_HOST:
                    self.ids[value] = [1, n]
                    self.id_paths[value] = path
                elif seen is not None and seen[1] != n:  # requests are numbered in order
                    seen[0], seen[1] = seen[0] + 1, n
        batch = _batch_of(opened.doc)
        if batch and len(self.batches) < MAX_SAMPLE:
            self.batches.append(f"{endpoint}: {batch}")
        words = {w.lower() for w in re.split(r"[/._-]+", request.path) if w}
        beacon = words & _BEACON_WORDS
        if beacon and len(self.beacons) < MAX_SAMPLE and not any(b.startswith(endpoint + " ") for b in self.beacons):
            self.beacons.append(f"{endpoint} (path words: {', '.join(sorted(words & _BEACON_WORDS))})")
        found = from_headers(request) or from_site(request)
        sender = request.label or (found.app if found else "")
        if sender and (sender in self.apps or len(self.apps) < MAX_ENDPOINTS):
            self.apps[sender] += 1
        if sender:
            side = self.first_party if same_party(sender, self.host) else self.third_party
            if len(side) < MAX_SAMPLE:
                side.add(sender)

    def repeated_ids(self) -> list[tuple[str, str, int]]:
        """(value, path, requests) of identifier-like values seen in two or more requests."""
        rows = [(v, self.id_paths[v], requests) for v, (requests, _) in self.ids.items() if requests >= 2]
        return sorted(rows, key=lambda r: -r[2])

    def score(self) -> tuple[float, list[str]]:
        """Tracker-likeness and the evidence for it. Weights are leakmap's heuristic: detector
        hits on personal data count most, then ids that follow a device across requests."""
        evidence: list[str] = []
        score = 0.0
        types = {kind[2] for kind in self.hit_kinds}
        personal = {t for t in types if DATA_TYPES.get(t) and SENSITIVITY_RANK[DATA_TYPES[t].sensitivity] >= 2}
        if types:
            score += min(3 * len(personal) + len(types) - len(personal), 15)
            for (detector, detail, data_type, shape), n in self.hit_kinds.most_common(MAX_SAMPLE):
                evidence.append(f"detector {detector} ({detail}): {data_type} at {shape}, {n} times")
        repeated = self.repeated_ids()
        if repeated:
            score += 3 + min(len(repeated), 3)
            for value, path, n in repeated[:MAX_SAMPLE]:
                evidence.append(f"identifier-like value {value[:6]}… at {path} repeated in {n} requests")
        if self.batches:
            score += 2
            evidence.extend(f"batched events: {b}" for b in self.batches)
        if self.beacons:
            score += 2
            evidence.extend(f"beacon-like endpoint: {b}" for b in self.beacons)
        if self.third_party:
            score += 2 if len(self.third_party) >= 2 else 1
            who = ", ".join(sorted(self.third_party))
            evidence.append(f"third party to {len(self.third_party)} apps or sites: {who}" if len(self.third_party) > 1
                            else f"third party to {who}")
        elif self.first_party:
            score -= 4
            evidence.append(f"seems first party: named like {', '.join(sorted(self.first_party))} (the app's own server?)")
        score += math.log2(1 + self.requests) / 4
        return round(score, 2), evidence

    def to_dict(self) -> dict[str, Any]:
        score, evidence = self.score()
        return {"host": self.host, "domain": registrable_domain(self.host), "score": score,
                "requests": self.requests, "methods": dict(self.methods), "endpoints": dict(self.endpoints.most_common(10)),
                "apps": dict(self.apps), "data_types": sorted({kind[2] for kind in self.hit_kinds}),
                "decoded": dict(self.decoded), "evidence": evidence,
                "findings": [{"data_type": h.data_type, "value": h.value, "path": h.path, "detector": h.detector,
                              "detail": h.detail} for h in list(self.hits.values())[:MAX_FINDINGS]]}


def same_party(sender: str, host: str) -> bool:
    """Whether an app or site name (`Newsdaily`, `com.newsdaily.android`, `newsdaily.net`)
    names the host's own domain: then the host is more likely the app's server than a tracker."""
    label = registrable_domain(host).split(".")[0].lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", sender.lower()) if t]
    compact = "".join(tokens)
    return len(label) >= 3 and (label in tokens or label == compact or (len(compact) >= 4 and compact in label))


def _batch_of(doc: dict[str, Any]) -> str:
    """'N events at PATH' when the body holds an array of two or more objects (a batch)."""
    body = doc.get("body")
    candidates = [("body", body)] + ([(f"body.{k}", v) for k, v in body.items()] if isinstance(body, dict) else [])
    for path, node in candidates:
        if isinstance(node, list) and len(node) >= 2 and all(isinstance(x, dict) for x in node[:50]):
            return f"{len(node)} records at {path}"
    return ""


def uncovered(captures: Iterable[Path], rules: list[Rule], limits: Limits, label: str = "",
              on_problem: Callable[[Problem], None] | None = None,
              want: Callable[[Request], bool] | None = None) -> Iterator[Request]:
    """Requests (not CORS preflights) to hosts that no rule covers, read from raw captures;
    *want* narrows them further (one host, for `rules draft`)."""
    index = HostIndex(rules)
    for path in captures:
        for item in read_any(path, limits, label):
            if isinstance(item, Problem):
                if on_problem:
                    on_problem(item)
            elif item.method != "OPTIONS" and item.host and index.match(item) is None and (want is None or want(item)):
                yield item


def discover(captures: Iterable[Path], rules: list[Rule], limits: Limits, indicators: Iterable[Indicator] = (),
             label: str = "", on_problem: Callable[[Problem], None] | None = None) -> list[dict[str, Any]]:
    """Hosts no rule covers, most tracker-like first, each with its evidence."""
    indicators = list(indicators)
    hosts: dict[str, HostStats] = {}
    for n, request in enumerate(uncovered(captures, rules, limits, label, on_problem)):
        opened = open_request(request, limits)
        hits = list(detect(opened.doc, indicators, limits.max_depth))
        hosts.setdefault(request.host, HostStats(request.host)).observe(n, request, opened, hits)
    ranked = [h.to_dict() for h in hosts.values()]
    return sorted(ranked, key=lambda h: (-h["score"], h["host"]))


def text_report(ranked: list[dict[str, Any]], limit: int) -> str:
    """The readable ranking: score, host, request count and data types, then the evidence."""
    lines = []
    for host in ranked[:limit]:
        types = "; " + ", ".join(host["data_types"]) if host["data_types"] else ""
        lines.append(f"{host['score']:6.2f}  {host['host']}  ({host['requests']} requests{types})")
        lines.extend(f"        - {line}" for line in host["evidence"])
    if len(ranked) > limit:
        lines.append(f"… {len(ranked) - limit} more hosts (--limit, or --format json)")
    return "\n".join(lines) + "\n" if lines else "no host outside the rules was contacted\n"


def render_html(ranked: list[dict[str, Any]], captures: list[str]) -> str:
    """The ranking as one self-contained page, under the report's Content-Security-Policy and
    stylesheet (reports/discover.html.j2)."""
    import jinja2
    from markupsafe import Markup

    from . import __version__
    from .datatypes import DATA_TYPES
    from .report import _asset, content_security_policy, templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    style = _asset("report.css")
    return env.get_template("discover.html.j2").render(
        hosts=ranked, captures=captures, version=__version__, sens={t: d.sensitivity for t, d in DATA_TYPES.items()},
        generated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        csp=content_security_policy("", style), style=Markup(style))
