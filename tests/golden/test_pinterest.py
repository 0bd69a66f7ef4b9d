"""Golden tests: Pinterest Tag hits in the shape of the captured requests that Omnibug's
Pinterest provider tests (MisterPhilip/omnibug test/providers/Pinterest.js@ce9a0aac): the JSON
parameters ed, pd and ad inside the query."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "pinterest"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
HEM = hashlib.sha256(b"pin.buyer@example.org").hexdigest()


def test_checkout_with_enhanced_match(analyzer):
    query = {"event": "checkout", "tid": "2612345678901",
             "ed": compact_json({"value": 116, "order_quantity": 2, "currency": "USD", "order_id": "ORD-5521",
                                 "line_items": [{"product_name": "Pillows (Set of 2)", "product_id": "11"}]}),
             "pd": compact_json({"em": HEM, "np": "shopify"}),
             "ad": compact_json({"loc": "https://shop.example/checkout", "ref": "https://pin.example/", "if": False,
                                 "sh": 1440, "sw": 2560}),
             "cb": "1583538016603"}
    a = analyze(analyzer, make_request("GET", "https://ct.pinterest.com/v3/?" + urlencode(query),
                                       headers=[("Cookie", "_pinterest_ct_ua=TWc9PSZGZ2xhYzhR; _epik=dj0yJnU9Wm")]),
                "event")
    has(a, "project_key", "2612345678901", "query.tid")
    has(a, "event_name", "checkout", "query.event")
    has(a, "hashed_email", HEM, "query.pd.em")
    has(a, "revenue", "116", "query.ed.value")
    has(a, "custom_property", "ORD-5521", "query.ed.order_id")
    has(a, "custom_property", "Pillows (Set of 2)", "query.ed.line_items[0].product_name")
    has(a, "page_url", "https://shop.example/checkout", "query.ad.loc")
    has(a, "screen_width", "2560", "query.ad.sw")
    has(a, "browser_id", "TWc9PSZGZ2xhYzhR", "cookie._pinterest_ct_ua")


def test_user_sync(analyzer):
    a = analyze(analyzer, make_request("GET", "https://ct.pinterest.com/user/?tid=2612345678901&cb=1233538014046"),
                "event")
    has(a, "project_key", "2612345678901", "query.tid")
