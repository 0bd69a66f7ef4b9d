"""Golden tests: Piano Analytics events, built as piano-analytics-js 6.17.0 builds them
(<collectDomain>/event?s=<site>&idclient=<visitor id>, text/plain JSON {events: [{name,
data}]}, the properties the SDK adds), on Piano's collection domain and on a first-party CNAME."""

from __future__ import annotations

from pathlib import Path
from golden_support import (analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "piano"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

VISITOR = "7c9e2a51-4b3d-4f6e-8a1b-2c3d4e5f6a7b"
TEXT = [("Content-Type", "text/plain;charset=UTF-8")]


def events() -> dict:
    data = {"page": "product", "page_chapter1": "shoes", "user_id": "pn-user-8", "user_category": "premium",
            "user_recognition": True, "visitor_privacy_mode": "optin", "visitor_privacy_consent": True,
            "browser_language": "fr", "browser_language_local": "FR", "device_screen_width": 1920,
            "device_screen_height": 1080, "device_display_width": 1600, "device_display_height": 900,
            "device_timestamp_utc": 1767225600, "device_hour": 10, "device_local_hour": 11,
            "event_collection_platform": "js", "event_collection_version": "6.17.0",
            "event_url_full": "https://shop.example.fr/p/42?utm_source=news", "previous_url": "https://shop.example.fr/",
            "page_title_html": "Boots - Shop", "pageview_id": "k1x2y3", "ch_ua_platform": "Android",
            "ch_ua_model": "Pixel 8", "ch_ua_platform_version": "14.0.0", "product_id": "SKU-42"}
    return {"events": [{"name": "page.display", "data": data}]}


def check(a) -> None:
    p = "body.events[0]."
    has(a, "event_name", "page.display", p + "name")
    has(a, "user_id", "pn-user-8", p + "data.user_id")
    has(a, "screen_name", "product", p + "data.page")
    has(a, "page_url", "https://shop.example.fr/p/42?utm_source=news", p + "data.event_url_full")
    has(a, "referrer", "https://shop.example.fr/", p + "data.previous_url")
    has(a, "device_model", "Pixel 8", p + "data.ch_ua_model")
    has(a, "os_version", "14.0.0", p + "data.ch_ua_platform_version")
    has(a, "viewport_width", "1600", p + "data.device_display_width")
    has(a, "consent_state", "optin", p + "data.visitor_privacy_mode")
    has(a, "custom_property", "SKU-42", p + "data.product_id")
    has(a, "sdk_version", "6.17.0", p + "data.event_collection_version")
    has(a, "installation_id", VISITOR, "query.idclient")
    has(a, "project_key", "612345", "query.s")
    assert labels(a)[p + "data.pageview_id"] == ""


def test_event_to_the_piano_collection_domain(analyzer):
    a = analyze(analyzer, make_request("POST", f"https://xzy123.pa-cd.com/event?s=612345&idclient={VISITOR}",
                                       compact_json(events()), TEXT), "event")
    check(a)


def test_event_to_a_first_party_cname_is_recognised_by_its_shape(analyzer):
    a = analyze(analyzer, make_request("POST", f"https://stats.shop.example.fr/event?s=612345&idclient={VISITOR}",
                                       compact_json(events()), TEXT), "event", via="payload_shape")
    check(a)
