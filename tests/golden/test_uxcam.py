"""Golden tests: UXCam's verify request as the Android SDK 3.4.4 builds it (an okhttp form;
keys from com.uxcam.internals ij.java / bm.java / ia.java as decompiled in
noradlb1/talabat-10-41-0-unpacked@4ec4be0f), the web SDK's script URL (flutter_uxcam's web
plugin) and its socket.io handshake (UXCam's web load test). The session files go to an S3
bucket the verify answer names: no request of theirs is built here."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from golden_support import (FORM_CT, JSON_CT, analyze_for, analyzer_fixture, assert_every_key_mapped,
                            assert_finding_at as has, compact_json, make_request)

TRACKER = "uxcam"
pytestmark = pytest.mark.no_real_client(
    "uxcam", "mobile-only closed native SDKs (the npm and Flutter packages wrap them); the web SDK is served only from the UXCam CDN")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

APP_KEY = "xnayvk2m8m2h8xw"
VERIFY_FORM = {  # ij.java's constructor order, then appKey and a pending session's id
    "buildIdentifier": "com.shop.example", "deviceId": "9774d56d682e549c", "osVersion": "14",
    "platform": "android", "deviceType": "Phone", "deviceModelName": "Pixel 7", "appVersion": "10.41.0",
    "sdkVersion": "3.4.4", "sdkVersionNumber": "561", "sessionsRecordedOnDevice": "3",
    "videosRecordedOnDevice": "2", "appKey": APP_KEY, "sessionId": "a1b2c3d4e5f6",
    "internalDebugEvents": "[]",
}


def test_android_verify_form(analyzer):
    a = analyze(analyzer, make_request("POST", "https://verify.uxcam.com/v4/verify", urlencode(VERIFY_FORM),
                                       [FORM_CT, ("User-Agent", "okhttp/4.9.3")]), "verify")
    has(a, "project_key", APP_KEY, "body.appKey")
    has(a, "app_id", "com.shop.example", "body.buildIdentifier")
    has(a, "android_id", "9774d56d682e549c", "body.deviceId")
    has(a, "device_model", "Pixel 7", "body.deviceModelName")
    has(a, "session_id", "a1b2c3d4e5f6", "body.sessionId")
    has(a, "session_count", "3", "body.sessionsRecordedOnDevice")
    # deviceId is mapped per platform (record_variants): asserted above, not by the base map
    assert_every_key_mapped(analyzer, a, TRACKER, "verify", [k for k in VERIFY_FORM if k != "deviceId"], prefix="body.")


def test_ios_verify_json_device_id_is_not_an_android_id(analyzer):
    """[K] the iOS SDK's body: a device id that is not ANDROID_ID stays a generic device id."""
    body = {**VERIFY_FORM, "platform": "ios", "deviceId": "6F1C2B9E-2D3A-4B5C-8D7E-9F0A1B2C3D4E",
            "buildIdentifier": "com.shop.example.ios"}
    a = analyze(analyzer, make_request("POST", "https://verify.uxcam.com/v4/verify", compact_json(body), [JSON_CT]),
                "verify")
    has(a, "device_id", "6F1C2B9E-2D3A-4B5C-8D7E-9F0A1B2C3D4E", "body.deviceId")
    has(a, "app_id", "com.shop.example.ios", "body.buildIdentifier")
    assert not [f for f in a.findings if f.data_type == "android_id"]


def test_legacy_verify_path_only(analyzer):
    a = analyze(analyzer, make_request("POST", "https://api.uxcam.com/webservices/v4/verifyapp",
                                       urlencode(VERIFY_FORM), [FORM_CT]), "verify_legacy")
    has(a, "project_key", APP_KEY, "body.appKey")
    # the Data Access API on the same host is the customer's server-side call, not the SDK's
    other = analyzer.analyze(make_request("GET", "https://api.uxcam.com/v2/sessions?appid=1&apikey=k"))
    assert other is None or other.tracker != TRACKER, (other.tracker, other.endpoint)


def test_web_sdk_script_and_stream_handshake(analyzer):
    a = analyze(analyzer, make_request("GET", "https://websdk-recording.uxcam.com/index.js",
                                       headers=[("Referer", "https://shop.example/cart")]), "web_sdk")
    has(a, "page_url", "https://shop.example/cart", "header.referer")
    query = urlencode({"appKey": APP_KEY, "sessId": "0d9f6a52-7c1e-4f0b-9a51-3c2e8b7d6f10", "reconnected": "0",
                       "captureMode": "dom", "EIO": "4", "transport": "websocket"})
    a = analyze(analyzer, make_request("GET", f"https://websdk.uxcam.com/socket.io/?{query}",
                                       headers=[("Origin", "https://shop.example")]), "web_stream")
    has(a, "project_key", APP_KEY, "query.appKey")
    has(a, "session_id", "0d9f6a52-7c1e-4f0b-9a51-3c2e8b7d6f10", "query.sessId")
