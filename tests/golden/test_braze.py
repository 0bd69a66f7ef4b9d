"""Golden tests: Braze SDK requests, built as @braze/web-sdk 6.13.0 builds them (its
readable ES modules, cited per builder). Mobile SDKs post the same /api/v3 endpoints.
"""

from __future__ import annotations

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "braze"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

API_KEY = "5c1e2d3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
DEVICE_ID = "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a"
USER_ID = "braze-user-31"
EMAIL = "sam.braze@example.com"


def common(body: dict) -> dict:
    """@braze/web-sdk 6.13.0 src/managers/network-manager.js (the common request fields) and
    src/models/device.js (device{})."""
    return {**body, "device": {"browser": "Chrome", "browser_version": "131.0.0.0", "os_version": "Linux",
                               "resolution": "1440x900", "locale": "en-gb", "time_zone": "Europe/London",
                               "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0"},
            "api_key": API_KEY, "time": 1767225600, "sdk_metadata": ["npm"], "sdk_version": "6.13.0",
            "app_version": "2.3.0", "app_version_code": "2.3.0.0", "device_id": DEVICE_ID}


def data_body() -> dict:
    """events from src/models/braze-event.js, custom event data {n, p} (log-custom-event.js),
    purchase {pid, c, p, q, pr} (log-purchase.js), location {latitude, longitude, ...}
    (request-controller.js setLastKnownLocation), attributes from src/User/user.js."""
    return common({
        "respond_with": {"user_id": USER_ID, "config": {"config_time": 1767225000}},
        "events": [
            {"name": "ce", "time": 1767225600.1, "data": {"n": "Viewed Plan", "p": {"plan": "family"}},
             "session_id": "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f", "user_id": USER_ID},
            {"name": "p", "time": 1767225601.2, "data": {"pid": "family-annual", "c": "GBP", "p": 59.99, "q": 1,
                                                         "pr": {"coupon": "WINTER"}},
             "session_id": "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f", "user_id": USER_ID},
            {"name": "lr", "time": 1767225602.3, "data": {"latitude": 51.5072, "longitude": -0.1276,
                                                          "ll_accuracy": 25},
             "session_id": "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f", "user_id": USER_ID},
        ],
        "attributes": [{"user_id": USER_ID, "email": EMAIL, "first_name": "Sam", "last_name": "Rivera",
                        "phone": "+447700900461", "dob": "1990-04-02", "gender": "f", "home_city": "Leeds",
                        "country": "GB", "email_subscribe": "opted_in", "custom": {"favourite_colour": "teal"}}],
        "user_id": USER_ID,
    })


HEADERS = [("Content-Type", "application/json"), ("X-Braze-Api-Key", API_KEY), ("X-Braze-Last-Req-Ms-Ago", "1200"),
           ("X-Braze-Req-Attempt", "1"), ("X-Braze-DataRequest", "true"), ("X-Braze-Req-Tokens-Remaining", "29")]


def test_data_events_and_attributes(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk.iad-01.braze.com/api/v3/data/", compact(data_body()), HEADERS))
    decoded(a, "data")
    has(a, "installation_id", DEVICE_ID, "body.device_id")
    has(a, "user_id", USER_ID, "body.respond_with.user_id")
    has(a, "event_name", "Viewed Plan", "body.events[0].data.n")
    has(a, "custom_property", "family", "body.events[0].data.p.plan")
    has(a, "revenue", "59.99", "body.events[1].data.p")
    has(a, "latitude", "51.5072", "body.events[2].data.latitude")
    has(a, "longitude", "-0.1276", "body.events[2].data.longitude")
    has(a, "location_accuracy", "25", "body.events[2].data.ll_accuracy")
    has(a, "session_id", "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f", "body.events[0].session_id")
    has(a, "email", EMAIL, "body.attributes[0].email")
    has(a, "name", "Sam", "body.attributes[0].first_name")
    has(a, "phone", "+447700900461", "body.attributes[0].phone")
    has(a, "birth_date", "1990-04-02", "body.attributes[0].dob")
    has(a, "city", "Leeds", "body.attributes[0].home_city")
    has(a, "custom_property", "teal", "body.attributes[0].custom.favourite_colour")
    has(a, "timezone", "Europe/London", "body.device.time_zone")
    has(a, "user_agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0", "body.device.user_agent")
    fields = labels(a)
    # every common key the SDK sets is mapped by name (no catch-all)
    assert fields["body.api_key"] == "project_key"
    assert (fields["body.sdk_version"], fields["body.app_version"], fields["body.app_version_code"],
            fields["body.device.browser"], fields["body.device.resolution"], fields["body.device.locale"]) == \
        ("sdk_version", "app_version", "app_build", "browser", "screen_resolution", "language")  # resolution "WxH"
    assert fields["body.events[0].name"] == "event_name" and fields["body.time"] == ""
    assert a.identity["project_key"] == API_KEY


def test_sync_endpoints(analyzer):
    for path in ("content_cards/sync", "feature_flags/sync", "banners/sync"):
        a = analyzer.analyze(request("POST", f"https://sdk.fra-02.braze.eu/api/v3/{path}",
                                     compact(common({"user_id": USER_ID, "last_full_sync": 0})), HEADERS))
        decoded(a, "sync")
        has(a, "user_id", USER_ID, "body.user_id")
        has(a, "installation_id", DEVICE_ID, "body.device_id")


def test_custom_endpoint_recognised_by_shape(analyzer):
    a = analyzer.analyze(request("POST", "https://braze-sdk.shop.example/api/v3/data/", compact(data_body()), HEADERS))
    decoded(a, "data", via="payload_shape")
    has(a, "email", EMAIL, "body.attributes[0].email")


def test_lookalike_is_not_braze(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk.iad-01.braze.com.example.net/api/v3/data/",
                                 compact({"events": []}), [("Content-Type", "application/json")]))
    assert a is None or a.tracker != "braze"
