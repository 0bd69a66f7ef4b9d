"""Golden tests: Matomo tracking API hits (JS GET, Android bulk JSON) as the trackers build them."""

from __future__ import annotations

import gzip
from urllib.parse import urlencode

from golden_support import (assert_finding_at as assert_finding, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "matomo"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


VISITOR = "5f2c9a7b3e1d4c60"
PACKAGE = "com.example.reader"


def android_hit(**extra: str) -> str:
    """matomo-sdk-android Tracker.java / QueryParams.java@b11fe80: idsite, rec, api version,
    url https://<package>/<path>, _id, uid, res, lang, ua, h/m/s, _idvc, _idts..."""
    params = {"idsite": "7", "rec": "1", "apiv": "1", "send_image": "0", "url": f"https://{PACKAGE}/articles/42",
              "action_name": "Articles / 42", "_id": VISITOR, "uid": "reader-99", "res": "1080x2400", "lang": "en-GB",
              "ua": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)", "h": "10", "m": "5", "s": "1", "_idvc": "12",
              "_idts": "1700000000", "_viewts": "1767220000", "rand": "8123", "cdt": "2026-01-01 10:05:01+0000"}
    params.update(extra)
    return "?" + urlencode(params)


def test_android_bulk_json(analyze):
    """Android dispatcher: POST {"requests": ["?idsite=…", …]} (DefaultPacketSender, gzip optional)."""
    body = compact_json({"requests": [android_hit(), android_hit(e_c="reader", e_a="share", e_n="twitter")]})
    raw = gzip.compress(body.encode())
    req = request_via_mitmproxy("POST", "https://analytics.example.com/matomo.php", raw,
                                {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    a = analyze(req)
    assert_decoded(a, "track", via="payload_shape")
    assert_finding(a, "installation_id", VISITOR, "body.requests[0]._id")
    assert_finding(a, "user_id", "reader-99", "body.requests[0].uid")
    assert_finding(a, "page_url", f"https://{PACKAGE}/articles/42", "body.requests[0].url")
    assert_finding(a, "event_name", "share", "body.requests[1].e_a")
    assert_finding(a, "project_key", "7", "body.requests[0].idsite")


def test_js_get_pixel_on_cloud(analyze):
    """matomo.js: GET /matomo.php?idsite&rec&url&urlref&_id&res&... (image or beacon)."""
    query = android_hit(url="https://shop.example.net/search?q=boots", urlref="https://www.google.com/",
                        search="boots", search_count="14", pv_id="aB3dE6", _cvar=compact_json({"1": ["plan", "pro"]}))
    a = analyze(make_request("GET", f"https://acme.matomo.cloud/matomo.php{query}"))
    assert_decoded(a, "track")
    assert_finding(a, "search_term", "boots", "query.search")
    assert_finding(a, "referrer", "https://www.google.com/", "query.urlref")
    assert_finding(a, "custom_property", "pro", "query._cvar.1[1]")


def test_every_sdk_parameter_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("GET", f"https://acme.matomo.cloud/piwik.php{android_hit()}"))
    assert_decoded(a, "track")
    assert "custom_property" not in labels(a).values(), labels(a)


def test_lookalike_host_is_not_matomo(analyzer):
    a = analyzer.analyze(make_request("GET", "https://example.org/matomo.php?x=1"))
    assert a is None or a.tracker != TRACKER
