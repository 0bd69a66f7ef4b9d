"""Golden tests: Outbrain Pixel hits in the shape of Omnibug's captured requests
(MisterPhilip/omnibug test/providers/Outbrain.js@ce9a0aac) and Zemanta's OpenRTB bid
(tweaselORG/TrackHAR src/adapters/outbrain.ts@b0189485)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "outbrain"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_unified_pixel_purchase(analyzer):
    query = {"orderValue": "12.25", "currency": "USD", "orderId": "abc123", "customer_email": "ob.buyer@example.org",
             "marketerId": "004e6e2a8dddb574d007a0de6dfc517063", "obApiVersion": "1.0-gtm", "obtpVersion": "1.5.2",
             "name": "purchase", "dl": "https://shop.example/thanks", "optOut": "false", "bust": "08710561393380354"}
    a = analyze(analyzer, make_request("GET", "https://tr.outbrain.com/unifiedPixel?" + urlencode(query),
                                       headers=[("Cookie", "obuid=7e5a1c3b-2d4f-4b6a-8c9e-0f1a2b3c4d5e")]), "pixel")
    has(a, "project_key", "004e6e2a8dddb574d007a0de6dfc517063", "query.marketerId")
    has(a, "event_name", "purchase", "query.name")
    has(a, "revenue", "12.25", "query.orderValue")
    has(a, "page_url", "https://shop.example/thanks", "query.dl")
    has(a, "email", "ob.buyer@example.org", "query.customer_email", detector="key_name")
    has(a, "browser_id", "7e5a1c3b-2d4f-4b6a-8c9e-0f1a2b3c4d5e", "cookie.obuid")


def test_zemanta_bid(analyzer):
    a = analyze(analyzer, make_request("POST", "https://b1h-euc1.zemanta.com/api/bidder/prebid/bid/",
                                       compact_json(openrtb_bid_request()), [JSON_CT]), "zemanta_bid")
    assert_openrtb_findings(a)
