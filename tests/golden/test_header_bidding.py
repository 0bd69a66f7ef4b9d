"""Golden tests: header-bidding requests of the SSPs and DSPs whose Prebid.js adapters
(prebid.js 11.36.0 on npm, dist/src/modules/<bidder>BidAdapter.js) build them: Xandr's ut/v3
JSON, Magnite's FastLane query, Equativ's prebid/v1 JSON, Media.net's own JSON, and the
OpenRTB 2.x bodies of PubMatic (gzip without Content-Encoding), OpenX, Index Exchange,
Equativ, Adform and The Trade Desk. Shapes and key names follow those adapters (the e2e test
tests/e2e/test_browser_adtech.py runs them for real); sync endpoints follow TrackHAR's
observations, cited in each rule."""

from __future__ import annotations

import base64
import gzip
from urllib.parse import quote, urlencode

import pytest
from golden_support import (JSON_CT, OPENRTB_PAGE, analyzer_fixture, assert_finding_at as has, assert_openrtb_findings,
                            compact_json, labels, make_request, openrtb_bid_request, summary)

analyzer = analyzer_fixture()

PAGE = "https://news.example.org/health/article-42"
TCF = "CQg0ldenTCFstringAAAAAAAAAAAAAAAAAAAAAA"
HEM = "4f0c6a2f1e9b3d7c8a5e2b1f0d9c8b7a6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36"
TEXT_CT = ("Content-Type", "text/plain")


def openrtb(**extra) -> dict:
    """golden_support's Prebid-style OpenRTB request, plus the first-party data and device
    id these exchanges' adapters forward (user.yob, gender, keywords; device.ifa)."""
    request = openrtb_bid_request(**extra)
    request["user"] |= {"yob": 1979, "gender": "M", "keywords": "cardiology"}
    request["device"]["ifa"] = "38400000-8cf0-11bd-b23e-10b96e40000d"
    request["imp"][0]["ext"] = {"gpid": "/9999/news/top"}
    return request


OPENRTB_ENDPOINTS = [
    ("pubmatic", "translator_bid", "https://hbopenbid.pubmatic.com/translator?source=prebid-client&gzip=1", True,
     {"ext": {"wrapper": {"wiid": "wiid-5", "wv": "prebid_prebid_11.36.0"}}}),
    ("openx", "prebid_bid", "https://rtb.openx.net/openrtbb/prebidjs", False,
     {"ext": {"bc": "hb_pb_ortb_2.0", "pv": "11.36.0", "delDomain": "news-d.openx.net"}}),
    ("index_exchange", "prebid_bid", "https://htlb.casalemedia.com/openrtb/pbjs?s=715964", False,
     {"ext": {"source": "prebid", "ixdiag": {"version": "11.36.0", "url": PAGE}}}),
    ("equativ", "openrtb_bid", "https://ssb-global.smartadserver.com/api/bid?callerId=169", False,
     {"ext": {"equativprebidjsversion": "11.36.0"}}),
    ("adform", "prebid_bid", "https://adx.adform.net/adx/openrtb", False, {"ext": {"pt": "net"}}),
    ("the_trade_desk", "prebid_bid", "https://direct.adsrvr.org/bid/bidder/newsssp", False,
     {"ext": {"ttdprebid": {"ver": "TTD-PREBID-2025.07.15", "pbjs": "11.36.0"}}}),
    ("xandr", "openrtb_bid", "https://ib.adnxs.com/openrtb2/prebid", False, {}),
    ("magnite", "prebid_server", "https://prebid-server.rubiconproject.com/openrtb2/auction", False, {}),
]


@pytest.mark.parametrize(("tracker", "endpoint", "url", "gzipped", "extra"), OPENRTB_ENDPOINTS,
                         ids=[e[0] for e in OPENRTB_ENDPOINTS])
def test_openrtb_bid_request(analyzer, tracker, endpoint, url, gzipped, extra):
    body = compact_json(openrtb(**extra)).encode()
    a = analyzer.analyze(make_request("POST", url, gzip.compress(body) if gzipped else body, [TEXT_CT]))
    assert (a.tracker, a.endpoint, a.status, a.error) == (tracker, endpoint, "decoded", ""), summary(a)
    assert_openrtb_findings(a)
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.device.ifa")
    has(a, "birth_date", "1979", "body.user.yob")
    has(a, "gender", "M", "body.user.gender")
    has(a, "custom_property", "cardiology", "body.user.keywords")
    has(a, "browser", "Chromium", "body.device.sua.browsers[0].brand")
    has(a, "screen_name", "/9999/news/top", "body.imp[0].ext.gpid")
    assert labels(a)["body.imp[0].id"] == ""


def test_pubmatic_and_index_exchange_extras(analyzer):
    a = analyzer.analyze(make_request("POST", OPENRTB_ENDPOINTS[0][2], gzip.compress(compact_json(openrtb(
        ext={"wrapper": {"wiid": "wiid-5", "wv": "prebid_prebid_11.36.0"}})).encode()), [TEXT_CT]))
    has(a, "session_id", "wiid-5", "body.ext.wrapper.wiid")
    has(a, "sdk_version", "prebid_prebid_11.36.0", "body.ext.wrapper.wv")
    a = analyzer.analyze(make_request("POST", OPENRTB_ENDPOINTS[2][2], compact_json(openrtb(
        ext={"ixdiag": {"url": OPENRTB_PAGE + "?utm=ix"}})), [TEXT_CT]))
    has(a, "project_key", "715964", "query.s")
    has(a, "page_url", OPENRTB_PAGE + "?utm=ix", "body.ext.ixdiag.url")


def test_xandr_ut_v3(analyzer):
    body = {"tags": [{"id": 13144370, "uuid": "u-1", "gpid": "/9999/news/top",
                      "sizes": [{"width": 300, "height": 250}]}],
            "user": {"external_uid": "reader-4411", "gender": 1}, "sdk": {"source": "pbjs", "version": "11.36.0"},
            "device": {"useragent": UA, "w": 1920, "h": 1080,
                       "device_id": {"aaid": "38400000-8cf0-11bd-b23e-10b96e40000d"}},
            "app": {"appid": "com.example.news"}, "keywords": [{"key": "topic", "value": ["cardiology"]}],
            "gdpr_consent": {"consent_string": TCF, "consent_required": True},
            "referrer_detection": {"rd_ref": quote(PAGE, safe=""), "rd_top": True, "rd_stk": quote(PAGE, safe="")},
            "eids": [{"source": "uidapi.com", "id": HEM}]}
    a = analyzer.analyze(make_request("POST", "https://ib.adnxs.com/ut/v3/prebid", compact_json(body), [TEXT_CT]))
    assert (a.tracker, a.endpoint, a.status) == ("xandr", "ut_bid", "decoded"), summary(a)
    has(a, "project_key", "13144370", "body.tags[0].id")
    has(a, "user_id", "reader-4411", "body.user.external_uid")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.device.device_id.aaid")
    has(a, "app_id", "com.example.news", "body.app.appid")
    has(a, "custom_property", "cardiology", "body.keywords[0].value[0]")
    has(a, "consent_state", TCF, "body.gdpr_consent.consent_string")
    has(a, "page_url", PAGE, "body.referrer_detection.rd_ref")  # percent-decoded by the rule
    has(a, "other_id", HEM, "body.eids[0].id")
    has(a, "sdk_version", "11.36.0", "body.sdk.version")


def test_magnite_fastlane(analyzer):
    query = urlencode({"account_id": "14062", "site_id": "70608", "zone_id": "498816", "size_id": "15",
                       "gdpr": "1", "gdpr_consent": TCF, "eid_uidapi.com": f"{HEM}^3^^^^^", "rf": PAGE,
                       "kw": "health,diet", "tg_v.yob": "1979", "tg_v.gender": "M", "tg_i.page": PAGE,
                       "tk_flint": "pbjs_lite_v11.36.0", "p_screen_res": "1920x1080", "m_ch_platform": "Windows",
                       "rand": "0.41"})
    a = analyzer.analyze(make_request("GET", f"https://fastlane.rubiconproject.com/a/api/fastlane.json?{query}"))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("magnite", "fastlane", "decoded", ""), summary(a)
    has(a, "project_key", "14062", "query.account_id")
    has(a, "project_key", "70608", "query.site_id")
    has(a, "other_id", HEM, 'query["eid_uidapi.com"].id')  # id^atype^... split by the rule
    has(a, "birth_date", "1979", 'query["tg_v.yob"]')
    has(a, "gender", "M", 'query["tg_v.gender"]')
    has(a, "page_url", PAGE, "query.rf")  # also tg_i.page: one finding per type and value
    has(a, "screen_resolution", "1920x1080", "query.p_screen_res")
    has(a, "consent_state", TCF, "query.gdpr_consent")
    assert labels(a)["query.rand"] == ""


def test_equativ_prebid_v1(analyzer):
    body = {"siteid": 411951, "pageid": 1383641, "formatid": 84313, "tagId": "slot-top", "pageDomain": PAGE,
            "prebidVersion": "11.36.0", "gdpr_consent": TCF, "gdpr": True, "appName": "News",
            "eids": [{"source": "id5-sync.com", "uids": [{"id": "ID5*g0lden", "atype": 1}]}]}
    a = analyzer.analyze(make_request("POST", "https://prg.smartadserver.com/prebid/v1", compact_json(body), [JSON_CT]))
    assert (a.tracker, a.endpoint, a.status) == ("equativ", "prebid_v1", "decoded"), summary(a)
    has(a, "project_key", "411951", "body.siteid")
    has(a, "page_url", PAGE, "body.pageDomain")
    has(a, "other_id", "ID5*g0lden", "body.eids[0].uids[0].id")
    has(a, "consent_state", TCF, "body.gdpr_consent")
    has(a, "app_name", "News", "body.appName")


def test_medianet(analyzer):
    body = {"site": {"domain": "news.example.org", "page": PAGE, "topMostLocation": PAGE, "isTop": True},
            "ext": {"customer_id": "8CUV090", "prebid_version": "v11.36.0", "gdpr_consent_string": TCF,
                    "screen": {"w": 1920, "h": 1080}, "user_id": {"pubcid": "pubcid-1a2b"}},
            "imp": [{"id": "i1", "all": {"cid": "8CUV090", "crid": "358025426"}, "ext": {"adUnitCode": "top"}}],
            "ortb2": {"user": {"yob": 1979, "ext": {"eids": [{"source": "uidapi.com", "uids": [{"id": HEM}]}]}},
                      "device": {"ua": UA}}}
    a = analyzer.analyze(make_request("POST", "https://prebid.media.net/rtb/prebid?cid=8CUV090", compact_json(body),
                                      [TEXT_CT]))
    assert (a.tracker, a.endpoint, a.status) == ("media_net", "prebid_bid", "decoded"), summary(a)
    has(a, "project_key", "8CUV090", "query.cid")
    has(a, "page_url", PAGE, "body.site.page")
    has(a, "consent_state", TCF, "body.ext.gdpr_consent_string")
    has(a, "other_id", "pubcid-1a2b", "body.ext.user_id.pubcid")
    has(a, "other_id", HEM, "body.ortb2.user.ext.eids[0].uids[0].id")
    has(a, "birth_date", "1979", "body.ortb2.user.yob")


@pytest.mark.parametrize(("tracker", "endpoint", "url", "path", "data_type", "value"), [
    ("xandr", "user_sync", "https://ib.adnxs.com/setuid?entity=78&code=partner-uid-9&gdpr_consent=" + TCF,
     "query.code", "other_id", "partner-uid-9"),
    ("magnite", "user_sync", "https://pixel.rubiconproject.com/exchange/sync.php?p=pbs-news&uid=partner-uid-9",
     "query.uid", "other_id", "partner-uid-9"),
    ("pubmatic", "user_sync", "https://image8.pubmatic.com/AdServer/ImgSync?p=156209&gdpr_consent=" + TCF,
     "query.gdpr_consent", "consent_state", TCF),
    ("openx", "user_sync", "https://u.openx.net/w/1.0/sd?id=537072949&val=partner-uid-9&ttd_puid=ttd-77",
     "query.ttd_puid", "other_id", "ttd-77"),
    ("index_exchange", "user_match", "https://ssum-sec.casalemedia.com/usermatch?s=184665&cb=" +
     quote("obUid=ob-55&gdpr_consent=" + TCF, safe=""), "query.cb.obUid", "other_id", "ob-55"),
    ("equativ", "user_sync", "https://rtb-csync.smartadserver.com/redir/?partnerid=95&partneruserid=partner-uid-9",
     "query.partneruserid", "other_id", "partner-uid-9"),
    ("adform", "trackpoint", "https://track.adform.net/Serving/TrackPoint/?pm=2867419&ADFPageName=Checkout&loc=" +
     quote(PAGE, safe=""), "query.pm", "project_key", "2867419"),
    ("the_trade_desk", "universal_pixel", "https://insight.adsrvr.org/track/up?adv=abc123&upid=px9&ref=" +
     quote(PAGE, safe="") + "&td1=" + HEM, "query.adv", "project_key", "abc123"),
    ("the_trade_desk", "user_sync", "https://match.adsrvr.org/track/usersync?us_privacy=1YNN&gdpr=1&ust=image",
     "query.us_privacy", "consent_state", "1YNN"),
])
def test_sync_and_pixel_endpoints(analyzer, tracker, endpoint, url, path, data_type, value):
    a = analyzer.analyze(make_request("GET", url))
    assert (a.tracker, a.endpoint, a.status, a.error) == (tracker, endpoint, "decoded", ""), summary(a)
    has(a, data_type, value, path)


def test_id5_fetch_opens_partner_data(analyzer):
    """ID5's `pd`: base64 of a query string whose numeric keys carry the site's hashed
    email (1), page (8) and IP address (10), as its partner-data documentation asks."""
    pd = base64.b64encode(f"1={HEM}&8={quote(PAGE, safe='')}&10=203.0.113.9".encode()).decode()
    body = {"partner": 173, "gdpr": 1, "gdpr_consent": TCF, "nbPage": 2, "o": "pbjs", "tml": PAGE, "u": PAGE,
            "ref": "https://www.google.com/", "v": "11.36.0", "pd": pd, "s": "sig-from-before"}
    a = analyzer.analyze(make_request("POST", "https://id5-sync.com/gm/v3", compact_json(body), [TEXT_CT]))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("id5", "fetch", "decoded", ""), summary(a)
    has(a, "project_key", "173", "body.partner")
    has(a, "hashed_email", HEM, "body.pd.1")
    has(a, "public_ip", "203.0.113.9", "body.pd.10")
    has(a, "page_url", PAGE, "body.tml")
    has(a, "consent_state", TCF, "body.gdpr_consent")
    has(a, "other_id", "sig-from-before", "body.s")
    config = {"name": "id5Id", "params": {"partner": 173, "pd": pd}, "storage": {"type": "html5", "name": "id5id"},
              "bounce": True}
    a = analyzer.analyze(make_request("POST", "https://id5-sync.com/api/config/prebid", compact_json(config),
                                      [TEXT_CT]))
    assert (a.tracker, a.endpoint, a.status) == ("id5", "config", "decoded"), summary(a)
    has(a, "hashed_email", HEM, "body.params.pd.1")
