"""Golden tests: Pushwoosh API calls as the web SDK (npm web-push-notifications 3.55.0) builds
them: POST /json/1.3/<method>, body JSON.stringify({request}) sent as text/plain, the request
parameters of getRequestParams plus each method's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_support import (analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            compact_json, make_request)

TRACKER = "pushwoosh"
pytestmark = pytest.mark.no_real_client("pushwoosh", "the web SDK needs a service worker and a push subscription; mobile SDKs native")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

CODE, HWID = "A1B2C-3D4E5", "c0ffee12-3456-4789-abcd-ef0123456789"
TEXT = [("Content-Type", "text/plain;charset=UTF-8")]


def params(**extra: object) -> dict:
    """getRequestParams: application, hwid, userId (the hwid when the app set none), device_type,
    device_model, timezone (minutes east of UTC * 60), language, v."""
    return {"application": CODE, "hwid": HWID, "userId": "member-5521", "device_type": 11, "device_model": "Chrome 131",
            "timezone": 3600, "language": "fr", "v": "3.55.0", **extra}


def test_register_device_with_push_subscription(analyzer):
    body = params(push_token="https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH", auth_token="q7Zc1lV0",
                  public_key="BOrd0G9Ab")
    url = f"https://{CODE}.api.pushwoosh.com/json/1.3/registerDevice"
    a = analyze(analyzer, make_request("POST", url, compact_json({"request": body}), TEXT), "device_api")
    has(a, "project_key", CODE, "body.request.application")
    has(a, "installation_id", HWID, "body.request.hwid")
    has(a, "user_id", "member-5521", "body.request.userId")
    has(a, "push_token", body["push_token"], "body.request.push_token")
    has(a, "event_name", "registerDevice", "path.method")
    assert_every_key_mapped(analyzer, a, TRACKER, "device_api", list(body), "body.request.")


def test_post_event_and_email_on_a_proxy_by_shape(analyzer):
    body = params(event="Purchase", timestampUTC=1767225600, timestampCurrent=1767229200,
                  attributes={"plan": "family", "amount": "39.90"})
    a = analyze(analyzer, make_request("POST", "https://cp.pushwoosh.com/json/1.3/postEvent", compact_json({"request": body}),
                                       TEXT), "device_api")
    has(a, "event_name", "Purchase", "body.request.event")
    has(a, "custom_property", "family", "body.request.attributes.plan")
    proxied = make_request("POST", "https://push.shop.example/pw/json/1.3/postEvent", compact_json({"request": body}), TEXT)
    a = analyze(analyzer, proxied, "device_api", via="payload_shape")
    email = params(email="claire@example.fr", ts_offset=3600)
    a = analyze(analyzer, make_request("POST", "https://cp.pushwoosh.com/json/1.3/registerEmail",
                                       compact_json({"request": email}), TEXT), "device_api")
    has(a, "email", "claire@example.fr", "body.request.email")
