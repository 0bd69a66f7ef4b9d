"""Golden tests: the wire formats of the Adjust SDKs, built the way each SDK builds them.

Android: adjust/android_sdk@b0c927b5 PackageBuilder (keys), ActivityPackageSender (POST body
= URLEncoder.encode of each key and value joined by '&'; GET /attribution with the package in
the query through Uri.Builder), UtilNetworking (Client-SDK header). Web: npm
@adjustcom/adjust-web-sdk 5.8.3 dist/adjust-latest.js (_encodeParams: encodeURIComponent,
objects as JSON; granular options joined with an encoded '=').
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze_for, assert_finding, analyzer_fixture, encode_uri_component, org_json

APP_TOKEN = "2fm9gkqubvpc"
PACKAGE = "com.example.shop"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
ANDROID_ID = "9774d56d682e549c"
APP_SET_ID = "6f1c2b3a-7d8e-4f90-a1b2-c3d4e5f60718"
ANDROID_UUID = "0f8b5e2c-7a41-4c3e-9d2b-6e1f4a9c8b37"
WEB_UUID = "4a5b6c7d-8e9f-4a0b-8c1d-2e3f4a5b6c7d"
PUSH_TOKEN = "fcm-token-eXampLe:APA91bH"
USER_EMAIL = "jane.doe@example.com"


analyzer = analyzer_fixture()


analyze = analyze_for("adjust", check_via=False)


def java_form(params: dict[str, str]) -> str:
    """ActivityPackageSender.injectParametersToPOSTStringBuilder: URLEncoder.encode (UTF-8:
    space → '+', '*' kept, '~' encoded) of key and value, '&'-joined."""
    return "&".join(f"{quote_plus(k, safe='*')}={quote_plus(v, safe='*')}" for k, v in params.items())


# PackageBuilder@b0c927b5 buildSessionPackage → getSessionParameters: the keys a session
# package carries on a Google Play device (values as the add* helpers format them).
ANDROID_SESSION: dict[str, str] = {
    "android_uuid": ANDROID_UUID, "tracking_enabled": "1", "gps_adid": GAID, "gps_adid_attempt": "1",
    "gps_adid_src": "service", "google_app_set_id": APP_SET_ID, "android_id": ANDROID_ID,
    "api_level": "34", "app_token": APP_TOKEN, "app_version": "3.4.1",
    "attribution_deeplink": "1", "connectivity_type": "1", "country": "US", "cpu_type": "arm64-v8a",
    "created_at": "2026-01-01T00:00:00.123Z+0000", "default_tracker": "abc123", "device_manufacturer": "Google",
    "device_name": "Pixel 8", "device_type": "phone", "display_height": "2400", "display_width": "1080",
    "environment": "production", "fb_id": "fb-attr-id-1234",
    "hardware_name": "UQ1A.240205.004", "installed_at": "2025-12-30T10:00:00.000Z+0000", "language": "en",
    "mcc": "310", "mnc": "260", "needs_response_details": "1", "os_build": "UQ1A.240205.004",
    "os_name": "android", "os_version": "14", "package_name": PACKAGE, "push_token": PUSH_TOKEN,
    "screen_density": "high", "screen_format": "long", "screen_size": "normal", "session_count": "3",
    "session_length": "120", "subsession_count": "4", "time_spent": "95", "ui_mode": "1",
    "updated_at": "2025-12-31T09:00:00.000Z+0000", "ff_play_store_kids_app": "0", "ff_coppa": "0",
    "store_name_from_system": "google", "sent_at": "2026-01-01T00:00:01.456Z+0000", "queue_size": "1",
}


def android_post(activity: str, params: dict[str, str], host: str = "https://app.adjust.com") -> Request:
    return Request("golden", "golden", 0.0, "POST", f"{host}/{activity}",
                   [("Client-SDK", "android5.4.6"), ("Content-Type", "application/x-www-form-urlencoded")],
                   java_form(params).encode())


def test_android_session_form(analyzer):
    a = analyze(analyzer, android_post("session", ANDROID_SESSION), "activity")
    assert_finding(a, "advertising_id", GAID, "body.gps_adid")
    assert_finding(a, "android_id", ANDROID_ID, "body.android_id")
    assert_finding(a, "vendor_id", APP_SET_ID, "body.google_app_set_id")
    assert_finding(a, "installation_id", ANDROID_UUID, "body.android_uuid")
    assert_finding(a, "push_token", PUSH_TOKEN, "body.push_token")
    assert_finding(a, "project_key", APP_TOKEN, "body.app_token")
    assert_finding(a, "app_id", PACKAGE, "body.package_name")
    assert_finding(a, "device_model", "Pixel 8", "body.device_name")
    assert_finding(a, "sdk_version", "android5.4.6", "header.client-sdk")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_every_android_session_key_is_mapped_by_the_rule(analyzer):
    """Each key PackageBuilder puts in a session package has its own mapping in adjust.yaml
    (a data type or `uploaded`): removing one fails here."""
    a = analyze(analyzer, android_post("session", ANDROID_SESSION), "activity")
    endpoint = analyzer.endpoints[("adjust", "activity")]
    labels = {path: label for path, _, label in a.fields}
    for key in ANDROID_SESSION:
        mapped = endpoint.fields.lookup(key)
        assert mapped is not None and mapped[1] == key, f"{key} has no mapping of its own"
        expected = "" if mapped[0] == NOT_PERSONAL else mapped[0]
        assert labels[f"body.{key}"] == expected, key


# ADJPackageBuilder.m@0a8cccac getSessionParameters and the iOS device parameters: the keys an iOS
# session package carries (NSURLComponents percent-encoding of the form body).
IOS_SESSION: dict[str, str] = {
    "app_token": APP_TOKEN, "app_version": "341", "app_version_short": "3.4.1", "attribution_deeplink": "1",
    "bundle_id": "com.example.shop.ios", "created_at": "2026-01-01T00:00:00.123Z+0000", "device_name": "iPhone15,2",
    "device_type": "iPhone", "environment": "production", "fb_anon_id": "XZ0123ABCD-4567-89EF-0123-456789ABCDEF",
    "idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "idfv": "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
    "att_status": "3", "tracking_enabled": "1", "installed_at": "2025-12-30T10:00:00.000Z+0000",
    "needs_response_details": "1", "os_name": "ios", "os_version": "17.2", "started_at": "2026-01-01T00:00:00.000Z+0000",
    "primary_dedupe_token": "9c0b1a2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d", "session_count": "2", "seq": "5",
    "ff_idfa_disabled": "0", "ff_att_disabled": "0", "ff_skadn_disabled": "0", "send_in_background_enabled": "0",
}


def test_every_ios_session_key_is_mapped_by_the_rule(analyzer):
    req = Request("golden", "golden", 0.0, "POST", "https://app.adjust.com/session",
                  [("Client-SDK", "ios5.0.0"), ("Content-Type", "application/x-www-form-urlencoded")],
                  "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in IOS_SESSION.items()).encode())
    a = analyze(analyzer, req, "activity")
    assert_finding(a, "advertising_id", IOS_SESSION["idfa"], "body.idfa")
    assert_finding(a, "vendor_id", IOS_SESSION["idfv"], "body.idfv")
    assert a.app == "com.example.shop.ios"
    endpoint = analyzer.endpoints[("adjust", "activity")]
    labels = {path: label for path, _, label in a.fields}
    for key in IOS_SESSION:
        mapped = endpoint.fields.lookup(key)
        assert mapped is not None and mapped[1] == key, f"{key} has no mapping of its own"
        assert labels[f"body.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_android_event_with_partner_and_callback_params(analyzer):
    # PackageBuilder.addMapJson: new JSONObject(map).toString() (org_json)
    params = {"app_token": APP_TOKEN, "event_token": "abc123", "event_count": "2", "revenue": "9.99",
              "currency": "EUR", "deduplication_id": "order-42", "gps_adid": GAID,
              "callback_params": org_json({"user_email": USER_EMAIL, "plan": "pro/annual"}),
              "partner_params": org_json({"item": "sku 1"}), "created_at": "2026-01-01T00:00:00.123Z+0000"}
    a = analyze(analyzer, android_post("event", params), "activity")
    assert_finding(a, "event_name", "abc123", "body.event_token")
    assert_finding(a, "revenue", "9.99", "body.revenue")
    assert_finding(a, "email", USER_EMAIL, "body.callback_params.user_email", "key_name")
    assert_finding(a, "custom_property", "pro/annual", "body.callback_params.plan")
    assert_finding(a, "custom_property", "sku 1", "body.partner_params.item")


@pytest.mark.parametrize("activity", ["sdk_click", "sdk_info", "third_party_sharing", "measurement_consent",
                                      "ad_revenue"])
def test_other_activities(analyzer, activity):
    a = analyze(analyzer, android_post(activity, {"app_token": APP_TOKEN, "gps_adid": GAID, "source": "reftag",
                                                  "created_at": "2026-01-01T00:00:00.123Z+0000"}), "activity")
    assert_finding(a, "advertising_id", GAID, "body.gps_adid")


@pytest.mark.parametrize("host", ["https://app.eu.adjust.com", "https://app.adjust.net.in", "https://app.adjust.world",
                                  "https://app.adjust.cn", "https://app.adjust.io", "https://app.us.adjust.com"])
def test_url_strategy_hosts(analyzer, host):
    a = analyze(analyzer, android_post("session", ANDROID_SESSION, host=host), "activity")
    assert_finding(a, "advertising_id", GAID, "body.gps_adid")


def test_android_attribution_get_query(analyzer):
    """ActivityPackageSender.generateUrlStringForGET: Uri.Builder.appendQueryParameter."""
    query = "&".join(f"{k}={quote(v, safe='-_.!~*()')}" for k, v in
                     {"app_token": APP_TOKEN, "gps_adid": GAID, "android_uuid": ANDROID_UUID,
                      "created_at": "2026-01-01T00:00:00.123Z+0000", "initiated_by": "sdk"}.items())
    a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", f"https://app.adjust.com/attribution?{query}",
                                  [("Client-SDK", "android5.4.6")]), "attribution")
    assert_finding(a, "advertising_id", GAID, "query.gps_adid")
    assert_finding(a, "installation_id", ANDROID_UUID, "query.android_uuid")


def web_form(params: dict) -> str:
    """adjust-web-sdk http.js _encodeParam: encodeURIComponent; objects → JSON first."""
    out = []
    for k, v in params.items():
        value = encode_uri_component(json.dumps(v, separators=(",", ":"))) if isinstance(v, dict) else (
            encode_uri_component(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v))
        out.append(f"{encode_uri_component(k)}={value}")
    return "&".join(out)


def test_web_sdk_session(analyzer):
    # base params + defaultParams (created_at, sent_at, web_uuid, platform, language,
    # country, machine_type, queue_size) + activity-state params.
    params = {"app_token": APP_TOKEN, "environment": "production", "external_device_id": "ext-device-77",
              "created_at": "2026-01-01T00:00:00.123Z+0000", "sent_at": "2026-01-01T00:00:00.223Z+0000",
              "web_uuid": WEB_UUID, "platform": "web", "language": "en", "country": "us",
              "machine_type": "Linux x86_64", "queue_size": 0, "time_spent": 0, "session_length": 0,
              "session_count": 1, "last_interval": 0, "callback_params": {"user_email": USER_EMAIL},
              "attempts": 1}
    a = analyze(analyzer, Request("golden", "golden", 0.0, "POST", "https://app.adjust.com/session",
                                  [("Client-SDK", "js5.8.3"), ("Content-Type", "application/x-www-form-urlencoded")],
                                  web_form(params).encode()), "activity")
    assert_finding(a, "installation_id", WEB_UUID, "body.web_uuid")
    assert_finding(a, "device_id", "ext-device-77", "body.external_device_id")
    assert_finding(a, "os_name", "Linux x86_64", "body.machine_type")
    assert_finding(a, "email", USER_EMAIL, "body.callback_params.user_email", "key_name")
    assert_finding(a, "sdk_version", "js5.8.3", "header.client-sdk")
    assert a.app_signal == "payload_project_key"


def test_custom_url_recognised_by_shape(analyzer):
    a = analyzer.analyze(android_post("session", ANDROID_SESSION, host="https://adjust-proxy.example.org"))
    assert a is not None and (a.tracker, a.endpoint, a.match_via) == ("adjust", "activity", "payload_shape"), a


def test_lookalike_host_is_not_adjust(analyzer):
    req = Request("golden", "golden", 0.0, "POST", "https://app.adjust.com.evil.example/session",
                  [("Content-Type", "application/x-www-form-urlencoded")], b"foo=bar")
    a = analyzer.analyze(req)
    assert a is None or a.tracker != "adjust"
    a = analyzer.analyze(Request("golden", "golden", 0.0, "POST", "https://notadjust.com/session", [], b"foo=bar"))
    assert a is None or a.tracker != "adjust"
