"""Shared helpers for the golden tests: run a request through the analyzer and assert
precise findings, with a readable dump of the analysis when an assertion fails.

Fixtures come from factories, assigned at module level where a test module wants them:

    analyzer = analyzer_fixture(TRACKER)   # every bundled rule; this tracker's must load cleanly
    analyze = analyze_fixture()            # analyze(request) -> Analysis, which must exist
    analyze = analyze_for(TRACKER)         # analyze(analyzer, request, endpoint, via="host")
    assert_decoded = decoded_for(TRACKER)  # assert_decoded(a, endpoint, via="host")
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.read import request_from_flow
from leakmap.rules import Rule, load_rules

JSON_CT = ("Content-Type", "application/json")
FORM_CT = ("Content-Type", "application/x-www-form-urlencoded")


def analyze(analyzer: Analyzer, request: Request) -> Analysis:
    a = analyzer.analyze(request)
    assert a is not None, f"{request.method} {request.url} not recognised"
    assert_memo_agrees(analyzer, request, a)
    return a


def assert_memo_agrees(analyzer: Analyzer, request: Request, first: Analysis) -> None:
    """The same request analysed again, its leaves now all remembered (leaf_memo.LeafMemo), and
    once more with no memo, gives the same fields and findings: remembered labels replay
    exactly what the detectors say. (Rule-matched requests without a recording: a second
    read of a recording, or the generic path's digest memory, would differ by design.)"""
    if first.match_via not in ("host", "payload_shape") or first.replays:
        return
    remembered = analyzer.analyze(request)
    memo, analyzer.leaf_memo = analyzer.leaf_memo, None
    try:
        fresh = analyzer.analyze(request)
    finally:
        analyzer.leaf_memo = memo
    for again in (remembered, fresh):
        assert again is not None and (again.fields, again.findings) == (first.fields, first.findings), \
            f"labels differ when analysed again ({'remembered' if again is remembered else 'no memo'}):\n{summary(first)}"


def summary(a: Analysis) -> str:
    lines = [f"status={a.status} endpoint={a.endpoint} error={a.error!r} via={a.match_via} chain={a.decode_chain}"]
    lines += [f"  {f.data_type} {f.value!r} @ {f.path} [{f.detector}: {f.detail}]" for f in a.findings]
    return "\n".join(lines)


def assert_finding(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) finding in\n{summary(a)}"
    assert (hits[0].path, hits[0].detector) == (path, detector), f"({data_type}, {value!r}):\n{summary(a)}"


def labels(a: Analysis) -> dict[str, str]:
    """Concrete path → data type ('' for an uploaded, not personal field)."""
    return {path: label for path, _, label in a.fields}


def make_request(method: str, url: str, body: bytes | str = b"",
                 headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(flow_id="golden", source="golden", timestamp=0.0, method=method, url=url,
                   headers=headers or [], body=body.encode() if isinstance(body, str) else body)


def request_via_mitmproxy(method: str, url: str, raw_body: bytes, headers: dict[str, str]) -> Request:
    """A real mitmproxy flow carrying *raw_body* as sent (gzip with Content-Encoding),
    normalised by leakmap's own reader."""
    flow = tflow.tflow()
    flow.request = http.Request.make(method, url, b"", headers)
    flow.request.raw_content = raw_body
    return request_from_flow(flow, "golden", Limits())


def compact_json(value: Any) -> str:
    """JSON.stringify / org.json / NSJSONSerialization / encoding/json: no spaces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def org_json(value: Any) -> str:
    """Android's org.json JSONObject.toString(): compact, and escapes '/' as '\\/'."""
    return compact_json(value).replace("/", "\\/")


def encode_uri_component(text: str) -> str:
    """JavaScript encodeURIComponent (also Android Uri.encode: same unreserved set)."""
    return quote(text, safe="-_.!~*'()")


def java_url_encode(text: str) -> str:
    """java.net.URLEncoder.encode(text, "UTF-8"): space as '+', '*-._' kept."""
    return quote_plus(text, safe="*-._")


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_finding_at(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    """Like assert_finding, but any occurrence of the (data type, value) may sit at *path*."""
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) finding in\n{summary(a)}"
    assert any((f.path, f.detector) == (path, detector) for f in hits), f"({data_type}, {value!r}):\n{summary(a)}"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def decoded_for(tracker: str) -> Callable[..., None]:
    """`decoded(a, endpoint, tracker=..., via="host")`: the request matched *tracker*'s
    *endpoint* (by host, or by payload shape) and decoded without error."""

    def decoded(a: Analysis, endpoint: str, tracker: str = tracker, via: str = "host") -> None:
        assert a is not None
        got = (a.tracker, a.endpoint, a.status, a.error, a.match_via)
        assert got == (tracker, endpoint, "decoded", "", via), summary(a)

    return decoded


def analyze_for(tracker: str, check_via: bool = True) -> Callable[..., Analysis]:
    """`analyze(analyzer, request, endpoint, via="host")`: the analysis of *request*, which
    must exist and be *tracker*'s *endpoint*, decoded without error (and matched *via*,
    unless *check_via* is off)."""

    def run(analyzer: Analyzer, request: Request, endpoint: str, via: str = "host") -> Analysis:
        a = analyze(analyzer, request)
        got = (a.tracker, a.endpoint, a.status, a.error) + ((a.match_via,) if check_via else ())
        assert got == (tracker, endpoint, "decoded", "") + ((via,) if check_via else ()), summary(a)
        return a

    return run


# --- Fixture factories ------------------------------------------------------------------------

def _load(tracker: str | None, only: Path | None) -> list[Rule]:
    loaded, problems = load_rules([only], bundled=False) if only else load_rules()
    assert [p for p in problems if tracker is None or tracker in p.source] == []
    return loaded


def rules_fixture(tracker: str | None = None, only: Path | None = None) -> Any:
    """`rules = rules_fixture()`: a module-scoped fixture with every bundled rule, all of which
    must load without problems; with *tracker* only that tracker's rule must (another rule's
    problem then fails only its own tests); with *only*, that rule file alone (fast, and a
    lookalike host cannot hide behind another rule)."""

    @pytest.fixture(scope="module")
    def rules() -> list[Rule]:
        return _load(tracker, only)

    return rules


def analyzer_fixture(tracker: str | None = None, only: Path | None = None) -> Any:
    """`analyzer = analyzer_fixture()`: a module-scoped fixture, an Analyzer over the rules
    rules_fixture(tracker, only) describes."""

    @pytest.fixture(scope="module")
    def analyzer() -> Analyzer:
        return Analyzer(_load(tracker, only))

    return analyzer


def _recognised(analyzer: Analyzer) -> Callable[[Request], Analysis]:
    def run(request: Request) -> Analysis:
        return analyze(analyzer, request)

    return run


def analyze_fixture(fresh: bool = False) -> Any:
    """`analyze = analyze_fixture()`: a fixture giving `analyze(request)`, the request's
    Analysis (asserting a tracker was recognised at all) by the module's `analyzer`; with
    *fresh*, by a new Analyzer over the module's `rules` in each test (an Analyzer's
    attribution remembers earlier requests per client)."""
    if fresh:
        @pytest.fixture
        def analyze(rules: list[Rule]) -> Callable[[Request], Analysis]:
            return _recognised(Analyzer(rules))
    else:
        @pytest.fixture
        def analyze(analyzer: Analyzer) -> Callable[[Request], Analysis]:
            return _recognised(analyzer)

    return analyze


# --- Protocol Buffers wire format ------------------------------------------------------------
# What protoc-generated code writes: one field (pb_int, pb_bytes, pb_double, pb_float, pb_msg),
# a message from (number, value) pairs (pb_fields) or from a schema table (pb_encode).
# Negative varints take ten bytes (two's complement), as int32/int64 fields do.

def pb_varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_int(number: int, n: int) -> bytes:
    """A varint field (wire type 0): int32, int64, uint64, bool, enum."""
    return pb_varint(number << 3) + pb_varint(n)


def pb_bytes(number: int, data: bytes | str) -> bytes:
    """A length-delimited field (wire type 2): bytes, a string (UTF-8) or an encoded message."""
    raw = data.encode() if isinstance(data, str) else data
    return pb_varint(number << 3 | 2) + pb_varint(len(raw)) + raw


def pb_double(number: int, x: float) -> bytes:
    """A 64-bit field (wire type 1): double."""
    return pb_varint(number << 3 | 1) + struct.pack("<d", x)


def pb_float(number: int, x: float) -> bytes:
    """A 32-bit field (wire type 5): float."""
    return pb_varint(number << 3 | 5) + struct.pack("<f", x)


def pb_msg(number: int, *parts: bytes) -> bytes:
    """A submessage field made of already encoded *parts*."""
    return pb_bytes(number, b"".join(parts))


def pb_fields(*fields: tuple[int, int | str | bytes]) -> bytes:
    """A message from (field number, value) pairs in the order given: int → varint, str →
    string, bytes → an already encoded submessage. Repeat a number for a repeated field."""
    return b"".join(pb_int(number, value) if isinstance(value, int) else pb_bytes(number, value)
                    for number, value in fields)


# A schema table declares each message as {field name: (number, kind)}, kind being "string",
# "bytes", "varint", "bool", "double" or the name of another message; a list value repeats
# the field.

def pb_encode(schema: dict[str, dict[str, tuple[int, str]]], message: str, values: dict[str, Any]) -> bytes:
    """Serialise *values* as *message* of *schema*, fields in number order (as protoc does)."""
    out = bytearray()
    fields = schema[message]
    for name, value in sorted(values.items(), key=lambda kv: fields[kv[0]][0]):
        number, kind = fields[name]
        for item in value if isinstance(value, list) else [value]:
            if kind in ("varint", "bool"):
                out += pb_int(number, int(item))
            elif kind == "double":
                out += pb_double(number, item)
            else:
                out += pb_bytes(number, item if kind in ("string", "bytes") else pb_encode(schema, kind, item))
    return bytes(out)


def assert_every_key_mapped(analyzer: Analyzer, a: Analysis, tracker: str, endpoint: str,
                            keys: Iterable[str], prefix: str = "") -> None:
    """Each of *keys* (field paths relative to a record; the concrete path is *prefix* + key)
    has a mapping of its own in the rule (a data type or `uploaded`, not a catch-all) and was
    labelled with it: removing any key from the rule fails the test that lists it."""
    from leakmap.rules import NOT_PERSONAL

    fields = labels(a)
    rules = analyzer.endpoints[(tracker, endpoint)]
    for key in keys:
        path = prefix + key
        mapped = rules.fields.lookup(key) or rules.request_fields.lookup(path)
        assert mapped is not None and "*" not in mapped[1], f"{path} has no mapping of its own"
        assert fields.get(path) == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), (path, fields.get(path), mapped)


# --- OpenRTB 2.6 bid requests, as Prebid.js's ortbConverter builds them -----------------------
# (site, device, user with extended ids, regs with the consent strings); the exchanges' rules
# map the same paths, so their golden tests share one request and one set of checks.

OPENRTB_PAGE = "https://news.example/world/story-17"
OPENRTB_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
OPENRTB_TCF = "CQH2gAAQH2gAAAHABBENBYFsAP_gAEPgAAAAKZtV_G__bWlr8X73aftkeY1P9_h77sQxBhfJE-4FzLvW_JwXx2ExNA36tqIKmRIAu3bBIQNlGJDUTVCgaogVryDMaE2coTNKJ6BkiFMRM2dYCF5vm4tj-QKY5vr991dx2B-t7dr83dzyz4VHn3a5_2a0WJCdA5-tDfv9bROb-9IOd_x8v4v8_F_rE2_eT1l_tevp7D9-cts7_XW-9_fff79Ll_-mBwUVAgAAQAIAEAEAgAAAAIAAAEAAAAAAAEAgAAgIAgIAAAAMAAAAAAAAAAAAAAAAEgAABgAAQAAAAAA.YAAAAAAAAAAA"


def openrtb_bid_request(**extra: Any) -> dict[str, Any]:
    """A Prebid.js-style OpenRTB 2.6 bid request with distinct values in every typed field."""
    return {"id": "b6f3c1e2-0a9d-4e3b-8c71-5d2e4f6a7b8c",
            "imp": [{"id": "div-gpt-ad-1", "tagid": "slot-728x90", "banner": {"format": [{"w": 728, "h": 90}]},
                     "ext": {"gpid": "/1234/news/top"}}],
            "site": {"page": OPENRTB_PAGE, "ref": "https://search.example/?q=news", "domain": "news.example",
                     "publisher": {"id": "pub-4242", "domain": "news.example"}, "keywords": "elections,weather"},
            "device": {"ua": OPENRTB_UA, "language": "de", "w": 1920, "h": 1080, "dnt": 0, "js": 1,
                       "ip": "198.51.100.142", "geo": {"country": "DEU", "lat": 52.5163, "lon": 13.3777},
                       "sua": {"browsers": [{"brand": "Chromium", "version": ["142"]}], "platform": {"brand": "Linux"}}},
            "user": {"id": "pub-user-31337", "buyeruid": "exch-buyer-8c2f", "consent": OPENRTB_TCF,
                     "ext": {"eids": [{"source": "id5-sync.com", "uids": [{"id": "ID5*honeyid5value", "atype": 1}]},
                                      {"source": "pubcid.org", "uids": [{"id": "f1e2d3c4-pubcid", "atype": 1}]}]}},
            "regs": {"ext": {"gdpr": 1, "us_privacy": "1YNN"}},
            "source": {"tid": "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"}, "tmax": 1000, "cur": ["EUR"], **extra}


def assert_openrtb_findings(a: Analysis) -> None:
    """The findings every exchange rule must give for openrtb_bid_request()."""
    for data_type, value, path in (
            ("page_url", OPENRTB_PAGE, "body.site.page"),
            ("referrer", "https://search.example/?q=news", "body.site.ref"),
            ("project_key", "pub-4242", "body.site.publisher.id"),
            ("user_agent", OPENRTB_UA, "body.device.ua"),
            ("public_ip", "198.51.100.142", "body.device.ip"),
            ("latitude", "52.5163", "body.device.geo.lat"),
            ("user_id", "pub-user-31337", "body.user.id"),
            ("browser_id", "exch-buyer-8c2f", "body.user.buyeruid"),
            ("consent_state", OPENRTB_TCF, "body.user.consent"),
            ("other_id", "ID5*honeyid5value", "body.user.ext.eids[0].uids[0].id"),
            ("search_term", "elections,weather", "body.site.keywords")):
        assert_finding_at(a, data_type, value, path)
