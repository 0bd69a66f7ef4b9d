"""Golden tests: Microsoft Advertising UET hits in the shape of the captured bat.js requests
that Omnibug's UET provider tests (MisterPhilip/omnibug test/providers/BingAds.js@ce9a0aac)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, labels, make_request

TRACKER = "bing_uet"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_page_load_and_goal(analyzer):
    query = {"ti": "5713399", "Ver": "2", "mid": "eeb8884c-7abb-0791-3ae6-6348dd889664", "sid": "8a1b2c30d4e511ef",
             "vid": "8a1b2c30d4e511efb0c2f1a2b3c4d5e6", "pi": "918639831", "lg": "de-DE", "sw": "2560", "sh": "1440",
             "sc": "24", "tl": "Checkout | Example Shop", "kw": "shoes, sale", "p": "https://shop.example/checkout",
             "r": "https://search.example/", "lt": "590", "evt": "custom", "ea": "purchase", "gv": "89.90",
             "gc": "EUR", "msclkid": "4f2e8c1d0b3a45c6a7e9f0d1c2b3a4e5", "rn": "187899"}
    a = analyze(analyzer, make_request("GET", "https://bat.bing.com/action/0?" + urlencode(query),
                                       headers=[("Cookie", "MUID=2C3D4E5F60718293A4B5C6D7E8F90A1B")]), "action")
    has(a, "project_key", "5713399", "query.ti")
    has(a, "page_url", "https://shop.example/checkout", "query.p")
    has(a, "screen_name", "Checkout | Example Shop", "query.tl")
    has(a, "referrer", "https://search.example/", "query.r")
    has(a, "language", "de-DE", "query.lg")
    has(a, "screen_width", "2560", "query.sw")
    has(a, "browser_id", "8a1b2c30d4e511efb0c2f1a2b3c4d5e6", "query.vid")
    has(a, "session_id", "8a1b2c30d4e511ef", "query.sid")
    has(a, "other_id", "4f2e8c1d0b3a45c6a7e9f0d1c2b3a4e5", "query.msclkid")
    has(a, "revenue", "89.90", "query.gv")
    has(a, "event_name", "purchase", "query.ea")
    has(a, "browser_id", "2C3D4E5F60718293A4B5C6D7E8F90A1B", "cookie.MUID")
    assert labels(a)["query.mid"] == ""


def test_script(analyzer):
    a = analyze(analyzer, make_request("GET", "https://bat.bing.com/p/action/5713399.js"), "script")
    has(a, "project_key", "5713399", "path.tag_id")
