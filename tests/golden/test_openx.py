"""Golden tests: OpenX requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/openx.ts@b0189485): OpenRTB from Prebid.js and cookie
matching with The Trade Desk's id."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "openx"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_prebidjs_openrtb(analyzer):
    a = analyze(analyzer, make_request("POST", "https://rtb.openx.net/openrtbb/prebidjs",
                                       compact_json(openrtb_bid_request()),
                                       [JSON_CT, ("Cookie", "i=8d2c4f6a-1b3e-4d5f-9a7c-0e2b4d6f8a1c|1767225600")]),
                "openrtb")
    assert_openrtb_findings(a)
    has(a, "browser_id", "8d2c4f6a-1b3e-4d5f-9a7c-0e2b4d6f8a1c|1767225600", "cookie.i")


def test_sd_sync_with_ttd_id(analyzer):
    a = analyze(analyzer, make_request("GET", "https://u.openx.net/w/1.0/sd?id=537072980&val=ttd-b1c2&ttd_puid=ttd-b1c2"
                                              "&gdpr_consent=CQH2gAAQ"), "user_sync")
    has(a, "other_id", "ttd-b1c2", "query.val")
