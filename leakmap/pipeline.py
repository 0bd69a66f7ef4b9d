"""The analysis pipeline for one request: match → decode → extract → attribute.

`Analyzer` is built once (rules compiled, host index built) and then called for every
request from any source: the live addon, a .mitm dump or a HAR file.
"""

from __future__ import annotations

import base64
import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from . import grpc_frames, paths
from .attribute import Attributor
from .decode import Limits, multidict, run_operations
from .extract import Indicator, extract
from .entities import receiver
from .firstparty import FirstParty
from .generic import GenericPath
from .match import HostIndex, registrable_domain
from .model import Analysis, Finding, Request
from .replay import ReplayBook, ReplayLimits, may_hold_recording, restore, trimmed
from .rules import Endpoint, Rule


@dataclass(slots=True)
class Stats:
    """What happened to the flows of one source, for the summary and the report."""

    flows_read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    tracker_requests: int = 0
    decoded: int = 0
    not_decoded: Counter[str] = field(default_factory=Counter)
    other_requests_with_findings: int = 0
    findings: int = 0
    # Requests to hosts no rule covers, where no detector found anything: not stored, but
    # counted per registrable domain so the report can still say who else was contacted.
    other_hosts: Counter[str] = field(default_factory=Counter)
    # Requests the store already held (the capture was analysed before): counted as usual
    # above, but not stored again.
    already_stored: int = 0
    # Requests no rule covers that the generic path did not decode, by reason (static_asset,
    # cors_preflight, first_party, no_upload, nothing_found): counted, never stored.
    generic_skipped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"flows_read": self.flows_read, "skipped": dict(self.skipped), "tracker_requests": self.tracker_requests,
                "decoded": self.decoded, "not_decoded": dict(self.not_decoded),
                "other_requests_with_findings": self.other_requests_with_findings, "findings": self.findings,
                "other_hosts": dict(self.other_hosts.most_common()), "already_stored": self.already_stored,
                "generic_skipped": dict(self.generic_skipped)}

    def count(self, analysis: Analysis | None) -> None:
        if analysis is None:
            return
        self.findings += len(analysis.findings)
        if analysis.status == "no_rule":
            self.other_requests_with_findings += 1
            return
        self.tracker_requests += 1
        if analysis.status == "decoded":
            self.decoded += 1
        else:
            self.not_decoded[analysis.error.split(":", 1)[0] if analysis.error else "unknown"] += 1


def build_document(request: Request, endpoint: Endpoint | None, limits: Limits) -> tuple[dict[str, Any], str]:
    """The request as a tree the rule's operations and paths work on:
    `query`, `path` (named groups of the endpoint's path regex), `body` (raw bytes until a
    decode step parses it), `header` and `cookie`. Returns (document, error). The query is
    parsed as a form unless the endpoint decodes `at: query` itself: it then gets the raw
    query text, for formats where the order of parameters carries meaning (nesting markers)."""
    doc: dict[str, Any] = {}
    error = request.body_error
    if request.query and endpoint is not None and endpoint.parses_query:
        doc["query"] = request.query  # the endpoint's own steps parse it (parameter order matters)
    elif request.query:
        try:
            doc["query"] = multidict(parse_qsl(request.query, keep_blank_values=True, max_num_fields=limits.max_fields))
        except ValueError:
            error = error or f"query: more than {limits.max_fields} parameters"
    if endpoint is not None and endpoint.path is not None:
        found = endpoint.path.search(request.path)
        groups = {k: v for k, v in (found.groupdict() if found else {}).items() if v}
        if groups:
            doc["path"] = groups
    if request.body:
        if len(request.body) > limits.max_body:
            error = error or f"body: {len(request.body)} bytes exceeds the {limits.max_body}-byte limit"
        else:
            doc["body"] = request.body
    doc["header"] = {k.lower(): v for k, v in request.headers if k.lower() != "cookie"}
    cookie = request.header("cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie)
            doc["cookie"] = {k: m.value for k, m in jar.items()}
        except CookieError:
            doc["cookie"] = {"": cookie}
    return doc, error


def evidence(doc: Any) -> Any:
    """The decoded document made JSON-safe: bytes that no step decoded are shown as base64."""
    if isinstance(doc, dict):
        return {str(k): evidence(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [evidence(v) for v in doc]
    if isinstance(doc, bytes):
        return {"undecoded_bytes": len(doc), "base64": base64.b64encode(doc[:4096]).decode()}
    return doc


class Analyzer:
    """Compiled rules + detectors + attribution state; `analyze` is called per request."""

    def __init__(self, rules: list[Rule], limits: Limits | None = None, indicators: list[Indicator] | None = None,
                 label: str = "", keys: Mapping[str, str] | None = None, first_party: Iterable[str] = (),
                 replay_limits: ReplayLimits | None = None) -> None:
        """*keys*: keys the user supplied (--tracker-key NAME=KEY) for decode steps that need
        one; a name no loaded rule uses is a ValueError (a typo would silently decode nothing).
        *first_party*: domains of the app or site under test (--first-party), never third parties."""
        self.rules = rules
        self.limits = limits or Limits()
        self.indicators = indicators or []
        self.replays = ReplayBook(replay_limits, self.indicators)
        self._streams: list[Any] = []  # recordings in the last decoded document (replay.Stream)
        self.index = HostIndex(rules)
        self.endpoints = {(rule.id, e.id): e for rule in rules for e in rule.endpoints}
        self.attributor = Attributor(label)
        self.generic = GenericPath(self.limits, self.indicators, FirstParty(first_party, label))
        used = {ref.name for e in self.endpoints.values() for op in e.operations for ref in op.chain.key_refs}
        self.keys = dict(keys or {})
        unknown = sorted(set(self.keys) - used)
        if unknown:
            raise ValueError(f"no rule uses a key named {unknown[0]!r} "
                             f"(keys the rules use: {', '.join(sorted(used)) or 'none'})")

    def analyze(self, request: Request) -> Analysis | None:
        """The analysis of *request*, or None when it is neither a tracker request nor
        carries anything a generic detector recognises (most traffic: kept out of the store).
        CORS preflights (OPTIONS) carry no data and are not analysed."""
        if request.method == "OPTIONS":
            return None
        match = self.index.match(request)
        if match is not None:
            analysis = Analysis(request, "decoded", match.rule.id, match.rule.company, match.rule.category,
                                match_via="host")
            if match.endpoint is None:
                analysis.endpoint = "(no endpoint rule)"
                self._decode(analysis, None, f"no endpoint rule: {match.rule.name} host, "
                                             f"but no endpoint matches {request.method} {request.path}")
            else:
                self._decode(analysis, match.endpoint)
            self._read_replays(analysis)
        else:
            analysis = self._by_shape(request)
            if analysis is not None:
                self._read_replays(analysis)
            else:
                analysis = self._generic(request)
            if analysis is None:
                self.attributor.observe(request)
                return None
        found = self.attributor.attribute(analysis)
        analysis.app, analysis.app_signal, analysis.app_evidence = found.app, found.signal, found.evidence
        for recording in analysis.replays:
            recording.app = recording.app or analysis.app
        return analysis

    def _read_replays(self, analysis: Analysis) -> None:
        """Session recordings in the document (any host): what they showed and what was typed
        becomes findings of this request, like every other field (replay.py)."""
        request = analysis.request
        receiver = analysis.company or registrable_domain(request.host)
        recordings, found = self.replays.read(self._streams, receiver, analysis.tracker, request.client)
        # A recording's finding says where in it and when: it replaces a generic pattern match.
        seen = {(f.data_type, f.value): i for i, f in enumerate(analysis.findings)}
        for item in found:
            finding = Finding(item.data_type, item.value, item.path, "body", "replay", item.detail)
            index = seen.get((item.data_type, item.value))
            if index is None:
                seen[(item.data_type, item.value)] = len(analysis.findings)
                analysis.findings.append(finding)
            elif analysis.findings[index].detector == "pattern" and \
                    not analysis.findings[index].path.startswith(item.path + "."):  # a deeper path says more
                analysis.findings[index] = finding
        analysis.replays = recordings

    def _decode(self, analysis: Analysis, endpoint: Endpoint | None, error: str = "") -> dict[str, Any]:
        doc, body_error = build_document(analysis.request, endpoint, self.limits)
        errors = [e for e in (error, body_error) if e]
        if endpoint is not None:
            analysis.endpoint = endpoint.id
            analysis.rule_source = " ".join(endpoint.sources)
            log, step_errors = run_operations(doc, endpoint.operations, self.limits, self.keys)
            analysis.decode_chain = log
            errors.extend(step_errors)
        elif isinstance(doc.get("body"), bytes) and grpc_frames.is_grpc(analysis.request):
            doc["body"] = grpc_frames.open_body(analysis.request, doc["body"], self.limits.max_fields,
                                                self.limits.max_decompressed)
        elif isinstance(doc.get("body"), bytes):
            # No rule says how to decode it: look at it as text, if it is text.
            try:
                doc["body"] = doc["body"].decode("utf-8")
            except UnicodeDecodeError:
                pass
        if self.keys:
            doc = self._mask_keys(doc)
            url = self._mask_keys(analysis.request.url)
            if url != analysis.request.url:
                analysis.request = dataclasses.replace(analysis.request, url=url)
        self._streams = self.replays.find(doc)
        undo = trimmed(self._streams)  # recordings: their first events here, the rest in replay.py
        extraction = extract(doc, endpoint, self.indicators, self.limits.max_depth, self.limits.max_fields)
        analysis.fields, analysis.findings, analysis.identity = extraction.fields, extraction.findings, extraction.identity
        analysis.payload = evidence(doc)
        restore(undo)
        if errors:
            analysis.status, analysis.error = "not_decoded", "; ".join(errors)
        return doc

    def _mask_keys(self, node: Any) -> Any:
        """*node* with every occurrence of a key the user supplied replaced by `[NAME key]`:
        those keys are the user's secrets, never stored as values or evidence (an app may
        also send its key in the clear, e.g. AppLovin's `sdk_key`: the finding stays, masked)."""
        if isinstance(node, dict):
            return {k: self._mask_keys(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._mask_keys(v) for v in node]
        if isinstance(node, str):
            for name, key in self.keys.items():
                node = node.replace(key, f"[{name} key]")
        elif isinstance(node, bytes):
            for name, key in self.keys.items():
                node = node.replace(key.encode(), f"[{name} key]".encode())
        return node

    def _by_shape(self, request: Request) -> Analysis | None:
        """Recognise a tracker behind an unknown (proxy) host by what its payload contains."""
        for endpoint in self.index.shape_candidates(request):
            if endpoint.methods and request.method not in endpoint.methods:
                continue
            rule = endpoint.rule
            analysis = Analysis(request, "decoded", rule.id, rule.company, rule.category, match_via="payload_shape")
            doc = self._decode(analysis, endpoint)
            if analysis.status == "decoded" and self._has_required(doc, endpoint):
                analysis.decode_chain.insert(0, f"host {request.host} is not a known {rule.name} host: "
                                                "recognised by payload shape (custom proxy host?)")
                return analysis
        return None

    @staticmethod
    def _has_required(doc: dict[str, Any], endpoint: Endpoint) -> bool:
        """Every record (or the document, for endpoints without records) holds every path
        the endpoint's `shape.require` lists."""
        if endpoint.records:
            containers = [node for segments in endpoint.records for _, node in paths.resolve(doc, segments)]
        else:
            containers = [doc]

        def complete(record: Any) -> bool:
            return isinstance(record, dict) and all(
                next(paths.resolve(record, required), None) is not None for required in endpoint.shape_require)

        for node in containers:
            records = node if isinstance(node, list) else [node]
            if records and all(complete(r) for r in records):
                return True
        return False

    def _generic(self, request: Request) -> Analysis | None:
        """A request no rule covers. A session recording (an rrweb stream to any host, the
        app's own collector included) is read as a recording (leakmap/replay.py); another
        third-party upload goes through the generic path (leakmap/generic.py); the app's own
        traffic only through the honey values given."""
        skip = self.generic.triage(request)
        honey = skip == "first_party" and bool(self.indicators)
        if honey or may_hold_recording(request.body):
            analysis = self._recording_or_honey(request, third_party=not skip)
            if analysis.replays or (honey and analysis.findings):
                return analysis
        if skip:
            return None
        doc, error = build_document(request, None, self.limits)
        analysis = self.generic.analyze(request, doc, error)
        if analysis is not None:
            analysis.payload = evidence(doc)
        return analysis

    def _recording_or_honey(self, request: Request, third_party: bool) -> Analysis:
        """Decoded and read like a tracker request without a rule: honey values, patterns and
        any session recording in it. A third party is named as the generic path names it."""
        analysis = Analysis(request, "no_rule")
        if third_party:
            site = receiver(request.host)
            analysis.tracker, analysis.company, analysis.category = site.domain, site.company, site.category
            analysis.endpoint, analysis.match_via = "(no rule)", "generic"
        self._decode(analysis, None)
        if self._streams:
            self._read_replays(analysis)
        analysis.status = "no_rule"
        return analysis
