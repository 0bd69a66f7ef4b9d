"""Golden tests: Tealium Collect requests in the shape of the captured POST that Omnibug's
EventStream provider tests (MisterPhilip/omnibug test/providers/TealiumEventStream.js@ce9a0aac:
tealium_*, dom.*, browser.* keys and the site's data layer) and of the AMP project's GET
(ampproject/amphtml vendors/tealiumcollect.json@742f6d6e)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels, make_request

TRACKER = "tealium"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
VISITOR = "0189f1c2d3e4001a2b3c4d5e6f708192a3b4c5d6e7f8"


def test_collect_post_with_data_layer(analyzer):
    body = {"tealium_account": "acme", "tealium_profile": "main", "tealium_datasource": "x7k2p9",
            "tealium_visitor_id": VISITOR, "tealium_session_id": "1767225600123", "tealium_session_number": "4",
            "tealium_event": "purchase", "tealium_library_name": "utag.js", "tealium_library_version": "4.51.0",
            "dom.url": "https://shop.example/thanks?order=9", "dom.title": "Thank you", "dom.referrer": "https://shop.example/cart",
            "browser.screen_width": 2560, "browser.language": "en-GB", "browser.tz": "Europe/London",
            "customer_email": "tea.lover@example.org", "customer_id": "cust-5150", "order_total": "64.00",
            "ga_client_id": "1234567890.1767225600"}
    a = analyze(analyzer, make_request("POST", "https://collect.tealiumiq.com/event", compact_json(body), [JSON_CT]),
                "collect")
    has(a, "project_key", "acme", "body.tealium_account")
    has(a, "browser_id", VISITOR, "body.tealium_visitor_id")
    has(a, "session_id", "1767225600123", "body.tealium_session_id")
    has(a, "event_name", "purchase", "body.tealium_event")
    has(a, "page_url", "https://shop.example/thanks?order=9", 'body["dom.url"]')
    has(a, "screen_name", "Thank you", 'body["dom.title"]')
    has(a, "timezone", "Europe/London", 'body["browser.tz"]')
    has(a, "email", "tea.lover@example.org", "body.customer_email", detector="key_name")
    has(a, "other_id", "1234567890.1767225600", "body.ga_client_id")
    assert labels(a)["body.tealium_library_version"] == "sdk_version"


def test_collect_on_a_first_party_host_by_shape(analyzer):
    body = {"tealium_account": "acme", "tealium_profile": "main", "tealium_event": "view", "user_id": "u-77"}
    a = analyze(analyzer, make_request("POST", "https://collect.shop.example/event", compact_json(body), [JSON_CT]),
                "collect", via="payload_shape")
    has(a, "user_id", "u-77", "body.user_id", detector="key_name")


def test_amp_get_and_loader(analyzer):
    query = {"tealium_account": "acme", "tealium_profile": "amp", "tealium_datasource": "a1", "tealium_visitor_id": VISITOR,
             "url": "https://news.example/a", "title": "Story", "tz": "-60", "lang": "fr-FR", "tealium_event": "screen_view",
             "referrer": "https://search.example/", "screen_size": "1920x1080"}
    a = analyze(analyzer, make_request("GET", "https://collect.tealiumiq.com/event/?" + urlencode(query)), "collect")
    has(a, "browser_id", VISITOR, "query.tealium_visitor_id")
    has(a, "screen_resolution", "1920x1080", "query.screen_size")
    has(a, "language", "fr-FR", "query.lang")
    a = analyze(analyzer, make_request("GET", "https://tags.tiqcdn.com/utag/acme/main/prod/utag.js"), "utag")
    has(a, "project_key", "acme", "path.account")
