"""Golden tests for tracker_rules/chartboost.yaml.

The Chartboost SDK is closed source. Bodies follow TrackHAR's observed formats
(tweaselORG/TrackHAR src/adapters/chartboost.ts@b0189485: flat `live-unnested` and nested
`live-nested`, `identity` = base64 JSON); headers X-Chartboost-App / -Signature / -Client /
-API as set by decompiled Chartboost Android SDKs found in public repos.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze, assert_finding, summary, analyzer_fixture

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "chartboost.yaml"

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IFA = "5B7C8D9E-0F1A-4B2C-8D3E-4F5A6B7C8D9E"
BUNDLE = "com.example.match3"
APP_ID = "5c1a2b3c4d5e6f7a8b9c0d1e"
SESSION = "a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"
UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36"


# Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
analyzer = analyzer_fixture(only=RULE)


def identity(**ids: str) -> str:
    return base64.b64encode(json.dumps(ids, separators=(",", ":")).encode()).decode()


def headers() -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Accept", "application/json"),
            ("X-Chartboost-Client", "Chartboost-Android-SDK 9.10.2"), ("X-Chartboost-API", "9.10.2"),
            ("X-Chartboost-App", APP_ID), ("X-Chartboost-Signature", "a" * 64)]


def flat_body() -> dict[str, Any]:
    return {"bundle_id": BUNDLE, "bundle": "4.1.0", "sdk": "9.10.2", "identity": identity(gaid=GAID),
            "session_id": SESSION, "device_type": "Google", "model": "Pixel 8", "os": "Android 14",
            "language": "de", "timezone": "Europe/Berlin", "user_agent": UA, "is_portrait": True,
            "carrier": {"carrier-name": "Telekom.de", "mobile-country-code": "262"}, "rooted_device": False,
            "w": 1080, "h": 2400, "scale": 2.625, "mobile_network": "wifi", "country": "DE",
            "timestamp": "1767225600"}


def post(url: str, body: dict[str, Any]) -> Request:
    return Request(flow_id="g", source="golden", timestamp=0.0, method="POST", url=url, headers=headers(),
                   body=json.dumps(body).encode())


@pytest.mark.parametrize("path", ["/api/install", "/api/config", "/banner/show"])
def test_flat_init_calls(analyzer, path):
    a = analyze(analyzer, post(f"https://live.chartboost.com{path}", flat_body()))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("chartboost", "api", "decoded", ""), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.identity.gaid")
    assert_finding(a, "app_id", BUNDLE, "body.bundle_id")
    assert_finding(a, "project_key", APP_ID, "header.x-chartboost-app")
    assert_finding(a, "carrier", "Telekom.de", "body.carrier.carrier-name")
    assert_finding(a, "user_agent", UA, "body.user_agent")
    endpoint = analyzer.endpoints[("chartboost", "api")]
    fields = {p: label for p, _, label in a.fields}
    for key in flat_body():
        if key in ("identity", "carrier"):
            continue
        mapped = endpoint.fields.lookup(f"body.{key}")
        assert mapped is not None and mapped[1] == f"body.{key}", key
        assert fields[f"body.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_nested_webview_prefetch_ios(analyzer):
    body = {"app": {"bundle_id": "id1234567890", "bundle": "4.1.0", "session_id": SESSION},
            "sdk": {"sdk": "9.6.0"},
            "device": {"identity": identity(ifa=IFA), "device_type": "iPhone", "model": "iPhone15,2",
                       "os": "iOS 17.2", "language": "de", "timezone": "Europe/Berlin", "user_agent": UA,
                       "is_portrait": True, "carrier": {"carrier_name": "Telekom.de"}, "rooted_device": False,
                       "w": 1179, "h": 2556, "mobile_network": "wifi", "country": "DE"}}
    a = analyze(analyzer, post("https://live.chartboost.com/webview/v2/prefetch", body))
    assert (a.endpoint, a.status) == ("webview", "decoded"), summary(a)
    assert_finding(a, "advertising_id", IFA, "body.device.identity.ifa")
    assert_finding(a, "session_id", SESSION, "body.app.session_id")
    assert_finding(a, "sdk_version", "9.6.0", "body.sdk.sdk")
    b = analyze(analyzer, post("https://da.chartboost.com/auction/sdk/banner", body))
    assert (b.endpoint, b.status) == ("webview", "decoded"), summary(b)


@pytest.mark.parametrize("url", ["https://live.chartboost.com.evil.example/api/install",
                                 "https://chartboost-live.example.org/api/install"])
def test_lookalike_hosts_are_not_chartboost(analyzer, url):
    a = analyzer.analyze(post(url, flat_body()))
    assert a is None or a.tracker != "chartboost"
