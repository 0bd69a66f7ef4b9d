"""Golden tests: Taboola Pixel hits in the shape of public copies of its code
(trc.taboola.com/<id>/log/3/unip?en=...), its OpenRTB header bid and video requests as
TrackHAR documents them (tweaselORG/TrackHAR src/adapters/taboola.ts@b0189485)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "taboola"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_pixel_event(analyzer):
    query = {"en": "make_purchase", "revenue": "89.00", "currency": "EUR", "orderid": "TB-4411",
             "item-url": "https://shop.example/thanks", "tim": "1767225600000"}
    a = analyze(analyzer, make_request("GET", "https://trc.taboola.com/1496008/log/3/unip?" + urlencode(query),
                                       headers=[("Cookie", "t_gid=6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d-tuctd4e1f2a")]),
                "pixel")
    has(a, "project_key", "1496008", "path.publisher")
    has(a, "event_name", "make_purchase", "query.en")
    has(a, "revenue", "89.00", "query.revenue")
    has(a, "page_url", "https://shop.example/thanks", "query.item-url")
    has(a, "browser_id", "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d-tuctd4e1f2a", "cookie.t_gid")


def test_header_bid_and_video(analyzer):
    a = analyze(analyzer, make_request("POST", "https://display.bidder.taboola.com/OpenRTB/TaboolaHB/auction",
                                       compact_json(openrtb_bid_request()), [JSON_CT]), "hb_auction")
    assert_openrtb_findings(a)
    a = analyze(analyzer, make_request("GET", "https://wf.taboola.com/VideoBidRequestHandlerServlet?pubid=news-pub"
                                              "&cirf=https%3A%2F%2Fnews.example%2Fv"), "video_and_beacon")
    has(a, "project_key", "news-pub", "query.pubid")
    has(a, "page_url", "https://news.example/v", "query.cirf")
