"""Golden tests: Smartlook requests on the hosts its relay proxy names
(smartlook/smartlook-relay-proxy src/config.test.ts, route-mappings.ts@8a0f6892) and the
recorder URL of smartlook-client 10.0.0; bodies get generic decoding."""

from __future__ import annotations

from pathlib import Path

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "smartlook"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_writer_upload_and_recorder(analyzer):
    body = {"projectKey": "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3", "visitorId": "vS3k9Lm2", "sessionId": "sQ8w1Ez4",
            "userId": "sl-user-12", "email": "sl.user@example.org"}
    a = analyze(analyzer, make_request("POST", "https://web-writer.eu.smartlook.cloud/rec/v2/write", compact_json(body),
                                       [JSON_CT]), "upload")
    has(a, "project_key", "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3", "body.projectKey")
    has(a, "user_id", "sl-user-12", "body.userId")
    has(a, "email", "sl.user@example.org", "body.email", detector="key_name")
    a = analyze(analyzer, make_request("GET", "https://web-sdk.smartlook.com/recorder.js",
                                       headers=[("Referer", "https://shop.example/")]), "recorder")
    has(a, "page_url", "https://shop.example/", "header.referer")
