"""Golden tests: TikTok Business SDK (tiktok-business-android-sdk@764ffbea, and the 2024
open_api layout @b0255083; tiktok-business-ios-sdk@0c7bb476), the TikTok Pixel (public captures of pixel.js requests) and the
Events API. Each builder follows the cited code; assertions check endpoint, decode status and
precise (data type, value, path, detector) findings."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any
from urllib.parse import quote

import pytest

from leakmap.model import Analysis
from leakmap.pipeline import Analyzer
from golden_support import (summary, analyze_fixture, assert_finding, make_request, org_json,
                            request_via_mitmproxy as via_mitmproxy, rules_fixture)

TT_APP_ID = "7312345678901234567"
PACKAGE = "com.example.shop"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
ANON_ID = "3f2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
SESSION = "1767225600123-7d3c"
EMAIL = "jane.doe@example.com"
PIXEL = "CABC123DEF456GHI789J"
TTCLID = "E.C.P.honeyclickid0123"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


rules = rules_fixture()
analyze = analyze_fixture(fresh=True)


def assert_decoded(a: Analysis, endpoint: str) -> None:
    assert (a.tracker, a.endpoint, a.status, a.error) == ("tiktok", endpoint, "decoded", ""), summary(a)


# ------------------------------------------------------------------------------------------
# App SDK: TTRequest.reportAppEvent → basePayload + batch of transferJson(event)


def android_context() -> dict[str, Any]:
    """TTRequestBuilder.contextBuilder + contextBuilderWithLocalAndLibrary + getContextForApi
    (user from TTUserInfo, SHA-256 hashed); freshOsVersion drops device.version for events."""
    return {
        "app": {"name": "Example Shop", "namespace": PACKAGE, "version": "3.4.1", "build": "341",
                "tiktok_app_id": TT_APP_ID, "app_session_id": SESSION, "anonymous_id": ANON_ID},
        "device": {"platform": "Android", "os_version": "14", "gaid": GAID, "locale": "en-US",
                   "screen_width": 1080, "screen_height": 2400, "model": "Pixel 8", "scale": 2.625},
        "ad": {"gp_referrer": "utm_source=tiktok&utm_campaign=spring"},
        "ip": "192.168.1.23",
        "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv)",
        "locale": "en-US",
        "library": {"name": "tiktok/tiktok-business-android-sdk", "version": "1.3.8"},
        "user": {"external_id": sha256("user-48151623"), "email": sha256(EMAIL)},
    }


def app_batch() -> dict[str, Any]:
    event = {"type": "track", "event": "Purchase", "event_id": "ord-1", "timestamp": "2026-01-01T00:00:00.123Z",
             "properties": {"currency": "EUR", "value": 19.99, "coupon": "SPRING"}, "context": android_context(),
             "gp_referrer_install_ts": 1767225000, "gp_referrer_click_ts": 1767224900}
    return {"tiktok_app_id": TT_APP_ID, "event_source": "APP_EVENTS_SDK", "batch": [event]}


HEADERS = {"Content-Type": "application/json", "Connection": "Keep-Alive", "Content-Encoding": "gzip",
           "User-Agent": "tiktok-business-android-sdk/1.3.8/v1.3", "X-TT-Signature": "3a9f0c1d2e"}


def test_app_sdk_batch_gzip(analyze):
    body = gzip.compress(org_json(app_batch()).encode())
    a = analyze(via_mitmproxy("POST", "https://analytics.us.tiktok.com/api/v1/app_sdk/batch", body, HEADERS))
    assert_decoded(a, "app_sdk")
    assert_finding(a, "project_key", TT_APP_ID, "body.tiktok_app_id")
    assert_finding(a, "event_name", "Purchase", "body.batch[0].event")
    assert_finding(a, "app_id", PACKAGE, "body.batch[0].context.app.namespace")
    assert_finding(a, "installation_id", ANON_ID, "body.batch[0].context.app.anonymous_id")
    assert_finding(a, "advertising_id", GAID, "body.batch[0].context.device.gaid")
    assert_finding(a, "device_model", "Pixel 8", "body.batch[0].context.device.model")
    assert_finding(a, "local_ip", "192.168.1.23", "body.batch[0].context.ip")
    assert_finding(a, "hashed_email", sha256(EMAIL), "body.batch[0].context.user.email")
    assert_finding(a, "user_id", sha256("user-48151623"), "body.batch[0].context.user.external_id")
    assert_finding(a, "referrer", "utm_source=tiktok&utm_campaign=spring", "body.batch[0].context.ad.gp_referrer")
    assert_finding(a, "revenue", "19.99", "body.batch[0].properties.value")
    assert_finding(a, "custom_property", "SPRING", "body.batch[0].properties.coupon")
    assert_finding(a, "session_id", SESSION, "body.batch[0].context.app.app_session_id")
    assert_finding(a, "sdk_version", "tiktok-business-android-sdk/1.3.8/v1.3", "header.user-agent")
    assert a.app == PACKAGE


def test_app_sdk_legacy_open_api_batch(analyze):
    """Before 2024: business-api.tiktok.com/open_api/v1.2/app/batch/ (same payload)."""
    body = gzip.compress(org_json(app_batch()).encode())
    a = analyze(via_mitmproxy("POST", "https://business-api.tiktok.com/open_api/v1.2/app/batch/", body,
                              {**HEADERS, "Access-Token": "honey-access-token-0123"}))
    assert_decoded(a, "app_sdk")
    assert_finding(a, "advertising_id", GAID, "body.batch[0].context.device.gaid")
    assert_finding(a, "auth_token", "honey-access-token-0123", "header.access-token")


def test_app_sdk_monitor(analyze):
    """TTRequestBuilder.getHealthMonitorBase: app + library + enrichDeviceBase."""
    device = {"platform": "Android", "version": "14", "gaid": GAID, "id": ANON_ID,
              "user_agent": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)", "ip": "192.168.1.23",
              "network": "WIFI", "session": SESSION, "locale": "en-US", "ts": 1767000000000,
              "screen_width": 1080, "screen_height": 2400, "model": "Pixel 8", "scale": 2.625}
    payload = {"app": {**android_context()["app"], "app_namespace": PACKAGE},
               "library": android_context()["library"], "device": device, "log_extra": None,
               "timestamp": "2026-01-01T00:00:00.123Z",
               "monitor": {"type": "metric", "name": "did_end", "meta": {"ts": 1767225600123, "latency": 12}}}
    body = gzip.compress(org_json(payload).encode())
    a = analyze(via_mitmproxy("POST", "https://analytics.us.tiktok.com/api/v1/app_sdk/monitor", body, HEADERS))
    assert_decoded(a, "app_sdk")
    assert_finding(a, "installation_id", ANON_ID, "body.app.anonymous_id")
    assert_finding(a, "advertising_id", GAID, "body.device.gaid")
    assert_finding(a, "network_type", "WIFI", "body.device.network")


IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
IDFV = "0F3C1D2E-4B5A-4C6D-8E7F-9A0B1C2D3E4F"
BUNDLE = "com.example.shop.ios"


def ios_app() -> dict[str, Any]:
    """TikTokRequestHandler.getAPPWithDeviceInfo (tiktok-business-ios-sdk@0c7bb476)."""
    return {"name": "Example Shop", "namespace": BUNDLE, "version": "3.4.1", "build": "341",
            "app_session_id": SESSION, "last_app_session_id": "1767139200456-1a2b",
            "last_app_session_start_time": "1767139200456", "id": "6443212345", "tiktok_app_id": TT_APP_ID}


def ios_device(monitor: bool = False) -> dict[str, Any]:
    """getDeviceInfo: `version` for monitor payloads, `os_version` otherwise."""
    return {"att_status": "AUTHORIZED", "platform": "iOS", "idfa": IDFA, "idfv": IDFV, "ip": "192.168.1.57",
            "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
            "locale": "en/US", "model": "iPhone15,2", ("version" if monitor else "os_version"): "17.5"}


IOS_LIBRARY = {"name": "tiktok/tiktok-business-ios-sdk", "version": "1.7.0", "integration_type": "native",
               "smart_sdk_client_flag": False, "auto_iap_track_config": 1}


def test_ios_app_sdk_batch(analyze):
    """sendBatchRequest: context = app (+anonymous_id), device, library, locale, ip, user_agent, user."""
    context = {"app": {**ios_app(), "anonymous_id": ANON_ID}, "device": ios_device(), "library": IOS_LIBRARY,
               "locale": "en/US", "ip": "192.168.1.57", "user_agent": ios_device()["user_agent"],
               "user": {"external_id": sha256("user-48151623"), "email": sha256(EMAIL)}}
    event = {"type": "track", "event": "AddToCart", "timestamp": "2026-01-01T00:00:00Z", "context": context,
             "properties": {"content_id": "sku-42"}, "event_id": "evt-ios-1"}
    payload = {"batch": [event], "timestamp": "2026-01-01T00:00:01Z", "event_source": "APP_EVENTS_SDK",
               "tiktok_app_id": int(TT_APP_ID)}
    body = gzip.compress(json.dumps(payload).encode())
    a = analyze(via_mitmproxy("POST", "https://analytics.us.tiktok.com/api/v1/app_sdk/batch", body,
                              {**HEADERS, "User-Agent": "ExampleShop/341 CFNetwork/1496.0.7 Darwin/23.5.0"}))
    assert_decoded(a, "app_sdk")
    assert_finding(a, "advertising_id", IDFA, "body.batch[0].context.device.idfa")
    assert_finding(a, "vendor_id", IDFV, "body.batch[0].context.device.idfv")
    assert_finding(a, "consent_state", "AUTHORIZED", "body.batch[0].context.device.att_status")
    assert_finding(a, "local_ip", "192.168.1.57", "body.batch[0].context.device.ip")
    assert_finding(a, "session_id", "1767139200456-1a2b", "body.batch[0].context.app.last_app_session_id")
    assert_finding(a, "app_id", BUNDLE, "body.batch[0].context.app.namespace")
    assert_finding(a, "hashed_email", sha256(EMAIL), "body.batch[0].context.user.email")
    assert a.app == BUNDLE


def test_ios_cache_config_query_and_body(analyze):
    """fetchCacheConfig: POST /cache/config, app and device in the query, paramDictForConfig gzipped."""
    query = (f"?tiktok_app_id={TT_APP_ID}&sdk_version=1.7.0&platform=ios&model=iPhone15%2C2&app_version=3.4.1"
             f"&os_version=17.5&locale=en%2FUS&namespace={BUNDLE}")
    payload = {"app": ios_app(), "device": ios_device(monitor=True), "library": IOS_LIBRARY, "debug": False}
    body = gzip.compress(json.dumps(payload).encode())
    a = analyze(via_mitmproxy("POST", "https://analytics.us.tiktok.com/api/v1/app_sdk/cache/config" + query, body,
                              {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    assert_decoded(a, "app_sdk")
    assert_finding(a, "device_model", "iPhone15,2", "query.model")
    assert_finding(a, "app_id", BUNDLE, "query.namespace")
    assert_finding(a, "language", "en/US", "query.locale")
    assert_finding(a, "advertising_id", IDFA, "body.device.idfa")
    assert_finding(a, "vendor_id", IDFV, "body.device.idfv")
    assert_finding(a, "consent_state", "AUTHORIZED", "body.device.att_status")
    assert_finding(a, "os_version", "17.5", "query.os_version")  # the same value in body.device.version is one finding
    assert_finding(a, "project_key", TT_APP_ID, "query.tiktok_app_id")


def test_every_sdk_context_key_is_mapped(rules):
    ep = next(e for r in rules if r.id == "tiktok" for e in r.endpoints if e.id == "app_sdk")
    context = android_context()
    for section in ("app", "device", "library", "user"):
        for key in context[section]:
            path = f"context.{section}.{key}"
            assert ep.fields.lookup(path) is not None and ep.fields.lookup(path)[1] == path, path
    for key in ("ip", "user_agent", "locale"):
        assert ep.fields.lookup(f"context.{key}")[1] == f"context.{key}"
    ios = {"app": ios_app(), "device": {**ios_device(), **ios_device(monitor=True)}, "library": IOS_LIBRARY}
    for section, keys in ios.items():
        for key in keys:
            path = f"context.{section}.{key}"
            assert ep.fields.lookup(path) is not None and ep.fields.lookup(path)[1] == path, path


# ------------------------------------------------------------------------------------------
# Pixel: JSON POST bodies as captured from pixel.js (legacy-2.2.1)


def pixel_event(event: str) -> dict[str, Any]:
    return {
        "event": event, "event_id": "ID1", "message_id": "messageId-1782755341369-2457282617858-" + PIXEL,
        "is_onsite": False, "timestamp": "2026-06-29T17:49:01.369Z",
        "context": {
            "ad": {"sdk_env": "external", "jsb_status": 2, "callback": TTCLID},
            "device": {"platform": "pc"},
            "user": {"email": sha256(EMAIL), "phone_number": sha256("+14155550123"), "external_id": "123456"},
            "pixel": {"code": PIXEL, "runtime": "1"},
            "page": {"url": "https://shop.example.net/cart", "referrer": "https://shop.example.net/"},
            "library": {"name": "pixel.js", "version": "legacy-2.2.1"},
            "userAgent": "Mozilla/5.0",
        },
        "properties": {"currency": "EUR", "value": "99.95",
                       "contents": [{"content_id": 119, "content_name": "Red shoes", "price": 99.95, "quantity": 1}]},
        "signal_diagnostic_labels": {"raw_email": {"label": "valid"}},
    }


def test_pixel_post_json(analyze):
    a = analyze(make_request("POST", "https://analytics.tiktok.com/api/v2/pixel", json.dumps(pixel_event("AddToCart")),
                             [("Content-Type", "application/json"), ("Origin", "https://shop.example.net")]))
    assert_decoded(a, "pixel")
    assert_finding(a, "project_key", PIXEL, "body.context.pixel.code")
    assert_finding(a, "event_name", "AddToCart", "body.event")
    assert_finding(a, "hashed_email", sha256(EMAIL), "body.context.user.email")
    assert_finding(a, "hashed_phone", sha256("+14155550123"), "body.context.user.phone_number")
    assert_finding(a, "user_id", "123456", "body.context.user.external_id")
    assert_finding(a, "other_id", TTCLID, "body.context.ad.callback")
    assert_finding(a, "page_url", "https://shop.example.net/cart", "body.context.page.url")
    assert_finding(a, "revenue", "99.95", "body.properties.value")
    assert_finding(a, "custom_property", "Red shoes", "body.properties.contents[0].content_name")
    assert a.app == "example.net"


def test_pixel_get_base64_analytics_message(analyze):
    b64 = base64.b64encode(json.dumps(pixel_event("ClickButton")).encode()).decode()
    a = analyze(make_request("GET", "https://analytics.tiktok.com/api/v2/pixel/act?analytics_message=" + quote(b64, safe="")))
    assert_decoded(a, "pixel")
    assert_finding(a, "event_name", "ClickButton", "query.analytics_message.event")
    assert_finding(a, "project_key", PIXEL, "query.analytics_message.context.pixel.code")
    assert_finding(a, "hashed_email", sha256(EMAIL), "query.analytics_message.context.user.email")


def test_events_api(analyze):
    body = {"event_source": "web", "event_source_id": PIXEL, "data": [
        {"event": "CompletePayment", "event_time": 1767225600, "event_id": "ord-1",
         "user": {"email": sha256(EMAIL), "external_id": sha256("user-48151623"), "ttclid": TTCLID,
                  "ttp": "2Xhoneyttpcookie", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
         "page": {"url": "https://shop.example.net/thanks"}, "properties": {"value": 19.99, "currency": "EUR",
                                                                          "order": "A-1"}}]}
    a = analyze(make_request("POST", "https://business-api.tiktok.com/open_api/v1.3/event/track/", json.dumps(body),
                             [("Content-Type", "application/json"), ("Access-Token", "honey-events-api-token")]))
    assert_decoded(a, "events_api")
    assert_finding(a, "auth_token", "honey-events-api-token", "header.access-token")
    assert_finding(a, "project_key", PIXEL, "body.event_source_id")
    assert_finding(a, "public_ip", "203.0.113.7", "body.data[0].user.ip")
    assert_finding(a, "browser_id", "2Xhoneyttpcookie", "body.data[0].user.ttp")
    assert_finding(a, "custom_property", "A-1", "body.data[0].properties.order")


@pytest.mark.parametrize("url", ["https://analytics.tiktok.com.evil.example/api/v2/pixel",
                                 "https://analytics-tiktok.com/api/v2/pixel"])
def test_lookalike_hosts_do_not_match(rules, url):
    a = Analyzer(rules).analyze(make_request("POST", url, json.dumps(pixel_event("Pageview"))))
    assert a is None or a.tracker != "tiktok", summary(a)
