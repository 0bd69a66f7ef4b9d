"""Golden tests: Amazon Ad Tag events in the shape of Omnibug's provider
(MisterPhilip/omnibug src/providers/AmazonAdTag.js@ce9a0aac) and an APS bid request."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "amazon_ads"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_ad_tag_event(analyzer):
    a = analyze(analyzer, make_request("GET", "https://s.amazon-adsystem.com/iu3?pid=a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
                                              "&event=AddToShoppingCart&ts=1767225600000",
                                       headers=[("Cookie", "ad-id=A7bQxWz3kL9mN2pR4tV6yZ8"),
                                                ("Referer", "https://shop.example/p/9")]), "ad_tag")
    has(a, "project_key", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "query.pid")
    has(a, "event_name", "AddToShoppingCart", "query.event")
    has(a, "browser_id", "A7bQxWz3kL9mN2pR4tV6yZ8", "cookie.ad-id")
    has(a, "page_url", "https://shop.example/p/9", "header.referer")


def test_aps_bid(analyzer):
    query = {"src": "3084", "u": "https://news.example/a", "pr": "https://search.example/", "pid": "x7Yb2", "cb": "0",
             "ws": "1280x720", "v": "25.101.0", "t": "2000", "slots": compact_json([{"sd": "div-1", "s": ["300x250"]}]),
             "gdpre": "1", "gdprc": "CQH2gAAQ"}
    a = analyze(analyzer, make_request("GET", "https://aax.amazon-adsystem.com/e/dtb/bid?" + urlencode(query)), "aps_bid")
    has(a, "project_key", "3084", "query.src")
    has(a, "page_url", "https://news.example/a", "query.u")
    has(a, "viewport_size", "1280x720", "query.ws")
    has(a, "consent_state", "CQH2gAAQ", "query.gdprc")
