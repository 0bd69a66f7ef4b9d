"""Golden tests: Didomi's consent events (POST api.privacy-center.org/v1/events with type
consent.given, the user block with id, country and the consent token) and its SDK loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels, make_request

TRACKER = "didomi"
pytestmark = pytest.mark.no_real_client("didomi", "the SDK is served only from Didomi's CDN (npm has only a loader component)")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

API_KEY = "9d2c4f1a-7b3e-4c5d-8e6f-0a1b2c3d4e5f"


def test_consent_given_event(analyzer):
    event = {"type": "consent.given", "id": "c3b6a1f0-0000-4000-8000-000000000001", "timestamp": "2026-12-07T10:00:00Z",
             "source": {"key": API_KEY, "type": "sdk-web", "domain": "www.news.example", "version": "1.3.2"},
             "user": {"id": "18a2b3c4-d5e6-6f70-8a9b-0c1d2e3f4a5b", "country": "FR", "region": "IDF",
                      "agent": "Mozilla/5.0 (X11; Linux x86_64)",
                      "token": {"purposes": {"enabled": ["cookies", "analytics"], "disabled": ["advertising"]}},
                      "tcfcs": "CQF3fAAQF3fAAAHABBENBVFgAP_gAAAAAAAAIwwAQIwgAAAA"},
             "parameters": {"action": "click", "from": "notice"}}
    req = make_request("POST", "https://api.privacy-center.org/v1/events", compact_json(event), [JSON_CT])
    a = analyze(analyzer, req, "events")
    has(a, "event_name", "consent.given", "body.type")
    has(a, "installation_id", "18a2b3c4-d5e6-6f70-8a9b-0c1d2e3f4a5b", "body.user.id")
    has(a, "project_key", API_KEY, "body.source.key")
    has(a, "consent_state", "advertising", "body.user.token.purposes.disabled[0]")
    assert labels(a)["body.user.tcfcs"] == "consent_state"


def test_sdk_loader(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://sdk.privacy-center.org/{API_KEY}/loader.js?target=www.news.example",
                                       headers=[("Referer", "https://www.news.example/")]), "sdk")
    has(a, "project_key", API_KEY, "path.api_key")
