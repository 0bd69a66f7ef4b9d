"""Golden tests: Reddit Pixel hits in the shape of the captured request that Omnibug's Reddit
provider tests (MisterPhilip/omnibug test/providers/RedditPixel.js@ce9a0aac), with advanced
matching filled in."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "reddit"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
EM = hashlib.sha256(b"redditor@example.org").hexdigest()


def test_add_to_cart_with_advanced_matching(analyzer):
    query = {"ts": "1708362676211", "id": "t2_abc123z", "event": "AddToCart", "m.itemCount": "2", "m.value": "",
             "m.valueDecimal": "20", "m.currency": "USD", "m.transactionId": "", "m.customEventName": "",
             "m.products": "", "m.conversionId": "conv-88", "uuid": "c6959068-f901-4338-a393-7dda9cbd1fc3",
             "aaid": "38400000-8cf0-11bd-b23e-10b96e40000d", "em": EM, "external_id": "shop-user-41", "idfa": "",
             "integration": "reddit", "opt_out": "0", "sh": "1440", "sw": "2560", "v": "rdt_c9439d84",
             "dpm": "LDU", "dpcc": "US", "dprc": "CA"}
    a = analyze(analyzer, make_request("GET", "https://alb.reddit.com/rp.gif?" + urlencode(query)), "rp")
    has(a, "project_key", "t2_abc123z", "query.id")
    has(a, "event_name", "AddToCart", "query.event")
    has(a, "revenue", "20", 'query["m.valueDecimal"]')
    has(a, "browser_id", "c6959068-f901-4338-a393-7dda9cbd1fc3", "query.uuid")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "query.aaid")
    has(a, "hashed_email", EM, "query.em")
    has(a, "user_id", "shop-user-41", "query.external_id")
    has(a, "consent_state", "LDU", "query.dpm")
    has(a, "region", "CA", "query.dprc")
