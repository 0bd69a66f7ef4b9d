"""Golden tests for tracker_rules/vungle.yaml.

The Vungle SDK is closed source. Bodies use the keys TrackHAR observed (tweaselORG/TrackHAR
src/adapters/vungle.ts@b0189485) and plotalyzer's Vungle parsers
(Impact-of-Mobile-SDK-Usage-on-Privacy/plugin-analysis@068fb36c, vungle/Adx.scala, Events.scala);
transport facts (gzip with Content-Encoding, VungleDroid/<ver> user agent, config.ads.vungle.com)
from decompiled SDK 7 VungleApiClient copies in public repos. SDK 7 bodies follow the
serializer descriptors of Vungle 7.1.0 decompiled in Elkalubi1/DLS-25-@c1a8f57b (i6/*.smali:
DeviceNode, DeviceNode.VungleExt, CommonRequestBody and its nested classes, com.vungle.ads.fpd).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Request
from leakmap.read import request_from_flow
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze, assert_finding, analyzer_fixture, summary

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "vungle.yaml"

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFA = "5B7C8D9E-0F1A-4B2C-8D3E-4F5A6B7C8D9E"
IDFV = "6D1A2B3C-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
BUNDLE = "com.example.towerdefense"
VUNGLE_APP_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"
UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36"


# Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
analyzer = analyzer_fixture(only=RULE)


def android_body() -> dict[str, Any]:
    return {"app": {"id": VUNGLE_APP_ID, "bundle": BUNDLE, "ver": "3.2.0"},
            "device": {"make": "Google", "model": "Pixel 8", "osv": "14", "carrier": "Telekom.de", "os": "android",
                       "w": 1080, "h": 2400, "ua": UA, "ifa": GAID,
                       "ext": {"vungle": {"android": {"gaid": GAID, "battery_level": 0.8, "battery_state": "NOT_CHARGING",
                                                      "connection_type": "WIFI", "language": "de", "time_zone": "Europe/Berlin",
                                                      "volume_level": 0.5, "storage_bytes_available": 52428800}}}},
            "user": {"gdpr": {"consent_status": "opted_in", "consent_source": "publisher",
                              "consent_timestamp": 1767225600, "consent_message_version": "1"}}}


def gzip_post(url: str, body: dict[str, Any], ua: str = "VungleDroid/7.1.0") -> Request:
    """SDK 6/7 gzip interceptor: Content-Encoding gzip on the JSON body."""
    flow = tflow.tflow()
    flow.request = http.Request.make("POST", url, b"", {"Content-Type": "application/json; charset=utf-8",
                                                        "Content-Encoding": "gzip", "User-Agent": ua,
                                                        "X-VUNGLE-BUNDLE-ID": BUNDLE})
    flow.request.raw_content = gzip.compress(json.dumps(body).encode())
    return request_from_flow(flow, "golden", Limits())


def test_config_android_gzip(analyzer):
    a = analyze(analyzer, gzip_post("https://config.ads.vungle.com/config", android_body()))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("vungle", "config_ads", "decoded", ""), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.device.ifa")
    assert_finding(a, "app_id", BUNDLE, "body.app.bundle")
    assert_finding(a, "project_key", VUNGLE_APP_ID, "body.app.id")
    assert_finding(a, "timezone", "Europe/Berlin", "body.device.ext.vungle.android.time_zone")
    assert_finding(a, "disk", "52428800", "body.device.ext.vungle.android.storage_bytes_available")
    assert_finding(a, "consent_state", "opted_in", "body.user.gdpr.consent_status")
    assert_finding(a, "user_agent", "VungleDroid/7.1.0", "header.user-agent")
    endpoint = analyzer.endpoints[("vungle", "config_ads")]
    for path, _, _ in a.fields:
        if path.startswith(("body.app.", "body.device.")):
            assert endpoint.fields.lookup(path) is not None, path


def test_ads_ios(analyzer):
    body = {"app": {"bundle": "1234567890", "ver": "3.2.0"},
            "device": {"make": "Apple", "model": "iPhone15,2", "os": "ios", "osv": "17.2", "w": 393, "h": 852,
                       "ifa": IDFA, "ext": {"vungle": {"ios": {"idfa": IDFA, "idfv": IDFV, "volume_level": 0.3}}}}}
    a = analyze(analyzer, gzip_post("https://adx.ads.vungle.com/api/v7/ads", body, "VungleSDK/7.2.0"))
    assert (a.endpoint, a.status) == ("config_ads", "decoded"), summary(a)
    assert_finding(a, "vendor_id", IDFV, "body.device.ext.vungle.ios.idfv")
    assert_finding(a, "advertising_id", IDFA, "body.device.ifa")


def test_legacy_api_v5_ads_plain_json(analyzer):
    req = Request(flow_id="g", source="golden", timestamp=0.0, method="POST",
                  url="https://api.vungle.com/api/v5/ads", headers=[("Content-Type", "application/json")],
                  body=json.dumps(android_body()).encode())
    a = analyze(analyzer, req)
    assert (a.endpoint, a.status) == ("config_ads", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.device.ifa")


def test_events_tpat_query(analyzer):
    req = Request(flow_id="g", source="golden", timestamp=0.0, method="GET",
                  url=f"https://events.ads.vungle.com/api/v7/tpat?vid={IDFV}&os=ios", headers=[], body=b"")
    a = analyze(analyzer, req)
    assert (a.tracker, a.endpoint, a.status) == ("vungle", "events", "decoded"), summary(a)
    assert_finding(a, "vendor_id", IDFV, "query.vid")


def test_api_new_ifa(analyzer):
    req = Request(flow_id="g", source="golden", timestamp=0.0, method="GET",
                  url=f"https://api.vungle.com/api/v5/new?ifa={GAID}", headers=[], body=b"")
    a = analyze(analyzer, req)
    assert (a.endpoint, a.status) == ("new", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "query.ifa")


APP_SET_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
SDK7_EXT = {"is_google_play_services_available": True, "app_set_id": APP_SET_ID, "app_set_id_scope": 1,
            "battery_level": 0.8, "battery_state": "BATTERY_PLUGGED_USB", "battery_saver_enabled": 0,
            "connection_type": "WIFI", "connection_type_detail": "unknown", "locale": "de_DE", "language": "deu",
            "time_zone": "Europe/Berlin", "volume_level": 0.5, "sound_enabled": 1, "is_tv": False,
            "sd_card_available": 1, "is_sideload_enabled": False, "gaid": GAID, "oit": 1700000000000,
            "ort": 1767225600000, "obt": 1767139200000}


def sdk7_body() -> dict[str, Any]:
    """CommonRequestBody (7.1.0): device (DeviceNode with ext = VungleExt), app (AppNode),
    user (User: gdpr, ccpa, coppa, fpd, iab), ext (RequestExt), request (RequestParam)."""
    return {"device": {"make": "Google", "model": "Pixel 8", "osv": "14", "carrier": "Telekom.de", "os": "android",
                       "w": 1080, "h": 2400, "ua": UA, "ifa": GAID, "lmt": 0, "ext": SDK7_EXT},
            "app": {"bundle": BUNDLE, "ver": "3.2.0", "id": VUNGLE_APP_ID},
            "user": {"gdpr": {"consent_status": "opted_in", "consent_source": "publisher", "consent_timestamp": 1767225600,
                              "consent_message_version": ""},
                     "ccpa": {"status": "opted_out"}, "coppa": {"is_coppa": False}, "iab": {"tcf": "CPzHq4APzHq4AAHABBENAXEgAP_gAEPgAAAAJYNV"},
                     "fpd": {"demographic": {"age_range": 3}, "location": {"country": "DE", "region_state": "BE"},
                             "revenue": {"total_earnings_usd": 12.5, "is_user_a_purchaser": True},
                             "session_context": {"level_percentile": 40.0, "page": "level_select", "time_spent": 321},
                             "custom_data": {"favourite_team": "blue"}}},
            "ext": {"config_extension": "ce-1", "signals": "{\"sessionCount\":3}", "config_last_validated_ts": 1767225000000},
            "request": {"placements": ["REWARDED-1234"], "ad_size": {"w": 320, "h": 50}, "ad_start_time": 1767225601000,
                        "app_id": VUNGLE_APP_ID, "placement_reference_id": "REWARDED-1234", "user": "player-4711"}}


def test_sdk7_ads_request_every_key_is_mapped(analyzer):
    """VungleApiClient (7.1.0): gzip interceptor, User-Agent VungleDroid/<ver>, Vungle-Version,
    X-Vungle-App-Id, X-VUNGLE-APP-VERSION, X-Vungle-Placement-Ref-Id."""
    flow = tflow.tflow()
    flow.request = http.Request.make("POST", "https://adx.ads.vungle.com/api/v7/ads", b"", {
        "User-Agent": "VungleDroid/7.1.0", "Vungle-Version": "7.1.0", "Content-Type": "application/json",
        "Content-Encoding": "gzip", "X-Vungle-Placement-Ref-Id": "REWARDED-1234", "X-VUNGLE-APP-VERSION": "3.2.0",
        "X-Vungle-App-Id": VUNGLE_APP_ID})
    flow.request.raw_content = gzip.compress(json.dumps(sdk7_body(), separators=(",", ":")).encode())
    a = analyze(analyzer, request_from_flow(flow, "golden", Limits()))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("vungle", "config_ads", "decoded", ""), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.device.ifa")
    assert_finding(a, "vendor_id", APP_SET_ID, "body.device.ext.app_set_id")
    assert_finding(a, "timezone", "Europe/Berlin", "body.device.ext.time_zone")
    assert_finding(a, "user_id", "player-4711", "body.request.user")
    assert_finding(a, "screen_name", "level_select", "body.user.fpd.session_context.page")
    assert_finding(a, "sdk_version", "7.1.0", "header.vungle-version")
    assert_finding(a, "consent_state", "CPzHq4APzHq4AAHABBENAXEgAP_gAEPgAAAAJYNV", "body.user.iab.tcf")
    endpoint = analyzer.endpoints[("vungle", "config_ads")]
    fields = {path: label for path, _, label in a.fields}
    for key in [*(f"device.{k}" for k in sdk7_body()["device"] if k != "ext"), *(f"device.ext.{k}" for k in SDK7_EXT),
                *(f"request.{k}" for k in ("ad_start_time", "app_id", "placement_reference_id", "user")),
                *(f"ext.{k}" for k in sdk7_body()["ext"])]:
        mapped = endpoint.fields.lookup(f"body.{key}")
        assert mapped is not None and mapped[1] == f"body.{key}", key
        assert fields[f"body.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


@pytest.mark.parametrize("url", ["https://config.ads.vungle.com.evil.example/config",
                                 "https://vungle-config.example.org/config"])
def test_lookalike_hosts_are_not_vungle(analyzer, url):
    req = Request(flow_id="g", source="golden", timestamp=0.0, method="POST", url=url, headers=[],
                  body=json.dumps(android_body()).encode())
    a = analyzer.analyze(req)
    assert a is None or a.tracker != "vungle"
