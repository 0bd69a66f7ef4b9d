"""Golden tests: VWO FME requests built as vwo-fme-node-sdk 1.35.0 builds them
(lib/utils/NetworkUtil.ts: /events/t query en, a, env, visitor_ua, visitor_ip, sn, sv and the
{d: {msgId, visId, sessionId, visitor_ua, visitor_ip, event, visitor}} body; batching
{ev: [...]} to /server-side/batch-events-v2 with the SDK key in Authorization; the settings
download), and a web SmartCode j.php request."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "vwo"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
ACCOUNT, KEY = "654321", "fedcba9876543210fedcba9876543210"
VIS = "F3E1D2C4B5A6978899AABBCCDDEEFF00"
UA, IP = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1", "192.0.2.44"


def payload(name: str, event_props: dict, visitor_props: dict) -> dict:
    return {"d": {"msgId": f"{VIS}-1767225600000", "visId": VIS, "sessionId": 1767225600, "visitor_ua": UA,
                  "visitor_ip": IP, "event": {"props": {"vwo_sdkName": "vwo-fme-node-sdk", "vwo_sdkVersion": "1.35.0",
                                                        "vwo_envKey": KEY, **event_props},
                                              "name": name, "time": 1767225600000},
                  "visitor": {"props": {"vwo_fs_environment": KEY, **visitor_props}}}}


def query(name: str) -> str:
    return urlencode({"en": name, "a": ACCOUNT, "env": KEY, "eTime": 1767225600000, "random": 0.42, "p": "FS",
                      "visitor_ua": UA, "visitor_ip": IP, "sn": "vwo-fme-node-sdk", "sv": "1.35.0"})


def test_custom_event_with_the_end_users_ua_and_ip(analyzer):
    body = payload("purchase", {"isCustomEvent": True, "variation": 1, "id": 1, "revenue": "49.90", "sku": "B-2"},
                   {"plan": "gold"})
    a = analyze(analyzer, make_request("POST", "https://dev.visualwebsiteoptimizer.com/events/t?" + query("purchase"),
                                       compact_json(body), [JSON_CT]), "events")
    has(a, "event_name", "purchase", "query.en")
    has(a, "project_key", ACCOUNT, "query.a")
    has(a, "auth_token", KEY, "query.env")
    has(a, "public_ip", IP, "query.visitor_ip")
    has(a, "user_agent", UA, "query.visitor_ua")
    has(a, "user_id", VIS, "body.d.visId")
    has(a, "custom_property", "B-2", "body.d.event.props.sku")
    has(a, "custom_property", "gold", "body.d.visitor.props.plan")
    has(a, "session_id", "1767225600", "body.d.sessionId")
    assert labels(a)["body.d.event.props.variation"] == ""


def test_batched_impressions(analyzer):
    body = {"ev": [payload("vwo_variationShown", {"id": 12, "variation": 2, "isFirst": 1}, {}),
                   payload("vwo_syncVisitorProp", {}, {"email": "vwo.user@example.org"})]}
    a = analyze(analyzer, make_request("POST", f"https://dev.visualwebsiteoptimizer.com/server-side/batch-events-v2"
                                               f"?a={ACCOUNT}&env={KEY}", compact_json(body),
                                       [JSON_CT, ("Authorization", KEY)]), "events")
    has(a, "event_name", "vwo_variationShown", "body.ev[0].d.event.name")
    has(a, "email", "vwo.user@example.org", "body.ev[1].d.visitor.props.email", detector="key_name")
    has(a, "auth_token", KEY, "query.env")
    assert labels(a)["header.authorization"] == "auth_token"


def test_settings_and_smartcode(analyzer):
    a = analyze(analyzer, make_request("GET", "https://dev.visualwebsiteoptimizer.com/server-side/v2-settings?"
                                       + urlencode({"i": KEY, "r": 0.5, "a": ACCOUNT, "platform": "server",
                                                    "sn": "vwo-fme-node-sdk", "sv": "1.35.0", "api-version": 1,
                                                    "s": "prod"})), "settings")
    has(a, "auth_token", KEY, "query.i")
    has(a, "project_key", ACCOUNT, "query.a")
    a = analyze(analyzer, make_request("GET", f"https://dev.visualwebsiteoptimizer.com/j.php?a={ACCOUNT}"
                                              "&u=https%3A%2F%2Fshop.example%2Fcart&f=1",
                                       headers=[("Cookie", "_vwo_uuid=D6E1A2B3C4D5E6F708192A3B4C5D6E7F8")]),
                "smartcode")
    has(a, "page_url", "https://shop.example/cart", "query.u")
    has(a, "browser_id", "D6E1A2B3C4D5E6F708192A3B4C5D6E7F8", "cookie._vwo_uuid")
