"""Golden tests: Pendo agent requests, built as @pendo/agent 2.291.4 builds them
(dist/pendo.module.js: eventCreate, compress = zlib Deflate + base64, buildGetRequestUrl
v/ct/jzb, buildPostRequestUrl + createPostBody {events: jzb}, loadGuides/loadGuideJs)."""

from __future__ import annotations

from pathlib import Path
import base64
import zlib
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "pendo"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

KEY = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
VISITOR = "pd-user-31"
TAB = "k2j3h4g5f6d7s8a9"


def jzb(value) -> str:
    """compress(json_obj): zlib Deflate of the JSON, then base64 (b64.uint8ToBase64)."""
    return base64.b64encode(zlib.compress(compact_json(value).encode())).decode()


def event(type_: str, **extra) -> dict:
    base = {"type": type_, "browser_time": 1767225600000, "visitor_id": VISITOR, "account_id": "acct-9",
            "url": "https://app.example.net/billing", "props": {}, "tabId": TAB, "frameId": "f1"}
    base.update(extra)
    return base


def test_get_ptm_with_load_track_and_click(analyzer):
    events = [event("load", props={"title": "Billing"}),
              event("track", track_event_name="Invoice Paid", props={"amount": "120", "currency": "EUR"}),
              event("click", props={"target": {"tag": "BUTTON", "id": "pay", "txt": "Pay now"}})]
    url = f"https://app.pendo.io/data/ptm.gif/{KEY}?" + urlencode({"v": "2.291.4", "ct": "1767225600500",
                                                                    "jzb": jzb(events)})
    a = analyze(analyzer, make_request("GET", url), "data")
    has(a, "user_id", VISITOR, "query.jzb[0].visitor_id")
    has(a, "page_url", "https://app.example.net/billing", "query.jzb[0].url")
    has(a, "screen_name", "Billing", "query.jzb[0].props.title")
    has(a, "event_name", "Invoice Paid", "query.jzb[1].track_event_name")
    has(a, "custom_property", "120", "query.jzb[1].props.amount")
    has(a, "interaction", "Pay now", "query.jzb[2].props.target.txt")
    has(a, "session_id", TAB, "query.jzb[0].tabId")
    has(a, "project_key", KEY, "path.api_key")
    has(a, "sdk_version", "2.291.4", "query.v")


def test_post_ptm_with_metadata_and_identify(analyzer):
    events = [event("meta", props={"visitor": {"id": VISITOR, "email": "pia.pendo@example.com", "full_name": "Pia Endo",
                                               "role": "admin"},
                                   "account": {"id": "acct-9", "name": "Acme GmbH", "plan": "enterprise"}}),
              event("identify", props={"old_visitor_id": "_PENDO_T_a1b2c3d4e5", "visitor_id": VISITOR,
                                       "old_account_id": None, "account_id": "acct-9"})]
    body = compact_json({"events": jzb(events)})
    a = analyze(analyzer, make_request("POST", f"https://app.eu.pendo.io/data/ptm.gif/{KEY}?v=2.291.4&ct=1&s={len(body)}",
                                       body, [JSON_CT]), "data")
    has(a, "email", "pia.pendo@example.com", "body.events[0].props.visitor.email")
    has(a, "name", "Pia Endo", "body.events[0].props.visitor.full_name")
    has(a, "custom_property", "enterprise", "body.events[0].props.account.plan")
    has(a, "installation_id", "_PENDO_T_a1b2c3d4e5", "body.events[1].props.old_visitor_id")
    assert labels(a)["body.events[1].props.visitor_id"] == "user_id"


def test_guides_request_carries_metadata(analyzer):
    params = {"visitorId": VISITOR, "accountId": "acct-9", "url": "https://app.example.net/billing",
              "oldVisitorId": "_PENDO_T_a1b2c3d4e5",
              "metadata": {"visitor": {"email": "pia.pendo@example.com"}, "account": {"plan": "enterprise"}}}
    url = f"https://app.pendo.io/data/guide.json/{KEY}?" + urlencode({"id": "3", "jzb": jzb(params), "v": "2.291.4",
                                                                       "ct": "1767225600500"})
    a = analyze(analyzer, make_request("GET", url), "guides")
    has(a, "user_id", VISITOR, "query.jzb.visitorId")
    has(a, "email", "pia.pendo@example.com", "query.jzb.metadata.visitor.email")
    has(a, "page_url", "https://app.example.net/billing", "query.jzb.url")
    a = analyze(analyzer, make_request("GET", f"https://cdn.pendo.io/agent/static/{KEY}/config.json"), "agent")
    has(a, "project_key", KEY, "path.api_key")
