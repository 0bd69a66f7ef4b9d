"""Golden tests: Index Exchange requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/indexexchange.ts@b0189485): OpenRTB to htlb.casalemedia.com
and user matching whose cb parameter is a second query string."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "index_exchange"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_openrtb(analyzer):
    a = analyze(analyzer, make_request("POST", "https://htlb.casalemedia.com/openrtb/pbjs?s=731802&v=8.1&ac=j&sd=1",
                                       compact_json(openrtb_bid_request()),
                                       [JSON_CT, ("Cookie", "CMID=ZmH3rwAAAAAh8wAAhj2lAA~~")]), "openrtb")
    assert_openrtb_findings(a)
    has(a, "project_key", "731802", "query.s")
    has(a, "browser_id", "ZmH3rwAAAAAh8wAAhj2lAA~~", "cookie.CMID")


def test_usermatch_with_nested_query(analyzer):
    cb = urlencode({"obUid": "ob-77aa", "gdpr_consent": "CQH2gAAQ", "gpp": "DBABMA~"})
    a = analyze(analyzer, make_request("GET", "https://ssum-sec.casalemedia.com/usermatchredir?"
                                       + urlencode({"s": "194962", "cb": cb, "google_gid": "CAESEIx9"})), "user_sync")
    has(a, "other_id", "ob-77aa", "query.cb.obUid")
    has(a, "consent_state", "DBABMA~", "query.cb.gpp")
    has(a, "other_id", "CAESEIx9", "query.google_gid")
