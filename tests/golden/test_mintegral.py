"""Golden tests: Mintegral's settings request and analytics report, with the keys TrackHAR
observed in real apps' traffic (tweaselORG/TrackHAR src/adapters/rayjump.ts@3e56dadf): the
analytics body is URL-encoded once more, and its `data` value is a query string itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from urllib.parse import quote, urlencode

from golden_support import analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has, make_request

TRACKER = "mintegral"
pytestmark = pytest.mark.no_real_client("mintegral", "mobile-only SDK, closed source, no runnable client")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DEVICE = {"os": "1", "osv": "14", "orientation": "1", "brand": "Xiaomi", "model": "2201117TG", "gaid": GAID,
          "language": "es-ES", "timezone": "GMT+01:00", "useragent": "Mozilla/5.0 (Linux; Android 14; 2201117TG; wv)",
          "screen_size": "1080x2400", "package_name": "com.example.runner", "app_version_name": "5.0.2",
          "sdk_version": "MAL_16.5.21", "ct": "ES", "app_id": "118690", "sign": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}


def test_setting_query(analyzer):
    a = analyze(analyzer, make_request("GET", "https://configure.rayjump.com/setting?" + urlencode(DEVICE)), "setting")
    has(a, "advertising_id", GAID, "query.gaid")
    has(a, "app_id", "com.example.runner", "query.package_name")
    has(a, "project_key", "118690", "query.app_id")
    assert a.app == "com.example.runner"
    assert_every_key_mapped(analyzer, a, TRACKER, "setting", [f"query.{k}" for k in DEVICE])


def test_analytics_body_encoded_twice_with_nested_data(analyzer):
    inner = urlencode({"gaid": GAID, "key": "2000047", "st": "1767225600"})
    form = urlencode({"key": "2000054", "app_id": "118690", "package_name": "com.example.runner", "idfv": "",
                      "ip": "198.51.100.9", "data": inner})
    a = analyze(analyzer, make_request("POST", "https://analytics.rayjump.com/", quote(form, safe=""),
                                       [("Content-Type", "application/x-www-form-urlencoded")]), "analytics")
    has(a, "advertising_id", GAID, "body.data.gaid")
    has(a, "public_ip", "198.51.100.9", "body.ip")
    has(a, "event_name", "2000054", "body.key")
    has(a, "app_id", "com.example.runner", "body.package_name")
