"""Golden tests: Vercel Web Analytics requests built as npm @vercel/analytics 2.0.1 builds them:
the server `track` (dist/server/index.mjs: POST https://<VERCEL_URL>/_vercel/insights/event
{o, ts, sdkn, sdkv, r, en, ed, f} with the visitor's user-agent, x-vercel-ip and cookie) and a
browser page view with the same keys on the site's own domain."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "vercel_analytics"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_server_track_forwards_the_visitor(analyzer):
    body = {"o": "https://shop.example/cart", "ts": 1767225600000, "sdkn": "@vercel/analytics/server", "sdkv": "2.0.1",
            "r": "", "en": "checkout", "ed": {"plan": "pro", "items": 3}, "f": {"p": {"new-cart": "variant-b"}}}
    headers = [JSON_CT, ("user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15"),
               ("x-vercel-ip", "198.51.100.23"), ("x-va-server", "1"), ("cookie", "cart=77; theme=dark")]
    a = analyze(analyzer, make_request("POST", "https://shop-example.vercel.app/_vercel/insights/event",
                                       compact_json(body), headers), "event")
    has(a, "public_ip", "198.51.100.23", "header.x-vercel-ip")
    has(a, "page_url", "https://shop.example/cart", "body.o")
    has(a, "event_name", "checkout", "body.en")
    has(a, "custom_property", "pro", "body.ed.plan")
    has(a, "sdk_name", "@vercel/analytics/server", "body.sdkn")
    has(a, "custom_property", "variant-b", "body.f.p.new-cart")
    assert labels(a)["body.ts"] == ""


def test_browser_page_view_on_the_sites_own_domain(analyzer):
    body = {"o": "https://shop.example/p/9", "sv": "0.1.3", "sdkn": "@vercel/analytics/next", "sdkv": "2.0.1",
            "ts": 1767225600000, "r": "https://search.example/", "dp": "/p/[id]"}
    a = analyze(analyzer, make_request("POST", "https://shop.example/_vercel/insights/view", compact_json(body),
                                       [("Content-Type", "text/plain")]), "event", via="payload_shape")
    has(a, "referrer", "https://search.example/", "body.r")
    has(a, "page_url", "/p/[id]", "body.dp")
    has(a, "sdk_version", "0.1.3", "body.sv")
