"""Golden tests: INFOnline (IOAM) requests with the parameters and JSON block TrackHAR's
INFOnline adapter documents (src/adapters/infonline.ts@3b655b25): the web/app `tx.io` hit with
`mi` JSON in the query, the apps' form field `ae` (base64 JSON, or base64 gzip JSON starting
`H4s`), and the app configuration request."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from urllib.parse import urlencode

from golden_support import (FORM_CT, JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json,
                            labels, make_request)

TRACKER = "infonline"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

HASHED_IDFA = "5f4dcc3b5aa765d61d8327deb882cf99"
BLOCK = {"application": {"package": "de.example.news", "versionName": "12.4.1", "versionCode": "1241"},
         "library": {"libVersion": "2.6.0", "libName": "iomb"},
         "client": {"uuids": {"advertisingIdentifier": HASHED_IDFA}, "platform": "SM-S918B", "osIdentifier": "android",
                    "osVersion": "14", "language": "de", "carrier": "Vodafone.de", "country": "DE",
                    "screen": {"resolution": "1080x2340", "dpi": 450}}}


def test_tx_query_with_mi_block_and_cookie(analyzer):
    query = urlencode({"st": "exmpnews", "cp": "news/politik", "lo": "DE/BY", "r2": "https://www.google.de/",
                       "vr": "2.6.0", "xy": "1080x2340", "mi": compact_json(BLOCK)})
    a = analyze(analyzer, make_request("GET", f"https://de.ioam.de/tx.io?{query}",
                                       headers=[("Cookie", "i00=0123abcd4567ef000000")]), "tx")
    has(a, "screen_name", "news/politik", "query.cp")
    has(a, "region", "DE/BY", "query.lo")
    has(a, "referrer", "https://www.google.de/", "query.r2")
    has(a, "screen_width", "1080", "query.xy.width")
    has(a, "browser_id", "0123abcd4567ef000000", "cookie.i00")
    has(a, "app_id", "de.example.news", "query.mi.application.package")
    has(a, "hashed_advertising_id", HASHED_IDFA, "query.mi.client.uuids.advertisingIdentifier")
    has(a, "carrier", "Vodafone.de", "query.mi.client.carrier")
    assert labels(a)["query.mi.client.screen.resolution.height"] == "screen_height"
    assert a.app == "de.example.news"


def test_app_form_ae_gzip_and_plain(analyzer):
    body = dict(BLOCK, events=[{"identifier": "application", "state": "start", "timestamp": 1767225600},
                               {"identifier": "view", "state": "appeared", "category": "Artikel/Sport",
                                "timestamp": 1767225605}])
    for ae in (base64.b64encode(gzip.compress(compact_json(body).encode())).decode(),
               base64.b64encode(compact_json(body).encode()).decode()):
        a = analyze(analyzer, make_request("POST", "https://de.ioam.de/tx.io", urlencode({"ae": ae}), [FORM_CT]), "tx")
        has(a, "screen_name", "Artikel/Sport", "body.ae.events[1].category")
        has(a, "os_version", "14", "body.ae.client.osVersion")
        has(a, "app_version", "12.4.1", "body.ae.application.versionName")
        has(a, "screen_width", "1080", "body.ae.client.screen.resolution.width")
        assert labels(a)["body.ae.events[0].timestamp"] == ""


def test_app_config(analyzer):
    a = analyze(analyzer, make_request("POST", "https://config.ioam.de/appcfg.php", compact_json(BLOCK), [JSON_CT]),
                "app_config")
    has(a, "device_model", "SM-S918B", "body.client.platform")
    has(a, "sdk_version", "2.6.0", "body.library.libVersion")
