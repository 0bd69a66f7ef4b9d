"""Golden tests: the wire formats of Meta's SDKs and scripts, built the way each builds them.

App Events follow facebook-android-sdk@34d41548 and facebook-ios-sdk@c00e9e0e (files cited
beside each builder); the Conversions API follows facebook-nodejs-business-sdk 24.0.1; the
Audience Network follows TrackHAR's adapter (closed-source SDK); the Pixel follows public
captures of fbevents.js requests (CDN-only script). Each test asserts the endpoint, the decode
status and precise (data type, value, path, detector) findings.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from golden_support import (labels, make_request, summary, analyze_fixture, assert_finding, java_url_encode, org_json,
                            request_via_mitmproxy as via_mitmproxy, rules_fixture)

APP_ID = "1234567890123456"                        # Facebook app id (URL path)
CLIENT_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PACKAGE = "com.example.shop"
BUNDLE = "com.example.ShopApp"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
ANON_ID = "XZ" + "7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b"  # AppEventsLoggerImpl: "XZ" + UUID
SESSION_UUID = "5e2a9c7d-3b1f-4e60-9a8b-7c6d5e4f3a2b"
USER_ID = "user-48151623"
EMAIL = "Jane.Doe@Example.com"
PHONE = "+1 (415) 555-0123"
PUSH_TOKEN = "fcm:APA91bH-honey-push-token-0123456789"
PIXEL_ID = "987654321098765"
FBP = "fb.1.1767225600123.1234567890"
FBC = "fb.1.1767225600123.IwAR0honeyclickid"
NOW = 1767225600

GRAPH = "https://graph.facebook.com/v21.0"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# UserDataStore.normalizeData: trim + lower-case; phone keeps digits only.
EMAIL_HASH = sha256(EMAIL.strip().lower())
PHONE_HASH = sha256("14155550123")
FN_HASH = sha256("jane")
LN_HASH = sha256("doe")
CITY_HASH = sha256("sanfrancisco")


# ------------------------------------------------------------------------------------------
# Fixtures and helpers (same contract as tests/golden/test_mixpanel_formats.py)


rules = rules_fixture()
analyze = analyze_fixture(fresh=True)


@pytest.fixture(scope="module")
def endpoints(rules):
    return {e.id: e for r in rules if r.id == "facebook" for e in r.endpoints}


def assert_decoded(a: Analysis, endpoint: str) -> None:
    got = (a.tracker, a.endpoint, a.status, a.error)
    assert got == ("facebook", endpoint, "decoded", ""), summary(a)


# ------------------------------------------------------------------------------------------
# Facebook SDK for Android: AppEventQueue.buildRequestForSession + SessionEventsState.populateRequest


def android_event(name: str, params: dict[str, Any] | None = None, value_to_sum: float | None = None,
                  implicit: bool = False) -> dict[str, Any]:
    """AppEvent.getJSONObjectForAppEvent@34d41548: _eventName, _logTime, _ui, _session_id,
    the caller's parameters, _valueToSum, _inBackground, _implicitlyLogged."""
    event: dict[str, Any] = {"_eventName": name, "_logTime": NOW, "_ui": "MainActivity",
                             "_session_id": SESSION_UUID}
    event.update(params or {})
    if value_to_sum is not None:
        event["_valueToSum"] = value_to_sum
    if implicit:
        event["_implicitlyLogged"] = "1"
    return event


ANDROID_EXTINFO = [
    # Utility.setAppEventExtendedDeviceInfoParameters@34d41548, in order.
    "a2", PACKAGE, 341, "3.4.1", "14", "Pixel 8", "en_US", "PST", "T-Mobile", 1080, 2400, "2.63", 8, 118, 41,
    "America/Los_Angeles",
]


def android_activities_params(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Request parameters (Bundle: access_token, device_token, install_referrer, custom_events,
    then addCommonParameters sdk/format) followed by the graph object from
    AppEventsLoggerUtility.getJSONObjectForGraphAPICall + Utility.setAppEventAttributionParameters
    + setAppEventExtendedDeviceInfoParameters (extinfo) + application_package_name."""
    ud = {"em": EMAIL_HASH, "ph": PHONE_HASH, "fn": FN_HASH, "ln": LN_HASH, "ct": CITY_HASH}
    return [
        ("access_token", f"{APP_ID}|{CLIENT_TOKEN}"),
        ("device_token", PUSH_TOKEN),
        ("install_referrer", "utm_source=google-play&utm_medium=organic"),
        ("custom_events", org_json(events)),
        ("sdk", "android"),
        ("format", "json"),
        ("event", "CUSTOM_APP_EVENTS"),
        ("app_user_id", USER_ID),
        ("anon_id", ANON_ID),
        ("application_tracking_enabled", "true"),
        ("advertiser_id_collection_enabled", "true"),
        ("advertiser_id", GAID),
        ("advertiser_tracking_enabled", "true"),
        ("ud", org_json(ud)),
        ("installer_package", "com.android.vending"),
        ("extinfo", org_json(ANDROID_EXTINFO)),
        ("application_package_name", PACKAGE),
    ]


def android_gzip_form(params: list[tuple[str, str]]) -> bytes:
    """GraphRequest.Serializer with useUrlEncode: `key=` + URLEncoder(value) + `&` per
    parameter (a trailing '&'), the whole body through GZIPOutputStream."""
    return gzip.compress("".join(f"{k}={java_url_encode(v)}&" for k, v in params).encode())


def android_multipart(params: list[tuple[str, str]], boundary: str = "Xq3-_9kLmN0pQrStUvWx1234567890ab") -> bytes:
    """GraphRequest.Serializer multipart mode (a request with an attachment): a leading
    boundary, then per parameter Content-Disposition, blank line, value, CRLF, boundary."""
    out = f"--{boundary}\r\n"
    for k, v in params:
        out += f'Content-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n--{boundary}\r\n'
    return out.encode()


ANDROID_HEADERS = {"User-Agent": "FBAndroidSDK.18.0.3", "Content-Type": "application/x-www-form-urlencoded",
                   "Content-Encoding": "gzip"}


def android_events() -> list[dict[str, Any]]:
    return [
        android_event("fb_mobile_activate_app", {"fb_mobile_launch_source": "Unclassified"}, implicit=True),
        android_event("fb_mobile_purchase", {"fb_currency": "EUR", "fb_content_id": "sku-42", "coupon": "SPRING"},
                      value_to_sum=19.99),
    ]


def test_android_app_events_gzip_form(analyze):
    body = android_gzip_form(android_activities_params(android_events()))
    a = analyze(via_mitmproxy("POST", f"{GRAPH}/{APP_ID}/activities", body, ANDROID_HEADERS))
    assert_decoded(a, "activities")
    assert_finding(a, "project_key", APP_ID, "path.app_id")
    # The package name is also extinfo[1]: one finding per value, at whichever comes first.
    assert any((f.data_type, f.value, f.detector) == ("app_id", PACKAGE, "rule") for f in a.findings), summary(a)
    assert labels(a)["body.application_package_name"] == "app_id"
    assert_finding(a, "advertising_id", GAID, "body.advertiser_id")
    assert_finding(a, "installation_id", ANON_ID, "body.anon_id")
    assert_finding(a, "user_id", USER_ID, "body.app_user_id")
    assert_finding(a, "push_token", PUSH_TOKEN, "body.device_token")
    assert_finding(a, "auth_token", f"{APP_ID}|{CLIENT_TOKEN}", "body.access_token")
    assert_finding(a, "hashed_email", EMAIL_HASH, "body.ud.em")
    assert_finding(a, "hashed_phone", PHONE_HASH, "body.ud.ph")
    assert_finding(a, "name", FN_HASH, "body.ud.fn")
    assert_finding(a, "city", CITY_HASH, "body.ud.ct")
    assert_finding(a, "event_name", "fb_mobile_activate_app", "body.custom_events[0]._eventName")
    assert_finding(a, "event_name", "fb_mobile_purchase", "body.custom_events[1]._eventName")
    assert_finding(a, "session_id", SESSION_UUID, "body.custom_events[0]._session_id")
    assert_finding(a, "screen_name", "MainActivity", "body.custom_events[0]._ui")
    assert_finding(a, "revenue", "19.99", "body.custom_events[1]._valueToSum")
    assert_finding(a, "revenue", "EUR", "body.custom_events[1].fb_currency")
    assert_finding(a, "custom_property", "SPRING", "body.custom_events[1].coupon")
    assert_finding(a, "referrer", "utm_source=google-play&utm_medium=organic", "body.install_referrer")
    # Booleans are kept as labelled uploaded fields, not findings.
    assert labels(a)["body.application_tracking_enabled"] == "consent_state"
    assert_finding(a, "sdk_version", "FBAndroidSDK.18.0.3", "header.user-agent")
    assert a.app == PACKAGE and a.app_signal == "payload_app_id", (a.app, a.app_signal)


def test_android_app_events_multipart(analyze):
    """With an attachment GraphRequest falls back to multipart/form-data (no gzip)."""
    params = android_activities_params([android_event("fb_mobile_search", {"fb_search_string": "red shoes"})])
    boundary = "Xq3-_9kLmN0pQrStUvWx1234567890ab"
    a = analyze(make_request("POST", f"{GRAPH}/{APP_ID}/activities", android_multipart(params, boundary),
                             [("Content-Type", f"multipart/form-data; boundary={boundary}"),
                              ("User-Agent", "FBAndroidSDK.18.0.3")]))
    assert_decoded(a, "activities")
    assert_finding(a, "search_term", "red shoes", "body.custom_events[0].fb_search_string")
    assert_finding(a, "advertising_id", GAID, "body.advertiser_id")
    assert labels(a)["body.application_package_name"] == "app_id"


def test_android_extinfo_positions(analyze):
    body = android_gzip_form(android_activities_params(android_events()))
    a = analyze(via_mitmproxy("POST", f"{GRAPH}/{APP_ID}/activities", body, ANDROID_HEADERS))
    assert_finding(a, "device_model", "Pixel 8", "body.extinfo[5]")
    assert_finding(a, "os_version", "14", "body.extinfo[4]")
    assert_finding(a, "carrier", "T-Mobile", "body.extinfo[8]")
    assert_finding(a, "app_version", "3.4.1", "body.extinfo[3]")
    assert_finding(a, "timezone", "America/Los_Angeles", "body.extinfo[15]")


# ------------------------------------------------------------------------------------------
# Facebook SDK for iOS: FBSDKAppEventsUtility.activityParametersDictionaryForEvent + FBSDKAppEvents
# flush, FBSDKGraphRequestConnection (format, sdk, include_headers, access_token),
# FBSDKGraphRequestBody (JSON of strings, gzipped, Content-Encoding gzip)

IOS_EXTINFO = [
    # FBSDKAppEventsDeviceInfo._generateEncoding@c00e9e0e: i2, bundle id, long (build) version,
    # short version, system version, machine, language, tz abbrev, carrier, width, height,
    # density "%.02f", cores, -1, -1, tz name.
    "i2", BUNDLE, "1207", "5.1.0", "18.2", "iPhone16,1", "en", "CET", "", 393, 852, "3.00", 6, -1, -1, "Europe/Berlin",
]


def ios_activities_body(event: str, custom_events: list[dict[str, Any]] | None, **extra: str) -> dict[str, str]:
    ud = {"em": EMAIL_HASH}
    body = {
        "event": event, "advertiser_id": IDFA, "anon_id": ANON_ID, "advertiser_tracking_enabled": "1",
        "ud": json.dumps(ud, separators=(",", ":")), "application_tracking_enabled": "1",
        "advertiser_id_collection_enabled": "1", "campaign_ids": "", "extinfo": json.dumps(IOS_EXTINFO, separators=(",", ":")),
        "url_schemes": json.dumps([f"fb{APP_ID}", "shopapp"], separators=(",", ":")),
        "format": "json", "sdk": "ios", "include_headers": "false", "access_token": f"{APP_ID}|{CLIENT_TOKEN}",
    }
    if custom_events is not None:
        body["custom_events"] = json.dumps(custom_events, separators=(",", ":"))
    body.update(extra)
    return body


def ios_request(body: dict[str, str], host: str = "graph.facebook.com") -> Request:
    raw = gzip.compress(json.dumps(body, separators=(",", ":")).encode())
    return via_mitmproxy("POST", f"https://{host}/v21.0/{APP_ID}/activities", raw,
                         {"User-Agent": "FBiOSSDK.18.0.0", "Content-Type": "application/json", "Content-Encoding": "gzip"})


def test_ios_app_events_gzip_json(analyze):
    events = [{"_eventName": "fb_mobile_add_to_cart", "_logTime": NOW, "_session_id": SESSION_UUID,
               "fb_content_type": "product", "_valueToSum": 5.5, "size": "XL"}]
    a = analyze(ios_request(ios_activities_body("CUSTOM_APP_EVENTS", events, app_user_id=USER_ID,
                                                device_token="a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"),
                            host="ep2.facebook.com"))
    assert_decoded(a, "activities")
    assert_finding(a, "advertising_id", IDFA, "body.advertiser_id")
    assert_finding(a, "installation_id", ANON_ID, "body.anon_id")
    assert_finding(a, "hashed_email", EMAIL_HASH, "body.ud.em")
    assert_finding(a, "event_name", "fb_mobile_add_to_cart", "body.custom_events[0]._eventName")
    assert_finding(a, "custom_property", "XL", "body.custom_events[0].size")
    assert_finding(a, "os_name", "ios", "body.sdk")
    assert_finding(a, "push_token", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", "body.device_token")
    assert_finding(a, "consent_state", "1", "body.advertiser_tracking_enabled")
    assert labels(a)["body.url_schemes[0]"] == ""


def test_ios_install_ping(analyze):
    """FBSDKAppEvents publishInstall: MOBILE_APP_INSTALL with install_timestamp, no events."""
    a = analyze(ios_request(ios_activities_body("MOBILE_APP_INSTALL", None, install_timestamp=str(NOW))))
    assert_decoded(a, "activities")
    assert_finding(a, "install_time", str(NOW), "body.install_timestamp")
    assert_finding(a, "advertising_id", IDFA, "body.advertiser_id")


def test_ios_extinfo_bundle_id_is_the_app(analyze):
    a = analyze(ios_request(ios_activities_body("MOBILE_APP_INSTALL", None)))
    assert_finding(a, "app_id", BUNDLE, "body.extinfo[1]")
    assert_finding(a, "app_build", "1207", "body.extinfo[2]")
    assert a.app == BUNDLE


SDK_EVENT_KEYS = ["_eventName", "_logTime", "_ui", "_session_id", "_valueToSum", "_implicitlyLogged",
                  "_inBackground", "fb_mobile_launch_source", "fb_currency"]
SDK_REQUEST_KEYS = ["path.app_id", "body.application_package_name", "body.event", "body.anon_id",
                    "body.advertiser_id", "body.attribution", "body.app_user_id", "body.ud.em", "body.ud.ph",
                    "body.application_tracking_enabled", "body.advertiser_tracking_enabled",
                    "body.advertiser_id_collection_enabled", "body.installer_package", "body.install_referrer",
                    "body.device_token", "body.access_token", "body.format", "body.sdk", "body.campaign_ids",
                    "body.click_id", "body.num_skipped_events", "body.receipt_data", "body.install_timestamp",
                    "body.include_headers", "body.data_processing_options", "body.extinfo[1]"]


def test_every_sdk_key_is_mapped_by_name(endpoints):
    """Keys the SDKs set themselves are mapped explicitly, not by the `**` catch-all."""
    ep = endpoints["activities"]
    for key in SDK_EVENT_KEYS:
        hit = ep.fields.lookup(key)
        assert hit is not None and hit[1] == key, (key, hit)
    for key in SDK_REQUEST_KEYS:
        assert key in ep.request_fields.exact, key


# ------------------------------------------------------------------------------------------
# Conversions API: facebook-nodejs-business-sdk 24.0.1 EventRequest.execute → AdsPixel.createEvent
# → FacebookAdsApi.call: POST /v24.0/<pixel>/events?access_token=..., JSON body


def capi_body() -> dict[str, Any]:
    """server-event.js/user-data.js/custom-data.js normalize(): hashed user data as lists."""
    event = {
        "event_name": "Purchase", "event_time": NOW, "event_source_url": "https://shop.example.net/checkout",
        "action_source": "website", "event_id": "evt-1",
        "user_data": {"em": [EMAIL_HASH], "ph": [PHONE_HASH], "client_ip_address": "203.0.113.7",
                      "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "fbp": FBP, "fbc": FBC,
                      "external_id": [sha256(USER_ID)]},
        "custom_data": {"value": 19.99, "currency": "eur", "content_ids": ["sku-42"]},
        "app_data": {"application_tracking_enabled": True, "extinfo": {"0": "a2", "1": PACKAGE, "5": "Pixel 8"}},
    }
    return {"data": [event], "access_token": "EAAB-honey-system-user-token"}


def test_conversions_api_json(analyze):
    body = json.dumps(capi_body(), separators=(",", ":"))
    url = f"https://graph.facebook.com/v24.0/{PIXEL_ID}/events?access_token=EAAB-honey-system-user-token"
    a = analyze(make_request("POST", url, body, [("Content-Type", "application/json"),
                                                 ("User-Agent", "fbbizsdk-nodejs-v24.0.1")]))
    assert_decoded(a, "conversions_api")
    assert_finding(a, "project_key", PIXEL_ID, "path.pixel_id")
    assert_finding(a, "auth_token", "EAAB-honey-system-user-token", "query.access_token")
    assert_finding(a, "event_name", "Purchase", "body.data[0].event_name")
    assert_finding(a, "hashed_email", EMAIL_HASH, "body.data[0].user_data.em[0]")
    assert_finding(a, "hashed_phone", PHONE_HASH, "body.data[0].user_data.ph[0]")
    assert_finding(a, "public_ip", "203.0.113.7", "body.data[0].user_data.client_ip_address")
    assert_finding(a, "browser_id", FBP, "body.data[0].user_data.fbp")
    assert_finding(a, "other_id", FBC, "body.data[0].user_data.fbc")
    assert_finding(a, "page_url", "https://shop.example.net/checkout", "body.data[0].event_source_url")
    assert_finding(a, "revenue", "19.99", "body.data[0].custom_data.value")
    assert_finding(a, "custom_property", "sku-42", "body.data[0].custom_data.content_ids[0]")
    assert_finding(a, "app_id", PACKAGE, "body.data[0].app_data.extinfo.1")
    assert_finding(a, "device_model", "Pixel 8", "body.data[0].app_data.extinfo.5")


def test_conversions_api_form_with_json_string(analyze):
    """Form-encoding SDKs send `data` as a JSON string."""
    body = urlencode({"data": json.dumps(capi_body()["data"]), "access_token": "EAAB-honey-system-user-token"})
    a = analyze(make_request("POST", f"https://graph.facebook.com/v24.0/{PIXEL_ID}/events", body,
                             [("Content-Type", "application/x-www-form-urlencoded")]))
    assert_decoded(a, "conversions_api")
    assert_finding(a, "hashed_email", EMAIL_HASH, "body.data[0].user_data.em[0]")
    assert_finding(a, "auth_token", "EAAB-honey-system-user-token", "body.access_token")


# ------------------------------------------------------------------------------------------
# Meta Pixel (fbevents.js): parameter order as in public captures of 2.9.x requests


def pixel_params(ev: str, extra: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    return [("id", PIXEL_ID), ("ev", ev), ("dl", "https://shop.example.net/product/42?ref=mail"),
            ("rl", "https://www.google.com/"), ("if", "false"), ("ts", str(NOW * 1000)), *extra,
            ("sw", "1728"), ("sh", "1117"), ("v", "2.9.227"), ("r", "stable"), ("ec", "1"), ("o", "4126"),
            ("fbp", FBP), ("fbc", FBC), ("ler", "empty"), ("pmd[title]", "Red shoes | Shop"), ("plt", "549.5"),
            ("it", str(NOW * 1000 - 120)), ("coo", "false"), ("eid", "ob3_plugin-set_0123"), ("expv2[]", "pl0"),
            ("expv2[]", "el0"), ("rqm", "GET")]


def js_query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={quote(v, safe='-_.!~*()')}" for k, v in params)


def test_pixel_get_beacon(analyze):
    extra = [("cd[value]", "19.99"), ("cd[currency]", "EUR"), ("cd[content_ids]", '["sku-42"]'),
             ("ud[em]", EMAIL_HASH), ("ud[ph]", PHONE_HASH)]
    a = analyze(make_request("GET", "https://www.facebook.com/tr/?" + js_query(pixel_params("Purchase", extra)),
                             headers=[("Referer", "https://shop.example.net/")]))
    assert_decoded(a, "pixel")
    assert_finding(a, "project_key", PIXEL_ID, "query.id")
    assert_finding(a, "event_name", "Purchase", "query.ev")
    assert_finding(a, "page_url", "https://shop.example.net/product/42?ref=mail", "query.dl")
    assert_finding(a, "referrer", "https://www.google.com/", "query.rl")
    assert_finding(a, "browser_id", FBP, "query.fbp")
    assert_finding(a, "other_id", FBC, "query.fbc")
    assert_finding(a, "hashed_email", EMAIL_HASH, 'query["ud[em]"]')
    assert_finding(a, "hashed_phone", PHONE_HASH, 'query["ud[ph]"]')
    assert_finding(a, "revenue", "19.99", 'query["cd[value]"]')
    assert_finding(a, "custom_property", '["sku-42"]', 'query["cd[content_ids]"]')
    assert_finding(a, "screen_name", "Red shoes | Shop", 'query["pmd[title]"]')
    assert_finding(a, "screen_width", "1728", "query.sw")
    assert a.app == "example.net" and a.app_signal == "first_party_site", (a.app, a.app_signal)


def test_pixel_post_form(analyze):
    """Long payloads go as an XHR POST with the same parameters as a form body."""
    body = js_query(pixel_params("Lead", [("ud[em]", EMAIL_HASH)])[:-1] + [("rqm", "POST")])
    a = analyze(make_request("POST", "https://www.facebook.com/tr/", body,
                             [("Content-Type", "application/x-www-form-urlencoded")]))
    assert_decoded(a, "pixel")
    assert_finding(a, "event_name", "Lead", "body.ev")
    assert_finding(a, "hashed_email", EMAIL_HASH, 'body["ud[em]"]')
    assert_finding(a, "page_url", "https://shop.example.net/product/42?ref=mail", "body.dl")


def test_pixel_noscript_image(analyze):
    a = analyze(make_request("GET", f"https://www.facebook.com/tr?id={PIXEL_ID}&ev=PageView&noscript=1"))
    assert_decoded(a, "pixel")
    assert_finding(a, "project_key", PIXEL_ID, "query.id")
    assert_finding(a, "event_name", "PageView", "query.ev")


# ------------------------------------------------------------------------------------------
# Audience Network (TrackHAR facebook.ts@56164c28)


def test_audience_network_form(analyze):
    params = {"BUNDLE": PACKAGE, "APPVERS": "3.4.1", "IDFA": GAID, "SESSION_ID": str(uuid.UUID(int=7)),
              "MAKE": "Google", "MODEL": "Pixel 8", "ROOTED": "0", "CARRIER": "T-Mobile", "SCREEN_WIDTH": "412",
              "SCREEN_HEIGHT": "915", "OS": "Android", "OSVERS": "14", "LOCALE": "en_US", "SDK_VERSION": "6.17.0",
              "VALPARAMS": json.dumps({"is_emu": "false", "timezone_offset": "-28800"}),
              "ANALOG": json.dumps({"total_memory": "8000000000", "battery": "87.0", "charging": "1"})}
    a = analyze(make_request("POST", "https://graph.facebook.com/network_ads_common", urlencode(params),
                             [("Content-Type", "application/x-www-form-urlencoded")]))
    assert_decoded(a, "audience_network")
    assert_finding(a, "app_id", PACKAGE, "body.BUNDLE")
    assert_finding(a, "advertising_id", GAID, "body.IDFA")
    assert labels(a)["body.VALPARAMS.is_emu"] == "is_emulator"
    assert_finding(a, "timezone", "-28800", "body.VALPARAMS.timezone_offset")
    assert_finding(a, "battery", "87.0", "body.ANALOG.battery")
    assert_finding(a, "ram", "8000000000", "body.ANALOG.total_memory")


def test_audience_network_sync_payload(analyze):
    payload = {"context": {"BUNDLE": PACKAGE, "IDFA": GAID, "MODEL": "Pixel 8",
                           "ANALOG": json.dumps({"free_space": "41000000000"})}}
    a = analyze(make_request("POST", "https://www.facebook.com/adnw_sync2", urlencode({"payload": json.dumps(payload)}),
                             [("Content-Type", "application/x-www-form-urlencoded")]))
    assert_decoded(a, "audience_network_sync")
    assert_finding(a, "app_id", PACKAGE, "body.payload.context.BUNDLE")
    assert_finding(a, "disk", "41000000000", "body.payload.context.ANALOG.free_space")


# ------------------------------------------------------------------------------------------
# SDK configuration calls and negatives


def test_app_settings_get(analyze):
    """FetchedAppSettingsManager: GET /<v>/app?fields=...; addCommonParameters + appendParametersToBaseUrl."""
    query = urlencode({"fields": "supports_implicit_sdk_logging,gdpv4_nux_content,app_events_feature_bitmask",
                       "access_token": f"{APP_ID}|{CLIENT_TOKEN}", "sdk": "android", "format": "json"})
    a = analyze(make_request("GET", f"{GRAPH}/app?{query}", headers=[("User-Agent", "FBAndroidSDK.18.0.3")]))
    assert_decoded(a, "graph_sdk")
    assert_finding(a, "auth_token", f"{APP_ID}|{CLIENT_TOKEN}", "query.access_token")
    assert_finding(a, "os_name", "android", "query.sdk")


def test_gatekeepers_get(analyze):
    query = urlencode({"platform": "android", "sdk_version": "18.0.3", "fields": "gatekeepers", "sdk": "android",
                       "format": "json"})
    a = analyze(make_request("GET", f"{GRAPH}/app/mobile_sdk_gk?{query}"))
    assert_decoded(a, "graph_sdk")
    assert_finding(a, "sdk_version", "18.0.3", "query.sdk_version")


@pytest.mark.parametrize("url", [
    f"https://graph.facebook.com.evil.example/v21.0/{APP_ID}/activities",
    f"https://graph-facebook.com/v21.0/{APP_ID}/activities",
    "https://www.notfacebook.com/tr/?id=1&ev=PageView",
])
def test_lookalike_hosts_do_not_match(rules, url):
    a = Analyzer(rules).analyze(make_request("POST", url, "event=CUSTOM_APP_EVENTS&anon_id=XZ1"))
    assert a is None or a.tracker != "facebook", summary(a)


# ------------------------------------------------------------------------------------------
# Graph API batch (GraphRequest.toHttpConnection with several requests)


def test_android_graph_batch_carries_app_events(analyze):
    """GraphRequest.kt@34d41548 batch: POST to getGraphUrlBase() with `batch_app_id` and `batch`
    (serializeToBatch): each entry's Bundle parameters in relative_url's query
    (relativeUrlForBatchedRequest, Uri.Builder encoding), its graph object form-encoded in
    `body`; the whole body a gzipped form (Serializer with useUrlEncode)."""
    params = android_activities_params(android_events())
    bundle, graph_object = params[:6], params[6:]
    activities = {"relative_url": f"/v21.0/{APP_ID}/activities?" + "&".join(
                      f"{k}={quote(v, safe=chr(39) + '-_.!~*()')}" for k, v in bundle),
                  "method": "POST",
                  "body": "&".join(f"{k}={java_url_encode(v)}" for k, v in graph_object)}
    settings = {"relative_url": f"/v21.0/{APP_ID}?fields=app_events_feature_bitmask&access_token={APP_ID}%7C{CLIENT_TOKEN}"
                                "&sdk=android&format=json", "method": "GET", "name": "settings",
                "omit_response_on_success": False}
    body = android_gzip_form([("batch_app_id", APP_ID), ("batch", org_json([activities, settings]))])
    a = analyze(via_mitmproxy("POST", "https://graph.facebook.com", body, ANDROID_HEADERS))
    assert_decoded(a, "graph_batch")
    entry = "body.batch[0]"
    assert_finding(a, "project_key", APP_ID, "body.batch_app_id")
    assert_finding(a, "auth_token", f"{APP_ID}|{CLIENT_TOKEN}", f"{entry}.relative_url.params.access_token")
    assert_finding(a, "push_token", PUSH_TOKEN, f"{entry}.relative_url.params.device_token")
    assert_finding(a, "event_name", "fb_mobile_purchase", f"{entry}.relative_url.params.custom_events[1]._eventName")
    assert_finding(a, "custom_property", "SPRING", f"{entry}.relative_url.params.custom_events[1].coupon")
    assert_finding(a, "advertising_id", GAID, f"{entry}.body.advertiser_id")
    assert_finding(a, "installation_id", ANON_ID, f"{entry}.body.anon_id")
    assert_finding(a, "hashed_email", EMAIL_HASH, f"{entry}.body.ud.em")
    assert_finding(a, "device_model", "Pixel 8", f"{entry}.body.extinfo[5]")
    assert_finding(a, "app_id", PACKAGE, f"{entry}.body.extinfo[1]")
    assert labels(a)["body.batch[1].relative_url.path"] == ""
    assert labels(a)["body.batch[1].relative_url.params.fields"] == ""


def test_ids_in_the_query_of_graph_calls(analyze):
    """GraphRequest puts the common parameters (and every parameter of a GET) in the query:
    custom_audience_third_party_id sends the advertising id as `udid`; an App Events call whose
    parameters travel in the query is typed the same as in its body."""
    gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
    url = ("https://graph.facebook.com/v19.0/1234567890123456/custom_audience_third_party_id?"
           + urlencode({"udid": gaid, "limit_event_usage": "1", "sdk": "android", "format": "json",
                        "access_token": "1234567890123456|0123456789abcdef0123456789abcdef"}))
    a = analyze(make_request("GET", url))
    assert (a.tracker, a.endpoint, a.status) == ("facebook", "graph_sdk", "decoded"), summary(a)
    assert_finding(a, "advertising_id", gaid, "query.udid")
    assert labels(a)["query.limit_event_usage"] == "consent_state"
    url = ("https://graph.facebook.com/v19.0/1234567890123456/activities?"
           + urlencode({"event": "MOBILE_APP_INSTALL", "advertiser_id": gaid, "anon_id": "XZ5b0c7f3e-1d2a-4b6c-9e8f-0a1b2c3d4e5f",
                        "application_package_name": "com.example.recipes"}))
    a = analyze(make_request("POST", url, b"", [("Content-Type", "application/x-www-form-urlencoded")]))
    assert (a.tracker, a.endpoint) == ("facebook", "activities"), summary(a)
    assert_finding(a, "advertising_id", gaid, "query.advertiser_id")
    assert_finding(a, "installation_id", "XZ5b0c7f3e-1d2a-4b6c-9e8f-0a1b2c3d4e5f", "query.anon_id")
