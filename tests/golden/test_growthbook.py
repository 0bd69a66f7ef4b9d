"""Golden tests: GrowthBook requests built as @growthbook/growthbook 1.8.0 builds them:
the tracking plugin's JSON array to us-east-1.gb-ingest.com/track?client_key=
(plugins/growthbook-tracking.mjs getEventPayload), the feature download
(feature-repository.mjs /api/features/<key>) and remote evaluation (/api/eval/<key>)."""

from __future__ import annotations

from pathlib import Path

from golden_support import (analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "growthbook"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
KEY = "sdk-G0ldenGrowthBook42"
UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CONTEXT = {"url": "https://shop.example/p/9?ref=mail", "path": "/p/9", "host": "shop.example", "query": "?ref=mail",
           "browser": "chrome", "deviceType": "desktop", "email": "gb.user@example.org", "plan": "gold"}


def event(name: str, props: dict) -> dict:
    """getEventPayload: id → device_id, the other attributes → context_json."""
    return {"event_name": name, "properties_json": props, "user_id": "gb-user-31", "device_id": UUID, "page_id": None,
            "session_id": None, "utm_source": "newsletter", "page_title": "Product 9", "sdk_language": "js",
            "sdk_version": "1.8.0", "url": CONTEXT["url"], "context_json": CONTEXT}


def test_tracking_batch(analyzer):
    body = [event("Feature Evaluated", {"feature": "new-checkout", "source": "defaultValue", "value": False,
                                        "ruleId": "$default", "variationId": ""}),
            event("add_to_cart", {"sku": "SKU-77"})]
    a = analyze(analyzer, make_request("POST", f"https://us-east-1.gb-ingest.com/track?client_key={KEY}",
                                       compact_json(body), [("Content-Type", "text/plain")]), "track")
    has(a, "project_key", KEY, "query.client_key")
    has(a, "user_id", "gb-user-31", "body[0].user_id")
    has(a, "browser_id", UUID, "body[0].device_id")
    has(a, "event_name", "add_to_cart", "body[1].event_name")
    has(a, "custom_property", "SKU-77", "body[1].properties_json.sku")
    has(a, "email", "gb.user@example.org", "body[0].context_json.email", detector="key_name")
    has(a, "page_url", CONTEXT["url"], "body[0].url")
    has(a, "screen_name", "Product 9", "body[0].page_title")
    has(a, "browser", "chrome", "body[0].context_json.browser")
    has(a, "referrer", "newsletter", "body[0].utm_source")
    assert labels(a)["body[0].properties_json.feature"] == ""


def test_custom_ingestor_by_shape(analyzer):
    body = [event("Experiment Viewed", {"experimentId": "exp-1", "variationId": "1", "hashAttribute": "id",
                                        "hashValue": UUID})]
    a = analyze(analyzer, make_request("POST", f"https://events.shop.example/track?client_key={KEY}",
                                       compact_json(body)), "track", via="payload_shape")
    has(a, "other_id", UUID, "body[0].properties_json.hashValue")


def test_features_download_and_remote_eval(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://cdn.growthbook.io/api/features/{KEY}",
                                       headers=[("Referer", "https://shop.example/")]), "features")
    has(a, "project_key", KEY, "path.client_key")
    body = {"attributes": {"id": UUID, "email": "gb.user@example.org", "country": "DE", "url": CONTEXT["url"]},
            "forcedVariations": {}, "forcedFeatures": [], "url": CONTEXT["url"]}
    a = analyze(analyzer, make_request("POST", f"https://cdn.growthbook.io/api/eval/{KEY}", compact_json(body),
                                       [("Content-Type", "application/json")]), "remote_eval")
    has(a, "email", "gb.user@example.org", "body.attributes.email")
    has(a, "browser_id", UUID, "body.attributes.id")
    has(a, "page_url", CONTEXT["url"], "body.attributes.url")
