"""Golden tests: Microsoft Clarity uploads as its clients build them: clarity-js
(microsoft/clarity@8aa987e4 packages/clarity-js/src/data/{envelope,upload,compress,encode,variable}.ts,
src/interaction/encode.ts) and the Flutter SDK (microsoft/clarity-apps@460d0038
lib/src/helpers/services/ingest_service.dart, lib/src/models/ingest/*, telemetry_service.dart).
tests/e2e/test_browser_replay_sdks.py drives the real clarity-js."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from leakmap.extract import Indicator
from leakmap.pipeline import Analyzer
from golden_support import (JSON_CT, assert_finding_at as has, compact, decoded_for, labels, make_request, summary,
                            rules_fixture)

PROJECT = "k2x9honeyp"
USER = "1abcd2e"          # _clck id (base-36 shortid)
SESSION = "9zyx8w7"       # _clsk id
URL = "https://shop.example.net/checkout?step=2"
SITE_USER = "crm-user-7731"
PACKAGE = "com.example.honeyshop"

decoded = decoded_for("clarity")
rules = rules_fixture()


@pytest.fixture(scope="module")
def analyzer(rules):
    return Analyzer(rules)


def web_batch(last: bool) -> str:
    """upload.ts stringify(): '{"e":' + e + ',"a":' + a + ',"p":' + p + '}', with the envelope
    of envelope.ts and events as data/encode.ts and interaction/encode.ts build them."""
    e = ["0.8.69", 3, 12000, 4000, PROJECT, USER, SESSION, 1, 1 if last else 0, 1 if last else 0, 0, URL]
    a = [
        [12001, 34, "userId", [hashlib.sha256(SITE_USER.encode()).hexdigest()], "userHint", ["Jane Doe"],
         "userType", ["string"], "sessionId", ["crm-session-9"], "pageId", ["crm-page-3"], "plan", ["pro"],
         "_uetvid", ["0123456789abcdef0123456789abcdef"]],                                   # Variable
        [12002, 1, 0, ["Mozilla/5.0 (X11; Linux x86_64)"], 1, [URL], 2, ["https://search.example/"],
         3, ["Checkout"], 9, ["de-DE"], 22, ["Linux"], 25, ["Pixel 8"], 34, ["Europe/Berlin"]],  # Dimension
        [12003, 0, 14, 1280, 15, 720, 34, 8, 24, 4999],                                      # Metric
        [12004, 24, "checkout_started"],                                                     # Custom (value only)
        [12005, 24, "coupon", "SPRING24"],                                                   # Custom (key, value)
        [12006, 9, 18, 302, 90, 1, 1, 0, 0, 0, "Pay now", "https://shop.example.net/pay", "a.b", 1, 1, 67, 21,
         "button", "", "pay", 0],                                                            # Click
        [12007, 27, 20, "••••• ••••", 1],                                                    # Input (masked)
        [12008, 47, 0, 1, 1],                                                                # Consent
    ]
    p = [[12000, 5, 2, "*D", "name=html", 3, 1, 2, "HTML", 14, 6, [26], "Jane Doe's cart"]]  # Discover
    return '{"e":' + compact(e) + ',"a":' + compact(a) + ',"p":' + json.dumps(p, ensure_ascii=False) + "}"


def test_gzipped_batch_without_content_encoding(rules):
    body = gzip.compress(web_batch(False).encode())
    analyzer = Analyzer(rules, indicators=[Indicator.make("user_id", SITE_USER)])
    a = analyzer.analyze(make_request("POST", "https://x.clarity.ms/collect", body,
                                      [("Accept", "application/x-clarity-gzip"), ("Origin", "https://shop.example.net")]))
    decoded(a, "collect")
    assert a.decode_chain == ["body: gzip → json", "body.a: group_by", "body.a.variable[0]: pairs",
                              "body.a.dimension[0]: pairs", "body.a.metric[0]: pairs"], a.decode_chain
    # identify() hashes the site's user id: the rule types the hash, the honey detector finds it.
    has(a, "user_id", hashlib.sha256(SITE_USER.encode()).hexdigest(), "body.a.variable[0].userId[0]")
    has(a, "user_id", SITE_USER, "body.a.variable[0].userId[0]", "indicator")
    assert a.app == "example.net"


def test_envelope_and_events_web(analyzer):
    a = analyzer.analyze(make_request("POST", "https://x.clarity.ms/collect", web_batch(True)))
    decoded(a, "collect")
    assert a.decode_chain[0] == "body: json"
    for data_type, value, path in [
        ("sdk_version", "0.8.69", "body.e[0]"), ("project_key", PROJECT, "body.e[4]"),
        ("browser_id", USER, "body.e[5]"), ("session_id", SESSION, "body.e[6]"), ("page_url", URL, "body.e[11]"),
        ("name", "Jane Doe", "body.a.variable[0].userHint[0]"),
        ("session_id", "crm-session-9", "body.a.variable[0].sessionId[0]"),
        ("other_id", "crm-page-3", "body.a.variable[0].pageId[0]"),
        ("custom_property", "pro", "body.a.variable[0].plan[0]"),
        ("browser_id", "0123456789abcdef0123456789abcdef", "body.a.variable[0]._uetvid[0]"),
        ("user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "body.a.dimension[0].0[0]"),
        ("referrer", "https://search.example/", "body.a.dimension[0].2[0]"),
        ("screen_name", "Checkout", "body.a.dimension[0].3[0]"),
        ("language", "de-DE", "body.a.dimension[0].9[0]"), ("os_name", "Linux", "body.a.dimension[0].22[0]"),
        ("device_model", "Pixel 8", "body.a.dimension[0].25[0]"),
        ("timezone", "Europe/Berlin", "body.a.dimension[0].34[0]"),
        ("screen_width", "1280", "body.a.metric[0].14"), ("screen_height", "720", "body.a.metric[0].15"),
        ("ram", "8", "body.a.metric[0].34"), ("revenue", "4999", "body.a.metric[0].24"),
        ("event_name", "checkout_started", "body.a.custom[0][2]"), ("event_name", "coupon", "body.a.custom[1][2]"),
        ("custom_property", "SPRING24", "body.a.custom[1][3]"),
        ("interaction", "Pay now", "body.a.click[0][10]"), ("page_url", "https://shop.example.net/pay", "body.a.click[0][11]"),
        ("interaction", "••••• ••••", "body.a.input[0][3]"), ("consent_state", "1", "body.a.consent[0][3]"),
    ]:
        has(a, data_type, value, path)
    got = labels(a)
    assert got["body.a.variable[0].userType[0]"] == "" and got["body.a.variable[0].time"] == ""
    # The recording itself is kept, not labelled field by field.
    assert got["body.p[0][12]"] == "" and ("body.p[0][12]", "Jane Doe's cart", "") in a.fields


def flutter_batch() -> bytes:
    """collect_request.dart / envelope.dart (no URL; platform 1 = Android), gzipped by
    ingest_service.dart; events as session_manager.dart logs them for a screen."""
    e = ["1.4.2", 1, 0, 2210, PROJECT, "3k9x1ab", "7q2w9er", 1, 0, 0, 1]
    a = [[0, 11, 1080, 2400],
         [0, 1, 0, ["Mozilla/5.0 (Linux; Android 14; shiba Build/AP1A; wv)"], 22, ["1"], 23, ["Linux 5.15 #1 SMP"],
          25, ["google"], 3, ["CheckoutScreen"]],
         [0, 0, 1, 1, 0, 1716000000, 14, 1080, 15, 2400, 33, 8],
         [0, 34, "Application Version", ["3.2.1"], "Application Framework", ["Flutter Android"],
          "Clarity Version", ["1.4.2"], "Package Name", [PACKAGE], "userId", [SITE_USER], "sessionId", ["crm-session-9"]],
         [1500, 24, "checkout_started"]]
    p = [[0, 6, True, "CgQIARAC", "", -2, 3]]
    return gzip.compress(('{"e":' + compact(e) + ',"a":' + compact(a) + ',"p":' + compact(p) + "}").encode())


def test_flutter_collect(analyzer):
    headers = [JSON_CT, ("Accept", "application/x-clarity-gzip"), ("Accept-Encoding", "gzip, deflate, br"),
               ("ApplicationPackage", PACKAGE), ("SDK-Version", "1.4.2"), ("SDK-Framework", "flutter")]
    a = analyzer.analyze(make_request("POST", "https://y.clarity.ms/collect", flutter_batch(), headers))
    decoded(a, "collect")
    for data_type, value, path in [
        ("project_key", PROJECT, "body.e[4]"), ("os_name", "1", "body.e[10]"),
        ("app_version", "3.2.1", 'body.a.variable[0]["Application Version"][0]'),
        ("app_id", PACKAGE, 'body.a.variable[0]["Package Name"][0]'),
        ("user_id", SITE_USER, "body.a.variable[0].userId[0]"),      # the apps send it in plain
        ("session_id", "crm-session-9", "body.a.variable[0].sessionId[0]"),
        ("device_model", "google", "body.a.dimension[0].25[0]"), ("os_version", "Linux 5.15 #1 SMP", "body.a.dimension[0].23[0]"),
        ("screen_name", "CheckoutScreen", "body.a.dimension[0].3[0]"),
        ("event_name", "checkout_started", "body.a.custom[0][2]"),
        ("sdk_name", "flutter", "header.sdk-framework"),
    ]:
        has(a, data_type, value, path)
    assert a.app == PACKAGE and a.app_signal == "payload_app_id", (a.app, a.app_signal)


def test_flutter_assets_tag_and_telemetry(analyzer):
    check = analyzer.analyze(make_request("POST", f"https://y.clarity.ms/{PROJECT}/check-asset",
                                          compact([{"hash": "9e107d9d372bb6826bd81d3542a419d6", "path": None,
                                                    "version": None, "type": 1}]), [JSON_CT]))
    decoded(check, "assets")
    has(check, "project_key", PROJECT, "path.project_id")
    upload = analyzer.analyze(make_request(
        "POST", f"https://y.clarity.ms/{PROJECT}/upload-asset/9e107d9d372bb6826bd81d3542a419d6/1?width=64&height=64",
        b"\x89PNG\r\n\x1a\n\x00\x00", [("Content-Type", "application/octet-stream")]))
    decoded(upload, "assets")
    assert labels(upload)["path.md5"] == ""
    tag = analyzer.analyze(make_request("GET", f"https://www.clarity.ms/tag/mobile/{PROJECT}"))
    decoded(tag, "tag")
    has(tag, "project_key", PROJECT, "path.project_id")
    error = {"v": "1.4.2", "p": PROJECT, "u": "3k9x1ab", "s": "7q2w9er", "n": 1, "t": "SettingCustomTag",
             "m": "boom", "e": "at main.dart:12", "i": "1716000000000", "f": 1}
    err = analyzer.analyze(make_request("POST", "https://www.clarity.ms/report/eus2", compact(error), [JSON_CT]))
    decoded(err, "report")
    has(err, "project_key", PROJECT, "body.p")
    has(err, "error_report", "at main.dart:12", "body.e")
    metrics = [{"v": "1.4.2", "n": "Clarity_UploadSessionSegmentBytes", "c": 1, "s": 1200.0, "min": 1200.0,
                "max": 1200.0, "stdev": 0.0, "f": 1}]
    met = analyzer.analyze(make_request("POST", f"https://www.clarity.ms/report/project/{PROJECT}/metrics",
                                        compact(metrics), [JSON_CT]))
    decoded(met, "report")
    has(met, "project_key", PROJECT, "path.project_id")


def test_web_tag_and_error_report(analyzer):
    a = analyzer.analyze(make_request("GET", f"https://www.clarity.ms/tag/{PROJECT}?ref=npm"))
    decoded(a, "tag")
    has(a, "project_key", PROJECT, "path.project_id")
    for url in ("https://scripts.clarity.ms/0.8.41/clarity.js", "https://www.clarity.ms/eus2-c/s/0.7.1/clarity.js"):
        decoded(analyzer.analyze(make_request("GET", url)), "tag")
    uet = analyzer.analyze(make_request("GET", "https://www.clarity.ms/tag/uet/26101359?conversions=1"))
    decoded(uet, "tag")
    has(uet, "project_key", "26101359", "path.uet_tag_id")
    assert "uet" not in {f.value for f in uet.findings}
    # Uploads on www.clarity.ms under a region prefix (older tags, the Android SDK's ingest URL).
    decoded(analyzer.analyze(make_request("POST", "https://www.clarity.ms/eus2-d/collect", web_batch(True))), "collect")
    # core/report.ts: XHR send of the JSON text (no content type given).
    report = {"v": "0.8.69", "p": PROJECT, "u": USER, "s": SESSION, "n": 1, "m": "Timeout : https://x.clarity.ms/collect"}
    r = analyzer.analyze(make_request("POST", "https://report.clarity.ms/eus2-tag", compact(report)))
    decoded(r, "report")
    has(r, "browser_id", USER, "body.u")
    has(r, "error_report", report["m"], "body.m")


def test_unknown_event_shape_is_kept_and_noted(analyzer):
    body = '{"e":["0.8.69",1,0,10,"%s","u1","s1",1,0,0,0,"https://a.example/"],"a":[[1,34,"odd"],{"x":1}]}' % PROJECT
    a = analyzer.analyze(make_request("POST", "https://x.clarity.ms/collect", body))
    decoded(a, "collect")
    assert any(step.startswith("body.a: left as is (record 1 has no type code") for step in a.decode_chain), a.decode_chain
    has(a, "project_key", PROJECT, "body.e[4]")


@pytest.mark.parametrize("url", ["https://x.clarity.ms.evil.example/collect", "https://xclarity.ms/collect"])
def test_lookalike_hosts_do_not_match(analyzer, url):
    a = analyzer.analyze(make_request("POST", url, web_batch(True)))
    assert a is None or a.tracker != "clarity", summary(a)
