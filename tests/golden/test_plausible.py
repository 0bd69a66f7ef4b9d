"""Golden tests: Plausible requests built as @plausible-analytics/tracker 0.4.6 (plausible.js)
builds them (JSON sent as text/plain: n, v, u, d, r, p, $, h; the `engagement` event with sd
and e), and as Plausible's Events API documents them for servers (long names, the visitor's
IP in X-Forwarded-For)."""

from __future__ import annotations

from pathlib import Path

from golden_support import (analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "plausible"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
TEXT = [("Content-Type", "text/plain")]


def test_pageview_and_custom_event_with_revenue(analyzer):
    body = {"n": "Purchase", "v": 36, "u": "https://shop.example/checkout?step=2", "d": "shop.example",
            "r": "https://news.example/article", "p": {"plan": "pro", "customer_email": "ann@example.org"},
            "$": {"amount": "42.50", "currency": "EUR"}}
    a = analyze(analyzer, make_request("POST", "https://plausible.io/api/event", compact_json(body), TEXT), "event")
    has(a, "event_name", "Purchase", "body.n")
    has(a, "page_url", "https://shop.example/checkout?step=2", "body.u")
    has(a, "project_key", "shop.example", "body.d")
    has(a, "referrer", "https://news.example/article", "body.r")
    has(a, "custom_property", "pro", "body.p.plan")
    has(a, "email", "ann@example.org", "body.p.customer_email", detector="key_name")
    has(a, "revenue", "42.50", "body.$.amount")
    assert labels(a)["body.v"] == "sdk_version"
    assert a.app == "shop.example" or a.app_signal == "payload_project_key", (a.app, a.app_signal)


def test_engagement_event_scroll_depth_and_time(analyzer):
    body = {"n": "engagement", "sd": 73, "d": "shop.example", "u": "https://shop.example/", "p": {}, "e": 5400,
            "v": 36, "h": 1}
    a = analyze(analyzer, make_request("POST", "https://plausible.io/api/event", compact_json(body), TEXT), "event")
    has(a, "interaction", "73", "body.sd")
    has(a, "time_spent", "5400", "body.e")
    assert labels(a)["body.h"] == ""


def test_events_api_from_a_server_forwards_the_visitor(analyzer):
    body = {"name": "pageview", "url": "https://blog.example/post/1", "domain": "blog.example",
            "referrer": "https://search.example/?q=x", "props": {"author": "kim"}}
    req = make_request("POST", "https://plausible.io/api/event", compact_json(body),
                       [("Content-Type", "application/json"), ("X-Forwarded-For", "203.0.113.77"),
                        ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/135.0")])
    a = analyze(analyzer, req, "event")
    has(a, "public_ip", "203.0.113.77", "header.x-forwarded-for")
    has(a, "event_name", "pageview", "body.name")
    has(a, "project_key", "blog.example", "body.domain")
    has(a, "custom_property", "kim", "body.props.author")


def test_self_hosted_instance_by_payload_shape(analyzer):
    body = {"n": "pageview", "v": 36, "u": "https://wiki.example/start", "d": "wiki.example", "r": None}
    a = analyze(analyzer, make_request("POST", "https://stats.wiki.example/api/event", compact_json(body), TEXT),
                "event", via="payload_shape")
    has(a, "page_url", "https://wiki.example/start", "body.u")


def test_site_script_names_the_site(analyzer):
    a = analyze(analyzer, make_request("GET", "https://plausible.io/js/pa-Xk3v9QbLr2.js",
                                       headers=[("Referer", "https://shop.example/")]), "script")
    has(a, "project_key", "Xk3v9QbLr2", "path.site_id")
    a = analyze(analyzer, make_request("GET", "https://plausible.io/js/script.outbound-links.js"), "script")
    assert a.findings == [] or all(f.data_type != "project_key" for f in a.findings)
