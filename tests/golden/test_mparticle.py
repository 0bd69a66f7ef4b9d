"""Golden tests: mParticle events, identity and config requests as the Android SDK builds them."""

from __future__ import annotations

import gzip
from typing import Any

from golden_support import (JSON_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "mparticle"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


API_KEY = "us1-0123456789abcdef0123456789abcdef"
PACKAGE = "com.example.fitness"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DAS = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
MPID = "-4735285478915836012"
EMAIL = "morgan.mp@example.com"


def android_batch() -> dict[str, Any]:
    """mparticle-android-sdk Constants.kt MessageKey@eb2b4c87 (read via find_string): upload
    batch with ai (app info), di (device info), ui (identities), msgs."""
    return {"dt": "h", "id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", "ct": 1767225600123, "sdk": "5.58.0",
            "mpid": MPID, "das": DAS,
            "ai": {"an": "Fitness", "av": "9.1.0", "apn": PACKAGE, "abn": "910", "ain": "com.android.vending",
                   "ict": 1760000000000, "dbg": False, "pir": False, "lc": 31, "env": 2, "fi": False},
            "di": {"bid": "UQ1A.240105.004", "b": "google", "p": "shiba", "dn": "shiba", "dma": "Google",
                   "dp": "Android", "dosv": "14", "dosvi": 34, "dmdl": "Pixel 8", "dsh": 2400, "dsw": 1080, "dpi": 420,
                   "dc": "US", "dlc": "US", "dll": "en", "jb": {"cydia": False}, "anid": "9774d56d682e549c",
                   "tzn": "America/Chicago", "it": False, "dst": True, "dsnfc": True, "gaid": AAID, "lat": False,
                   "nca": "Verizon", "mnc": "480", "mcc": "311", "to": "fcm-mp-token-9"},
            "ui": [{"n": 7, "i": EMAIL, "dfs": 1767225600000, "f": True}],
            "ua": {"$FirstName": "Morgan", "plan": "premium"},
            "msgs": [{"dt": "e", "id": "e1", "ct": 1767225600123, "sid": "5f4e3d2c-1b0a-4987-8765-43210fedcba9",
                      "n": "Workout Finished", "et": "Other", "attrs": {"minutes": 42},
                      "lc": {"lat": 41.88, "lng": -87.63, "acc": 20.0},
                      "cs": {"sma": 2100000000, "tsm": 8000000000, "bl": 0.8, "dct": "wifi", "so": 1}}]}


def test_android_events_gzip(analyze):
    """MParticleApiClientImpl@eb2b4c87: POST nativesdks.mparticle.com/v2/<key>/events, gzip,
    x-mp-key, x-mp-signature."""
    raw = gzip.compress(compact_json(android_batch()).encode())
    req = request_via_mitmproxy("POST", f"https://nativesdks.mparticle.com/v2/{API_KEY}/events", raw, {
        "Content-Type": "application/json", "Content-Encoding": "gzip", "x-mp-key": API_KEY,
        "x-mp-signature": "c2lnbmF0dXJl", "x-mp-env": "2"})
    a = analyze(req)
    assert_decoded(a, "events")
    assert_finding(a, "app_id", PACKAGE, "body.ai.apn")
    assert_finding(a, "advertising_id", AAID, "body.di.gaid")
    assert_finding(a, "android_id", "9774d56d682e549c", "body.di.anid")
    assert_finding(a, "installation_id", DAS, "body.das")
    assert_finding(a, "user_id", MPID, "body.mpid")
    assert_finding(a, "user_id", EMAIL, "body.ui[0].i")
    assert_finding(a, "email", EMAIL, "body.ui[0].i", detector="pattern")
    assert_finding(a, "latitude", "41.88", "body.msgs[0].lc.lat")
    assert_finding(a, "event_name", "Workout Finished", "body.msgs[0].n")
    assert_finding(a, "push_token", "fcm-mp-token-9", "body.di.to")
    assert_finding(a, "project_key", API_KEY, "path.api_key")  # same key in x-mp-key: deduplicated
    assert labels(a)["header.x-mp-key"] == "project_key"
    assert a.app == PACKAGE


def test_every_device_and_app_key_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("POST", f"https://nativesdks.mparticle.com/v2/{API_KEY}/events",
                             compact_json(android_batch()), [JSON_CT]))
    auto = {k: v for k, v in labels(a).items() if k.startswith(("body.ai.", "body.di."))}
    assert auto and "custom_property" not in auto.values(), auto
    assert auto["body.di.dmdl"] == "device_model" and auto["body.ai.ict"] == "install_time"


def test_identity_login(analyze):
    body = {"client_sdk": {"platform": "android", "sdk_vendor": "mparticle", "sdk_version": "5.58.0"},
            "environment": "production", "request_id": "r-1", "request_timestamp_ms": 1767225600123,
            "previous_mpid": MPID, "known_identities": {"email": EMAIL, "customerid": "cust-77", "android_aaid": AAID,
                                                        "device_application_stamp": DAS, "push_token": "fcm-x"}}
    a = analyze(make_request("POST", "https://identity.mparticle.com/v1/login", compact_json(body),
                             [JSON_CT, ("x-mp-key", API_KEY)]))
    assert_decoded(a, "identity")
    assert_finding(a, "email", EMAIL, "body.known_identities.email")
    assert_finding(a, "user_id", "cust-77", "body.known_identities.customerid")
    assert_finding(a, "advertising_id", AAID, "body.known_identities.android_aaid")


def test_config(analyze):
    a = analyze(make_request("GET", f"https://config2.mparticle.com/v4/{API_KEY}/config?av=9.1.0&sv=5.58.0"))
    assert_decoded(a, "config")
    assert_finding(a, "project_key", API_KEY, "path.api_key")


def test_lookalike_host_is_not_mparticle(analyzer):
    a = analyzer.analyze(make_request("POST", f"https://nativesdks.mparticle.com.example.org/v2/{API_KEY}/events",
                                      "{}", [JSON_CT]))
    assert a is None or a.tracker != TRACKER


# ---- Web SDK (mParticle/mparticle-web-sdk@98825ec8, npm 2.68.0) --------------------------

WEB_KEY = "us1-89abcdef0123456789abcdef01234567"
WEB_DAS = "51392fde-4111-4ef1-d040-41bf5d615170"


def web_batch() -> dict[str, Any]:
    """sdkToEventsApiConverter.ts convertEvents@98825ec8: an Events API batch, one event per
    converter (custom_event with custom_attributes, user_identity_change, commerce_event)."""
    common = {"timestamp_unixtime_ms": 1767225600200, "session_uuid": "02091E6F-2581-4382-3D8A-752A2C3F160B",
              "session_start_unixtime_ms": 1767225600000, "location": {"latitude": 48.85, "longitude": 2.35},
              "source_message_id": "ee0bef54-68a7-4a26-2f74-f7fa99d61334", "active_time_on_site_ms": 5120}
    return {"source_request_id": "8b677564-4501-494e-23d2-7b62f848ac15", "mpid": MPID,
            "timestamp_unixtime_ms": 1767225600300, "environment": "production", "mp_deviceid": WEB_DAS,
            "sdk_version": "2.68.0",
            "application_info": {"application_version": "3.1.0", "application_name": "Shop", "package": "shop.web",
                                 "sideloaded_kits_count": 0},
            "device_info": {"platform": "web", "screen_width": 1280, "screen_height": 720},
            "user_attributes": {"plan": "gold"},
            "user_identities": {"customer_id": "cust-web-9", "email": EMAIL, "mobile_number": "+15550100999",
                                "other": "crm-4411"},
            "consent_state": {"gdpr": {"analytics": {"consented": True, "document": "v2",
                                                     "timestamp_unixtime_ms": 1767000000000,
                                                     "location": "shop.example/consent", "hardware_id": None}},
                              "ccpa": None},
            "integration_attributes": {},
            "events": [
                {"event_type": "custom_event", "data": {**common, "custom_event_type": "transaction",
                                                        "custom_flags": {}, "event_name": "Checkout Started",
                                                        "custom_attributes": {"coupon": "SPRING"}}},
                {"event_type": "user_identity_change", "data": {**common, "new": {
                    "identity_type": "customer_id", "identity": "cust-web-9", "timestamp_unixtime_ms": 1767225600100,
                    "created_this_batch": True}, "old": {"identity_type": "customer_id", "identity": None,
                                                         "timestamp_unixtime_ms": 1767225600100,
                                                         "created_this_batch": False}}},
                {"event_type": "commerce_event", "data": {**common, "currency_code": "EUR", "custom_flags": {},
                                                          "product_action": {"action": "purchase", "total_amount": 59.9,
                                                                             "transaction_id": "T-88", "products": [
                                                                                 {"id": "sku-1", "name": "Watch",
                                                                                  "price": 59.9, "quantity": 1}]}}},
            ]}


def test_web_events_batch(analyze):
    """batchUploader.ts@98825ec8: POST https://jssdks.mparticle.com/v3/JS/<key>/events, the batch as
    text/plain JSON, no key header."""
    a = analyze(make_request("POST", f"https://jssdks.mparticle.com/v3/JS/{WEB_KEY}/events",
                             compact_json(web_batch()), [("Content-Type", "text/plain;charset=UTF-8")]))
    assert_decoded(a, "events")
    assert_finding(a, "project_key", WEB_KEY, "path.api_key")
    assert_finding(a, "user_id", MPID, "body.mpid")
    assert_finding(a, "installation_id", WEB_DAS, "body.mp_deviceid")
    assert_finding(a, "user_id", "cust-web-9", "body.user_identities.customer_id")
    assert_finding(a, "email", EMAIL, "body.user_identities.email")
    assert_finding(a, "phone", "+15550100999", "body.user_identities.mobile_number")
    assert_finding(a, "other_id", "crm-4411", "body.user_identities.other")
    assert_finding(a, "custom_property", "gold", "body.user_attributes.plan")
    assert_finding(a, "app_id", "shop.web", "body.application_info.package")
    assert_finding(a, "app_version", "3.1.0", "body.application_info.application_version")
    assert_finding(a, "event_name", "Checkout Started", "body.events[0].data.event_name")
    assert_finding(a, "custom_property", "SPRING", "body.events[0].data.custom_attributes.coupon")
    assert_finding(a, "session_id", "02091E6F-2581-4382-3D8A-752A2C3F160B", "body.events[0].data.session_uuid")
    assert_finding(a, "latitude", "48.85", "body.events[0].data.location.latitude")
    assert_finding(a, "time_spent", "5120", "body.events[0].data.active_time_on_site_ms")
    assert_finding(a, "revenue", "59.9", "body.events[2].data.product_action.total_amount")
    fields = labels(a)
    assert fields["body.consent_state.gdpr.analytics.consented"] == "consent_state"
    assert fields["body.events[1].data.new.identity"] == "user_id"
    assert fields["body.events[2].data.product_action.transaction_id"] == ""


def test_web_config_and_alias(analyze):
    """configAPIClient.ts@98825ec8: GET https://jssdkcdns.mparticle.com/JS/v2/<key>/config?env=0;
    identityApiClient.ts@98825ec8: POST https://jssdks.mparticle.com/v1/identity/<key>/Alias."""
    a = analyze(make_request("GET", f"https://jssdkcdns.mparticle.com/JS/v2/{WEB_KEY}/config?env=0"))
    assert_decoded(a, "config")
    assert_finding(a, "project_key", WEB_KEY, "path.api_key")
    alias = {"request_type": "alias", "request_id": "r-2", "environment": "production", "api_key": WEB_KEY,
             "data": {"source_mpid": "-123", "destination_mpid": MPID, "start_unixtime_ms": 1, "end_unixtime_ms": 2,
                      "device_application_stamp": WEB_DAS}}
    a = analyze(make_request("POST", f"https://jssdks.mparticle.com/v1/identity/{WEB_KEY}/Alias",
                             compact_json(alias), [JSON_CT, ("x-mp-key", WEB_KEY)]))
    assert_decoded(a, "identity")
    assert_finding(a, "user_id", MPID, "body.data.destination_mpid")
