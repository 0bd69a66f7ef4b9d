"""Golden tests: the wire formats of the Amplitude SDKs, built the way each SDK builds them.

amplitude-analytics (Python) is run (only HttpClient.post is replaced); the others follow
the SDK source cited beside each builder.
"""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import urlencode

from golden_support import (FORM_CT, JSON_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "amplitude"
API_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
DEVICE_ID = "3d5c1f2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
USER_ID = "amp-user-2718"
EMAIL = "alex.amp@example.com"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
APP_SET_ID = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"
SESSION = 1767225600000
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


def kotlin_event(event_type: str, **extra: Any) -> dict[str, Any]:
    """Amplitude-Kotlin core/.../utilities/JSONUtil.kt@0840b5d5 eventToJsonObject, with the
    Android context plugin's values (AndroidContextPlugin: platform, os, device, carrier,
    language, adid/app set id when enabled, library)."""
    event = {"event_type": event_type, "user_id": USER_ID, "device_id": DEVICE_ID, "time": SESSION + 1500,
             "event_properties": {"screen": "Checkout", "items": 3}, "user_properties": {}, "groups": {},
             "group_properties": {}, "app_version": "3.2.1", "platform": "Android", "os_name": "android",
             "os_version": "14", "device_brand": "google", "device_manufacturer": "Google",
             "device_model": "Pixel 8", "carrier": "Vodafone", "country": "DE", "language": "de",
             "location_lat": 52.52, "location_lng": 13.405, "ip": "$remote", "adid": AAID,
             "android_id": "9774d56d682e549c", "event_id": 12, "session_id": SESSION,
             "insert_id": "0b8c2f1e-9d3a-4e5b-8c7d-6e5f4a3b2c1d", "library": "amplitude-analytics-android/1.21.3",
             "android_app_set_id": APP_SET_ID}
    event.update(extra)
    return event


def batch_body(events: list[dict[str, Any]]) -> dict[str, Any]:
    """@amplitude/analytics-core lib/cjs/plugins/destination.js: {api_key, events, options:
    {min_id_length}, client_upload_time, request_metadata}; Kotlin AnalyticsRequest.kt alike."""
    return {"api_key": API_KEY, "events": events, "options": {"min_id_length": 5},
            "client_upload_time": "2026-01-01T00:00:02.000Z", "request_metadata": {"sdk": {"metrics": {
                "histogram": {"remove_unexpected_fields": 0}}}}}


def test_kotlin_httpapi_gzip(analyze):
    """Amplitude-Kotlin gzips the body with Content-Encoding for Amplitude hosts (GzipUtils.kt)."""
    body = gzip.compress(compact_json(batch_body([kotlin_event("Checkout Started")])).encode())
    req = request_via_mitmproxy("POST", "https://api2.amplitude.com/2/httpapi", body,
                                {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    a = analyze(req)
    assert_decoded(a, "httpapi")
    p = "body.events[0]."
    assert_finding(a, "project_key", API_KEY, "body.api_key")
    assert_finding(a, "user_id", USER_ID, p + "user_id")
    assert_finding(a, "installation_id", DEVICE_ID, p + "device_id")
    assert_finding(a, "advertising_id", AAID, p + "adid")
    assert_finding(a, "android_id", "9774d56d682e549c", p + "android_id")
    assert_finding(a, "vendor_id", APP_SET_ID, p + "android_app_set_id")
    assert_finding(a, "latitude", "52.52", p + "location_lat")
    assert_finding(a, "session_id", str(SESSION), p + "session_id")
    assert_finding(a, "sdk_version", "amplitude-analytics-android/1.21.3", p + "library")
    assert_finding(a, "event_name", "Checkout Started", p + "event_type")
    assert_finding(a, "custom_property", "Checkout", p + "event_properties.screen")
    assert a.app_signal == "payload_project_key"


def test_every_automatic_event_key_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("POST", "https://api2.amplitude.com/2/httpapi",
                             compact_json(batch_body([kotlin_event("x")])), [JSON_CT]))
    fields = labels(a)
    top = {k.removeprefix("body.events[0]."): v for k, v in fields.items()
           if k.startswith("body.events[0].") and "_properties." not in k}
    # `ip: "$remote"` asks the server to record the connection's address: no IP in the value,
    # so the rule's public_ip is downgraded (value_types.plausible_type).
    assert top and "custom_property" not in {k: v for k, v in top.items() if k != "ip"}.values(), top
    assert top["device_brand"] == "manufacturer" and top["ip"] == "custom_property" and top["insert_id"] == ""


def test_browser_identify_and_revenue(analyze):
    """Browser SDK: identify is an `$identify` event with user_properties operations;
    revenue events carry $price/$quantity in event_properties (analytics-core revenue.ts)."""
    identify = {"event_type": "$identify", "device_id": DEVICE_ID, "user_id": USER_ID, "session_id": SESSION,
                "time": SESSION + 10, "platform": "Web", "os_name": "Chrome", "os_version": "131",
                "language": "en-US", "ip": "$remote", "insert_id": "3c0a", "event_id": 3,
                "library": "amplitude-ts/2.11.0", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
                "user_properties": {"$set": {"email": EMAIL, "plan": "gold"}}}
    revenue = {"event_type": "revenue_amount", "device_id": DEVICE_ID, "session_id": SESSION, "time": SESSION + 20,
               "insert_id": "3c0b", "event_properties": {"$price": 19.99, "$quantity": 2, "$productId": "sku-9"}}
    a = analyze(make_request("POST", "https://api2.amplitude.com/2/httpapi", compact_json(batch_body([identify, revenue])),
                             [JSON_CT, ("Origin", "https://shop.example.net")]))
    assert_decoded(a, "httpapi")
    assert_finding(a, "email", EMAIL, "body.events[0].user_properties.$set.email")
    assert_finding(a, "custom_property", "gold", "body.events[0].user_properties.$set.plan")
    assert_finding(a, "user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "body.events[0].user_agent")
    assert_finding(a, "custom_property", "$remote", "body.events[0].ip")  # a placeholder, not an IP
    assert_finding(a, "custom_property", "sku-9", "body.events[1].event_properties.$productId")


def test_python_sdk_eu_batch(analyze, monkeypatch):
    """amplitude-analytics 1.3.0 run for real: worker.py get_payload (json.dumps sort_keys),
    HttpClient.post to SERVER_URL[EU][batch]."""
    from amplitude import Amplitude, BaseEvent, Config
    from amplitude import http_client

    sent: list[tuple[str, bytes]] = []

    def post(url: str, payload: bytes, header: Any = None) -> Any:
        sent.append((url, payload))
        response = http_client.Response()
        response.code, response.status = 200, http_client.HttpStatus.SUCCESS
        return response

    monkeypatch.setattr(http_client.HttpClient, "post", staticmethod(post))
    client = Amplitude(API_KEY, Config(server_zone="EU", use_batch=True))
    client.track(BaseEvent("Order Placed", user_id=USER_ID, device_id=DEVICE_ID, city="Berlin",
                           location_lat=52.52, location_lng=13.405, event_properties={"total": 99}))
    client.flush()
    client.shutdown()
    url, payload = sent[0]
    assert url == "https://api.eu.amplitude.com/batch"
    a = analyze(make_request("POST", url, payload, [("Content-Type", "application/json; charset=UTF-8")]))
    assert_decoded(a, "httpapi")
    assert_finding(a, "city", "Berlin", "body.events[0].city")
    assert_finding(a, "longitude", "13.405", "body.events[0].location_lng")
    assert_finding(a, "sdk_version", "amplitude-python/1.3.0", "body.events[0].library")
    assert_finding(a, "project_key", API_KEY, "body.api_key")


def test_identify_api_form(analyze):
    identification = [{"user_id": USER_ID, "device_id": DEVICE_ID, "user_properties": {"$set": {"email": EMAIL}},
                       "country": "US"}]
    body = urlencode({"api_key": API_KEY, "identification": compact_json(identification)})
    a = analyze(make_request("POST", "https://api2.amplitude.com/identify", body, [FORM_CT]))
    assert_decoded(a, "identify")
    assert_finding(a, "email", EMAIL, "body.identification[0].user_properties.$set.email")
    assert_finding(a, "project_key", API_KEY, "body.api_key")


def test_legacy_android_form_upload(analyze):
    """Amplitude-Android 2.x AmplitudeClient.makeEventUploadPostRequest: form v=2, client,
    e (JSON array), upload_time, checksum."""
    events = [{"event_type": "session_start", "timestamp": SESSION, "user_id": USER_ID, "device_id": DEVICE_ID,
               "session_id": SESSION, "uuid": "e3b0c442-98fc-4c14-9afb-f4c8996fb924", "sequence_number": 7,
               "version_name": "2.0.1", "os_name": "android", "os_version": "9", "device_brand": "samsung",
               "device_manufacturer": "samsung", "device_model": "SM-G960F", "carrier": "O2", "country": "GB",
               "language": "en", "platform": "Android", "library": {"name": "amplitude-android", "version": "2.25.2"},
               "api_properties": {"androidADID": AAID, "limit_ad_tracking": False, "gps_enabled": False},
               "event_properties": {}, "user_properties": {}}]
    body = urlencode({"v": "2", "client": API_KEY, "e": compact_json(events), "upload_time": str(SESSION + 5),
                      "checksum": "0cc175b9c0f1b6a831c399e269772661"})
    a = analyze(make_request("POST", "https://api.amplitude.com/", body, [FORM_CT]))
    assert_decoded(a, "legacy_upload")
    assert_finding(a, "advertising_id", AAID, "body.e[0].api_properties.androidADID")
    assert_finding(a, "project_key", API_KEY, "body.client")
    assert_finding(a, "device_model", "SM-G960F", "body.e[0].device_model")
    assert_finding(a, "sdk_version", "2.25.2", "body.e[0].library.version")


def test_remote_config_and_diagnostics(analyze):
    a = analyze(make_request("GET", f"https://sr-client-cfg.amplitude.com/config/{API_KEY}?config_group=browser"))
    assert_decoded(a, "remote_config")
    assert_finding(a, "project_key", API_KEY, "path.api_key")
    b = analyze(make_request("GET", f"https://sr-client-cfg.eu.amplitude.com/config?api_key={API_KEY}&config_group=android"))
    assert_decoded(b, "remote_config")
    assert_finding(b, "project_key", API_KEY, "query.api_key")
    diag = {"tags": {"library": "amplitude-ts/2.11.0", "user_agent": "Mozilla/5.0"}, "histogram": {}, "counters": {"x": 1},
            "events": [{"event_name": "sdk.init", "time": SESSION, "event_properties": {"a": 1}}]}
    c = analyze(make_request("POST", "https://diagnostics.prod.us-west-2.amplitude.com/v1/capture", compact_json(diag),
                             [JSON_CT, ("X-ApiKey", API_KEY)]))
    assert_decoded(c, "diagnostics")
    assert_finding(c, "project_key", API_KEY, "header.x-apikey")


def test_custom_server_url_recognised_by_shape(analyze):
    a = analyze(make_request("POST", "https://amp.shop.example.net/2/httpapi", compact_json(batch_body([kotlin_event("x")])),
                             [JSON_CT]))
    assert_decoded(a, "httpapi", via="payload_shape")
    assert_finding(a, "advertising_id", AAID, "body.events[0].adid")


def test_lookalike_host_is_not_amplitude(analyzer):
    req = make_request("POST", "https://api2.amplitude.com.example.org/2/httpapi",
                       compact_json({"api_key": API_KEY, "events": [{"event_type": "x"}]}), [JSON_CT])
    a = analyzer.analyze(req)
    assert a is None or a.tracker != TRACKER


def test_session_replay_upload_gzip(analyze):
    """@amplitude/session-replay-browser 1.51.6 track-destination.js: query device_id/session_id/type,
    Bearer API key, X-Client-* headers, body {version: 1, events: [JSON strings]} gzipped with
    Content-Encoding (event-compressor.js: {type, timestamp, data} per rrweb event)."""
    snapshot = compact_json({"type": 2, "timestamp": 1767225600000,
                             "data": {"node": {"type": 0, "childNodes": [{"type": 3, "textContent": "Hello Ada"}]}}})
    click = compact_json({"x": 120, "y": 48, "selector": "#checkout", "viewportHeight": 720, "viewportWidth": 1280,
                          "pageUrl": "https://shop.example/cart", "timestamp": 1767225601000, "type": "click"})
    body = gzip.compress(compact_json({"version": 1, "events": [snapshot, click]}).encode())
    query = urlencode({"device_id": "dev-77aa", "session_id": "1767225600000", "type": "replay"})
    req = request_via_mitmproxy("POST", f"https://api-sr.amplitude.com/sessions/v2/track?{query}", body, {
        "Content-Type": "application/json", "Accept": "*/*", "Authorization": "Bearer 0123456789abcdef0123456789abcdef",
        "X-Client-Version": "1.51.6", "X-Client-Library": "standalone/1.51.6",
        "X-Client-Url": "https://shop.example/cart", "X-Client-Sample-Rate": "1", "X-Sampling-Hash-Alg": "xxhash32",
        "Content-Encoding": "gzip"})
    a = analyze(req)
    assert_decoded(a, "session_replay")
    assert_finding(a, "project_key", "0123456789abcdef0123456789abcdef", "header.authorization.key")
    assert_finding(a, "installation_id", "dev-77aa", "query.device_id")
    assert_finding(a, "session_id", "1767225600000", "query.session_id")
    assert_finding(a, "page_url", "https://shop.example/cart", "header.x-client-url")
    assert_finding(a, "session_replay", snapshot, "body.events[0]")
    assert_finding(a, "session_replay", click, "body.events[1]")
    # Page-exit beacon (sendBeacon): no headers, the key in the query, {version: 2}.
    beacon = urlencode({"device_id": "dev-77aa", "session_id": "1767225600000", "type": "replay",
                        "api_key": "0123456789abcdef0123456789abcdef"})
    b = analyze(make_request("POST", f"https://api-sr.eu.amplitude.com/sessions/v2/track?{beacon}",
                             compact_json({"version": 2, "events": [snapshot]}), [JSON_CT]))
    assert_decoded(b, "session_replay")
    assert_finding(b, "project_key", "0123456789abcdef0123456789abcdef", "query.api_key")
