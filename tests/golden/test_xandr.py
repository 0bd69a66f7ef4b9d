"""Golden tests: Xandr (AppNexus) requests in the shapes TrackHAR documents
(tweaselORG/TrackHAR src/adapters/microsoft.ts@b0189485): the ut/v3 JSON of Prebid.js's
AppNexus adapter, OpenRTB to /openrtb2/prebid, and cookie matching with the uuid2 cookie."""

from __future__ import annotations

from pathlib import Path

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has,
                            assert_openrtb_findings, compact_json, make_request, openrtb_bid_request)

TRACKER = "xandr"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_ut_v3_prebid(analyzer):
    body = {"tags": [{"id": 13144370, "uuid": "2c0a3e4b", "sizes": [{"width": 300, "height": 250}]}],
            "user": {"external_uid": "site-user-555"}, "sdk": {"source": "pbjs", "version": "10.20.0"},
            "referrer_detection": {"rd_ref": "https%3A%2F%2Fnews.example%2Fa", "rd_top": True, "rd_ifs": 0,
                                   "rd_stk": "https%3A%2F%2Fnews.example%2Fa", "rd_can": "https://news.example/a"},
            "gdpr_consent": {"consent_string": "CQH2gAAQH2gAAAHABBENBYFs", "consent_required": True},
            "keywords": [{"key": "section", "value": ["politics"]}],
            "eids": [{"source": "criteo.com", "id": "crto-7f3e"}],
            "device": {"useragent": "Mozilla/5.0 (Macintosh) Safari/605.1.15", "w": 1440, "h": 900}}
    req = make_request("POST", "https://ib.adnxs.com/ut/v3/prebid", compact_json(body),
                       [JSON_CT, ("Cookie", "uuid2=5739871120345567890")])
    a = analyze(analyzer, req, "ut_v3")
    has(a, "user_id", "site-user-555", "body.user.external_uid")
    has(a, "other_id", "crto-7f3e", "body.eids[0].id")
    has(a, "consent_state", "CQH2gAAQH2gAAAHABBENBYFs", "body.gdpr_consent.consent_string")
    has(a, "user_agent", "Mozilla/5.0 (Macintosh) Safari/605.1.15", "body.device.useragent")
    has(a, "screen_width", "1440", "body.device.w")
    has(a, "page_url", "https://news.example/a", "body.referrer_detection.rd_ref")  # URL-decoded by the rule
    has(a, "project_key", "13144370", "body.tags[0].id")
    has(a, "browser_id", "5739871120345567890", "cookie.uuid2")
    has(a, "sdk_version", "10.20.0", "body.sdk.version")


def test_openrtb2(analyzer):
    a = analyze(analyzer, make_request("POST", "https://ib.adnxs.com/openrtb2/prebid", compact_json(openrtb_bid_request()),
                                       [JSON_CT]), "openrtb2")
    assert_openrtb_findings(a)


def test_setuid(analyzer):
    a = analyze(analyzer, make_request("GET", "https://ib.adnxs.com/setuid?entity=42&code=partner-uid-9&gdpr=1"
                                              "&gdpr_consent=CQH2gAAQ", headers=[("Cookie", "uuid2=5739871120345567890")]),
                "user_sync")
    has(a, "user_id", "partner-uid-9", "query.code")
    has(a, "project_key", "42", "query.entity")
