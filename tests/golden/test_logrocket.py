"""Golden tests: LogRocket requests on the hosts and paths npm logrocket 12.4.0 names
(dist/build.umd.js: ingest <server>/i, the recorder script, the SDK's own error reports to
e.logrocket.com/api/3/store); the recorder's binary upload is kept undecoded."""

from __future__ import annotations

from pathlib import Path

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "logrocket"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze_for_any_status = analyze_for(TRACKER)


def test_ingest_binary_upload_is_recognised(analyzer):
    a = analyzer.analyze(make_request("POST", "https://r.lr-ingest.io/i?a=acme%2Fshop&r=5-0c1d2e3f&t=1&s=3",
                                      b"\x0a\x05hello\x12\x00\xff\xfe", [("Content-Type", "application/octet-stream")]))
    assert (a.tracker, a.endpoint) == ("logrocket", "ingest"), a
    has(a, "project_key", "acme/shop", "query.a")


def test_sdk_error_report(analyzer):
    body = {"message": "recorder failed", "logger": "javascript", "platform": "javascript",
            "request": {"headers": {"User-Agent": "Mozilla/5.0 (X11) Chrome/142.0"}, "url": "https://shop.example/cart"},
            "release": "47c5a4861da1833d92b0f1a7036535e0bdfbed68"}
    a = analyze_for_any_status(analyzer, make_request(
        "POST", "https://e.logrocket.com/api/3/store/?sentry_version=7&sentry_client=http%2F3.8.0&sentry_key=b64162b4",
        compact_json(body), [JSON_CT]), "sdk_errors")
    has(a, "page_url", "https://shop.example/cart", "body.request.url")
    has(a, "error_report", "recorder failed", "body.message")
