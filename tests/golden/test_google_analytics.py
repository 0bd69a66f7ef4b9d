"""Golden tests: Google Analytics hits as the tags send them.

gtag.js is closed code served by Google, so the GA4 hits below follow TrackHAR's observed
traffic (tweaselORG/TrackHAR:src/adapters/google.ts@b018948, adapter `google-analytics`) and
Google's public parameter references; the Measurement Protocol body follows Google's GA4 MP
reference; Universal Analytics hits follow the v1 parameter reference. The Firebase JS SDK
(firebase-js-sdk:packages/analytics@6f865964ba) configures gtag with `firebase_id` (the FID).
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest

from golden_support import analyze_for, summary, analyzer_fixture, assert_finding, make_request as request

TID = "G-HONEY12345"
CID = "1234567890.1767225600"
UID = "honey-user-ga-51"
SID = "1767225600"
PAGE = "https://shop.example/checkout?step=2"
REFERRER = "https://www.google.com/"
FID = "cK3mQ1xZTn2Yb8w7Vq0pRs"


analyzer = analyzer_fixture()


analyze = analyze_for("google_analytics", check_via=False)


def qs(params: list[tuple[str, str]]) -> str:
    """gtag.js builds its query with encodeURIComponent per value."""
    return "&".join(f"{k}={quote(v, safe='-_.!~*()')}" for k, v in params)


SHARED = [("v", "2"), ("tid", TID), ("gtm", "45je5ca1v9181436171za200"), ("_p", "1767225600123"),
          ("gcs", "G111"), ("gcd", "13l3l3l3l1l1"), ("npa", "0"), ("dma", "0"), ("cid", CID), ("ul", "de-de"),
          ("sr", "1728x1117"), ("uaa", "arm"), ("uab", "64"), ("uafvl", "Chromium;131.0.6778.85"), ("uamb", "0"),
          ("uam", ""), ("uap", "macOS"), ("uapv", "14.6.1"), ("uaw", "0"), ("are", "1"), ("frm", "0"),
          ("pscdl", "noapi"), ("_s", "1"), ("sid", SID), ("sct", "3"), ("seg", "1"), ("dl", PAGE), ("dr", REFERRER),
          ("dt", "Checkout | Example Shop"), ("uid", UID)]
HEADERS = [("Origin", "https://shop.example"), ("Referer", "https://shop.example/")]


def test_ga4_page_view_get(analyzer) -> None:
    params = SHARED + [("en", "page_view"), ("_fv", "1"), ("_nsi", "1"), ("_ss", "1"),
                       ("ep.firebase_id", FID), ("up.loyalty_tier", "gold"), ("tfd", "412")]
    a = analyze(analyzer, request("GET", "https://region1.google-analytics.com/g/collect?" + qs(params), headers=HEADERS),
                "ga4_collect")
    assert_finding(a, "project_key", TID, "query.tid")
    assert_finding(a, "browser_id", CID, "query.cid")
    assert_finding(a, "user_id", UID, "query.uid")
    assert_finding(a, "session_id", SID, "query.sid")
    assert_finding(a, "session_count", "3", "query.sct")
    assert_finding(a, "page_url", PAGE, "query.dl")
    assert_finding(a, "referrer", REFERRER, "query.dr")
    assert_finding(a, "screen_name", "Checkout | Example Shop", "query.dt")
    assert_finding(a, "language", "de-de", "query.ul")
    assert_finding(a, "screen_resolution", "1728x1117", "query.sr")  # "WxH" under a width
    assert_finding(a, "consent_state", "G111", "query.gcs")
    assert_finding(a, "os_name", "macOS", "query.uap")
    assert_finding(a, "event_name", "page_view", "query.en")
    assert_finding(a, "installation_id", FID, 'query["ep.firebase_id"]')
    assert_finding(a, "custom_property", "gold", 'query["up.loyalty_tier"]')
    assert (a.app, a.app_signal) == ("shop.example", "first_party_site")


def test_ga4_event_in_post_body(analyzer) -> None:
    """A POST (sendBeacon, text/plain) with the shared parameters in the URL and one event
    line in the body."""
    line = qs([("en", "search"), ("_et", "5120"), ("ep.search_term", "honey jar"), ("epn.value", "9.99"),
               ("ep.user_email", "jane.ga@example.org")])
    a = analyze(analyzer, request("POST", "https://www.google-analytics.com/g/collect?" + qs(SHARED), line,
                                  [("Content-Type", "text/plain;charset=UTF-8"), *HEADERS]), "ga4_collect")
    assert_finding(a, "event_name", "search", "body.en")
    assert_finding(a, "search_term", "honey jar", 'body["ep.search_term"]')
    assert_finding(a, "revenue", "9.99", 'body["epn.value"]')
    assert_finding(a, "time_spent", "5120", "body._et")
    assert_finding(a, "email", "jane.ga@example.org", 'body["ep.user_email"]', "pattern")
    assert_finding(a, "browser_id", CID, "query.cid")


def test_ga4_batched_lines(analyzer) -> None:
    body = "en=scroll&epn.percent_scrolled=90\r\nen=purchase&epn.value=42"
    a = analyze(analyzer, request("POST", "https://www.google-analytics.com/g/collect?" + qs(SHARED), body),
                "ga4_collect")
    assert_finding(a, "event_name", "purchase", "body[1].en")


def test_ga4_measurement_protocol(analyzer) -> None:
    """GA4 Measurement Protocol reference: JSON body, measurement_id + api_secret in the query."""
    body = {"client_id": CID, "user_id": UID, "timestamp_micros": 1767225600123456,
            "user_properties": {"plan": {"value": "pro"}},
            "user_data": {"sha256_email_address": ["a" * 64]},
            "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
            "events": [{"name": "purchase", "params": {"session_id": SID, "engagement_time_msec": 100,
                                                      "value": 42.5, "currency": "EUR", "coupon": "HONEY10"}}]}
    url = f"https://www.google-analytics.com/mp/collect?measurement_id={TID}&api_secret=Zx9HoneySecret"
    a = analyze(analyzer, request("POST", url, json.dumps(body), [("Content-Type", "application/json")]),
                "ga4_measurement_protocol")
    assert_finding(a, "browser_id", CID, "body.client_id")
    assert_finding(a, "user_id", UID, "body.user_id")
    assert_finding(a, "hashed_email", "a" * 64, "body.user_data.sha256_email_address[0]")
    assert_finding(a, "event_name", "purchase", "body.events[0].name")
    assert_finding(a, "session_id", SID, "body.events[0].params.session_id")
    assert_finding(a, "revenue", "42.5", "body.events[0].params.value")
    assert_finding(a, "custom_property", "HONEY10", "body.events[0].params.coupon")
    assert_finding(a, "custom_property", "pro", "body.user_properties.plan.value")
    assert_finding(a, "consent_state", "DENIED", "body.consent.ad_personalization")
    assert_finding(a, "project_key", TID, "query.measurement_id")
    assert_finding(a, "auth_token", "Zx9HoneySecret", "query.api_secret")


def test_universal_analytics_pixel_and_app_hit(analyzer) -> None:
    """analytics.js pageview (GET pixel) and a GA mobile SDK v4 screenview (POST form)."""
    web = urlencode([("v", "1"), ("_v", "j101"), ("a", "1187051716"), ("t", "pageview"), ("_s", "1"), ("dl", PAGE),
                     ("ul", "en-us"), ("de", "UTF-8"), ("dt", "Checkout"), ("sd", "24-bit"), ("sr", "1440x900"),
                     ("vp", "1440x789"), ("je", "0"), ("_u", "IEBAAEABAAAAACAAI~"), ("jid", ""), ("gjid", ""),
                     ("cid", CID), ("tid", "UA-12345-6"), ("_gid", "987654321.1767225600"), ("z", "1517311611")])
    a = analyze(analyzer, request("GET", "https://www.google-analytics.com/collect?" + web), "ua_collect")
    assert_finding(a, "project_key", "UA-12345-6", "query.tid")
    assert_finding(a, "browser_id", CID, "query.cid")
    assert_finding(a, "browser_id", "987654321.1767225600", "query._gid")
    assert_finding(a, "sdk_version", "j101", "query._v")
    app = urlencode([("v", "1"), ("_v", "ma4.0.0"), ("t", "screenview"), ("cd", "CartScreen"), ("an", "Example Shop"),
                     ("aid", "com.example.shop"), ("av", "3.4.1"), ("cid", "0f8b5e2c-7a41-4c3e-9d2b-6e1f4a9c8b37"),
                     ("tid", "UA-12345-7"), ("adid", "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"), ("ate", "1"),
                     ("ul", "en-us"), ("sr", "1080x2400")])
    a = analyze(analyzer, request("POST", "https://ssl.google-analytics.com/collect", app,
                                  [("Content-Type", "application/x-www-form-urlencoded")]), "ua_collect")
    assert_finding(a, "app_id", "com.example.shop", "body.aid")
    assert_finding(a, "app_name", "Example Shop", "body.an")
    assert_finding(a, "screen_name", "CartScreen", "body.cd")
    assert_finding(a, "advertising_id", "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b", "body.adid")
    assert (a.app, a.app_signal) == ("com.example.shop", "payload_app_id")


def test_every_ga4_standard_parameter_is_mapped(analyzer) -> None:
    """Each request-level parameter gtag sets (SHARED) is named by the rule itself, not left to
    the `query.*` catch-all."""
    fields = analyzer.endpoints[("google_analytics", "ga4_collect")].request_fields
    for name, _ in SHARED + [("en", ""), ("_et", ""), ("_fv", ""), ("_ss", ""), ("_nsi", ""), ("tfd", "")]:
        hit = fields.lookup(f"query.{name}")
        assert hit is not None and hit[1] == f"query.{name}", (name, hit)


@pytest.mark.parametrize("url", ["https://www.google-analytics.com.evil.example/g/collect?v=2&tid=G-X",
                                 "https://google-analytics.example/g/collect?v=2&tid=G-X"])
def test_lookalike_hosts_do_not_match(analyzer, url: str) -> None:
    a = analyzer.analyze(request("GET", url))
    assert a is None or a.tracker != "google_analytics", summary(a)


# ------------------------------------------------------------------------------------------
# Tag loaders (www.googletagmanager.com)


def test_gtag_loader_as_firebase_analytics_inserts_it(analyzer) -> None:
    """firebase-js-sdk packages/analytics/src/helpers.ts@6f865964ba insertScriptTag:
    `${GTAG_URL}?l=${dataLayerName}&id=${measurementId}`; the browser sends the page as Referer."""
    a = analyze(analyzer, request("GET", f"https://www.googletagmanager.com/gtag/js?l=dataLayer&id={TID}", "",
                                  [("Referer", "https://shop.example/")]), "tag_loader")
    assert_finding(a, "project_key", TID, "query.id")
    assert_finding(a, "page_url", "https://shop.example/", "header.referer")
    assert (a.app, a.app_signal) == ("shop.example", "first_party_site")


def test_gtm_container_with_environment(analyzer) -> None:
    """The GTM environment snippet: gtm.js?id=GTM-…&l=…&gtm_auth=…&gtm_preview=env-N&gtm_cookies_win=x."""
    url = ("https://www.googletagmanager.com/gtm.js?id=GTM-HONEY7&l=shopLayer&gtm_auth=aB3dE5fG7hI9jK1lM2nO3p"
           "&gtm_preview=env-2&gtm_cookies_win=x")
    a = analyze(analyzer, request("GET", url, "", [("Referer", PAGE)]), "tag_loader")
    assert_finding(a, "project_key", "GTM-HONEY7", "query.id")
    assert_finding(a, "page_url", PAGE, "header.referer")
    assert {f.path for f in a.findings if f.data_type not in ("project_key", "page_url")} == set(), summary(a)


def test_gtag_destination_and_webview_app(analyzer) -> None:
    """TrackHAR googletagmanager-gtag: /gtag/destination?id=…; in an Android WebView the app's
    package arrives as X-Requested-With."""
    a = analyze(analyzer, request("GET", "https://www.googletagmanager.com/gtag/destination?id=AW-123456789&l=dataLayer&cx=c",
                                  "", [("X-Requested-With", "com.example.shop")]), "tag_loader")
    assert_finding(a, "project_key", "AW-123456789", "query.id")
    assert_finding(a, "app_id", "com.example.shop", "header.x-requested-with")
    assert (a.app, a.app_signal) == ("com.example.shop", "payload_app_id")


def test_tag_loader_block_reply_is_a_script(analyzer) -> None:
    reply = analyzer.endpoints[("google_analytics", "tag_loader")].reply({})
    assert (reply["status"], reply["content_type"]) == (200, "text/javascript")
