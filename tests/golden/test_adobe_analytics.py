"""Golden tests: Adobe Analytics hits (AEP Mobile POST form with context data, AppMeasurement GET), Edge Network and ECID service."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import FORM_CT, assert_finding_at as assert_finding, compact_json, labels, make_request, summary

TRACKER = "adobe_analytics"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


@pytest.fixture(scope="module")
def analyzer():
    loaded, problems = load_rules()
    assert [p for p in problems if TRACKER in p.source] == []
    return Analyzer(loaded)


@pytest.fixture
def analyze(analyzer) -> Callable[[Request], Analysis]:
    def run(request: Request) -> Analysis:
        analysis = analyzer.analyze(request)
        assert analysis is not None, f"{request.method} {request.url} was not recognised"
        return analysis

    return run


def assert_decoded(a: Analysis, endpoint: str, match_via: str = "host") -> None:
    got = (a.tracker, a.endpoint, a.status, a.error, a.match_via)
    assert got == (TRACKER, endpoint, "decoded", "", match_via), summary(a)


ECID = "12345678901234567890123456789012345678"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def mobile_hit_body() -> str:
    """aepsdk-analytics-android AnalyticsRequestSerializer.kt@c9e67af: `ndh=1`, then the
    context data nested as `&c.&a.&AppID=...&.a&.c`, then mid, ce, t, pageName, pe/pev2."""
    parts = ["ndh=1", "c.", "a.", "AppID=Example%20Bank%205.4.0%20(540)", "CarrierName=Vodafone",
             "DeviceName=SM-S918B", "OSVersion=Android%2014", "Resolution=1440x3088", "locale=en-GB",
             "LaunchEvent=LaunchEvent", "Launches=12", "DaysSinceFirstUse=40", "HourOfDay=10", "DayOfWeek=5",
             "RunMode=Application", f"adid={AAID}", ".a", "account_type=premium", ".c",
             f"mid={ECID}", "ce=UTF-8", "t=00%2F00%2F0000%2000%3A00%3A00%200%20-60", "ts=1767225600",
             "pageName=Accounts%20Overview", "cp=foreground", "aamb=j8Odv6LonN4r3an7LhD3WZrU1bUpAkFkkiY1ncBR96t2PTI",
             "aamlh=6", "vid=bank-user-31"]
    return "&".join(parts)


def test_mobile_lifecycle_hit_post(analyze):
    req = make_request("POST", "https://examplebank.sc.omtrdc.net/b/ss/exbankprod,exbankglobal/0/JAVA-3.0.2-AN/s48213756",
                       mobile_hit_body(), [FORM_CT])
    a = analyze(req)
    assert_decoded(a, "hit")
    assert_finding(a, "project_key", "exbankprod,exbankglobal", "path.rsid")
    assert_finding(a, "installation_id", ECID, "body.mid")
    assert_finding(a, "user_id", "bank-user-31", "body.vid")
    assert_finding(a, "app_id", "Example Bank 5.4.0 (540)", "body.AppID")
    assert_finding(a, "device_model", "SM-S918B", "body.DeviceName")
    assert_finding(a, "advertising_id", AAID, "body.adid")
    assert_finding(a, "screen_name", "Accounts Overview", "body.pageName")
    assert_finding(a, "custom_property", "premium", "body.account_type")
    assert a.app == "Example Bank 5.4.0 (540)"


def test_every_lifecycle_key_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("POST", "https://examplebank.sc.omtrdc.net/b/ss/exbankprod/0/JAVA-3.0.2-AN/s1",
                             mobile_hit_body(), [FORM_CT]))
    got = {k: v for k, v in labels(a).items() if k != "body.account_type"}
    assert "custom_property" not in got.values(), got


def test_appmeasurement_get(analyze):
    """AppMeasurement.js: GET /b/ss/<rsid>/1/JS-2.x/s<random>?AQB=1&ndh=1&pf=1&t=...&pageName&g&r&mid&...&AQE=1"""
    query = urlencode({"AQB": "1", "ndh": "1", "pf": "1", "t": "1/0/2026 10:00:00 4 -60", "mid": ECID,
                       "pageName": "home", "g": "https://www.shop.example/", "r": "https://www.google.com/",
                       "events": "event1,prodView", "v1": "campaign-77", "c2": "logged-in", "s": "1920x1080",
                       "bw": "1600", "bh": "900", "AQE": "1"})
    a = analyze(make_request("GET", f"https://smetrics.shop.example.2o7.net/b/ss/shopprod/1/JS-2.22.0/s9876?{query}"))
    assert_decoded(a, "hit")
    assert_finding(a, "page_url", "https://www.shop.example/", "query.g")
    assert_finding(a, "referrer", "https://www.google.com/", "query.r")
    assert_finding(a, "viewport_width", "1600", "query.bw")
    assert_finding(a, "custom_property", "campaign-77", "query.v1")


def test_edge_interact(analyze):
    body = {"events": [{"xdm": {
        "eventType": "web.webpagedetails.pageViews", "timestamp": "2026-01-01T00:00:00Z", "_id": "e-1",
        "identityMap": {"ECID": [{"id": ECID, "authenticatedState": "ambiguous", "primary": True}]},
        "web": {"webPageDetails": {"URL": "https://www.shop.example/cart", "name": "cart"},
                "webReferrer": {"URL": "https://www.google.com/"}},
        "device": {"screenHeight": 1080, "screenWidth": 1920, "screenOrientation": "landscape"},
        "environment": {"type": "browser", "browserDetails": {"viewportWidth": 1600, "viewportHeight": 900},
                        "_dc": {"language": "en-GB"}},
        "placeContext": {"localTime": "2026-01-01T10:00:00.000+01:00", "localTimezoneOffset": -60},
        "implementationDetails": {"name": "https://ns.adobe.com/experience/alloy", "version": "2.24.0"}},
        "data": {"loyalty": "gold"}}], "meta": {"state": {"domain": "shop.example"}}}
    a = analyze(make_request("POST", "https://edge.adobedc.net/ee/v1/interact?configId=ebebf826-a01f-4458-8cec-ef61de241c93",
                             compact_json(body), [("Content-Type", "text/plain")]))
    assert_decoded(a, "edge")
    assert_finding(a, "installation_id", ECID, "body.events[0].xdm.identityMap.ECID[0].id")
    assert_finding(a, "page_url", "https://www.shop.example/cart", "body.events[0].xdm.web.webPageDetails.URL")
    assert_finding(a, "project_key", "ebebf826-a01f-4458-8cec-ef61de241c93", "query.configId")
    assert_finding(a, "custom_property", "gold", "body.events[0].data.loyalty")


def test_visitor_id_service(analyze):
    a = analyze(make_request("GET", f"https://dpm.demdex.net/id?d_visid_ver=5.5.0&d_fieldgroup=MC&d_rtbd=json&d_ver=2"
                             f"&d_orgid=ABC123%40AdobeOrg&d_mid={ECID}"))
    assert_decoded(a, "visitor_id")
    assert_finding(a, "installation_id", ECID, "query.d_mid")


def test_lookalike_host_is_not_adobe(analyzer):
    a = analyzer.analyze(make_request("GET", "https://sc.omtrdc.net.example.org/b/ss/x/1/JS/s1?ndh=1"))
    assert a is None or a.tracker != TRACKER
