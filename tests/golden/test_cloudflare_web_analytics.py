"""Golden tests: Cloudflare Web Analytics beacons to cloudflareinsights.com/cdn-cgi/rum and to a
proxied site's own /cdn-cgi/rum (recognised by the payload's shape)."""

from __future__ import annotations

from pathlib import Path

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "cloudflare_web_analytics"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
BODY = {"siteToken": "5f4dcc3b5aa765d61d8327deb882cf99", "location": "https://blog.example/post?id=4",
        "referrer": "https://search.example/", "pageloadId": "a2c4e6f8-1357-4b9d-8f0e-2468ace13579", "eventType": 1,
        "startTime": 1767225600000, "versions": {"fl": "2024.11.0", "js": "2024.6.1"}, "timingsV2": {"loadEventEnd": 812}}


def test_rum_beacon(analyzer):
    a = analyze(analyzer, make_request("POST", "https://cloudflareinsights.com/cdn-cgi/rum", compact_json(BODY),
                                       [("Content-Type", "application/json")]), "rum")
    has(a, "project_key", "5f4dcc3b5aa765d61d8327deb882cf99", "body.siteToken")
    has(a, "page_url", "https://blog.example/post?id=4", "body.location")
    has(a, "referrer", "https://search.example/", "body.referrer")


def test_same_origin_beacon_by_shape(analyzer):
    a = analyze(analyzer, make_request("POST", "https://blog.example/cdn-cgi/rum", compact_json(BODY)), "rum",
                via="payload_shape")
    has(a, "project_key", "5f4dcc3b5aa765d61d8327deb882cf99", "body.siteToken")
