"""Golden tests: Google Mobile Ads / Ad Manager / AdSense / UMP requests.

The GMA SDK, gpt.js and the UMP SDK are closed source; the requests below follow TrackHAR's
observed-traffic adapters (tweaselORG/TrackHAR:src/adapters/google.ts@b018948:
doubleclick-mads-gma-qs/-body, doubleclick-getconfig-pubsetting, doubleclick-pagead-interaction,
fundingchoicesmessages, doubleclick-cookie-matching-pixel) and Google's Ad Manager parameter
documentation (support.google.com/admanager/answer/10678356: msid, an; answer/7320899: rdid,
idtype, is_lat).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from golden_support import analyze_for, summary, analyzer_fixture, assert_finding, make_request as request

PACKAGE = "com.example.game"
AAID = "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"
IDE = "AHWqTUkHoneyIdeCookie0123456789"


analyzer = analyzer_fixture()


analyze = analyze_for("google_ads", check_via=False)


GMA_PARAMS = [
    ("format", "320x50_mb"), ("msid", PACKAGE), ("an", f"341.android.{PACKAGE}"), ("vnm", "3.4.1"),
    ("rdid", AAID), ("idtype", "adid"), ("is_lat", "0"), ("platform", "Google"), ("submodel", "Pixel 8"),
    ("sys_name", "android"), ("os_version", "14"), ("hl", "de"), ("net", "wi"), ("binary_arch", "arm64-v8a"),
    ("android_app_volume", "0.5"), ("android_app_muted", "false"), ("u_w", "411"), ("u_h", "914"),
    ("u_sd", "2.625"), ("u_so", "p"), ("u_tz", "60"), ("dtsdk", "233012999"), ("js", "afma-sdk-a-v233012999.231700000.1"),
    ("gdpr", "1"), ("gdpr_consent", "CQHonEYQHonEYAGABCENBMFgAP_gAAAAAAAAAAAA"), ("cust_params", "level=7&vip=honey"),
    ("request_id", "1767225600-abc"), ("eid", "318475417,44766142"),
]


def test_mads_gma_query(analyzer) -> None:
    url = "https://googleads.g.doubleclick.net/mads/gma?" + urlencode(GMA_PARAMS)
    a = analyze(analyzer, request("GET", url, headers=[("Cookie", f"IDE={IDE}")]), "mads_gma")
    assert_finding(a, "app_id", PACKAGE, "query.msid")
    assert_finding(a, "app_name", f"341.android.{PACKAGE}", "query.an")
    assert_finding(a, "app_version", "3.4.1", "query.vnm")
    assert_finding(a, "advertising_id", AAID, "query.rdid")
    assert_finding(a, "consent_state", "0", "query.is_lat")
    assert_finding(a, "manufacturer", "Google", "query.platform")
    assert_finding(a, "device_model", "Pixel 8", "query.submodel")
    assert_finding(a, "os_version", "14", "query.os_version")
    assert_finding(a, "language", "de", "query.hl")
    assert_finding(a, "network_type", "wi", "query.net")
    assert_finding(a, "cpu_architecture", "arm64-v8a", "query.binary_arch")
    assert_finding(a, "volume", "0.5", "query.android_app_volume")
    assert_finding(a, "timezone", "60", "query.u_tz")
    assert_finding(a, "custom_property", "level=7&vip=honey", "query.cust_params")
    assert_finding(a, "browser_id", IDE, "cookie.IDE")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_mads_gma_form_body(analyzer) -> None:
    a = analyze(analyzer, request("POST", "https://googleads.g.doubleclick.net/mads/gma", urlencode(GMA_PARAMS),
                                  [("Content-Type", "application/x-www-form-urlencoded")]), "mads_gma")
    assert_finding(a, "app_id", PACKAGE, "body.msid")
    assert_finding(a, "advertising_id", AAID, "body.rdid")
    assert_finding(a, "device_model", "Pixel 8", "body.submodel")
    assert_finding(a, "sdk_version", "afma-sdk-a-v233012999.231700000.1", "body.js")


def test_every_gma_parameter_is_mapped(analyzer) -> None:
    """Each signal above is named by the rule (body and query maps alike)."""
    ep = analyzer.endpoints[("google_ads", "mads_gma")]
    for name, _ in GMA_PARAMS:
        assert ep.fields.lookup(name) is not None, name
        assert ep.request_fields.lookup(f"query.{name}") is not None, name


def test_getconfig_pubsetting(analyzer) -> None:
    url = "https://googleads.g.doubleclick.net/getconfig/pubsetting?" + urlencode(
        [("app_name", f"341.android.{PACKAGE}"), ("client", "ca-app-pub-3940256099942544"), ("vnm", "3.4.1")])
    a = analyze(analyzer, request("GET", url, headers=[("X-Requested-With", PACKAGE)]), "getconfig_pubsetting")
    assert_finding(a, "app_id", f"341.android.{PACKAGE}", "query.app_name")
    assert_finding(a, "app_version", "3.4.1", "query.vnm")


def test_pagead_interaction_web_view(analyzer) -> None:
    url = "https://googleads.g.doubleclick.net/pagead/interaction/?ai=CHoneyAdId&sigh=abc&cid=CAQ&label=video_click"
    a = analyze(analyzer, request("GET", url, headers=[("X-Requested-With", PACKAGE), ("Cookie", f"IDE={IDE}")]),
                "pagead")
    assert_finding(a, "app_id", PACKAGE, "header.x-requested-with")
    assert_finding(a, "browser_id", IDE, "cookie.IDE")


def test_gpt_gampad_ads(analyzer) -> None:
    params = [("iu_parts", "1234567,shop,home"), ("correlator", "4455667788"), ("url", "https://shop.example/"),
              ("ref", "https://www.google.com/"), ("biw", "1440"), ("bih", "789"), ("u_w", "1728"), ("u_h", "1117"),
              ("u_tz", "60"), ("cookie", "ID=honeygads:T=1767225600:RT=1767225600:S=ALNI"), ("ppid", "honey-ppid-1"),
              ("gdpr", "1"), ("cust_params", "section=sale"), ("ga_vid", "1234567890.1767225600"), ("ga_sid", "1767225600")]
    a = analyze(analyzer, request("GET", "https://securepubads.g.doubleclick.net/gampad/ads?" + urlencode(params),
                                  headers=[("Referer", "https://shop.example/")]), "gampad_ads")
    assert_finding(a, "page_url", "https://shop.example/", "query.url")
    assert_finding(a, "user_id", "honey-ppid-1", "query.ppid")
    assert_finding(a, "browser_id", "ID=honeygads:T=1767225600:RT=1767225600:S=ALNI", "query.cookie")
    assert_finding(a, "browser_id", "1234567890.1767225600", "query.ga_vid")
    assert_finding(a, "project_key", "1234567,shop,home", "query.iu_parts")


def test_cookie_matching_pixel(analyzer) -> None:
    url = "https://cm.g.doubleclick.net/pixel?google_nid=criteo&google_cm&google_sc&google_hm=aG9uZXktdWlk"
    a = analyze(analyzer, request("GET", url, headers=[("Cookie", f"IDE={IDE}")]), "cookie_matching")
    assert_finding(a, "other_id", "aG9uZXktdWlk", "query.google_hm")
    assert_finding(a, "project_key", "criteo", "query.google_nid")


def test_ump_consent(analyzer) -> None:
    body = {"adid": AAID, "rdid": "0123456789abcdef", "language_code": "de",
            "device_info": {"os_type": 2, "model": "Pixel 8", "android_api_level": 34},
            "screen_info": {"width": 411, "height": 914},
            "app_info": {"package_name": PACKAGE, "publisher_display_name": "Example Games", "version": "3.4.1"},
            "sdk_info": {"version": "3.0.0"}}
    a = analyze(analyzer, request("POST", "https://fundingchoicesmessages.google.com/a/consent", json.dumps(body),
                                  [("Content-Type", "application/json")]), "ump_consent")
    assert_finding(a, "advertising_id", AAID, "body.adid")
    assert_finding(a, "device_id", "0123456789abcdef", "body.rdid")
    assert_finding(a, "app_id", PACKAGE, "body.app_info.package_name")
    assert_finding(a, "os_version", "34", "body.device_info.android_api_level")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


@pytest.mark.parametrize("url", ["https://googleads.g.doubleclick.net.evil.example/mads/gma?msid=x",
                                 "https://doubleclick.example/mads/gma?msid=x"])
def test_lookalike_hosts_do_not_match(analyzer, url: str) -> None:
    a = analyzer.analyze(request("GET", url))
    assert a is None or a.tracker != "google_ads", summary(a)


def test_gen_204_ping_is_its_own_endpoint(analyzer):
    """A GMA SDK logging ping: its type in `id`, the app and advertising id as in ad requests."""
    query = {"id": "gmob-apps", "sdkv": "afma-sdk-a-v233212999.232400000.1", "os": "android", "os_version": "14",
             "mv": "242413037", "msid": PACKAGE, "rdid": AAID, "is_lat": "0", "err": "Timeout for show call succeed."}
    a = analyze(analyzer, request("GET", "https://googleads.g.doubleclick.net/pagead/gen_204?" + urlencode(query)), "gen_204")
    assert_finding(a, "event_name", "gmob-apps", "query.id")
    assert_finding(a, "advertising_id", AAID, "query.rdid")
    assert_finding(a, "error_report", "Timeout for show call succeed.", "query.err")
    assert a.app == PACKAGE
    other = analyze(analyzer, request("GET", "https://googleads.g.doubleclick.net/pagead/interaction/?ai=x"), "pagead")
    assert other.endpoint == "pagead"
