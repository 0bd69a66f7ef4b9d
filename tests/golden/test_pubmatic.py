"""Golden tests: PubMatic requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/pubmatic.ts@b0189485): OpenRTB to hbopenbid.pubmatic.com
/translator and ow.pubmatic.com, and the AdServer cookie syncs."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "pubmatic"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_translator(analyzer):
    a = analyze(analyzer, make_request("POST", "https://hbopenbid.pubmatic.com/translator?source=prebid-client",
                                       compact_json(openrtb_bid_request()),
                                       [JSON_CT, ("Cookie", "KADUSERCOOKIE=4C6F2E3A-9B8D-4E1F-A2C3-D4E5F6A7B8C9")]),
                "openrtb")
    assert_openrtb_findings(a)
    has(a, "browser_id", "4C6F2E3A-9B8D-4E1F-A2C3-D4E5F6A7B8C9", "cookie.KADUSERCOOKIE")


def test_spug_sync(analyzer):
    a = analyze(analyzer, make_request("GET", "https://simage2.pubmatic.com/AdServer/SPug?partnerID=123&gdpr=1"
                                              "&gdpr_consent=CQH2gAAQ"), "user_sync")
    has(a, "project_key", "123", "query.partnerID")
    has(a, "consent_state", "CQH2gAAQ", "query.gdpr_consent")
