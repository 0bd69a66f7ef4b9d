"""Golden tests: Media.net requests in the shape TrackHAR documents
(tweaselORG/TrackHAR src/adapters/media-net.ts@b0189485): OpenRTB with Media.net's ext
(customer id, user ids from ID modules, consent) and the visitor-id cookie."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "media_net"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_prebid(analyzer):
    body = openrtb_bid_request(ext={"customer_id": "8CU2T3HV4", "gdpr_consent_string": "CQH2gAAQ",
                                    "user_id": {"pubcid": "f1e2d3c4-pubcid", "id5id": {"uid": "ID5*mnet"}}})
    body["device"]["screen"] = {"w": 1920, "h": 1080}
    a = analyze(analyzer, make_request("POST", "https://prebid.media.net/rtb/prebid?cid=8CU2T3HV4", compact_json(body),
                                       [JSON_CT, ("Cookie", "visitor-id=mnet-visitor-3f2e")]), "prebid")
    assert_openrtb_findings(a)
    has(a, "project_key", "8CU2T3HV4", "query.cid")
    has(a, "other_id", "ID5*mnet", "body.ext.user_id.id5id.uid")
    has(a, "consent_state", "CQH2gAAQ", "body.ext.gdpr_consent_string")
    has(a, "browser_id", "mnet-visitor-3f2e", "cookie.visitor-id")
