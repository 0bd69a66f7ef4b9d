"""Golden tests: Singular's wire formats.

Web (npm singular-sdk 1.4.10 src/api/baseApi.js): every parameter not in PostParams goes in
the query (`encodeURIComponent(key)=encodeURIComponent(value)`, then `&h=<hmac>`); for a POST
the PostParams (web_url, device_user_agent, e, global_properties, client_hints...) go into
the JSON body as {"payload": JSON string, "signature": hmac}. Native query keys follow
TrackHAR's singular-net adapter ([T]).
"""

from __future__ import annotations

import json

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze_for, assert_finding, analyzer_fixture, encode_uri_component as enc

SDK_KEY = "example_sdk_key_3a1f"
PRODUCT_ID = "com.example.website"
SDID = "b6a3c2d1-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
USER_ID = "user-48151623"
AIFA = "38400000-8cf0-11bd-b23e-10b96e40000d"
PAGE = "https://shop.example/?utm_source=news"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


analyzer = analyzer_fixture()


analyze = analyze_for("singular")


def web_query(**extra) -> dict:
    """baseApi.initApiParams + sendRequest (os, s, lag) + pageVisitApi params."""
    params = {"browser_available_memory": 4294705152, "browser_used_memory": 33554432, "custom_user_id": USER_ID,
              "current_device_time": 1767225600123, "event_id": "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
              "conversion_event": False, "k": "SDID", "a": SDK_KEY, "p": "Web", "i": PRODUCT_ID,
              "screen_height": 1117, "screen_width": 1728, "sdk": "WebSDK-1.4.10",
              "singular_instance_id": "0c9b8a7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "sdid": SDID,
              "storage_type": "localStorage", "timezone": "Europe/Berlin", "touchpoint_timestamp": 1767225600000,
              "u": SDID, "os": "Linux", "s": "1767225600123", "lag": 3}
    params.update(extra)
    return params


def web_request(api: str, query: dict, payload: dict, host: str = "https://sdk-api-v1.singular.net") -> Request:
    qs = "?" + "&".join(f"{enc(k)}={enc(str(v).lower() if isinstance(v, bool) else str(v))}" for k, v in query.items())
    url = f"{host}/api/v1/{api}{qs}&h=0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    body = {"payload": json.dumps(payload, separators=(",", ":")), "signature": "ffeeddccbbaa99887766"} if payload else {}
    return Request("golden", "golden", 0.0, "POST", url, [("Content-Type", "application/json"),
                                                           ("Origin", "https://shop.example")],
                   json.dumps(body).encode())


def test_web_page_visit_start(analyzer):
    query = web_query(web_page_url=PAGE, web_page_referrer="https://www.google.com/", is_first_visit=True,
                      is_page_refreshed=False, sdid_persist_mode="none", is_first_page_visit_in_session=True,
                      ecid=SDID)
    payload = {"web_url": PAGE, "device_user_agent": UA, "document_referrer": "https://www.google.com/",
               "client_hints": json.dumps({"model": "", "platformVersion": "6.5.0", "platform": "Linux"})}
    a = analyze(analyzer, web_request("start", query, payload), "session")
    assert_finding(a, "project_key", SDK_KEY, "query.a")
    assert_finding(a, "app_id", PRODUCT_ID, "query.i")
    assert_finding(a, "device_id", SDID, "query.sdid")
    assert_finding(a, "user_id", USER_ID, "query.custom_user_id")
    assert_finding(a, "page_url", PAGE, "query.web_page_url")
    assert_finding(a, "user_agent", UA, "body.payload.device_user_agent")
    assert_finding(a, "os_version", "6.5.0", "body.payload.client_hints.platformVersion")
    endpoint = analyzer.endpoints[("singular", "session")]
    labels = {path: label for path, _, label in a.fields}
    for key in query:
        mapped = endpoint.fields.lookup(f"query.{key}")
        assert mapped is not None and mapped[1] == f"query.{key}", key
        assert labels[f"query.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_web_revenue_event(analyzer):
    query = web_query(product_name="Example Shop", n="purchase", is_revenue_event=True, first=True,
                      is_after_conversion_event=False)
    payload = {"e": json.dumps({"pcc": "EUR", "r": 19.99, "user_email": "jane.doe@example.com"}),
               "device_user_agent": UA}
    a = analyze(analyzer, web_request("event", query, payload), "event")
    assert_finding(a, "event_name", "purchase", "query.n")
    assert_finding(a, "revenue", "19.99", "body.payload.e.r")
    assert_finding(a, "email", "jane.doe@example.com", "body.payload.e.user_email", "key_name")


def test_native_start_query(analyzer):
    # TrackHAR singular-net adapter keys [T]; Android sends GET-style query on start.
    query = {"a": SDK_KEY, "i": "com.example.app", "n": "Example App", "p": "Android", "aifa": AIFA,
             "andi": "9774d56d682e549c", "asid": "6f1c2b3a-7d8e-4f90-a1b2-c3d4e5f60718", "k": "AIFA", "u": AIFA,
             "ma": "Google", "mo": "Pixel 8", "v": "14", "lc": "en_US", "c": "wifi", "app_v": "3.4.1",
             "install_time": "1767225600", "sdk": "Singular/v12.5.4"}
    url = "https://sdk-api-v1.singular.net/api/v1/start?" + "&".join(f"{k}={enc(v)}" for k, v in query.items())
    a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", url + "&h=abc", []), "session")
    assert_finding(a, "advertising_id", AIFA, "query.aifa")
    assert_finding(a, "android_id", "9774d56d682e549c", "query.andi")
    assert_finding(a, "app_name", "Example App", "query.n")
    assert (a.app, a.app_signal) == ("com.example.app", "payload_app_id")


def test_config_and_resolve(analyzer):
    for api in ("config", "resolve"):
        url = f"https://sdk-api-v1.singular.net/api/v1/{api}?a={SDK_KEY}&i=com.example.app&p=Android&h=abc"
        a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", url, []), "other")
        assert_finding(a, "project_key", SDK_KEY, "query.a")


def test_custom_host_by_shape(analyzer):
    a = analyze(analyzer, web_request("start", web_query(), {"web_url": PAGE}, host="https://sng.example.org"),
                "session", via="payload_shape")
    assert_finding(a, "device_id", SDID, "query.sdid")


def test_lookalike_host_is_not_singular(analyzer):
    a = analyzer.analyze(Request("golden", "golden", 0.0, "GET", "https://sdk-api-v1.singular.net.evil.example/api/v1/x", []))
    assert a is None or a.tracker != "singular"


# --- deeper coverage (issue 9): event extras and the native SDKs' other query keys ---

def assert_every_key_typed(analyzer, a, endpoint_id: str, prefix: str, keys) -> None:
    """Each key under *prefix* has a mapping of its own in singular.yaml (not only a `**`
    catch-all) and the analysis labels it with that type."""
    endpoint = analyzer.endpoints[("singular", endpoint_id)]
    labels = {path: label for path, _, label in a.fields}
    for key in keys:
        mapped = endpoint.fields.lookup(f"{prefix}.{key}")
        assert mapped is not None and "**" not in mapped[1], key
        assert labels[f"{prefix}.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


# singular-react-native 4.3.1: SingularIOSPurchase / SingularAndroidPurchase values, SingularAdData,
# Attributes.js standard attributes: the event's `e` extras.
PURCHASE_EXTRAS = {"r": 4.99, "pcc": "USD", "is_revenue_event": True, "pk": "com.example.gems100",
                   "pti": "1000000912345678", "ptr": "MIIT-receipt-base64", "receipt": "{\"orderId\":\"GPA.1\"}",
                   "receipt_signature": "c2lnbmF0dXJl"}
AD_EXTRAS = {"is_admon_revenue": True, "ad_platform": "AppLovin", "ad_currency": "USD", "ad_revenue": 0.0123,
             "ad_mediation_platform": "applovin", "ad_type": "REWARDED", "ad_group_type": "bidding",
             "ad_impression_id": "imp-1", "ad_placement_name": "level_end", "ad_unit_id": "u-1", "ad_unit_name": "rv",
             "ad_group_id": "g-1", "ad_group_name": "rv group", "ad_group_priority": 1, "ad_precision": "exact",
             "ad_placement_id": "p-1", "sng_attr_limit_data_sharing": True}
ATTR_EXTRAS = {"sng_attr_latitude": 52.52, "sng_attr_longitude": 13.405,
               "sng_attr_location_address_street": "Unter den Linden 1", "sng_attr_location_address_country": "DE",
               "sng_attr_location_address_region_or_province": "Berlin", "sng_attr_search_string": "red shoes",
               "sng_attr_item_price": 19.99, "sng_attr_transaction_id": "tx-9", "sng_attr_subscription_id": "sub-3",
               "sng_attr_review_text": "great", "sng_attr_content_id": "c-1", "sng_attr_level": 7,
               "sng_attr_registration_method": "google", "sng_attr_success": True}


def native_event(extras: dict) -> Request:
    query = {"a": SDK_KEY, "i": "com.example.app", "p": "Android", "n": "sng_ecommerce_purchase",
             "e": json.dumps(extras, separators=(",", ":")), "aifa": AIFA, "k": "AIFA", "u": AIFA}
    url = "https://sdk-api-v1.singular.net/api/v1/event?" + "&".join(f"{k}={enc(str(v))}" for k, v in query.items())
    return Request("golden", "golden", 0.0, "GET", url + "&h=abc", [])


def test_native_purchase_extras(analyzer):
    a = analyze(analyzer, native_event(PURCHASE_EXTRAS), "event")
    assert_finding(a, "revenue", "4.99", "query.e.r")
    assert_finding(a, "other_id", "1000000912345678", "query.e.pti")
    assert_every_key_typed(analyzer, a, "event", "query.e", PURCHASE_EXTRAS)


def test_native_ad_revenue_and_standard_attributes(analyzer):
    a = analyze(analyzer, native_event({**AD_EXTRAS, **ATTR_EXTRAS}), "event")
    assert_finding(a, "revenue", "0.0123", "query.e.ad_revenue")
    assert_finding(a, "latitude", "52.52", "query.e.sng_attr_latitude")
    assert_finding(a, "postal_address", "Unter den Linden 1", "query.e.sng_attr_location_address_street")
    assert_finding(a, "search_term", "red shoes", "query.e.sng_attr_search_string")
    assert_every_key_typed(analyzer, a, "event", "query.e", {**AD_EXTRAS, **ATTR_EXTRAS})


def test_web_post_extras_typed_in_payload(analyzer):
    payload = {"e": json.dumps({**PURCHASE_EXTRAS, "sng_attr_location_address_country": "DE"}), "device_user_agent": UA}
    a = analyze(analyzer, web_request("event", web_query(n="purchase"), payload), "event")
    assert_finding(a, "other_id", "1000000912345678", "body.payload.e.pti")
    assert_finding(a, "country", "DE", "body.payload.e.sng_attr_location_address_country")


def test_native_start_s2s_keys(analyzer):
    """Query keys of Singular's S2S reference that the native SDKs also send [K]."""
    query = {"a": SDK_KEY, "i": "com.example.app", "p": "Android", "amid": "amzn-ad-id-1",
             "oaid": "0f1e2d3c-oaid", "imei": "490154203237518", "openuri": "exampleapp://promo?c=9",
             "ddl_enabled": "true", "install_source": "com.android.vending", "update_time": "1767225600",
             "data_sharing_options": '{"limit_data_sharing":false}', "dnt": "0", "att_authorization_status": "3",
             "install_receipt": "receipt-1", "install_ref": "utm_source=google-play", "meta_ref": "meta-ref-1",
             "attribution_token": "token-1", "skan_conversion_value": "5",
             "skan_first_call_to_skadnetwork_timestamp": "1767225600",
             "skan_last_call_to_skadnetwork_timestamp": "1767225601", "use_ip": "true", "ua": UA,
             "utime": "1767225600", "umilisec": "1767225600123"}
    url = "https://sdk-api-v1.singular.net/api/v1/start?" + "&".join(f"{k}={enc(v)}" for k, v in query.items())
    a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", url + "&h=abc", []), "session")
    assert_finding(a, "advertising_id", "amzn-ad-id-1", "query.amid")
    assert_finding(a, "device_id", "490154203237518", "query.imei")
    assert_finding(a, "referrer", "utm_source=google-play", "query.install_ref")
    assert_every_key_typed(analyzer, a, "session", "query", query)


def test_native_event_s2s_revenue_keys(analyzer):
    """S2S reference revenue keys of /api/v1/event [K]."""
    query = {"a": SDK_KEY, "i": "com.example.app", "p": "Android", "n": "purchase", "amt": "4.99", "cur": "EUR",
             "purchase_receipt": "receipt-2", "receipt_signature": "sig-2", "purchase_product_id": "gems100",
             "purchase_transaction_id": "GPA.2"}
    url = "https://sdk-api-v1.singular.net/api/v1/event?" + "&".join(f"{k}={enc(v)}" for k, v in query.items())
    a = analyze(analyzer, Request("golden", "golden", 0.0, "GET", url + "&h=abc", []), "event")
    assert_finding(a, "revenue", "4.99", "query.amt")
    assert_finding(a, "other_id", "GPA.2", "query.purchase_transaction_id")
    assert_every_key_typed(analyzer, a, "event", "query", query)
