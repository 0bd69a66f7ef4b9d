"""Golden tests: AdColony launch/configure bodies and the Inneractive ad request, with the keys
TrackHAR observed in real apps' traffic (tweaselORG/TrackHAR src/adapters/adcolony.ts@078b076e)
and the Inneractive M2M parameters; JSON written as AdColony's Android SDK writes it (org.json)."""

from __future__ import annotations

from pathlib import Path

import pytest
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            make_request, org_json)

TRACKER = "digital_turbine"
pytestmark = pytest.mark.no_real_client("digital_turbine", "mobile-only SDKs (AdColony, Fyber), closed source, no runnable client")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
LAUNCH = {"advertiser_id": GAID, "device_id": "6f1c2b3a7d8e4f90", "carrier_name": "Vodafone", "screen_width": 1080,
          "screen_height": 2400, "locale_language_code": "de", "ln": "de", "mac_address": "02:00:00:00:00:00",
          "manufacturer": "samsung", "device_brand": "samsung", "model": "SM-A546B", "device_model": "SM-A546B",
          "network_type": "wifi", "os_name": "android", "platform": "android", "os_version": "14", "arch": "arm64-v8a",
          "battery_level": 0.64, "timezone_ietf": "Europe/Berlin", "current_orientation": 0, "dark_mode": False,
          "sdk_version": "4.8.0", "app_bundle_name": "Puzzle Quest", "app_bundle_version": "2.3.1"}
CONFIGURE = {"bundle_id": "com.example.puzzle", "bundle_version_short": "2.3.1", "os_name": "android", "os_version": "14",
             "advertiser_id": GAID, "vendor_id": "", "sid": "a1b2c3d4-e5f6-4711-8899-aabbccddeeff", "carrier": "Vodafone",
             "ln": "de", "device_brand": "samsung", "manufacturer": "samsung", "device_model": "SM-A546B",
             "battery_level": 0.64, "current_orientation": 0, "timezone_ietf": "Europe/Berlin", "screen_width": 1080,
             "screen_height": 2400, "sdk_version": "4.8.0", "app_id": "app1a2b3c4d5e6f7a8b9c", "zone_ids": ["vz1a2b3c"]}


def test_launch(analyzer):
    a = analyze(analyzer, make_request("POST", "https://adc3-launch.adcolony.com/v4/launch", org_json(LAUNCH), [JSON_CT]),
                "launch")
    has(a, "advertising_id", GAID, "body.advertiser_id")
    has(a, "device_id", "6f1c2b3a7d8e4f90", "body.device_id")
    has(a, "timezone", "Europe/Berlin", "body.timezone_ietf")
    has(a, "app_name", "Puzzle Quest", "body.app_bundle_name")
    assert_every_key_mapped(analyzer, a, TRACKER, "launch", [k for k in LAUNCH if k != "dark_mode"], "body.")


def test_configure_names_the_app(analyzer):
    url = "https://androidads23-1.adcolony.com/configure"
    a = analyze(analyzer, make_request("POST", url, org_json(CONFIGURE), [JSON_CT]), "configure")
    has(a, "app_id", "com.example.puzzle", "body.bundle_id")
    has(a, "session_id", "a1b2c3d4-e5f6-4711-8899-aabbccddeeff", "body.sid")
    has(a, "project_key", "app1a2b3c4d5e6f7a8b9c", "body.app_id")
    assert a.app == "com.example.puzzle"


def test_inneractive_ad_request(analyzer):
    query = {"f": "20", "g": "m", "nt": "3G", "v": "Sm2m-2.1.0", "lg": "52.52,13.40", "a": "34", "aid": "Acme_Puzzle_Android",
             "aaid": GAID, "ua": "Mozilla/5.0 (Linux; Android 14; SM-A546B)", "cip": "198.51.100.7"}
    url = "https://m2m1.inner-active.mobi/simpleM2M/clientRequestEnhancedHtmlAd?" + urlencode(query)
    a = analyze(analyzer, make_request("GET", url), "inneractive_ad")
    has(a, "geo_coordinates", "52.52,13.40", "query.lg")
    has(a, "advertising_id", GAID, "query.aaid")
    has(a, "public_ip", "198.51.100.7", "query.cip")
    assert_every_key_mapped(analyzer, a, TRACKER, "inneractive_ad", [f"query.{k}" for k in query])
