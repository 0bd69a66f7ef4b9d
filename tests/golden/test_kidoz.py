"""Golden tests: Kidoz's analytics form (KidozEventsLogAsJson) and its query-only SDK, VAST and
OpenRTB requests, with the keys TrackHAR observed in real apps' traffic
(tweaselORG/TrackHAR src/adapters/kidoz.ts@6aa1b8c3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from urllib.parse import urlencode

from golden_support import (FORM_CT, analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            compact_json, make_request)

TRACKER = "kidoz"
pytestmark = pytest.mark.no_real_client("kidoz", "mobile-only SDK, closed source, no runnable client")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
HASH = "b5c0b187fe309af0f4d35982fd961d7e"


def test_analytics_events_log(analyzer):
    log = {"DeviceParams": {"DeviceHash": HASH, "PackageID": "com.example.kids.abc", "AppID": "com.example.kids.abc",
                            "AppVersion": "1.4", "DeviceBrand": "samsung", "DeviceModel": "SM-T220", "ScreenW": 1200,
                            "ScreenH": 1920, "OsType": "Android", "OsVersion": "13", "DeviceLang": "en", "TimeZone": "GMT-05:00",
                            "Country": "US", "SdkVersion": "9.1.0"},
           "Entries": [{"EventParams": {"SdkVersion": "9.1.0", "Item": "interstitial_shown"}}]}
    body = urlencode({"methodName": "SendKidozEventsToServer", "KidozEventsLogAsJson": compact_json(log)})
    a = analyze(analyzer, make_request("POST", "https://analytics.kidoz.net/parents/KidozRestMobile.php", body, [FORM_CT]),
                "analytics")
    has(a, "device_id", HASH, "body.KidozEventsLogAsJson.DeviceParams.DeviceHash")
    has(a, "app_id", "com.example.kids.abc", "body.KidozEventsLogAsJson.DeviceParams.PackageID")
    has(a, "custom_property", "interstitial_shown", "body.KidozEventsLogAsJson.Entries[0].EventParams.Item")
    assert_every_key_mapped(analyzer, a, TRACKER, "analytics", [f"body.KidozEventsLogAsJson.DeviceParams.{k}"
                                                                for k in log["DeviceParams"]])


def test_init_sdk_query(analyzer):
    query = {"publisher_id": "14525", "device_hash": HASH, "google_id": GAID, "package_id": "com.example.kids.abc",
             "app_version_code": "14", "app_version_name": "1.4", "manufacturer": "samsung", "model": "SM-T220",
             "os_type": "android", "os_version": "13", "device_lang": "en", "sdk_version": "9.1.0",
             "actual_sdk_version": "9.1.0", "network_type": "WIFI", "carrier_name": "T-Mobile"}
    a = analyze(analyzer, make_request("GET", "https://sdk-api.kidoz.net/api/initSDK?" + urlencode(query)), "sdk_api")
    has(a, "advertising_id", GAID, "query.google_id")
    has(a, "project_key", "14525", "query.publisher_id")
    assert a.app == "com.example.kids.abc"
    assert_every_key_mapped(analyzer, a, TRACKER, "sdk_api", [f"query.{k}" for k in query])


def test_openrtb_vast_query(analyzer):
    query = {"app_id": "com.example.kids.abc", "app_title": "ABC Kids", "client_ip": "198.51.100.44", "ifa": GAID,
             "ifa_type": "aaid", "user_agent": "Mozilla/5.0 (Linux; Android 13; SM-T220)", "timezone": "America/New_York"}
    a = analyze(analyzer, make_request("GET", "https://v.kidoz.net/openrtb2/vast?" + urlencode(query)), "sdk_api")
    has(a, "public_ip", "198.51.100.44", "query.client_ip")
    has(a, "app_name", "ABC Kids", "query.app_title")
