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


# --- deeper coverage (issue 9): every key of the iOS and Android install/open/event bodies ---

IDFA = "EA7583CD-A667-48BC-B806-42ECB2B48606"
IDFV = "5B2A7C1E-3D4F-4A6B-9C8D-7E6F5A4B3C2D"
SHA_EMAIL = "a" * 64
SHA_PHONE = "b" * 64


def assert_every_key_typed(analyzer, a, endpoint_id: str, body: dict,
                           catch_all_ok: tuple[str, ...] = ("metadata", "operational_metrics"),
                           variants: dict[str, str] | None = None) -> None:
    """Each key of *body* (one level into objects, each item of a list of objects) has a
    mapping of its own in branch.yaml, not only a `**` catch-all, and the analysis labels
    it with that mapping's type (or, for keys in *variants*, the record variant's type)."""
    endpoint = analyzer.endpoints[("branch", endpoint_id)]
    got = {path: label for path, _, label in a.fields}
    keys = []
    for key, value in body.items():
        if isinstance(value, dict):
            keys += [f"{key}.{k}" for k in value if not isinstance(value[k], dict)]
            keys += [f"{key}.{k}.{kk}" for k, v in value.items() if isinstance(v, dict) for kk in v]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            keys += [f"{key}[{i}].{k}" for i, item in enumerate(value) for k in item]
        else:
            keys.append(key)
    for k in keys:
        mapped = endpoint.fields.lookup(f"record.{k}") or endpoint.fields.lookup(k)
        assert mapped is not None, f"{k} unmapped"
        if k.split(".")[0].split("[")[0] not in catch_all_ok:
            assert "**" not in mapped[1], f"{k} only caught by {mapped[1]}"
        expected = (variants or {}).get(k) or ("" if mapped[0] == NOT_PERSONAL else mapped[0])
        labelled = {label for path, label in got.items() if path == f"body.{k}" or path.startswith(f"body.{k}[")}
        assert labelled == {expected}, k


def ios_install() -> dict:
    """BNCRequestFactory dataForInstallWithURLString: default data, instrumentation, metadata with
    skan_time_window, SDK version, identity, system observer (bundle id, team id, app version,
    URI scheme), preference helper (link/spotlight ids, initial referrer, external URI), partner
    parameters, timestamps (note the SDK's own spelling lastest_update_time), Apple attribution
    token, app clip data, local URL, DMA, CPP level, ODM info, web UX context, operational
    metrics, and updateDeviceInfoToMutableDictionary (hardware_id + hardware_id_type)."""
    return {
        "branch_key": BRANCH_KEY, "branch_sdk_request_unique_id": "req-uuid-2",
        "branch_sdk_request_timestamp": 1767225600123, "instrumentation": {"/v1/install-brtt": "120"},
        "metadata": {"skan_time_window": "86400.000000", "$braze_install_id": "braze-1"}, "sdk": "ios3.12.0",
        "identity": IDENTITY, "ios_bundle_id": "com.example.app", "ios_team_id": "R63EM248DP",
        "app_version": "3.4.1", "uri_scheme": "exampleapp", "link_identifier": "lnk-2",
        "spotlight_identifier": "spot-1", "initial_referrer": "https://www.google.com/",
        "external_intent_uri": "exampleapp://open?x=1", "universal_link_url": PAGE,
        "partner_data": {"fb": {"em": SHA_EMAIL, "ph": SHA_PHONE},
                         "snap": {"hashed_email_address": SHA_EMAIL, "hashed_phone_number": SHA_PHONE}},
        "lastest_update_time": 1767225600000, "previous_update_time": 0, "latest_install_time": 1767225600000,
        "first_install_time": 1767225600000, "update": 0, "apple_attribution_token": "YWR0b2tlbg==",
        "app_clip_bundle_id": "com.example.app.Clip", "latest_app_clip_time": 1767225000000,
        "app_clip_randomized_device_token": "55555", "app_clip_randomized_bundle_token": "66666",
        "local_url": "https://example.app.link/abc", "dma_eea": True, "dma_ad_personalization": True,
        "dma_ad_user_data": True, "cpp_level": "FULL", "odm_info": "odm-opaque-blob",
        "odm_first_open_timestamp": 1767225600000, "web_link_context": {"ux_type": 0, "url_load_ms": 12},
        "operational_metrics": {"branch_key_source": "info.plist"},
        "hardware_id": IDFA, "hardware_id_type": "idfa", "is_hardware_id_real": True, "ios_vendor_id": IDFV,
        "anon_id": "F00DCAFE-0000-4000-8000-000000000001", "local_ip": LOCAL_IP, "opted_in_status": "authorized",
        "first_opt_in": True, "os": "iOS", "os_version": "18.1", "build": "22B83", "environment": "FULL_APP",
        "locale": "en_US", "country": "US", "language": "en", "brand": "Apple", "model": "iPhone16,1",
        "cpu_type": "16777228", "screen_dpi": 3, "screen_height": 2556, "screen_width": 1179,
        "connection_type": "wifi", "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
        "plugin_name": "Flutter", "plugin_version": "8.1.0", "disable_ad_network_callouts": True,
    }


def test_ios_install_every_key_typed(analyzer):
    body = ios_install()
    a = analyze(analyzer, json_post("/v1/install", body), "session")
    assert_finding(a, "advertising_id", IDFA, "body.hardware_id")
    assert_finding(a, "vendor_id", IDFV, "body.ios_vendor_id")
    assert_finding(a, "hashed_email", SHA_EMAIL, "body.partner_data.fb.em")
    assert_finding(a, "hashed_phone", SHA_PHONE, "body.partner_data.fb.ph")
    assert_finding(a, "page_url", PAGE, "body.universal_link_url")
    assert_finding(a, "other_id", "YWR0b2tlbg==", "body.apple_attribution_token")
    assert_finding(a, "device_id", "55555", "body.app_clip_randomized_device_token")
    assert_finding(a, "consent_state", "authorized", "body.opted_in_status")
    assert_finding(a, "install_time", "1767225000000", "body.latest_app_clip_time")
    assert_every_key_typed(analyzer, a, "session", body, variants={"hardware_id": "advertising_id"})


def test_ios_hardware_id_idfv_and_random(analyzer):
    """hardware_id_type says whether hardware_id is the IDFA, the IDFV or a random id."""
    a = analyze(analyzer, json_post("/v1/open", {**ios_install(), "hardware_id": IDFV,
                                                 "hardware_id_type": "vendor_id"}), "session")
    assert_finding(a, "vendor_id", IDFV, "body.hardware_id")
    rand = "0D6B2F3A-9C1E-4F5A-8B7C-6D5E4F3A2B1C"
    b = analyze(analyzer, json_post("/v1/open", {**ios_install(), "hardware_id": rand, "hardware_id_type": "random",
                                                 "is_hardware_id_real": False}), "session")
    assert_finding(b, "installation_id", rand, "body.hardware_id")
    assert not [f for f in b.findings if f.path == "body.hardware_id" and f.data_type == "advertising_id"]


def test_android_open_with_gclid_partner_data_and_install_metadata(analyzer):
    """ReferringUrlUtility (gclid + is_deeplink_gclid on /v1/open), ServerRequest
    (limit_facebook_tracking, disable_ad_network_callouts when set), PrefHelper.loadPartnerParams,
    install metadata (preinstall campaign/partner) copied to the top level."""
    body = {**ANDROID_INSTALL, "gclid": "Cj0KCQiA-gclid-1", "is_deeplink_gclid": True,
            "limit_facebook_tracking": True, "disable_ad_network_callouts": True,
            "partner_data": {"fb": {"em": SHA_EMAIL, "ph": SHA_PHONE}},
            "preinstall_campaign": "oem-2026", "preinstall_partner": "acme-oem", "environment": "FULL_APP",
            "cpp_level": "FULL", "tracking_disabled": False}
    a = analyze(analyzer, json_post("/v1/open", body), "session")
    assert_finding(a, "other_id", "Cj0KCQiA-gclid-1", "body.gclid")
    assert_finding(a, "hashed_email", SHA_EMAIL, "body.partner_data.fb.em")
    assert_finding(a, "hashed_phone", SHA_PHONE, "body.partner_data.fb.ph")
    assert_every_key_typed(analyzer, a, "session", body)


def test_ios_v2_event_every_key_typed(analyzer):
    """BNCRequestFactory dataForEventWithEventDictionary + v2dictionary (user_data with idfa,
    idfv, opted_in_status, limit_facebook_tracking) + referring URL params (gclid, gbraid,
    sccid, meta_campaign_ids) + skan_postback_index; BranchUniversalObject content keys."""
    body = {
        "name": "PURCHASE", "customer_event_alias": "buy", "branch_key": BRANCH_KEY,
        "branch_sdk_request_unique_id": "req-3", "branch_sdk_request_timestamp": 1767225600123,
        "instrumentation": {"/v2/event/standard-qwt": "0"}, "metadata": {"skan_time_window": "86400.000000"},
        "skan_postback_index": "postback-sequence-index-0", "gclid": "Cj0-gclid-2", "gbraid": "0AAAAA-gbraid",
        "gbraid_timestamp": "1767225600000", "sccid": "snap-click-1", "meta_campaign_ids": "[1234]",
        "partner_data": {"fb": {"em": SHA_EMAIL}},
        "event_data": {"transaction_id": "tx-2", "currency": "USD", "revenue": 5.0, "shipping": 1.0, "tax": 0.4,
                       "coupon": "SPRING", "affiliation": "store-1", "description": "order", "search_query": "mug",
                       "ad_type": "BANNER"},
        "content_items": [{"$canonical_identifier": "item/42", "$canonical_url": "https://shop.example/item/42",
                           "$content_schema": "COMMERCE_PRODUCT", "$sku": "sku-42", "$product_name": "Mug",
                           "$product_brand": "Acme", "$product_category": "Home & Garden",
                           "$product_variant": "blue", "$quantity": 2, "$price": 2.5, "$currency": "USD",
                           "$condition": "NEW", "$rating_average": 4.5, "$rating_count": 10, "$rating_max": 5,
                           "$rating": 4, "$keywords": ["mug"], "$image_captions": ["a mug"],
                           "$creation_timestamp": 1767225600000, "$exp_date": 0, "$locally_indexable": True,
                           "$publicly_indexable": True, "$address_city": "Berlin", "$latitude": 52.52,
                           "$longitude": 13.405}],
        "user_data": {"idfa": IDFA, "idfv": IDFV, "anon_id": "F00DCAFE-0000-4000-8000-000000000001",
                      "local_ip": LOCAL_IP, "opted_in_status": "authorized", "limit_facebook_tracking": True,
                      "disable_ad_network_callouts": True, "brand": "Apple", "model": "iPhone16,1", "os": "iOS",
                      "os_version": "18.1", "build": "22B83", "environment": "FULL_APP", "cpu_type": "16777228",
                      "screen_dpi": 3, "screen_height": 2556, "screen_width": 1179, "locale": "en_US",
                      "country": "US", "language": "en", "connection_type": "wifi",
                      "user_agent": "Mozilla/5.0 (iPhone)", "developer_identity": IDENTITY,
                      "randomized_device_token": DEVICE_TOKEN, "app_version": "3.4.1", "plugin_name": "Flutter",
                      "plugin_version": "8.1.0", "sdk_version": "3.12.0", "sdk": "ios", "dma_eea": True,
                      "dma_ad_personalization": True, "dma_ad_user_data": True, "cpp_level": "FULL"},
    }
    a = analyze(analyzer, json_post("/v2/event/standard", body), "event")
    assert_finding(a, "advertising_id", IDFA, "body.user_data.idfa")
    assert_finding(a, "vendor_id", IDFV, "body.user_data.idfv")
    assert_finding(a, "other_id", "0AAAAA-gbraid", "body.gbraid")
    assert_finding(a, "other_id", "snap-click-1", "body.sccid")
    assert_finding(a, "hashed_email", SHA_EMAIL, "body.partner_data.fb.em")
    assert_finding(a, "url", "https://shop.example/item/42", "body.content_items[0].$canonical_url")
    assert_finding(a, "city", "Berlin", "body.content_items[0].$address_city")
    assert_every_key_typed(analyzer, a, "event", body, catch_all_ok=("metadata", "operational_metrics", "custom_data"))
