"""Golden tests: Kochava's wire formats.

Kochava's native SDKs are closed source. Payloads follow public decompiled builds and
Kochava's Unity/Web SDK configs (see kochava.yaml `source`): JSON {action, kochava_app_id,
kochava_device_id, sdk_version, sdk_protocol, nt_id, data{...}} POSTed to /track/kvinit and
/track/json (one object or a batch array); Android 4.x rotates its init URL over unbranded
hosts.
"""

from __future__ import annotations

import json

import pytest

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze_for, assert_finding, analyzer_fixture

APP_GUID = "koexample-android-ob4ml"
KDID = "KA4102026010100f1e2d3c4b5a69788796a5b4c3d2e1f0"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
ANDROID_ID = "9774d56d682e549c"
PACKAGE = "com.example.shop"


analyzer = analyzer_fixture()


analyze = analyze_for("kochava")


def post(url: str, body) -> Request:
    return Request("golden", "golden", 0.0, "POST", url, [("Content-Type", "application/json; charset=UTF-8")],
                   json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode())


def envelope(action: str, data: dict) -> dict:
    return {"action": action, "kochava_app_id": APP_GUID, "kochava_device_id": KDID, "sdk_version": "AndroidTracker 5.6.0",
            "sdk_protocol": "17", "nt_id": "0a1b2-1-9c8d7e6f-1234-5678-9abc-def012345678", "data": data,
            "sdk_build_date": "2025-06-12T18:00:00Z", "send_date": "2026-01-01T00:00:00.123Z"}


INIT_DATA = {"platform": "android", "package": PACKAGE, "os_version": "Android 14", "device": "Pixel 8-google",
             "metrics": {"sdk_startup_ms": 12}, "usertime": 1767225600, "uptime": 0.657}

# the Install datapoints of the decompiled com.kochava.tracker list, plus ids
INSTALL_DATA = {"adid": GAID, "android_id": ANDROID_ID, "installed_date": 1767225000, "installer_package": "com.android.vending",
                "package": PACKAGE, "app_name": "Example Shop", "app_version": "Example Shop 3.4.1",
                "app_short_string": "3.4.1", "sdk_id": "", "instant_app": False, "bms": 1, "screen_inches": 6.2,
                "device_cores": 8, "screen_dpi": 420, "manufacturer": "Google", "product_name": "shiba",
                "architecture": "arm64-v8a", "device": "Pixel 8-google", "disp_h": 2400, "disp_w": 1080,
                "is_genuine": True, "language": "en-US", "locale": "en-US", "os_version": "Android 14",
                "screen_brightness": 0.4, "device_orientation": "portrait", "volume": 0.5, "battery_status": "charging",
                "battery_level": 80, "timezone": "Europe/Berlin", "ui_mode": "Normal", "notifications_enabled": True,
                "iab_usp": "1YNN", "network_conn_type": "wifi", "usertime": 1767225600, "uptime": 1.2}


def test_kvinit(analyzer):
    a = analyze(analyzer, post("https://kvinit-prod.api.kochava.com/track/kvinit", envelope("init", INIT_DATA)), "kvinit")
    assert_finding(a, "project_key", APP_GUID, "body.kochava_app_id")
    assert_finding(a, "installation_id", KDID, "body.kochava_device_id")
    assert_finding(a, "app_id", PACKAGE, "body.data.package")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


@pytest.mark.parametrize("host", ["int.dewrain.life", "int.vaicore.site", "kochava-init.rotated.example"])
def test_kvinit_on_rotating_hosts(analyzer, host):
    via = "payload_shape" if host.endswith(".example") else "host"
    a = analyze(analyzer, post(f"https://{host}/track/kvinit", envelope("init", INIT_DATA)), "kvinit", via=via)
    assert_finding(a, "installation_id", KDID, "body.kochava_device_id")


def test_install_batch_track_json(analyzer):
    batch = [envelope("install", INSTALL_DATA),
             envelope("event", {"event_name": "purchase", "event_data": {"price": 9.99, "user_email": "jane@example.com"},
                                "usertime": 1767225700})]
    a = analyze(analyzer, post("https://control.kochava.com/track/json", batch), "track")
    assert_finding(a, "advertising_id", GAID, "body[0].data.adid")
    assert_finding(a, "android_id", ANDROID_ID, "body[0].data.android_id")
    assert_finding(a, "event_name", "purchase", "body[1].data.event_name")
    assert_finding(a, "email", "jane@example.com", "body[1].data.event_data.user_email", "key_name")
    endpoint = analyzer.endpoints[("kochava", "track")]
    labels = {path: label for path, _, label in a.fields}
    for key in INSTALL_DATA:
        mapped = endpoint.fields.lookup(f"data.{key}")
        assert mapped is not None and mapped[1] == f"data.{key}", key
        if f"body[0].data.{key}" in labels:
            assert labels[f"body[0].data.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_web_sdk_host(analyzer):
    a = analyze(analyzer, post("https://web-sdk.control.kochava.com/track/json/", envelope("install", {"package": "shop.example"})),
                "track")
    assert_finding(a, "project_key", APP_GUID, "body.kochava_app_id")


def test_unbranded_host_without_kochava_fields_is_not_kochava(analyzer):
    a = analyzer.analyze(post("https://int.example.org/track/kvinit", {"action": "init", "foo": 1}))
    assert a is None or a.tracker != "kochava"


def test_identity_links_and_install_referrer(analyzer):
    """Decompiled 3.x tracker: the install carries data.identity_link (identity_link_all),
    install_referrer {referrer, status, install_begin_time, referrer_click_time},
    app_limit_tracking and conversion_type/conversion_data; action identityLink merges the
    app's name/value pairs into data."""
    install = dict(INSTALL_DATA, identity_link={"User ID": "user-4711", "Login": "jane_doe"}, app_limit_tracking=False,
                   install_referrer={"referrer": "utm_source=google-play&utm_medium=organic", "status": "ok",
                                     "install_begin_time": 1767225000, "referrer_click_time": 1767224990},
                   conversion_type="gplay", conversion_data="utm_source=google-play&utm_medium=organic",
                   ids={"email": "jane@example.com"})
    link = envelope("identityLink", {"User ID": "user-4711", "email_address": "jane@example.com", "usertime": 1767225800})
    a = analyze(analyzer, post("https://control.kochava.com/track/json", [envelope("install", install), link]), "track")
    # key names win over the identity_link catch-all where they name a type
    assert_finding(a, "user_id", "user-4711", 'body[0].data.identity_link["User ID"]', "key_name")
    assert_finding(a, "username", "jane_doe", "body[0].data.identity_link.Login", "key_name")
    assert_finding(a, "email", "jane@example.com", "body[0].data.ids.email")
    assert_finding(a, "referrer", "utm_source=google-play&utm_medium=organic", "body[0].data.install_referrer.referrer")
    fields = {path: label for path, _, label in a.fields}
    assert fields["body[0].data.app_limit_tracking"] == "consent_state"
    assert fields["body[0].data.conversion_type"] == ""
    assert fields["body[0].data.install_referrer.install_begin_time"] == "install_time"
    assert fields['body[1].data["User ID"]'] == "user_id"  # free-form identity pair: labelled by its key name
    assert ("body[1].data.email_address", "jane@example.com", "email") in a.fields
