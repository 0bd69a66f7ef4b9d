"""Golden tests: Flurry report endpoint (opaque binary body: matched, recorded, not decoded)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.read import request_from_flow
from leakmap.rules import load_rules
from golden_support import summary

TRACKER = "flurry"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


@pytest.fixture(scope="module")
def analyzer():
    loaded, problems = load_rules()
    assert [p for p in problems if TRACKER in p.source] == []
    return Analyzer(loaded)


@pytest.fixture
def analyze(analyzer) -> Callable[[Request], Analysis]:
    def run(request: Request) -> Analysis:
        analysis = analyzer.analyze(request)
        assert analysis is not None, f"{request.method} {request.url} was not recognised"
        return analysis

    return run


def assert_decoded(a: Analysis, endpoint: str, match_via: str = "host") -> None:
    got = (a.tracker, a.endpoint, a.status, a.error, a.match_via)
    assert got == (TRACKER, endpoint, "decoded", "", match_via), summary(a)


def assert_finding(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) finding in\n{summary(a)}"
    assert any((f.path, f.detector) == (path, detector) for f in hits), f"({data_type}, {value!r}):\n{summary(a)}"


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
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


JSON_CT = ("Content-Type", "application/json")
FORM_CT = ("Content-Type", "application/x-www-form-urlencoded")


AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def test_report_matched_and_left_undecoded(analyze):
    """The binary frame stays undecoded (no failing step): the request is recorded as a
    Flurry report, and its bytes are kept for the detectors."""
    frame = b"\x00\x00\x01\x2c\x00\x05" + json.dumps({"fl.bundle.id": "com.example.game",
                                                       "fl.reported.id": {"AndroidAdvertisingId": AAID}}).encode()
    a = analyze(make_request("POST", "https://data.flurry.com/aap.do", frame,
                             [("Content-Type", "application/octet-stream")]))
    assert (a.tracker, a.endpoint, a.status, a.error) == (TRACKER, "report", "decoded", "")
    assert a.payload["body"]["undecoded_bytes"] == len(frame)


def test_lookalike_host_is_not_flurry(analyzer):
    a = analyzer.analyze(make_request("POST", "https://data.flurry.com.example.org/aap.do", b"\x00\x01"))
    assert a is None or a.tracker != TRACKER
