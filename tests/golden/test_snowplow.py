"""Golden tests: Snowplow tracker protocol v2 (POST tp2 with base64 ue_px/cx, GET /i), built as the trackers build it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from golden_support import (JSON_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "snowplow"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


USER_ID = "sp-user-1732"
DUID = "a1b2c3d4-e5f6-4789-8abc-def012345678"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
SESSION = "d6c5b4a3-9281-4706-b5a4-c3d2e1f0a9b8"
COLLECTOR = "https://collector.shop.example.net"


def urlsafe_b64(value: Any) -> str:
    """snowplow-tracker payload.py add_json: base64.urlsafe_b64encode of the JSON (padded)."""
    return base64.urlsafe_b64encode(compact_json(value).encode()).decode()


def contexts() -> dict[str, Any]:
    """snowplow-android-tracker Parameters.kt / TrackerConstants.kt@af342395b: mobile_context,
    client_session, geolocation_context, application context."""
    return {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1", "data": [
        {"schema": "iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-3",
         "data": {"osType": "android", "osVersion": "14", "deviceManufacturer": "Google", "deviceModel": "Pixel 8",
                  "carrier": "Telekom", "networkType": "wifi", "androidIdfa": AAID, "batteryLevel": 81,
                  "batteryState": "charging", "physicalMemory": 8000000000, "availableStorage": 51000000000,
                  "totalStorage": 128000000000, "isPortrait": True, "resolution": "1080x2400", "language": "de"}},
        {"schema": "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2",
         "data": {"userId": DUID, "sessionId": SESSION, "sessionIndex": 14, "previousSessionId": None,
                  "storageMechanism": "LOCAL_STORAGE", "firstEventId": "e1", "eventIndex": 3}},
        {"schema": "iglu:com.snowplowanalytics.snowplow/geolocation_context/jsonschema/1-1-0",
         "data": {"latitude": 48.137, "longitude": 11.575, "latitudeLongitudeAccuracy": 12.5, "altitude": 519}},
        {"schema": "iglu:com.snowplowanalytics.mobile/application/jsonschema/1-0-0",
         "data": {"version": "2.3.4", "build": "234"}}]}


def mobile_event() -> dict[str, str]:
    """A screen_view self-describing event as the Android tracker sends it (all values strings)."""
    ue = {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
          "data": {"schema": "iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0",
                   "data": {"name": "Checkout", "id": "4f0a", "type": "CheckoutActivity"}}}
    return {"e": "ue", "eid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "tv": "andr-6.0.3", "aid": "com.example.shop",
            "tna": "appTracker", "p": "mob", "dtm": "1767225600123", "stm": "1767225600200", "uid": USER_ID,
            "res": "1080x2400", "lang": "de-DE", "tz": "Europe/Berlin", "ue_px": urlsafe_b64(ue), "cx": urlsafe_b64(contexts())}


def test_tp2_post_base64_contexts(analyze):
    body = compact_json({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                         "data": [mobile_event()]})
    a = analyze(make_request("POST", "https://acme.collector.snplow.net/com.snowplowanalytics.snowplow/tp2", body,
                             [("Content-Type", "application/json; charset=utf-8")]))
    assert_decoded(a, "tp2")
    p = "body.data[0]."
    assert_finding(a, "app_id", "com.example.shop", p + "aid")
    assert_finding(a, "user_id", USER_ID, p + "uid")
    assert_finding(a, "advertising_id", AAID, p + "cx.data[0].data.androidIdfa")
    assert_finding(a, "installation_id", DUID, p + "cx.data[1].data.userId")
    assert_finding(a, "session_id", SESSION, p + "cx.data[1].data.sessionId")
    assert_finding(a, "latitude", "48.137", p + "cx.data[2].data.latitude")
    assert_finding(a, "app_version", "2.3.4", p + "cx.data[3].data.version")
    assert_finding(a, "screen_name", "Checkout", p + "ue_px.data.data.name")
    assert_finding(a, "sdk_version", "andr-6.0.3", p + "tv")
    assert a.app == "com.example.shop"


def test_every_mobile_context_key_is_mapped_by_the_rule(analyze):
    body = compact_json({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                         "data": [mobile_event()]})
    a = analyze(make_request("POST", f"{COLLECTOR}/com.snowplowanalytics.snowplow/tp2", body, [JSON_CT]))
    assert_decoded(a, "tp2", via="payload_shape")
    ctx = {k: v for k, v in labels(a).items() if ".cx.data[" in k and ".data." in k.split(".cx.")[1]}
    assert ctx and "custom_property" not in ctx.values(), ctx


def test_get_pixel_structured_event(analyze):
    """snowplow-tracker (PyPI 1.1.0) emitters.py http_get: GET {endpoint}/i with the event as params."""
    params = {"e": "se", "se_ca": "shop", "se_ac": "add-to-basket", "se_la": "sku-42", "se_va": "2", "tv": "py-1.1.0",
              "p": "pc", "eid": "7c6b5a4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "dtm": "1767225600123", "aid": "web-shop",
              "tna": "ns", "uid": USER_ID, "duid": DUID, "url": "https://shop.example.net/basket",
              "refr": "https://www.google.com/", "ua": "Mozilla/5.0", "ip": "198.51.100.7",
              "cx": urlsafe_b64({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
                                 "data": [{"schema": "iglu:com.acme/user/jsonschema/1-0-0", "data": {"tier": "gold"}}]})}
    a = analyze(make_request("GET", f"{COLLECTOR}/i?{urlencode(params)}"))
    assert_decoded(a, "pixel", via="payload_shape")
    assert_finding(a, "event_name", "add-to-basket", "query.se_ac")
    assert_finding(a, "installation_id", DUID, "query.duid")
    assert_finding(a, "public_ip", "198.51.100.7", "query.ip")
    assert_finding(a, "page_url", "https://shop.example.net/basket", "query.url")
    assert_finding(a, "custom_property", "gold", "query.cx.data[0].data.tier")


def test_plain_json_ue_pr_and_co(analyze):
    event = {"e": "ue", "eid": "x1", "tv": "js-3.24.0", "p": "web", "ue_pr": compact_json(
        {"schema": "s", "data": {"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"plan": "pro"}}})}
    body = compact_json({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [event]})
    a = analyze(make_request("POST", f"{COLLECTOR}/com.snowplowanalytics.snowplow/tp2", body, [JSON_CT]))
    assert_decoded(a, "tp2", via="payload_shape")
    assert_finding(a, "custom_property", "pro", "body.data[0].ue_pr.data.data.plan")


def test_unrelated_i_path_is_not_snowplow(analyzer):
    a = analyzer.analyze(make_request("GET", "https://cdn.example.org/i?w=200&h=100"))
    assert a is None or a.tracker != TRACKER
