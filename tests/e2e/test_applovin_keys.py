"""The addon option leakmap_keys through a real `mitmdump -s addons/leakmap.py`: a request
obfuscated as the AppLovin Android SDK does it (tests/support/applovin_sdk.py) is opened
with the app's SDK key; the key itself reaches neither the findings store nor the log."""

from __future__ import annotations

import json
import sqlite3
import ssl
import urllib.request

import pytest

from support.applovin_sdk import encode_v2

pytestmark = pytest.mark.e2e

SDK_KEY = "05TMDQ5tZabpXQ45_UTbmEGNUtRAzpEcf4IrJSvWkx8xkmVrX8D5YVhKnOdJWQrFYyLN8S8vSeYUPjGa5cNw0Z"
IDFA = "38400000-8cf0-11bd-b23e-10b96e40000d"


def send_through(proxy, url: str, body: bytes) -> int:
    context = ssl.create_default_context(cafile=str(proxy.ca_cert))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy.url}),
                                         urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with opener.open(request, timeout=30) as response:
        return response.status


def test_addon_opens_applovin_bodies_with_leakmap_keys(proxy_factory):
    proxy = proxy_factory(f"leakmap_keys=applovin={SDK_KEY}")
    body = json.dumps({"device_info": {"idfa": IDFA, "model": "Pixel 8"}, "app_info": {"package_name": "com.ex.game"},
                       "sdk_key": SDK_KEY})
    assert send_through(proxy, "https://ms4.applovin.com/1.0/mediate", encode_v2(body, SDK_KEY, as_text=False)) == 204
    log = proxy.stop()
    with sqlite3.connect(proxy.db) as conn:
        status = conn.execute("SELECT status, error FROM requests WHERE tracker = 'applovin'").fetchall()
        rows = set(conn.execute("SELECT data_type, value, path FROM findings").fetchall())
    assert status == [("decoded", "")]
    assert {("advertising_id", IDFA, "body.device_info.idfa"), ("device_model", "Pixel 8", "body.device_info.model"),
            ("project_key", "[applovin key]", "body.sdk_key")} <= rows
    for stored in (proxy.db.read_bytes().decode("latin-1"), proxy.report.read_text(), log):
        assert SDK_KEY[:32] not in stored
