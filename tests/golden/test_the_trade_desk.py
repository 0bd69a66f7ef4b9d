"""Golden tests: The Trade Desk universal pixel in the shape of Omnibug's provider
(MisterPhilip/omnibug src/providers/TheTradeDeskUniversal.js@ce9a0aac), cookie matching, and
an OpenRTB bid from Prebid.js's ttd adapter."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "the_trade_desk"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_universal_pixel(analyzer):
    query = {"adv": "k4l5m6n", "ref": "https://shop.example/thanks", "upid": "p7q8r9s", "upv": "1.1.0", "v": "59.90",
             "vf": "EUR", "orderid": "ORD-8812", "td1": "sku-1,sku-2", "gdpr": "1", "gdpr_consent": "CQH2gAAQ"}
    a = analyze(analyzer, make_request("GET", "https://insight.adsrvr.org/track/up?" + urlencode(query),
                                       headers=[("Cookie", "TDID=3f9c1e2d-8b7a-4c6d-9e0f-1a2b3c4d5e6f")]), "pixel")
    has(a, "project_key", "k4l5m6n", "query.adv")
    has(a, "page_url", "https://shop.example/thanks", "query.ref")
    has(a, "revenue", "59.90", "query.v")
    has(a, "custom_property", "sku-1,sku-2", "query.td1")
    has(a, "browser_id", "3f9c1e2d-8b7a-4c6d-9e0f-1a2b3c4d5e6f", "cookie.TDID")


def test_match_and_bid(analyzer):
    a = analyze(analyzer, make_request("GET", "https://match.adsrvr.org/track/cmf/generic?ttd_pid=pubmatic&ttd_tpi=1",
                                       headers=[("Cookie", "TDID=3f9c1e2d-8b7a-4c6d-9e0f-1a2b3c4d5e6f")]), "match")
    has(a, "project_key", "pubmatic", "query.ttd_pid")
    a = analyze(analyzer, make_request("POST", "https://direct.adsrvr.org/bid/bidder/supply-77",
                                       compact_json(openrtb_bid_request()), [JSON_CT]), "bid")
    assert_openrtb_findings(a)
