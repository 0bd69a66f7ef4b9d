"""Golden tests: Flurry report endpoint (opaque binary body: matched, recorded, not decoded)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import make_request, summary

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
