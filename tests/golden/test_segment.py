"""Golden tests: the wire formats of the Segment SDKs, built the way each SDK builds them.

analytics-python is run (only its HTTP session is replaced); the others follow the SDK
source cited beside each builder. Assertions check endpoint, decode status and precise
(data type, value, path, detector) findings.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from leakmap.model import Request
from golden_support import (JSON_CT, assert_finding_at as assert_finding, basic, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "segment"
WRITE_KEY = "sEgWr1teKey0123456789abcdefABCDEF"
ANON_ID = "8f2b7c1e-4d3a-4b5c-9e6f-0a1b2c3d4e5f"
USER_ID = "user-3141"
EMAIL = "sam.segment@example.com"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PUSH = "fcm-token-AbCdEf123456"
PACKAGE = "com.example.shop"
DEVICE_ID = "a3f9c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778"  # Widevine id (SHA-256 hex)
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


# ------------------------------------------------------------------------------------------
# analytics-python, run for real: its own request.post builds the bytes.


def python_sdk_request(gzip_body: bool = False) -> Request:
    """segment-analytics-python 2.4.0: Client(write_key, sync_mode=True).identify/track →
    segment/analytics/request.py post(): POST {host}/v1/batch, {batch, sentAt, writeKey},
    Basic auth base64(writeKey:), optional gzip with Content-Encoding."""
    import segment.analytics.request as seg_request
    from segment.analytics import Client

    sent: list[tuple[str, dict[str, Any]]] = []

    class Response:
        status_code = 200

    def post(url: str, **kwargs: Any) -> Response:
        sent.append((url, kwargs))
        return Response()

    original = seg_request._session.post
    seg_request._session.post = post  # type: ignore[method-assign]
    try:
        client = Client(WRITE_KEY, sync_mode=True, gzip=gzip_body, send=True)
        client.identify(USER_ID, {"email": EMAIL, "firstName": "Sam", "plan": "pro"}, anonymous_id=ANON_ID)
        client.track(USER_ID, "Order Completed", {"revenue": 42.5, "coupon": "SPRING"})
    finally:
        seg_request._session.post = original  # type: ignore[method-assign]
    url, kwargs = sent[0]
    assert url == "https://api.segment.io/v1/batch"
    data = kwargs["data"]
    return request_via_mitmproxy("POST", url, data if isinstance(data, bytes) else data.encode(), kwargs["headers"])


@pytest.mark.parametrize("gzip_body", [False, True], ids=["json", "gzip"])
def test_python_sdk_batch(analyze, gzip_body):
    a = analyze(python_sdk_request(gzip_body))
    assert_decoded(a, "tracking")
    assert_finding(a, "user_id", USER_ID, "body.batch[0].userId")
    assert_finding(a, "installation_id", ANON_ID, "body.batch[0].anonymousId")
    assert_finding(a, "email", EMAIL, "body.batch[0].traits.email")
    assert_finding(a, "name", "Sam", "body.batch[0].traits.firstName")
    assert_finding(a, "custom_property", "pro", "body.batch[0].traits.plan")
    assert_finding(a, "project_key", WRITE_KEY, "body.writeKey")
    assert_finding(a, "sdk_name", "analytics-python", "body.batch[0].context.library.name")
    assert labels(a)["header.authorization.user"] == "project_key"
    assert a.app_signal == "payload_project_key"


def test_python_sdk_second_request_track(analyze):
    """sync_mode sends each message on its own: the track call comes second."""
    import segment.analytics.request as seg_request
    from segment.analytics import Client

    sent: list[dict[str, Any]] = []

    class Response:
        status_code = 200

    original = seg_request._session.post
    seg_request._session.post = lambda url, **kw: (sent.append(kw), Response())[1]  # type: ignore[method-assign]
    try:
        Client(WRITE_KEY, sync_mode=True).track(USER_ID, "Order Completed", {"revenue": 42.5, "coupon": "SPRING"})
    finally:
        seg_request._session.post = original  # type: ignore[method-assign]
    a = analyze(make_request("POST", "https://api.segment.io/v1/batch", sent[0]["data"], list(sent[0]["headers"].items())))
    assert_decoded(a, "tracking")
    assert_finding(a, "event_name", "Order Completed", "body.batch[0].event")
    assert_finding(a, "revenue", "42.5", "body.batch[0].properties.revenue")
    assert_finding(a, "custom_property", "SPRING", "body.batch[0].properties.coupon")


# ------------------------------------------------------------------------------------------
# analytics-kotlin (Android): /v1/b with the full automatic context.


def kotlin_context() -> dict[str, Any]:
    """analytics-kotlin:android/.../plugins/AndroidContextPlugin.kt@a14649b (app, device,
    os, screen, network, locale, timezone, userAgent, instanceId) + library."""
    return {
        "app": {"name": "Example Shop", "version": "4.2.0", "namespace": PACKAGE, "build": "420"},
        "device": {"id": DEVICE_ID, "manufacturer": "Google", "model": "Pixel 8", "name": "shiba", "type": "android",
                   "adTrackingEnabled": True, "advertisingId": AAID, "token": PUSH},
        "os": {"name": "Android", "version": "14"},
        "screen": {"density": 2.625, "height": 2400, "width": 1080},
        "network": {"wifi": True, "cellular": False, "bluetooth": False, "carrier": "T-Mobile"},
        "locale": "en-US", "timezone": "America/New_York",
        "userAgent": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240105.004)",
        "instanceId": "5b7e0f64-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "library": {"name": "analytics-kotlin", "version": "1.19.1"},
        "traits": {"anonymousId": ANON_ID, "email": EMAIL},
    }


def kotlin_batch() -> dict[str, Any]:
    """analytics-kotlin HTTPClient.kt@a14649b / EventPipeline: {batch, sentAt, writeKey}."""
    screen = {"type": "screen", "name": "Checkout", "category": "", "properties": {"step": 2},
              "messageId": "c4f0e9a2-0a1b-4c2d-8e3f-4a5b6c7d8e9f", "anonymousId": ANON_ID, "userId": USER_ID,
              "integrations": {}, "context": kotlin_context(), "timestamp": "2026-01-01T00:00:00.123Z",
              "_metadata": {"bundled": [], "unbundled": [], "bundledIds": []}}
    return {"batch": [screen], "sentAt": "2026-01-01T00:00:01.000Z", "writeKey": WRITE_KEY}


def test_kotlin_batch_full_context(analyze):
    req = make_request("POST", "https://api.segment.io/v1/b", compact_json(kotlin_batch()),
                       [JSON_CT, ("User-Agent", "analytics-kotlin/1.19.1")])
    a = analyze(req)
    assert_decoded(a, "tracking")
    p = "body.batch[0]."
    assert_finding(a, "app_id", PACKAGE, p + "context.app.namespace")
    assert_finding(a, "advertising_id", AAID, p + "context.device.advertisingId")
    assert_finding(a, "push_token", PUSH, p + "context.device.token")
    assert_finding(a, "device_id", DEVICE_ID, p + "context.device.id")
    assert_finding(a, "screen_name", "Checkout", p + "name")
    assert_finding(a, "carrier", "T-Mobile", p + "context.network.carrier")
    assert_finding(a, "timezone", "America/New_York", p + "context.timezone")
    assert_finding(a, "email", EMAIL, p + "context.traits.email")
    assert a.app == PACKAGE and a.app_signal == "payload_app_id", (a.app, a.app_signal)


def test_every_automatic_context_key_is_mapped_by_the_rule(analyze):
    """Removing any context mapping makes its key fall to a catch-all (custom_property) or
    to no label: every key the SDK sets by itself has its own data type here."""
    a = analyze(make_request("POST", "https://api.segment.io/v1/b", compact_json(kotlin_batch()), [JSON_CT]))
    fields = labels(a)
    auto = {k: v for k, v in fields.items() if k.startswith("body.batch[0].context.") and ".traits." not in k}
    assert auto and all(v not in ("custom_property", None) for v in auto.values()), auto
    expected = {"context.app.name": "app_name", "context.app.version": "app_version", "context.app.build": "app_build",
                "context.device.manufacturer": "manufacturer", "context.device.model": "device_model",
                "context.device.name": "device_name", "context.os.name": "os_name", "context.os.version": "os_version",
                "context.screen.density": "screen_density", "context.screen.width": "screen_width",
                "context.screen.height": "screen_height", "context.network.wifi": "network_type",
                "context.locale": "language", "context.userAgent": "user_agent", "context.instanceId": "installation_id",
                "context.library.version": "sdk_version", "context.device.adTrackingEnabled": ""}
    assert {k: fields["body.batch[0]." + k] for k in expected} == expected


# ------------------------------------------------------------------------------------------
# analytics.js (analytics-next): one message per request, text/plain JSON.


def web_message(kind: str, **extra: Any) -> dict[str, Any]:
    """analytics-next plugins/segmentio/normalize.ts@0c4fa881: the message plus writeKey,
    context.page/userAgent/library/locale/campaign, _metadata."""
    msg = {"timestamp": "2026-01-01T00:00:00.123Z", "integrations": {}, "type": kind,
           "userId": USER_ID, "anonymousId": ANON_ID, "messageId": "ajs-next-1767225600123-4b1e",
           "context": {"page": {"path": "/checkout", "referrer": "https://www.google.com/", "search": "?step=2",
                                "title": "Checkout - Example Shop", "url": "https://shop.example.net/checkout?step=2"},
                       "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36",
                       "userAgentData": {"brands": [{"brand": "Chromium", "version": "131"}], "mobile": False,
                                         "platform": "Linux"},
                       "locale": "en-US", "library": {"name": "analytics.js", "version": "npm:next-1.81.0"},
                       "campaign": {"source": "newsletter", "medium": "email", "name": "spring"}},
           "writeKey": WRITE_KEY, "sentAt": "2026-01-01T00:00:00.200Z",
           "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}}
    msg.update(extra)
    return msg


@pytest.mark.parametrize("letter,kind,extra", [
    ("t", "track", {"event": "Added to Cart", "properties": {"sku": "A-42", "price": 9.99}}),
    ("p", "page", {"name": "Checkout", "properties": {"url": "https://shop.example.net/checkout?step=2"}}),
    ("i", "identify", {"traits": {"email": EMAIL, "phone": "+14155550199"}}),
    ("g", "group", {"groupId": "acme-42", "traits": {"name": "Acme Inc"}}),
])
def test_analytics_js_single_message(analyze, letter, kind, extra):
    req = make_request("POST", f"https://api.segment.io/v1/{letter}", compact_json(web_message(kind, **extra)),
                       [("Content-Type", "text/plain"), ("Origin", "https://shop.example.net")])
    a = analyze(req)
    assert_decoded(a, "tracking")
    assert_finding(a, "project_key", WRITE_KEY, "body.writeKey")
    assert_finding(a, "page_url", "https://shop.example.net/checkout?step=2", "body.context.page.url")
    assert_finding(a, "referrer", "https://www.google.com/", "body.context.page.referrer")
    assert_finding(a, "browser", "Chromium", "body.context.userAgentData.brands[0].brand")
    assert_finding(a, "referrer", "newsletter", "body.context.campaign.source")
    if kind == "identify":
        assert_finding(a, "email", EMAIL, "body.traits.email")
        assert_finding(a, "phone", "+14155550199", "body.traits.phone")
    if kind == "group":
        assert_finding(a, "other_id", "acme-42", "body.groupId")
    if kind == "track":
        assert_finding(a, "event_name", "Added to Cart", "body.event")
        assert_finding(a, "custom_property", "A-42", "body.properties.sku")


def test_eu_host_and_legacy_import_gzip(analyze):
    """Legacy analytics-android 4.x: POST /v1/import, gzip with Content-Encoding, Basic auth."""
    body = gzip.compress(compact_json({"batch": [web_message("track", event="Opened")],
                                       "sentAt": "2026-01-01T00:00:00Z"}).encode())
    req = request_via_mitmproxy("POST", "https://events.eu1.segmentapis.com/v1/import", body,
                                {"Content-Type": "application/json", "Content-Encoding": "gzip",
                                 "Authorization": basic(WRITE_KEY)})
    a = analyze(req)
    assert_decoded(a, "tracking")
    assert_finding(a, "project_key", WRITE_KEY, "body.batch[0].writeKey")
    assert_finding(a, "event_name", "Opened", "body.batch[0].event")


def test_settings_by_write_key(analyze):
    a = analyze(make_request("GET", f"https://cdn-settings.segment.com/v1/projects/{WRITE_KEY}/settings"))
    assert_decoded(a, "settings")
    assert_finding(a, "project_key", WRITE_KEY, "path.write_key")
    b = analyze(make_request("GET", f"https://cdn.segment.com/analytics.js/v1/{WRITE_KEY}/analytics.min.js"))
    assert_decoded(b, "settings")
    assert_finding(b, "project_key", WRITE_KEY, "path.js_write_key")


def test_custom_proxy_host_recognised_by_shape(analyze):
    req = make_request("POST", "https://t.shop.example.net/v1/t", compact_json(web_message("track", event="Viewed")),
                       [("Content-Type", "text/plain")])
    a = analyze(req)
    assert_decoded(a, "tracking", via="payload_shape")
    assert_finding(a, "event_name", "Viewed", "body.event")


def test_lookalike_host_is_not_segment(analyzer):
    payload = {"batch": [{"type": "track", "event": "x", "userId": USER_ID}]}
    req = make_request("POST", "https://api.segment.io.example.org/v1/batch", compact_json(payload), [JSON_CT])
    a = analyzer.analyze(req)
    assert a is None or a.tracker != TRACKER
    req = make_request("POST", "https://api-segment.io/v1/batch", compact_json(payload), [JSON_CT])
    a = analyzer.analyze(req)
    assert a is None or a.tracker != TRACKER
