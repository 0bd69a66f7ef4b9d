"""Golden tests: the wire formats of the Branch SDKs, built the way each SDK builds them.

Android (BranchMetrics/android-branch-deep-linking-attribution@827655ea): JSON bodies from
ServerRequest params_ — DeviceInfo.updateRequestWithV1Params (install/open) or
updateRequestWithV2Params (user_data of v2 events), BranchRemoteInterface.addCommonParams
(sdk, branch_key), org.json toString. Web (BranchMetrics/web-branch-deep-linking-attribution
@982e1de2): Server.serializeObject form encoding (encodeURIComponent, nested objects as
dotted keys), user_data etc. as JSON strings (safejson.stringify).
"""

from __future__ import annotations

import json

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze_for, assert_finding, analyzer_fixture, encode_uri_component, org_json

BRANCH_KEY = "key_live_hbd3Fbj0cKWzH8hTzXkZ4ollBqqHjDkD"
ANDROID_ID = "9774d56d682e549c"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DEVICE_TOKEN = "1234567890123456789"
BUNDLE_TOKEN = "987654321098765432"
IDENTITY = "user-48151623"
LOCAL_IP = "192.168.1.23"
BROWSER_FP = "1187654321123456789"
PAGE = "https://shop.example/checkout?step=2"


analyzer = analyzer_fixture()


analyze = analyze_for("branch")


def json_post(path: str, body: dict, host: str = "https://api2.branch.io") -> Request:
    """BranchRemoteInterfaceUrlConnection: POST, Content-Type application/json."""
    return Request("golden", "golden", 0.0, "POST", f"{host}{path}",
                   [("Content-Type", "application/json"), ("Accept", "application/json")], org_json(body).encode())


# DeviceInfo.updateRequestWithV1Params + ServerRequestInitSession/RegisterInstall + ServerRequest
# (advertising ids, DMA, metadata) + addCommonParams: a /v1/install body.
ANDROID_INSTALL = {
    "hardware_id": ANDROID_ID, "is_hardware_id_real": True, "anon_id": "c1f0e7a2-1d2b-4c3e-8f90-123456789abc",
    "brand": "google", "model": "Pixel 8", "screen_dpi": 420, "screen_height": 2400, "screen_width": 1080,
    "wifi": True, "ui_mode": "UI_MODE_TYPE_NORMAL", "os": "Android", "os_version": 34, "country": "US",
    "language": "en", "local_ip": LOCAL_IP, "cpu_type": "aarch64", "build": "UQ1A.240205.004", "locale": "en_US",
    "connection_type": "wifi", "device_carrier": "T-Mobile", "os_version_android": "14",
    "app_version": "3.4.1", "identity": IDENTITY, "update": 0, "latest_install_time": 1767225600000,
    "latest_update_time": 1767225600000, "first_install_time": 1767225600000, "previous_update_time": 0,
    "install_referrer_extras": "utm_source=google-play&utm_medium=organic", "link_identifier": "lnk-1",
    "app_store": "PlayStore", "is_meta_ct": False, "clicked_referrer_ts": 1767225500, "install_begin_ts": 1767225510,
    "advertising_ids": {"aaid": GAID}, "google_advertising_id": GAID, "lat_val": 0,
    "dma_eea": True, "dma_ad_personalization": True, "dma_ad_user_data": False,
    "metadata": {"$mixpanel_distinct_id": "mp-distinct-99"}, "debug": False,
    "branch_sdk_request_timestamp": 1767225600123, "branch_sdk_request_unique_id": "req-uuid-1",
    "instrumentation": {"v1/install-qwt": "0"}, "sdk": "android5.15.0", "branch_key": BRANCH_KEY,
    "randomized_device_token": DEVICE_TOKEN, "randomized_bundle_token": BUNDLE_TOKEN, "retryNumber": 0,
}


def test_android_install_json(analyzer):
    a = analyze(analyzer, json_post("/v1/install", ANDROID_INSTALL), "session")
    assert_finding(a, "android_id", ANDROID_ID, "body.hardware_id")
    assert_finding(a, "advertising_id", GAID, "body.advertising_ids.aaid")
    assert_finding(a, "user_id", IDENTITY, "body.identity")
    assert_finding(a, "device_id", DEVICE_TOKEN, "body.randomized_device_token")
    assert_finding(a, "installation_id", BUNDLE_TOKEN, "body.randomized_bundle_token")
    assert_finding(a, "local_ip", LOCAL_IP, "body.local_ip")
    assert_finding(a, "other_id", "mp-distinct-99", "body.metadata.$mixpanel_distinct_id")
    assert_finding(a, "project_key", BRANCH_KEY, "body.branch_key")
    assert a.app_signal == "payload_project_key"


def test_hardware_id_that_is_not_real_is_an_installation_id(analyzer):
    """is_hardware_id_real=false: the SDK generated a random UUID (the rule's record_variants)."""
    random_id = "5d3a4c1e-8f2b-4a6d-9c0e-7b1f2a3d4e5f"
    a = analyze(analyzer, json_post("/v1/install", {**ANDROID_INSTALL, "hardware_id": random_id,
                                                    "is_hardware_id_real": False}), "session")
    assert_finding(a, "installation_id", random_id, "body.hardware_id")
    assert not [f for f in a.findings if f.data_type == "android_id"]


def test_every_android_install_key_is_mapped_by_the_rule(analyzer):
    """Every key the Android SDK sets on an install has its own mapping in branch.yaml."""
    a = analyze(analyzer, json_post("/v1/install", ANDROID_INSTALL), "session")
    endpoint = analyzer.endpoints[("branch", "session")]
    labels = {path: label for path, _, label in a.fields}
    for key, value in ANDROID_INSTALL.items():
        keys = [f"{key}.{k}" for k in value] if isinstance(value, dict) else [key]
        for k in keys:
            mapped = endpoint.fields.lookup(k)
            assert mapped is not None, f"{k} unmapped"
            if key != "metadata":
                assert "**" not in mapped[1], f"{k} only caught by {mapped[1]}"
            assert labels[f"body.{k}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), k


def test_android_open_eu_host(analyzer):
    body = {k: v for k, v in ANDROID_INSTALL.items() if k not in ("clicked_referrer_ts", "install_begin_ts")}
    a = analyze(analyzer, json_post("/v1/open", body, host="https://api3-eu.branch.io"), "session")
    assert_finding(a, "android_id", ANDROID_ID, "body.hardware_id")


def android_v2_event(name: str) -> dict:
    """ServerRequestLogEvent: name, custom_data, event_data, content_items, user_data
    (updateRequestWithV2Params), plus metadata, instrumentation, branch_key."""
    return {
        "name": name, "customer_event_alias": "checkout-v2",
        "custom_data": {"coupon_user": "jane.doe@example.com", "level": "7"},
        "event_data": {"transaction_id": "tx-1", "currency": "USD", "revenue": 19.99, "search_query": "red shoes"},
        "content_items": [{"$sku": "sku-1", "$price": 19.99, "$product_name": "Red shoes"}],
        "user_data": {"android_id": ANDROID_ID, "brand": "google", "model": "Pixel 8", "screen_dpi": 420,
                      "screen_height": 2400, "screen_width": 1080, "ui_mode": "UI_MODE_TYPE_NORMAL", "os": "Android",
                      "os_version": 34, "country": "US", "language": "en", "local_ip": LOCAL_IP,
                      "randomized_device_token": DEVICE_TOKEN, "developer_identity": IDENTITY, "app_store": "PlayStore",
                      "app_version": "3.4.1", "sdk": "android", "sdk_version": "5.15.0",
                      "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8)", "cpu_type": "aarch64",
                      "build": "UQ1A.240205.004", "locale": "en_US", "connection_type": "wifi",
                      "device_carrier": "T-Mobile", "os_version_android": "14", "limit_ad_tracking": 0,
                      "aaid": GAID, "dma_eea": True},
        "metadata": {}, "instrumentation": {"v2/event/standard-qwt": "0"}, "branch_key": BRANCH_KEY,
    }


def test_android_v2_standard_event(analyzer):
    a = analyze(analyzer, json_post("/v2/event/standard", android_v2_event("PURCHASE")), "event")
    assert_finding(a, "event_name", "PURCHASE", "body.name")
    assert_finding(a, "advertising_id", GAID, "body.user_data.aaid")
    assert_finding(a, "android_id", ANDROID_ID, "body.user_data.android_id")
    assert_finding(a, "user_id", IDENTITY, "body.user_data.developer_identity")
    assert_finding(a, "revenue", "19.99", "body.event_data.revenue")
    assert_finding(a, "search_term", "red shoes", "body.event_data.search_query")
    assert_finding(a, "email", "jane.doe@example.com", "body.custom_data.coupon_user", "pattern")
    endpoint = analyzer.endpoints[("branch", "event")]
    for key in android_v2_event("X")["user_data"]:
        mapped = endpoint.fields.lookup(f"user_data.{key}")
        assert mapped is not None and mapped[1] == f"user_data.{key}", key


def serialize(obj: dict, prefix: str = "") -> str:
    """web src/3_api.js Server.serializeObject."""
    pairs = []
    for k, v in obj.items():
        name = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            pairs.append(serialize(v, name))
        elif isinstance(v, list):
            pairs.append("&".join(f"{encode_uri_component(name)}={encode_uri_component(str(i))}" for i in v))
        else:
            text = str(v).lower() if isinstance(v, bool) else str(v)
            pairs.append(f"{encode_uri_component(name)}={encode_uri_component(text)}")
    return "&".join(pairs)


def form_post(path: str, data: dict) -> Request:
    return Request("golden", "golden", 0.0, "POST", f"https://api2.branch.io{path}",
                   [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://shop.example")],
                   serialize(data).encode())


def test_web_open_form(analyzer):
    # 6_branch.js init → resources.open; getUrl stringifies `options`, appends branch_key.
    data = {"browser_fingerprint_id": BROWSER_FP, "identity": IDENTITY, "alternative_browser_fingerprint_id": BROWSER_FP,
            "options": json.dumps({"no_journeys": True}), "initial_referrer": "https://www.google.com/",
            "current_url": PAGE, "screen_height": 1117, "screen_width": 1728, "sdk": "web2.89.2",
            "branch_key": BRANCH_KEY}
    a = analyze(analyzer, form_post("/v1/open", data), "session")
    assert_finding(a, "browser_id", BROWSER_FP, "body.browser_fingerprint_id")
    assert_finding(a, "page_url", PAGE, "body.current_url")
    assert_finding(a, "user_id", IDENTITY, "body.identity")
    assert (a.app, a.app_signal) == ("shop.example", "first_party_site")


def test_web_v2_event_with_json_string_user_data(analyzer):
    user_data = {"http_origin": PAGE, "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "language": "en",
                 "screen_width": 1728, "screen_height": 1117, "http_referrer": "https://www.google.com/",
                 "browser_fingerprint_id": BROWSER_FP, "developer_identity": IDENTITY, "identity": IDENTITY,
                 "sdk": "web", "sdk_version": "2.89.2"}
    data = {"name": "signup_email", "user_data": json.dumps(user_data, separators=(",", ":")),
            "custom_data": json.dumps({"plan": "pro"}), "branch_key": BRANCH_KEY}
    a = analyze(analyzer, form_post("/v2/event/custom", data), "event")
    assert_finding(a, "page_url", PAGE, "body.user_data.http_origin")
    assert_finding(a, "browser_id", BROWSER_FP, "body.user_data.browser_fingerprint_id")
    assert_finding(a, "user_id", IDENTITY, "body.user_data.developer_identity")
    assert_finding(a, "custom_property", "pro", "body.custom_data.plan")


def test_web_link_and_pageview(analyzer):
    link = {"browser_fingerprint_id": BROWSER_FP, "identity_id": BUNDLE_TOKEN, "sdk": "web2.89.2",
            "session_id": "1200000000000000001", "channel": "facebook", "tags": ["a", "b"],
            "data": json.dumps({"referrer_user": IDENTITY}), "branch_key": BRANCH_KEY}
    a = analyze(analyzer, form_post("/v1/url", link), "link")
    assert_finding(a, "custom_property", IDENTITY, "body.data.referrer_user")
    assert_finding(a, "session_id", "1200000000000000001", "body.session_id")
    view = {"event": "pageview", "metadata": json.dumps({"url": PAGE}), "identity_id": BUNDLE_TOKEN,
            "browser_fingerprint_id": BROWSER_FP, "sdk": "web2.89.2", "branch_key": BRANCH_KEY}
    b = analyze(analyzer, form_post("/v1/pageview", view), "pageview")
    assert_finding(b, "page_url", PAGE, "body.metadata.url")


def test_web_fingerprint_jsonp(analyzer):
    url = f"https://app.link/_r?sdk=web2.89.2&branch_key={BRANCH_KEY}&_t={BROWSER_FP}&callback=branch_callback__0"
    a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", url, []), "fingerprint")
    assert_finding(a, "browser_id", BROWSER_FP, "query._t")
    assert_finding(a, "project_key", BRANCH_KEY, "query.branch_key")
    reply = analyzer.endpoints[("branch", "fingerprint")].reply({})
    assert "branch_callback__" in reply["body"] and reply["content_type"] == "application/javascript"


def test_custom_domain_by_shape(analyzer):
    a = analyze(analyzer, json_post("/v1/open", ANDROID_INSTALL, host="https://branch-proxy.example.org"),
                "session", via="payload_shape")
    assert_finding(a, "android_id", ANDROID_ID, "body.hardware_id")


def test_lookalike_host_is_not_branch(analyzer):
    a = analyzer.analyze(json_post("/v1/open", {"foo": "bar"}, host="https://api2.branch.io.evil.example"))
    assert a is None or a.tracker != "branch"
