"""Golden tests: Criteo requests with the parameters TrackHAR's Criteo adapter documents
(src/adapters/criteo.ts@1b480d1a: OneTag sslwidget events, user sync, in-app bidding) and
OpenRTB 2.6 bid requests as Prebid.js sends them. Criteo's own scripts are CDN-only."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "criteo"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

UID = "g0ldenCriteoUid_3f2e1d0c9b8a"
COOKIE = ("Cookie", f"uid={UID}")
PAGE = "https://shop.example.net/product/42"


def test_onetag_event_with_other_networks_ids(analyzer):
    query = urlencode({"tld": "shop.example.net", "fu": PAGE,
                       "sc": compact_json({"fbp": "fb.1.1767225600.123456789", "ttp": "ttpG0lden123"}),
                       "external_advids": compact_json([{"type": "Id5", "value": "ID5*g0ldenId5Value"}]),
                       "p0": "e=vp&p=42"})
    a = analyze(analyzer, make_request("GET", f"https://sslwidget.criteo.com/event?{query}",
                                       headers=[COOKIE, ("Referer", PAGE)]), "onetag_event")
    has(a, "page_url", PAGE, "query.fu")
    has(a, "other_id", "fb.1.1767225600.123456789", "query.sc.fbp")
    has(a, "other_id", "ttpG0lden123", "query.sc.ttp")
    has(a, "other_id", "ID5*g0ldenId5Value", "query.external_advids[0].value")
    has(a, "browser_id", UID, "cookie.uid")
    has(a, "custom_property", "e=vp&p=42", "query.p0")


def test_user_sync(analyzer):
    a = analyze(analyzer, make_request("GET", "https://gum.criteo.com/sid/json?" + urlencode(
        {"origin": "onetag", "topUrl": PAGE, "gdprString": "CPg0ldenTCF"}), headers=[COOKIE]), "user_sync")
    has(a, "page_url", PAGE, "query.topUrl")
    has(a, "consent_state", "CPg0ldenTCF", "query.gdprString")
    a = analyze(analyzer, make_request("GET", "https://dis.criteo.com/dis/usersync.aspx?" + urlencode(
        {"r": "1", "uid": "partner-uid-77", "publisher_user_id": "pub-user-5", "gdpr_consent": "CPg0ldenTCF"}),
        headers=[COOKIE]), "user_sync")
    has(a, "other_id", "partner-uid-77", "query.uid")
    has(a, "user_id", "pub-user-5", "query.publisher_user_id")


def test_prebid_openrtb_bid_request(analyzer):
    body = {"id": "req-1", "imp": [{"id": "1", "banner": {"format": [{"w": 300, "h": 250}]}}],
            "site": {"page": PAGE, "ref": "https://www.google.com/", "domain": "shop.example.net",
                     "publisher": {"id": "pub-123"}},
            "device": {"ua": "Mozilla/5.0 (X11; Linux x86_64)", "language": "de", "w": 1920, "h": 1080,
                       "geo": {"country": "DEU"}},
            "user": {"ext": {"consent": "CPg0ldenTCF",
                             "eids": [{"source": "id5-sync.com", "uids": [{"id": "ID5*eidValue", "atype": 1}]}]}},
            "regs": {"ext": {"gdpr": 1}}}
    a = analyze(analyzer, make_request("POST", "https://grid-bidder.criteo.com/openrtb_2_5/pbjs/auction/request",
                                       compact_json(body), [JSON_CT, COOKIE]), "header_bidding")
    has(a, "page_url", PAGE, "body.site.page")
    has(a, "referrer", "https://www.google.com/", "body.site.ref")
    has(a, "user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "body.device.ua")
    has(a, "other_id", "ID5*eidValue", "body.user.ext.eids[0].uids[0].id")
    has(a, "consent_state", "CPg0ldenTCF", "body.user.ext.consent")
    has(a, "project_key", "pub-123", "body.site.publisher.id")
    assert labels(a)["body.imp[0].id"] == ""


def test_inapp_bid_request(analyzer):
    body = {"sdkVersion": "6.1.0", "profileId": 235, "publisher": {"bundleId": "com.example.news", "cpId": "B-000777"},
            "user": {"deviceId": "38400000-8cf0-11bd-b23e-10b96e40000d", "deviceIdType": "gaid", "deviceOs": "android",
                     "deviceModel": "SM-A546B", "userAgent": "Mozilla/5.0 (Linux; Android 14)", "lmt": 0,
                     "ext": {"device": {"w": 1080, "h": 2340, "make": "samsung"},
                             "data": {"inputLanguage": "fr", "orientation": "Portrait", "sessionDuration": 120}}},
            "gdprConsent": {"consentData": "CPg0ldenTCF", "gdprApplies": True},
            "slots": [{"impId": "i1", "placementId": "p1"}]}
    a = analyze(analyzer, make_request("POST", "https://bidder.criteo.com/inapp/v2", compact_json(body), [JSON_CT]),
                "inapp_bidding")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.user.deviceId")
    has(a, "app_id", "com.example.news", "body.publisher.bundleId")
    has(a, "device_model", "SM-A546B", "body.user.deviceModel")
    has(a, "language", "fr", "body.user.ext.data.inputLanguage")
    has(a, "time_spent", "120", "body.user.ext.data.sessionDuration")
    has(a, "sdk_version", "6.1.0", "body.sdkVersion")
    assert a.app == "com.example.news"
