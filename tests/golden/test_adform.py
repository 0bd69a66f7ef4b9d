"""Golden tests: Adform requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/adform.ts@b0189485) and Omnibug's provider
(MisterPhilip/omnibug src/providers/Adform.js@ce9a0aac): TrackPoint with identity partners'
eid_<source>_<n> ids, OpenRTB, cookie matching."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "adform"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_trackpoint(analyzer):
    query = {"pm": "2867419", "ADFPageName": "Checkout|Payment", "loc": "https://shop.example/pay", "ADFtpmode": "4",
             "CPref": "https://shop.example/cart", "eid_liveramp_1": "Xi1-browser", "eid_liveramp_2": "Xi1-device",
             "eid_liveramp_3": "Xi1-user", "gdpr": "1", "gdpr_consent": "CQH2gAAQ", "rnd": "0.271"}
    a = analyze(analyzer, make_request("GET", "https://track.adform.net/Serving/TrackPoint/?" + urlencode(query),
                                       headers=[("Cookie", "uid=4392771920304050607")]), "trackpoint")
    has(a, "project_key", "2867419", "query.pm")
    has(a, "screen_name", "Checkout|Payment", "query.ADFPageName")
    has(a, "page_url", "https://shop.example/pay", "query.loc")
    has(a, "browser_id", "Xi1-browser", "query.eid_liveramp_1")
    has(a, "device_id", "Xi1-device", "query.eid_liveramp_2")
    has(a, "user_id", "Xi1-user", "query.eid_liveramp_3")
    has(a, "browser_id", "4392771920304050607", "cookie.uid")


def test_openrtb(analyzer):
    a = analyze(analyzer, make_request("POST", "https://adx.adform.net/adx/openrtb", compact_json(openrtb_bid_request()),
                                       [JSON_CT]), "openrtb")
    assert_openrtb_findings(a)
