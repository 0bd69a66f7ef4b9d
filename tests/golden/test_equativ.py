"""Golden tests: Equativ (Smart AdServer) requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/equativ.ts@b0189485): prg.smartadserver.com/prebid/v1,
OpenRTB to ssb-global, and the cookie syncs."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "equativ"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_prebid_v1(analyzer):
    body = {"siteid": 301234, "pageid": 1098765, "formatid": 84313, "pageDomain": "https://news.example/a",
            "ckid": 1234567890123456789, "eids": [{"source": "id5-sync.com", "uids": [{"id": "ID5*equativ", "atype": 1}]}],
            "gdpr": True, "gdpr_consent": "CQH2gAAQ", "timeout": 1000}
    a = analyze(analyzer, make_request("POST", "https://prg.smartadserver.com/prebid/v1", compact_json(body),
                                       [JSON_CT, ("Cookie", "pid=5123456789012345678; pbw=%7B%22b%22%3A1%7D")]), "prebid")
    has(a, "project_key", "301234", "body.siteid")
    has(a, "page_url", "https://news.example/a", "body.pageDomain")
    has(a, "other_id", "ID5*equativ", "body.eids[0].uids[0].id")
    has(a, "other_id", "1234567890123456789", "body.ckid")
    has(a, "browser_id", "5123456789012345678", "cookie.pid")


def test_openrtb_and_sync(analyzer):
    a = analyze(analyzer, make_request("POST", "https://ssb-global.smartadserver.com/api/bid",
                                       compact_json(openrtb_bid_request()), [JSON_CT]), "openrtb")
    assert_openrtb_findings(a)
    a = analyze(analyzer, make_request("GET", "https://rtb-csync.smartadserver.com/redir/?partnerid=136"
                                              "&partneruserid=partner-u-42&gdpr_consent=CQH2gAAQ"), "user_sync")
    has(a, "other_id", "partner-u-42", "query.partneruserid")
