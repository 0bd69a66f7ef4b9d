"""Golden tests: RudderStack event API formats (Android SDK, Python SDK), built as the SDKs build them."""

from __future__ import annotations

import gzip
import json
from typing import Any

from golden_support import (JSON_CT, assert_finding_at as assert_finding, basic, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "rudderstack"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


WRITE_KEY = "2AbCdEfRudderWriteKey9"
ANON = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
USER_ID = "rs-user-1414"
EMAIL = "robin.rudder@example.com"
PACKAGE = "com.example.travel"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def android_message() -> dict[str, Any]:
    """rudder-sdk-android RudderMessage/RudderContext/RudderDeviceInfo@7fa2a1b9: Segment-like
    message plus channel=mobile, rudderId, context.sessionId, consentManagement."""
    return {"messageId": "1767225600123-9a8b7c6d", "channel": "mobile", "type": "track", "event": "Trip Booked",
            "anonymousId": ANON, "userId": USER_ID, "rudderId": "f0e1d2c3-b4a5-4697-8899-aabbccddeeff",
            "originalTimestamp": "2026-01-01T00:00:00.123Z", "sentAt": "2026-01-01T00:00:01.000Z",
            "properties": {"destination": "Lisbon", "revenue": 310},
            "integrations": {"All": True},
            "context": {"app": {"build": "77", "name": "Travel", "namespace": PACKAGE, "version": "7.7.0"},
                        "device": {"id": "0f1e2d3c4b5a6978", "manufacturer": "Google", "model": "Pixel 7",
                                   "name": "panther", "type": "Android", "adTrackingEnabled": True,
                                   "advertisingId": AAID, "token": "fcm-rudder-token-1"},
                        "os": {"name": "Android", "version": "13"},
                        "screen": {"density": 420, "width": 1080, "height": 2400},
                        "network": {"carrier": "Orange", "wifi": True, "bluetooth": False, "cellular": False},
                        "locale": "pt-PT", "timezone": "Europe/Lisbon", "userAgent": "Dalvik/2.1.0",
                        "library": {"name": "com.rudderstack.android.sdk.core", "version": "1.25.1"},
                        "sessionId": 1767225600, "sessionStart": True,
                        "consentManagement": {"deniedConsentIds": ["C0004"]},
                        "traits": {"anonymousId": ANON, "email": EMAIL}}}


def test_android_batch_basic_auth(analyze):
    """rudder-sdk-android RudderNetworkManager: POST {dataPlane}/v1/batch {batch, sentAt}, Basic writeKey:."""
    body = compact_json({"sentAt": "2026-01-01T00:00:01.000Z", "batch": [android_message()]})
    a = analyze(make_request("POST", "https://acmecorp.dataplane.rudderstack.com/v1/batch", body,
                             [JSON_CT, ("Authorization", basic(WRITE_KEY))]))
    assert_decoded(a, "batch")
    p = "body.batch[0]."
    assert_finding(a, "project_key", WRITE_KEY, "header.authorization.user")
    assert_finding(a, "app_id", PACKAGE, p + "context.app.namespace")
    assert_finding(a, "advertising_id", AAID, p + "context.device.advertisingId")
    assert_finding(a, "push_token", "fcm-rudder-token-1", p + "context.device.token")
    assert_finding(a, "session_id", "1767225600", p + "context.sessionId")
    assert_finding(a, "consent_state", "C0004", p + "context.consentManagement.deniedConsentIds[0]")
    assert_finding(a, "email", EMAIL, p + "context.traits.email")
    assert_finding(a, "installation_id", ANON, p + "anonymousId")
    assert a.app == PACKAGE


def test_every_automatic_context_key_is_mapped_by_the_rule(analyze):
    body = compact_json({"sentAt": "2026-01-01T00:00:01.000Z", "batch": [android_message()]})
    a = analyze(make_request("POST", "https://hosted.rudderlabs.com/v1/batch", body, [JSON_CT]))
    ctx = {k: v for k, v in labels(a).items() if ".context." in k and ".traits." not in k}
    assert ctx and "custom_property" not in ctx.values(), ctx


def test_python_sdk_gzip(analyze):
    """rudder-sdk-python 2.1.9 request.py: gzip=True by default, Content-Encoding gzip,
    HTTPBasicAuth(write_key, ''), channel=server."""
    msg = {"type": "identify", "userId": USER_ID, "anonymousId": ANON, "traits": {"email": EMAIL, "firstName": "Robin"},
           "context": {"library": {"name": "analytics-python", "version": "2.1.9"}}, "channel": "server",
           "messageId": "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "timestamp": "2026-01-01T00:00:00+00:00",
           "integrations": {"All": True}}
    raw = gzip.compress(json.dumps({"batch": [msg], "sentAt": "2026-01-01T00:00:01+00:00"}).encode())
    req = request_via_mitmproxy("POST", "https://api.rudderstack.com/v1/batch", raw, {
        "Content-Type": "application/json", "Content-Encoding": "gzip", "Authorization": basic(WRITE_KEY)})
    a = analyze(req)
    assert_decoded(a, "batch")
    assert_finding(a, "email", EMAIL, "body.batch[0].traits.email")
    assert_finding(a, "name", "Robin", "body.batch[0].traits.firstName")


def test_self_hosted_data_plane_by_shape(analyze):
    body = compact_json({"sentAt": "2026-01-01T00:00:01.000Z", "batch": [android_message()]})
    a = analyze(make_request("POST", "https://events.travel.example.com/v1/batch", body, [JSON_CT]))
    assert_decoded(a, "batch", via="payload_shape")


def test_source_config(analyze):
    a = analyze(make_request("GET", "https://api.rudderlabs.com/sourceConfig?p=android&v=1.25.1&build=2",
                             headers=[("Authorization", basic(WRITE_KEY))]))
    assert_decoded(a, "source_config")
    assert_finding(a, "project_key", WRITE_KEY, "header.authorization.user")


def test_lookalike_host_is_not_rudderstack(analyzer):
    body = compact_json({"batch": [{"type": "track", "event": "x"}]})
    a = analyzer.analyze(make_request("POST", "https://dataplane.rudderstack.com.example.org/v1/batch", body, [JSON_CT]))
    assert a is None or a.tracker != TRACKER
