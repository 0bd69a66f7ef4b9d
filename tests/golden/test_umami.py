"""Golden tests: Umami requests built as umami-software/umami src/tracker/index.js@0e0a0795
builds them (POST <host>/api/send {type, payload: {website, screen, language, title,
hostname, url, referrer, tag, id, vid, name, data}}, the x-umami-cache token) and as
@umami/node 0.4.0 sends them."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "umami"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
SITE = "4fb7f3c1-2d8e-4b6a-9c3e-5a1b2c3d4e5f"
VID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def payload(**extra) -> dict:
    return {"website": SITE, "screen": "2560x1440", "language": "de-DE", "title": "Checkout",
            "hostname": "shop.example", "url": "https://shop.example/checkout", "referrer": "https://news.example/",
            "vid": VID, **extra}


def test_script_event_with_identity(analyzer):
    body = {"type": "event", "payload": payload(id="umami-user-5", name="signup", data={"plan": "pro"})}
    a = analyze(analyzer, make_request("POST", "https://gateway.umami.is/api/send", compact_json(body),
                                       [JSON_CT, ("x-umami-cache", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln")]), "send")
    has(a, "project_key", SITE, "body.payload.website")
    has(a, "screen_resolution", "2560x1440", "body.payload.screen")
    has(a, "language", "de-DE", "body.payload.language")
    has(a, "screen_name", "Checkout", "body.payload.title")
    has(a, "browser_id", VID, "body.payload.vid")
    has(a, "user_id", "umami-user-5", "body.payload.id")
    has(a, "event_name", "signup", "body.payload.name")
    has(a, "custom_property", "pro", "body.payload.data.plan")
    has(a, "referrer", "https://news.example/", "body.payload.referrer")
    assert labels(a)["header.x-umami-cache"] == "session_id"


def test_identify_on_a_self_hosted_instance(analyzer):
    body = {"type": "identify", "payload": payload(data={"email": "umami.fan@example.org", "company": "Acme"})}
    a = analyze(analyzer, make_request("POST", "https://stats.shop.example/api/send", compact_json(body), [JSON_CT]),
                "send", via="payload_shape")
    has(a, "email", "umami.fan@example.org", "body.payload.data.email", detector="key_name")
    assert labels(a)["body.type"] == ""


def test_node_client_event(analyzer):
    body = {"type": "event", "payload": {"website": SITE, "name": "order_paid", "data": {"order": "A-17"}}}
    a = analyze(analyzer, make_request("POST", "https://api-gateway.umami.dev/api/send", compact_json(body),
                                       [JSON_CT, ("User-Agent", "Mozilla/5.0 Umami/v22.11.0")]), "send")
    has(a, "event_name", "order_paid", "body.payload.name")
    has(a, "user_agent", "Mozilla/5.0 Umami/v22.11.0", "header.user-agent")
