"""Golden tests: MoEngage requests as public copies of its SDK code build them (no SDK is open
source; tracker_rules/moengage.yaml cites them): the web SDK bundle 2.19.20 (MoeApi
collectGetParams, getBatchRequestOptions, reportAddInternal) and decompiled Android SDK
classes (RestUtil.getDefaultParams, ApiManager, RestClient).
"""

from __future__ import annotations

from urllib.parse import urlencode

from golden_support import (JSON_CT, assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "moengage"
APP = "MOEAPP123XYZ"
UNIQUE = "4c3b2a19-0817-4e6f-9d8c-7b6a5f4e3d2c"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)


def android_query_params() -> dict:
    """RestUtil.getDefaultParams: os, app_id, sdk_ver, unique_id, device_ts, device_tz_offset,
    app_ver (version code); app_version_name and moe_gaid unless opted out; moe_push_ser."""
    return {"os": "ANDROID", "app_id": APP, "sdk_ver": "130100", "unique_id": UNIQUE, "device_ts": "1716000000000",
            "device_tz_offset": "19800000", "app_ver": "120", "app_version_name": "3.2.1", "moe_gaid": GAID,
            "moe_push_ser": "FCM"}


def web_query_params() -> dict:
    """collectGetParams of the web SDK 2.19.20."""
    return {"os": "web", "os_platform": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", "is_incognito": False,
            "app_id": APP, "os_ver": "Google Chrome", "sdk_ver": "2.19.20", "model": "Google Chrome", "app_ver": "1.0",
            "device_ts": 1716000000000, "device_tz_offset": "19800000", "unique_id": UNIQUE, "device_tz": "-330",
            "push_id": "fcm-honey-moe-9", "subscription_type": "vapid", "environment": "sdk-03.moengage.com"}


def test_android_batch(analyzer):
    body = {"query_params": android_query_params(),
            "meta": {"bid": "5e0c1f5a-0a3e-4c55-9b0a-2f7c1d9e8a11", "request_time": "2026-05-18T10:00:00Z"},
            "viewsInfo": [{"EVENT_ACTION": "Product Viewed", "EVENT_ATTRS": {"sku": "TV-55"},
                           "EVENT_G_TIME": "1716000000000", "EVENT_L_TIME": "18:5:2026:15:30:0"},
                          {"EVENT_ACTION": "EVENT_ACTION_USER_ATTRIBUTE",
                           "EVENT_ATTRS": {"USER_ATTRIBUTE_USER_EMAIL": "jane.doe@example.com",
                                           "USER_ATTRIBUTE_USER_MOBILE": "+919812345678",
                                           "USER_ATTRIBUTE_UNIQUE_ID": "crm-7731"}}],
            "viewsCount": 2}
    a = analyzer.analyze(request("POST", f"https://sdk-03.moengage.com/v2/sdk/report/{APP}", compact(body),
                                 [JSON_CT, ("MOE-APPKEY", APP), ("MOE-REQUEST-ID", "a1b2c3")]))
    decoded(a, "report")
    has(a, "project_key", APP, "path.app_id")
    has(a, "os_name", "ANDROID", "body.query_params.os")
    has(a, "installation_id", UNIQUE, "body.query_params.unique_id")
    has(a, "advertising_id", GAID, "body.query_params.moe_gaid")
    has(a, "app_build", "120", "body.query_params.app_ver")
    has(a, "app_version", "3.2.1", "body.query_params.app_version_name")
    has(a, "timezone", "19800000", "body.query_params.device_tz_offset")
    has(a, "event_name", "Product Viewed", "body.viewsInfo[0].EVENT_ACTION")
    has(a, "custom_property", "TV-55", "body.viewsInfo[0].EVENT_ATTRS.sku")
    has(a, "email", "jane.doe@example.com", "body.viewsInfo[1].EVENT_ATTRS.USER_ATTRIBUTE_USER_EMAIL")
    has(a, "phone", "+919812345678", "body.viewsInfo[1].EVENT_ATTRS.USER_ATTRIBUTE_USER_MOBILE")
    has(a, "user_id", "crm-7731", "body.viewsInfo[1].EVENT_ATTRS.USER_ATTRIBUTE_UNIQUE_ID")
    got = labels(a)
    assert got["body.query_params.moe_push_ser"] == "" and got["header.moe-appkey"] == "project_key"


def test_web_single_event_in_query_and_body(analyzer):
    body = {"c": None, "h": "", "identifiers": {"moe_user_id": "crm-7731"},
            "meta": {"bid": "6f1d", "session": {"session_id": "9a8b7c6d-1111-4222-8333-944455556666",
                                                "start_time": "2026-05-18T10:00:00.000Z", "background_initiated": 0},
                     "source": [{"source_url": "https://shop.example/?utm_source=newsletter", "source": "newsletter"}]},
            "e": "Added To Cart", "a": {"price": 499, "URL": "https://shop.example/cart",
                                        "moe_logged_in_status": True, "moe_first_visit": False},
            "url": "https://shop.example/cart"}
    url = "https://sdk-03.moengage.com/v2/report/add?" + urlencode(web_query_params())
    a = analyzer.analyze(request("POST", url, compact(body), [JSON_CT, ("Origin", "https://shop.example")]))
    decoded(a, "report")
    has(a, "project_key", APP, "query.app_id")
    has(a, "user_agent", web_query_params()["os_platform"], "query.os_platform")
    has(a, "browser", "Google Chrome", "query.os_ver")
    has(a, "installation_id", UNIQUE, "query.unique_id")
    has(a, "push_token", "fcm-honey-moe-9", "query.push_id")
    has(a, "timezone", "-330", "query.device_tz")
    has(a, "user_id", "crm-7731", "body.identifiers.moe_user_id")
    has(a, "session_id", "9a8b7c6d-1111-4222-8333-944455556666", "body.meta.session.session_id")
    has(a, "event_name", "Added To Cart", "body.e")
    has(a, "page_url", "https://shop.example/cart", "body.a.URL")
    has(a, "referrer", "newsletter", "body.meta.source[0].source")
    has(a, "custom_property", "499", "body.a.price")
    assert a.app == "shop.example"


def test_web_batch_beacon(analyzer):
    # sendBeacon(<base>v2/sdk/report/<app id>?<time>, JSON text): getBatchRequestOptions.
    body = {"query_params": web_query_params(), "identifiers": {"moe_user_id": "crm-7731"},
            "meta": {"bid": "77aa", "request_time": "2026-05-18T10:00:05.000Z"}, "viewsCount": 1,
            "viewsInfo": [{"EVENT_ACTION": "MOE_PAGE_VIEWED", "EVENT_ATTRS": {"URL": "https://shop.example/"},
                           "EVENT_G_TIME": "1716000005000", "EVENT_L_TIME": "18:5:2026:15:30:5", "N_I_E": None}]}
    a = analyzer.analyze(request("POST", f"https://sdk-01.moengage.com/v2/sdk/report/{APP}?1716000005000",
                                 compact(body), [("Content-Type", "text/plain;charset=UTF-8")]))
    decoded(a, "report")
    has(a, "user_agent", web_query_params()["os_platform"], "body.query_params.os_platform")
    has(a, "event_name", "MOE_PAGE_VIEWED", "body.viewsInfo[0].EVENT_ACTION")


def test_encrypted_body_is_matched_and_kept(analyzer):
    # RestClient: with encryption on, the body is {"data": <ciphertext>} and a key-type header.
    a = analyzer.analyze(request("POST", f"https://sdk-01.moengage.com/v2/sdk/report/{APP}",
                                 compact({"data": "q83vEjRWeJq8Ew=="}),
                                 [JSON_CT, ("MOE-APPKEY", APP), ("MOE-PAYLOAD-ENC-KEY-TYPE", "default")]))
    decoded(a, "report")
    got = labels(a)
    assert got["body.data"] == "" and got["header.moe-appkey"] == "project_key"
    opaque = analyzer.analyze(request("POST", f"https://sdk-01.moengage.com/v2/sdk/report/{APP}", b"\x93\x11\xfe",
                                      [("Content-Type", "application/octet-stream")]))
    assert (opaque.tracker, opaque.endpoint, opaque.status) == ("moengage", "report", "decoded")


def test_device_config_and_logging(analyzer):
    device = analyzer.analyze(request("POST", f"https://sdk-02.moengage.com/v2/sdk/device/{APP}",
                                      compact({"query_params": android_query_params()}), [JSON_CT]))
    decoded(device, "device")
    has(device, "project_key", APP, "path.app_id")
    web_device = analyzer.analyze(request("POST", "https://sdk-02.moengage.com/v2/device/add?" +
                                          urlencode(web_query_params()), "null", [JSON_CT]))
    decoded(web_device, "device")
    has(web_device, "installation_id", UNIQUE, "query.unique_id")
    config = analyzer.analyze(request("POST", f"https://sdk-02.moengage.com/v3/sdkconfig/android/{APP}",
                                      compact({"query_params": android_query_params()}), [JSON_CT]))
    decoded(config, "sdkconfig")
    has(config, "project_key", APP, "path.app_id")
    for url in (f"https://sdk-03.moengage.com/v3/sdkconfig/web/{APP}",
                f"https://sdk-03.moengage.com/websdksettings?app_id={APP}"):
        got = analyzer.analyze(request("GET", url))
        decoded(got, "sdkconfig")
    logs = {"query_params": android_query_params(),
            "logs": [{"log_type": "error", "sent_time": "2026-05-18T10:00:00Z",
                      "lake_fields": {"msg": "Core_RestClient failed", "trace": "java.io.IOException at x.y(z)"}}]}
    log = analyzer.analyze(request("POST", f"https://sdk-01.moengage.com/v1/sdk_logging/android/{APP}",
                                   compact(logs), [JSON_CT]))
    decoded(log, "sdk_logging")
    has(log, "error_report", "java.io.IOException at x.y(z)", "body.logs[0].lake_fields.trace")


def test_lookalike_host(analyzer):
    b = analyzer.analyze(request("POST", f"https://sdk-01.moengage.com.example.org/v2/sdk/report/{APP}", "{}"))
    assert b is None or b.tracker != "moengage"
