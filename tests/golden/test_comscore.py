"""Golden tests: Comscore beacons built as the AMP project's Comscore vendor configuration
builds them (ampproject/amphtml extensions/amp-analytics/0.1/vendors/comscore.json@7b2e12aa)
and as Omnibug's captured /p request shows (MisterPhilip/omnibug test/providers/Comscore.js@ce9a0aac)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "comscore"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_web_page_view(analyzer):
    query = {"c1": "2", "c2": "6035748", "cs_pv": "a1b2c3d4e5", "c12": "amp-7Hq2LrX0bYc3Vd9Wf1", "rn": "0.7734",
             "c8": "Headline of the day", "c7": "https://news.example/story/42", "c9": "https://social.example/",
             "cs_c7amp": "https://news.example/amp/story/42", "cs_ucfr": "1"}
    a = analyze(analyzer, make_request("GET", "https://sb.scorecardresearch.com/b?" + urlencode(query),
                                       headers=[("Cookie", "UID=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d")]), "beacon")
    has(a, "project_key", "6035748", "query.c2")
    has(a, "page_url", "https://news.example/story/42", "query.c7")
    has(a, "screen_name", "Headline of the day", "query.c8")
    has(a, "referrer", "https://social.example/", "query.c9")
    has(a, "browser_id", "amp-7Hq2LrX0bYc3Vd9Wf1", "query.c12")
    has(a, "consent_state", "1", "query.cs_ucfr")
    has(a, "browser_id", "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d", "cookie.UID")


def test_legacy_p_and_app_labels(analyzer):
    query = {"c1": "19", "c2": "6035748", "ns_ap_an": "News App", "ns_ap_bi": "com.news.example", "ns_ap_ver": "5.2.1",
             "ns_ap_pn": "android", "ns_ap_pv": "14", "ns_ap_device": "Pixel 8", "ns_ap_ev": "start",
             "ns_st_pr": "Evening Show", "c4": "https://news.example/"}
    a = analyze(analyzer, make_request("GET", "https://sb.scorecardresearch.com/p2?" + urlencode(query)), "beacon")
    has(a, "app_id", "com.news.example", "query.ns_ap_bi")
    has(a, "device_model", "Pixel 8", "query.ns_ap_device")
    has(a, "event_name", "start", "query.ns_ap_ev")
    has(a, "screen_name", "Evening Show", "query.ns_st_pr")
    has(a, "page_url", "https://news.example/", "query.c4")
