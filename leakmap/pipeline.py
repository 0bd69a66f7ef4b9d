"""The analysis pipeline for one request: match → decode → extract → attribute.

`Analyzer` is built once (rules compiled, host index built) and then called for every
request from any source: the live addon, a .mitm dump or a HAR file.

One bad request is one problem line, never the end of a run: each request gets its own
`Budget` (CPU time, decompressed bytes); running out of time, hitting a limit, or any
exception inside decode, extract or attribute makes that request "not decoded" with the
reason (`took too long: …`, `limit: …`, `internal: <exception>: …`), keeping what could be
read, and the next request starts afresh.
"""

from __future__ import annotations

import base64
import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from . import grpc_frames, paths, text
from .attribute import Attribution, Attributor
from .decode import multidict, run_operations
from .entities import receiver
from .extract import Indicator, extract
from .firstparty import FirstParty
from .generic import GenericPath, Opener
from .leaf_memo import LeafMemo
from .limits import Budget, Limits, TookTooLong, took_too_long
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
        doc["cookie"] = parse_cookie(cookie, limits.max_fields)
    return doc, error


def parse_cookie(header: str, max_cookies: int) -> dict[str, str]:
    """A request's Cookie header (`name=value; name2=value2`) → {name: value}, quotes around
    a value removed, a later cookie of the same name winning. Written here rather than with
    http.cookies.SimpleCookie, which takes time quadratic in a value full of backslash
    escapes (minutes for 400 KB before Python 3.12.6) and drops a whole header for one
    character it dislikes; a part without `=` is kept under the empty name."""
    out: dict[str, str] = {}
    for part in header.split(";", max_cookies)[:max_cookies]:
        name, sep, value = part.strip().partition("=")
        if not sep:
            name, value = "", name
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name or value:
            out[name.strip()] = value
    return out


# Errors of a request that stopped the pipeline itself (not a format it could not read).
STOPPED = ("internal:", "took too long:")
MAX_EVIDENCE_NODES = 60_000  # about what the store keeps (512 K characters of JSON)


def evidence(doc: Any, max_depth: int = 32, max_nodes: int = MAX_EVIDENCE_NODES) -> Any:
    """The decoded document made JSON-safe: bytes that no step decoded are shown as base64;
    containers deeper than *max_depth* and whatever follows the first *max_nodes* nodes are
    summarised (a hostile document must not be copied whole, or recursed through to any
    depth). Text that is not valid Unicode is kept as it is here; its original bytes are
    listed under `not_unicode`, by concrete path (see leakmap/text.py). Paths are only
    built when such text is found (rare): this runs for every node of every request."""
    left = max_nodes
    unclean = False

    def kept(node: Any, depth: int) -> Any:
        nonlocal unclean
        if node.__class__ is str:
            if not node.isascii() and not text.is_clean(node):
                unclean = True
            return node
        if isinstance(node, (dict, list)):
            return copy(node, depth)
        if isinstance(node, bytes):
            return {"undecoded_bytes": len(node), "base64": base64.b64encode(node[:4096]).decode()}
        return node

    def copy(node: dict[Any, Any] | list[Any], depth: int) -> Any:
        nonlocal left, unclean
        if depth >= max_depth:
            return f"[not kept: {len(node)} {'keys' if isinstance(node, dict) else 'items'}, deeper than the depth limit]"
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if left <= 0:
                    out["…"] = f"[not kept: {len(node) - len(out)} more keys, past the evidence limit]"
                    break
                left -= 1
                if key.__class__ is not str:
                    key = str(key)
                elif not key.isascii() and not text.is_clean(key):
                    unclean = True
                out[key] = kept(value, depth + 1)
            return out
        items: list[Any] = []
        for index, value in enumerate(node):
            if left <= 0:
                items.append(f"[not kept: {len(node) - index} more items, past the evidence limit]")
                break
            left -= 1
            items.append(kept(value, depth + 1))
        return items

    left -= 1
    out = kept(doc, 0)
    if unclean and isinstance(out, dict):
        found: dict[str, str] = {}  # filled before it joins *out*: its own keys may not be clean
        _not_unicode(out, "", found)
        out["not_unicode"] = found
    return out


def _not_unicode(node: Any, path: str, found: dict[str, str]) -> None:
    """Concrete path → original bytes of each text under *node* (evidence already made, so
    bounded in size and depth) that is not valid Unicode, in document order; keys marked
    ` (key)`."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = paths.child(path, key)
            if not text.is_clean(key):
                found[here + " (key)"] = text.evidence(key)
            _not_unicode(value, here, found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _not_unicode(value, paths.item(path, index), found)
    elif isinstance(node, str) and not text.is_clean(node):
        found[path] = text.evidence(node)


def internal_error(error: BaseException) -> str:
    """The error text of a request an exception stopped: the exception's type and the start
    of its message, never a traceback."""
    message = text.display(str(error))
    message = message if len(message) <= 160 else message[:160] + "…"
    return f"internal: {type(error).__name__}: {message}" if message else f"internal: {type(error).__name__}"


# What `Analyzer.prepare` hands to `finish`: None (nothing to analyse), GENERIC (no rule or
# payload shape: the generic path decides, in capture order), or the analysis with the
# recordings found in its document (replay_formats.Stream).
GENERIC = "generic"
Prepared = tuple[Analysis, list[Any]] | str | None


class Analyzer:
    """Compiled rules + detectors + attribution state; `analyze` is called per request.
    It is `prepare` (the request alone) then `finish` (in capture order, with what earlier
    requests taught: recordings, the app's own domains, which app a client is)."""

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
        self.leaf_memo = LeafMemo()  # leaf labels by place and value, across requests (leaf_memo.py)
        self.shape_checks = 0  # candidates decoded to confirm a shape match (cost measure, benchmarks/)
        self.endpoints = {(rule.id, e.id): e for rule in rules for e in rule.endpoints}
        self._capture_options = (label, tuple(first_party))
        self.start_capture()
        used = {ref.name for e in self.endpoints.values() for op in e.operations for ref in op.chain.key_refs}
        self.keys = dict(keys or {})
        unknown = sorted(set(self.keys) - used)
        if unknown:
            raise ValueError(f"no rule uses a key named {unknown[0]!r} "
                             f"(keys the rules use: {', '.join(sorted(used)) or 'none'})")

    def start_capture(self) -> None:
        """Forget what was learned from earlier captures: the app's own domains, which app a
        client or project key belongs to, open session recordings. Each capture file is
        analysed on its own, so the findings of a file do not depend on the files analysed
        before it: in any order, with --jobs or on a Dask cluster, they are the same.
        (Recordings cut off here keep their summary in the book, for `leakmap replay`.)"""
        label, first_party = self._capture_options
        self.replays.closed.extend(recording.summary() for recording in self.replays.open.values())
        self.replays.open.clear()
        self.attributor = Attributor(label)
        self.generic = GenericPath(self.limits, self.indicators, FirstParty(first_party, label))

    def analyze(self, request: Request) -> Analysis | None:
        """The analysis of *request*, or None when it is neither a tracker request nor
        carries anything a generic detector recognises (most traffic: kept out of the store).
        CORS preflights (OPTIONS) carry no data and are not analysed."""
        return self.finish(request, self.prepare(request))

    def prepare(self, request: Request) -> Prepared:
        """The part of `analyze` that depends on *request* alone (and the rules): a rule's
        or a payload shape's decoding and extraction, the recordings in the document found
        but not read. What it returns depends on no earlier request, so `--jobs` workers
        prepare the requests of one capture in parallel (leakmap/parallel.py) and `finish`
        takes them in capture order. None: nothing to analyse (a CORS preflight)."""
        if request.method == "OPTIONS":
            return None
        budget = Budget(self.limits)
        try:
            match = self.index.match(request)
            if match is not None:
                analysis = Analysis(request, "decoded", match.rule.id, match.rule.company, match.rule.category,
                                    match_via="host")
                if match.endpoint is None:
                    analysis.endpoint = "(no endpoint rule)"
                    self._decode(analysis, None, budget, f"no endpoint rule: {match.rule.name} host, "
                                                         f"but no endpoint matches {request.method} {request.path}")
                else:
                    self._decode(analysis, match.endpoint, budget)
                return analysis, self._streams
            analysis = self._by_shape(request, budget)
            return (analysis, self._streams) if analysis is not None else GENERIC
        except Exception as e:  # matching itself failed: still one problem line, not the end of the run
            return Analysis(request, "not_decoded", error=internal_error(e)), []

    def finish(self, request: Request, prepared: Prepared) -> Analysis | None:
        """The part of `analyze` that depends on the requests before this one, run in
        capture order: the recordings read on, the generic path (which learns the app's own
        domains; it has a time budget of its own), the app attributed."""
        if prepared is None:
            return None
        if prepared is GENERIC:
            try:
                analysis = self._generic(request)
                if analysis is None:
                    self.attributor.observe(request)
            except Exception as e:
                analysis = Analysis(request, "not_decoded", error=internal_error(e))
        else:
            analysis, streams = prepared
            try:
                self._read_replays(analysis, streams)
            except Exception as e:
                self._fail(analysis, internal_error(e))
        if analysis is None:
            return None
        try:
            found = self.attributor.attribute(analysis)
        except Exception as e:
            found = Attribution("unattributed", "unattributed", f"attribution failed: {internal_error(e)}")
            self._fail(analysis, internal_error(e))
        analysis.app, analysis.app_signal, analysis.app_evidence = found.app, found.signal, found.evidence
        analysis.error = text.display(analysis.error)  # printed and stored as it is
        return analysis

    def _read_replays(self, analysis: Analysis, streams: list[Any]) -> None:
        """Session recordings in the document (any host): what they showed and what was typed
        becomes findings of this request, like every other field (replay.py). A recording the
        reader cannot finish makes the request not decoded, with what was read kept. *streams*:
        the recordings `_decode` found in its document."""
        if not streams:
            return
        request = analysis.request
        receiver_name = analysis.company or registrable_domain(request.host)
        try:
            recordings, found = self.replays.read(streams, receiver_name, analysis.tracker, request.client)
        except Exception as e:
            self._fail(analysis, internal_error(e))
            return
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

    @staticmethod
    def _fail(analysis: Analysis, reason: str) -> None:
        """Mark *analysis* not decoded for *reason*, first among its errors."""
        analysis.status = "not_decoded"
        analysis.error = "; ".join(e for e in (reason, analysis.error) if e)

    def _decode(self, analysis: Analysis, endpoint: Endpoint | None, budget: Budget,
                error: str = "") -> dict[str, Any]:
        """Decode and extract *analysis*'s request into it. Never raises: running out of
        time or any exception marks the analysis not decoded and keeps what was read.
        Session recordings in it are found here (`self._streams`) and trimmed for the
        per-field detectors and the evidence; `_read_replays` reads them whole."""
        doc: dict[str, Any] = {}
        self._streams, self._undo = [], []
        try:
            doc = self._decode_and_extract(analysis, endpoint, budget, error)
        except TookTooLong:
            self._fail(analysis, took_too_long(self.limits))
        except Exception as e:
            self._fail(analysis, internal_error(e))
        try:
            analysis.payload = evidence(doc, self.limits.max_depth)
        except Exception as e:  # evidence is best effort: the findings matter more
            analysis.payload = {"evidence": internal_error(e)}
        finally:
            restore(self._undo)  # recordings whole again, for the replay reader
        return doc

    def _decode_and_extract(self, analysis: Analysis, endpoint: Endpoint | None, budget: Budget,
                            error: str) -> dict[str, Any]:
        doc, body_error = build_document(analysis.request, endpoint, self.limits)
        errors = [e for e in (error, body_error) if e]
        if endpoint is not None:
            analysis.endpoint = endpoint.id
            analysis.rule_source = " ".join(endpoint.sources)
            log, step_errors = run_operations(doc, endpoint.operations, self.limits, self.keys, budget)
            analysis.decode_chain = log
            if endpoint.status != "stable":  # the evidence says how far this endpoint's format is checked
                analysis.decode_chain.insert(0, f"rule status: {endpoint.status} ({analysis.tracker}/{endpoint.id})")
            errors.extend(step_errors)
        elif isinstance(doc.get("body"), bytes) and grpc_frames.is_grpc(analysis.request):
            doc["body"] = grpc_frames.open_body(analysis.request, doc["body"], budget.step_limits())
        elif isinstance(doc.get("body"), bytes):
            # No rule says how to decode it: look at it as text, if it is text.
            try:
                doc["body"] = doc["body"].decode("utf-8")
            except UnicodeDecodeError:
                pass
        if self.keys:
            doc = self._mask_keys(doc, self.limits.max_depth)
            url = self._mask_keys(analysis.request.url, 0)
            if url != analysis.request.url:
                analysis.request = dataclasses.replace(analysis.request, url=url)
        self._streams = self.replays.find(doc)
        self._undo = trimmed(self._streams)  # recordings: their first events here, the rest in replay.py
        budget.check_time()
        opener = Opener(budget.step_limits())  # values encoded inside values, on the rule path too
        extraction = extract(doc, endpoint, self.indicators, self.limits.max_depth, self.limits.max_fields,
                             budget.deadline, opener.open_text if endpoint is not None else None, self.leaf_memo)
        analysis.fields, analysis.findings, analysis.identity = extraction.fields, extraction.findings, extraction.identity
        if extraction.dropped_findings:
            errors.insert(0, f"limit: {extraction.dropped_findings} more findings not kept "
                             f"(at most {5 * self.limits.max_fields} per request)")
        if errors:
            analysis.status, analysis.error = "not_decoded", "; ".join(errors)
        if extraction.stopped:
            self._fail(analysis, f"{took_too_long(self.limits)}; {extraction.stopped}, those found are kept")
        return doc

    def _mask_keys(self, node: Any, depth: int) -> Any:
        """*node* with every occurrence of a key the user supplied replaced by `[NAME key]`:
        those keys are the user's secrets, never stored as values or evidence (an app may
        also send its key in the clear, e.g. AppLovin's `sdk_key`: the finding stays, masked).
        Containers more than *depth* levels down are dropped: they could hide a key, and
        neither extraction nor the evidence goes that deep."""
        if isinstance(node, (dict, list)) and depth < 0:
            return "[not kept: nested deeper than the depth limit]"
        if isinstance(node, dict):
            return {k: self._mask_keys(v, depth - 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self._mask_keys(v, depth - 1) for v in node]
        if isinstance(node, str):
            for name, key in self.keys.items():
                node = node.replace(key, f"[{name} key]")
        elif isinstance(node, bytes):
            for name, key in self.keys.items():
                node = node.replace(key.encode(), f"[{name} key]".encode())
        return node

    def _by_shape(self, request: Request, budget: Budget) -> Analysis | None:
        """Recognise a tracker on a host no rule names (a proxy, a self-hosted collector, a
        CNAME) by what the request carries: the index's candidates, each confirmed by its
        path (an endpoint with no host declares where it listens), method and payload."""
        for candidate in self.index.shape_candidates(request):
            endpoint = candidate.endpoint
            if not endpoint.shape_accepts(request.method, request.path):
                continue
            self.shape_checks += 1
            if not self._may_fit(request, endpoint, budget):
                continue
            rule = endpoint.rule
            analysis = Analysis(request, "decoded", rule.id, rule.company, rule.category, match_via="payload_shape",
                                matched_by=candidate.found_by)
            doc = self._decode(analysis, endpoint, budget)
            if analysis.error.startswith(STOPPED):
                # The request itself is the problem: report it (as no tracker's: the shape was
                # not recognised) and try no more shapes.
                return Analysis(request, "no_rule", error=analysis.error, payload=analysis.payload)
            if analysis.status == "decoded" and self._has_required(doc, endpoint):
                where = f"host {request.host} is not a known {rule.name} host: recognised by payload shape" \
                    if endpoint.hosts else f"recognised by payload shape on {request.host}"
                analysis.decode_chain.insert(0, f"{where} (found by {candidate.found_by})")
                return analysis
        return None

    def _may_fit(self, request: Request, endpoint: Endpoint, budget: Budget) -> bool:
        """Whether *request*, decoded by *endpoint*'s steps alone (no extraction, evidence or
        recording search), holds the fields its shape requires. Ordinary API calls end in
        the same path segments as trackers' intakes (`/events`, `/session`, `/sync`): they
        are turned down here at the cost of their decoding only. A failure says yes, so the
        full analysis reports it as before. The trial spends the request's time, not its
        decompression allowance (the full analysis decodes again)."""
        trial = Budget(self.limits)
        trial.deadline = budget.deadline
        try:
            doc, _ = build_document(request, endpoint, self.limits)
            run_operations(doc, endpoint.operations, self.limits, self.keys, trial)
        except Exception:
            return True
        return self._has_required(doc, endpoint)

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
        traffic only through the honey values given. Its time budget starts once it is to be
        decoded (most requests are only triaged)."""
        skip = self.generic.triage(request)
        honey = skip == "first_party" and bool(self.indicators)
        recording = honey or may_hold_recording(request.body)
        if skip and not recording:
            return None
        budget = Budget(self.limits)
        if recording:
            analysis = self._recording_or_honey(request, budget, third_party=not skip)
            if analysis.replays or (honey and analysis.findings) or analysis.error.startswith(STOPPED):
                return analysis
        if skip:
            return None
        doc, error = build_document(request, None, self.limits)
        try:
            analysis = self.generic.analyze(request, doc, error, budget.step_limits())
        except TookTooLong:
            return self._third_party(Analysis(request, "not_decoded", error=took_too_long(self.limits)))
        except Exception as e:  # a limit, or hostile bytes the generic decoders did not survive
            return self._third_party(Analysis(request, "not_decoded", error=internal_error(e)))
        if analysis is not None:
            analysis.payload = evidence(doc, self.limits.max_depth)
        return analysis

    @staticmethod
    def _third_party(analysis: Analysis) -> Analysis:
        """*analysis* named as the generic path names a receiver without a rule."""
        site = receiver(analysis.request.host)
        analysis.tracker, analysis.company, analysis.category = site.domain, site.company, site.category
        analysis.endpoint, analysis.match_via = "(no rule)", "generic"
        return analysis

    def _recording_or_honey(self, request: Request, budget: Budget, third_party: bool) -> Analysis:
        """Decoded and read like a tracker request without a rule: honey values, patterns and
        any session recording in it. A third party is named as the generic path names it."""
        analysis = Analysis(request, "no_rule")
        if third_party:
            self._third_party(analysis)
        self._decode(analysis, None, budget)
        self._read_replays(analysis, self._streams)
        if analysis.status != "not_decoded":
            analysis.status = "no_rule"
        return analysis
