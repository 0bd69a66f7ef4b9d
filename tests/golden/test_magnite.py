"""Golden tests: Magnite (Rubicon Project) requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/magnite.ts@b0189485): Prebid Server's OpenRTB auction with
its base64-JSON uids cookie, FastLane's query and the cookie sync."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "magnite"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_prebid_server_auction_with_uids_cookie(analyzer):
    uids = base64.b64encode(compact_json({"tempUIDs": {"appnexus": {"uid": "5739871120345567890",
                                                                    "expires": "2027-01-01T00:00:00Z"}}}).encode()).decode()
    a = analyze(analyzer, make_request("POST", "https://prebid-server.rubiconproject.com/openrtb2/auction",
                                       compact_json(openrtb_bid_request()), [JSON_CT, ("Cookie", f"uids={uids}")]),
                "auction")
    assert_openrtb_findings(a)
    has(a, "other_id", "5739871120345567890", "cookie.uids.tempUIDs.appnexus.uid")


def test_fastlane(analyzer):
    query = {"account_id": "14062", "site_id": "70608", "zone_id": "498816", "size_id": "15", "kw": "politics,eu",
             "eid_pubcid.org": "f1e2d3c4-pubcid", "ppuid": "pub-user-31337", "m_ch_platform": "Windows",
             "m_ch_ua": '"Chromium";v="142"', "gdpr": "1", "gdpr_consent": "CQH2gAAQ", "rf": "https://news.example/a",
             "p_screen_res": "1920x1080"}
    a = analyze(analyzer, make_request("GET", "https://fastlane.rubiconproject.com/a/api/fastlane.json?"
                                       + urlencode(query)), "fastlane")
    has(a, "project_key", "70608", "query.site_id")
    has(a, "user_id", "pub-user-31337", "query.ppuid")
    has(a, "other_id", "f1e2d3c4-pubcid", 'query["eid_pubcid.org"]')
    has(a, "os_name", "Windows", "query.m_ch_platform")
    has(a, "screen_resolution", "1920x1080", "query.p_screen_res")
    has(a, "search_term", "politics,eu", "query.kw")


def test_sync(analyzer):
    a = analyze(analyzer, make_request("GET", "https://pixel.rubiconproject.com/exchange/sync.php?p=pbs-appnexus"
                                              "&gdpr_consent=CQH2gAAQ&google_gid=CAESEHg2"), "user_sync")
    has(a, "other_id", "CAESEHg2", "query.google_gid")
