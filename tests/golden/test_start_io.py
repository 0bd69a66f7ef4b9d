"""Golden tests: Start.io info events and download tracking with the keys TrackHAR observed in
real apps' traffic (tweaselORG/TrackHAR src/adapters/start-io.ts@078b076e)."""

from __future__ import annotations

from pathlib import Path

import pytest
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            make_request, org_json)

TRACKER = "start_io"
pytestmark = pytest.mark.no_real_client("start_io", "mobile-only SDK, closed source, no runnable client")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DEVICE = {"packageId": "com.example.wallpapers", "appVersion": "9.1", "appActivity": "com.example.wallpapers.MainActivity",
          "fgApp": True, "sdkVersion": "4.11.2", "clientSessionId": "3b2f1e0d-4c5a-4b69-8a7d-1e2f3a4b5c6d", "os": "android",
          "deviceVersion": "33", "userAdvertisingId": GAID, "manufacturer": "motorola", "model": "moto g32", "locale": "pt_BR",
          "width": "720", "height": "1600", "roaming": False, "timeSinceBoot": 864000123, "root": False, "orientation": "portrait",
          "ispName": "Vivo", "ispCarrIdName": "VIVO", "usedRam": 2147483648, "freeRam": 1073741824, "grid": "WIFI",
          "cellSignalLevel": 3, "wifiSignalLevel": 4}


def test_infoevent(analyzer):
    req = make_request("POST", "https://infoevent.startappservice.com/tracking/infoEvent", org_json(DEVICE), [JSON_CT])
    a = analyze(analyzer, req, "infoevent")
    has(a, "advertising_id", GAID, "body.userAdvertisingId")
    has(a, "screen_name", "com.example.wallpapers.MainActivity", "body.appActivity")
    has(a, "carrier", "Vivo", "body.ispName")
    assert a.app == "com.example.wallpapers"
    assert_every_key_mapped(analyzer, a, TRACKER, "infoevent", [k for k in DEVICE if not isinstance(DEVICE[k], bool)],
                            "body.")


def test_trackdownload_query(analyzer):
    query = {k: str(v) for k, v in DEVICE.items() if not isinstance(v, bool)}
    url = "https://trackdownload.startappservice.com/trackdownload/api/1.0/trackdownload?" + urlencode(query)
    a = analyze(analyzer, make_request("GET", url), "trackdownload")
    has(a, "advertising_id", GAID, "query.userAdvertisingId")
    has(a, "device_model", "moto g32", "query.model")
