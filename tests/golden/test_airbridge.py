"""Golden tests: Airbridge events on the URL and headers the Android SDK 2.28.0 builds
(core.airbridge.io/api/v4/apps/<app>/events/mobile-app/<category>, X-Airbridge-* headers); the
body keys are the rule's background-knowledge names, so this checks the path, headers and the
catch-alls that keep every body field."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels, make_request

TRACKER = "airbridge"
pytestmark = pytest.mark.no_real_client("airbridge", "mobile-only SDKs, closed source; the web SDK is loaded from Airbridge's CDN")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def test_event_path_headers_and_body(analyzer):
    body = {"app": {"packageName": "com.example.fashion", "version": "6.2.0", "versionCode": 620},
            "device": {"deviceUUID": "5a3f2e1d-0c9b-4a8f-b7e6-d5c4b3a2f1e0", "gaid": GAID, "limitAdTracking": False,
                       "osName": "Android", "osVersion": "14", "deviceModel": "SM-S911B", "manufacturer": "samsung",
                       "locale": "ko-KR", "timezone": "Asia/Seoul", "carrier": "SKTelecom"},
            "user": {"externalUserID": "fashion-user-3391", "externalUserEmail": "jiwoo@example.kr"},
            "eventData": {"goal": {"category": "airbridge.ecommerce.order.completed", "value": 89000},
                          "semanticAttributes": {"transactionID": "T-5521", "currency": "KRW"}}}
    url = "https://core.airbridge.io/api/v4/apps/examplefashion/events/mobile-app/9161"
    headers = [JSON_CT, ("X-Airbridge-Request-Timestamp", "1767225600000")]
    a = analyze(analyzer, make_request("POST", url, compact_json(body), headers), "events")
    has(a, "project_key", "examplefashion", "path.app_name")
    has(a, "event_name", "9161", "path.category")
    has(a, "advertising_id", GAID, "body.device.gaid")
    has(a, "email", "jiwoo@example.kr", "body.user.externalUserEmail")
    has(a, "event_name", "airbridge.ecommerce.order.completed", "body.eventData.goal.category")
    assert labels(a)["body.eventData.semanticAttributes.transactionID"] == "custom_property"
    assert a.app == "com.example.fashion"
