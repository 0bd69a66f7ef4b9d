"""Golden tests: Flurry report endpoint (opaque binary body: matched, recorded, not decoded)."""

from __future__ import annotations

import json

from golden_support import make_request, analyze_fixture, analyzer_fixture, decoded_for

TRACKER = "flurry"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


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
