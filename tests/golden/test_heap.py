"""Golden tests: Heap server-side API, legacy beacon and Heap Core endpoints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import JSON_CT, assert_finding_at as assert_finding, compact_json, make_request, summary

TRACKER = "heap"
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


ENV_ID = "3141592653"
EMAIL = "harper.heap@example.com"


def test_server_track(analyze):
    body = {"app_id": ENV_ID, "identity": EMAIL, "event": "Invoice Paid", "timestamp": "2026-01-01T00:00:00Z",
            "properties": {"amount": 120, "plan": "pro"}}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/track", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "project_key", ENV_ID, "body.app_id")
    assert_finding(a, "user_id", EMAIL, "body.identity")
    assert_finding(a, "email", EMAIL, "body.identity", detector="pattern")
    assert_finding(a, "event_name", "Invoice Paid", "body.event")
    assert_finding(a, "custom_property", "pro", "body.properties.plan")


def test_server_add_user_properties(analyze):
    body = {"app_id": ENV_ID, "identity": "u-1", "properties": {"email": EMAIL, "first_name": "Harper"}}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/add_user_properties", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "email", EMAIL, "body.properties.email")
    assert_finding(a, "name", "Harper", "body.properties.first_name")


def test_bulk_track(analyze):
    body = {"app_id": ENV_ID, "events": [{"identity": "u-2", "event": "Signup", "timestamp": "2026-01-01T00:00:00Z"}]}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/track", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "event_name", "Signup", "body.events[0].event")


def test_heap_core_upload_is_matched_but_left_undecoded(analyze):
    """Binary body with a private schema: recorded, not decoded, no failing decode step."""
    a = analyze(make_request("POST", "https://c.us.heap-api.com/api/integrations/heap/ingest", b"\x0a\x05hello\x12\x01x",
                             [("Content-Type", "application/x-protobuf")]))
    assert (a.tracker, a.endpoint, a.status) == (TRACKER, "core_upload", "decoded")
    assert a.payload["body"]["undecoded_bytes"] == 10


def test_legacy_beacon(analyze):
    a = analyze(make_request("GET", f"https://heapanalytics.com/h?a={ENV_ID}&u=1234&v=5678&t=pageview"))
    assert_decoded(a, "web_beacon")
    assert_finding(a, "project_key", ENV_ID, "query.a")


def test_lookalike_host_is_not_heap(analyzer):
    a = analyzer.analyze(make_request("POST", "https://heapanalytics.com.example.org/api/track", "{}", [JSON_CT]))
    assert a is None or a.tracker != TRACKER
