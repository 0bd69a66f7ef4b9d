"""Golden tests: MoEngage. The mobile SDKs are closed source: these payloads follow the unverified
catalogue notes ([K]) and check matching, JSON decoding and the few mapped keys.
"""

from __future__ import annotations


import pytest

from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import assert_finding_at as has, compact, decoded_for, make_request as request, summary

TRACKER = "moengage"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


decoded = decoded_for(TRACKER)


def test_report_query_params(analyzer):
    body = {"query_params": {"app_id": "MOEAPP123XYZ", "os": "ANDROID", "app_ver": "120", "sdk_ver": "130100",
                             "unique_id": "4c3b2a19-0817-4e6f-9d8c-7b6a5f4e3d2c", "device_tz": "Asia/Kolkata",
                             "push_id": "fcm-honey-moe-9", "model": "RMX3710", "manufacturer": "realme"},
            "viewsInfo": [{"EVENT_ACTION": "Product Viewed", "EVENT_ATTRS": {"sku": "TV-55"}}]}
    a = analyzer.analyze(request("POST", "https://sdk-03.moengage.com/v2/sdk/report/MOEAPP123XYZ", compact(body),
                                 [("Content-Type", "application/json")]))
    decoded(a, "report")
    has(a, "project_key", "MOEAPP123XYZ", "path.app_id")
    has(a, "installation_id", "4c3b2a19-0817-4e6f-9d8c-7b6a5f4e3d2c", "body.query_params.unique_id")
    has(a, "push_token", "fcm-honey-moe-9", "body.query_params.push_id")
    has(a, "event_name", "Product Viewed", "body.viewsInfo[0].EVENT_ACTION")


def test_encrypted_body_matched_not_failed(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk-01.moengage.com/v2/sdk/report/APP", b"\x93\x11\xfe opaque",
                                 [("Content-Type", "application/octet-stream")]))
    assert (a.tracker, a.endpoint, a.status) == ("moengage", "report", "decoded"), summary(a)


def test_sdkconfig_and_lookalike(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk-02.moengage.com/v3/sdkconfig/android/APP",
                                 compact({"query_params": {"app_id": "APP"}})))
    decoded(a, "sdkconfig")
    b = analyzer.analyze(request("POST", "https://sdk-01.moengage.com.example.org/v2/sdk/report/APP", "{}"))
    assert b is None or b.tracker != "moengage"
