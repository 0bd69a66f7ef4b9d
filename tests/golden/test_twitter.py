"""Golden tests: X Pixel hits in the shape of the captured uwt.js requests that Omnibug's
Twitter provider tests (MisterPhilip/omnibug test/providers/Twitter.js@ce9a0aac): the same
query to analytics.twitter.com and t.co, events as JSON."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "twitter"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_purchase_on_both_domains(analyzer):
    query = urlencode({"p_id": "Twitter", "p_user_id": "0", "txn_id": "o4k2x",
                       "events": compact_json([["purchase", {"value": "120.00", "email_address": "x.buyer@example.org"}]]),
                       "tw_sale_amount": "120.00", "tw_order_quantity": "3", "tw_iframe_status": "0",
                       "tpx_cb": "twttr.conversion.loadPixels", "tw_document_href": "https://shop.example/done",
                       "twclid": "2-7v1u8q3z0k5s4yl2m9fj0x1pa"})
    for host in ("analytics.twitter.com", "t.co"):
        a = analyze(analyzer, make_request("GET", f"https://{host}/i/adsct?{query}",
                                           headers=[("Cookie", 'personalization_id="v1_Zk2Xq0mN3b5Jc8A=="')]), "adsct")
        has(a, "project_key", "o4k2x", "query.txn_id")
        has(a, "event_name", "purchase", "query.events[0][0]")
        has(a, "email", "x.buyer@example.org", "query.events[0][1].email_address", detector="key_name")
        has(a, "revenue", "120.00", "query.tw_sale_amount")
        has(a, "page_url", "https://shop.example/done", "query.tw_document_href")
        has(a, "other_id", "2-7v1u8q3z0k5s4yl2m9fj0x1pa", "query.twclid")
        has(a, "browser_id", "v1_Zk2Xq0mN3b5Jc8A==", "cookie.personalization_id")
