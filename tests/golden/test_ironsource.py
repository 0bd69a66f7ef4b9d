"""Golden tests for tracker_rules/ironsource.yaml.

The ironSource SDK is closed source. Payloads follow the decompiled mediation SDK 6.7.10 in
xiaolvtaomi/IronSourceSDKDemo@86d76524 (AbstractEventsFormatter, OutcomeEventsFormatter,
IronbeastEventsFormatter, GeneralPropertiesWorker, ServerURL), the newer base64+gzip body seen
by App-Analysis/scala-plotalyzer@163a0be9 (Supersonic.scala), and TrackHAR's `logs` adapter
(tweaselORG/TrackHAR src/adapters/ironsource.ts@b0189485).
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import padding as crypto_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import analyze, assert_finding, analyzer_fixture, java_url_encode, org_json, summary

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "ironsource.yaml"

APP_KEY = "1a2b3c4d5"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
BUNDLE = "com.example.runner"
SESSION = "c0ffee00-1234-4abc-9def-0123456789ab"


# Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
analyzer = analyzer_fixture(only=RULE)


def request(method: str, url: str, body: bytes | str = b"") -> Request:
    return Request(flow_id="g", source="golden", timestamp=0.0, method=method, url=url,
                   headers=[("Content-Type", "application/json")],
                   body=body.encode() if isinstance(body, str) else body)


def general_properties() -> dict[str, Any]:
    """GeneralPropertiesWorker.collectInformation (6.7.10), location allowed."""
    return {"sessionId": SESSION, "bundleId": BUNDLE, "appVersion": "5.0.1", "appKey": APP_KEY,
            "advertisingId": GAID, "advertisingIdType": "GAID", "isLimitAdTrackingEnabled": False,
            "deviceOS": "Android", "osVersion": "34(14)", "connectionType": "wifi", "sdkVersion": "6.7.10",
            "language": "de", "deviceOEM": "Google", "deviceModel": "Pixel 8", "mobileCarrier": "Telekom.de",
            "internalFreeMemory": 52428, "externalFreeMemory": 52428, "battery": 80, "lat": 52.52,
            "lon": 13.405, "gmtMinutesOffset": 60, "pluginType": "Unity", "pluginVersion": "6.7.10",
            "plugin_fw_v": "2019.4.1f1", "jb": False, "mt": "manual"}


def outcome_json(ad_unit: int) -> str:
    """AbstractEventsFormatter.createDataToSend: general properties + timestamp + adUnit + the
    events (InterstitialEvents for ad unit 2), each = additional data + eventId + timestamp."""
    data = dict(general_properties())
    data["timestamp"] = 1767225600123
    data["adUnit"] = ad_unit
    events = [{"provider": "Mediation", "eventId": 41, "timestamp": 1767225600001}]
    data["InterstitialEvents" if ad_unit == 2 else "events"] = events
    return org_json(data)


def test_outcome_plain_json(analyzer):
    """OutcomeEventsFormatter + EventsSender: POST application/json to outcome-ssp ?adUnit=3."""
    a = analyze(analyzer, request("POST", "https://outcome-ssp.supersonicads.com/mediation?adUnit=3",
                                  outcome_json(3)))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("ironsource", "events", "decoded", ""), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.advertisingId")
    assert_finding(a, "project_key", APP_KEY, "body.appKey")
    assert_finding(a, "app_id", BUNDLE, "body.bundleId")
    assert_finding(a, "latitude", "52.52", "body.lat")
    assert_finding(a, "event_name", "41", "body.events[0].eventId")
    assert a.identity["app_id"] == BUNDLE


def test_general_properties_all_mapped(analyzer):
    """Every general property the SDK sets has its own mapping in ironsource.yaml."""
    a = analyze(analyzer, request("POST", "https://outcome-ssp.supersonicads.com/mediation?adUnit=3",
                                  outcome_json(3)))
    endpoint = analyzer.endpoints[("ironsource", "events")]
    fields = {path: label for path, _, label in a.fields}
    for key in general_properties():
        mapped = endpoint.fields.lookup(key)
        assert mapped is not None and mapped[1] == key, key
        assert fields[f"body.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_ironbeast_wrapped_json_string(analyzer):
    """IronbeastEventsFormatter: {"table": "super.dwh.mediation_events", "data": "<json>"}, adUnit=2."""
    body = org_json({"table": "super.dwh.mediation_events", "data": outcome_json(2)})
    a = analyze(analyzer, request("POST", "https://outcome-ssp.supersonicads.com/mediation?adUnit=2", body))
    assert (a.endpoint, a.status) == ("events", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.data.advertisingId")
    assert_finding(a, "event_name", "41", "body.data.InterstitialEvents[0].eventId")


def test_newer_sdk_base64_gzip_body(analyzer):
    """plotalyzer Supersonic.prepare: a body that is not JSON is base64 (with line breaks,
    Android Base64.DEFAULT) of gzip of the JSON."""
    raw = base64.encodebytes(gzip.compress(outcome_json(3).encode())).decode()
    assert "\n" in raw
    a = analyze(analyzer, request("POST", "https://outcome-ssp.supersonicads.com/mediation?adUnit=3", raw))
    assert (a.endpoint, a.status) == ("events", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.advertisingId")


IRONSOURCE_KEY = "C38FB23A402222A0C17D34A92F971D1F"  # C21218xa / IronSourceAES key (8.4.0, also 6.x)


def iron_aes(plain: str) -> str:
    """IronSourceAES.encode: AES/CBC/PKCS7Padding, key bytes zero-padded to 32, zero IV,
    Base64.DEFAULT with the line separators removed."""
    padder = crypto_padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    key = IRONSOURCE_KEY.encode().ljust(32, b"\0")[:32]
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


INIT_PARAMS = [("platform", "android"), ("applicationKey", APP_KEY), ("applicationUserId", "user 42"),
               ("sdkVersion", "8.4.0"), ("pluginType", "Unity"), ("pluginVersion", "8.4.0"),
               ("plugin_fw_v", "2022.3.10f1"), ("advId", GAID), ("mt", "manual"), ("appVer", "5.0.1"), ("osVer", "34"),
               ("devMake", "Google"), ("devModel", "Pixel 8"), ("fs", "1"), ("coppa", "false"), ("connType", "wifi"),
               ("browserUserAgent", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A; wv) AppleWebKit/537.36"),
               ("deviceLang", "de-DE"), ("bundleId", BUNDLE), ("mcc", "262"), ("mnc", "1"), ("icc", "de"),
               ("mCar", "Telekom.de"), ("tz", "Europe/Berlin"), ("tzOff", "60"),
               ("auid", "e2d4c6b8-a0f1-4e3d-9c5b-7a9f1e3d5c7b"), ("asel", "0")]


def init_url(host: str, version: str) -> str:
    """ServerURL.buildInitURL (8.4.0): createURLParams (key=URLEncoder(value) joined by &),
    IronSourceAES.encode with the constant key, URLEncoder.encode of the result."""
    params = "&".join(f"{k}={java_url_encode(v)}" for k, v in INIT_PARAMS)
    return f"https://{host}/sdk/v{version}?request=" + java_url_encode(iron_aes(params))


def test_init_request_is_decrypted_with_the_sdk_key(analyzer):
    a = analyze(analyzer, request("GET", init_url("i-sdk.mediation.unity3d.com", "8.4.0")))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("ironsource", "init", "decoded", ""), summary(a)
    assert a.decode_chain == ["query.request: base64 → aes_cbc → form"]
    assert_finding(a, "advertising_id", GAID, "query.request.advId")
    assert_finding(a, "project_key", APP_KEY, "query.request.applicationKey")
    assert_finding(a, "user_id", "user 42", "query.request.applicationUserId")
    assert_finding(a, "app_id", BUNDLE, "query.request.bundleId")
    assert_finding(a, "installation_id", "e2d4c6b8-a0f1-4e3d-9c5b-7a9f1e3d5c7b", "query.request.auid")
    endpoint = analyzer.endpoints[("ironsource", "init")]
    fields = {p: label for p, _, label in a.fields}
    for key, _ in INIT_PARAMS:  # every parameter buildInitURL adds has its own mapping
        mapped = endpoint.fields.lookup(f"query.request.{key}")
        assert mapped is not None and mapped[1] == f"query.request.{key}", key
        assert fields[f"query.request.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key
    assert a.identity["app_id"] == BUNDLE


def test_init_on_the_6x_host_and_a_foreign_key_is_not_decoded(analyzer):
    a = analyze(analyzer, request("GET", init_url("init.supersonicads.com", "6.7.10")))
    assert (a.endpoint, a.status) == ("init", "decoded"), summary(a)
    assert_finding(a, "sdk_version", "6.7.10", "path.sdk_version")
    other = quote(base64.b64encode(b"\x13\x37" * 40).decode(), safe="")
    b = analyze(analyzer, request("GET", f"https://init.supersonicads.com/sdk/v6.7.10?request={other}"))
    assert (b.endpoint, b.status) == ("init", "not_decoded") and "AES-CBC" in b.error, summary(b)
    assert_finding(b, "sdk_version", "6.7.10", "path.sdk_version")


def test_outcome_on_the_8x_host(analyzer):
    a = analyze(analyzer, request("POST", "https://o-sdk.mediation.unity3d.com/mediation?adUnit=3", outcome_json(3)))
    assert (a.tracker, a.endpoint, a.status) == ("ironsource", "events", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "body.advertisingId")


def test_logs_base64_query(analyzer):
    """TrackHAR ironsource.ts `logs`: query data = base64(JSON) with a `data` object."""
    payload = {"data": {"deviceoem": "Google", "devicemodel": "Pixel 8", "deviceos": "android",
                        "deviceosversion": "14", "deviceapilevel": 34, "deviceid": GAID, "connectiontype": "wifi",
                        "bundleid": BUNDLE, "appversion": "5.0.1", "sdkversion": "7.5.0"}}
    data = quote(base64.b64encode(json.dumps(payload).encode()).decode(), safe="")
    a = analyze(analyzer, request("GET", f"https://logs.ironsrc.mobi/logs?data={data}"))
    assert (a.endpoint, a.status) == ("logs", "decoded"), summary(a)
    assert_finding(a, "advertising_id", GAID, "query.data.data.deviceid")
    assert_finding(a, "app_id", BUNDLE, "query.data.data.bundleid")
    assert_finding(a, "manufacturer", "Google", "query.data.data.deviceoem")


@pytest.mark.parametrize("url", ["https://outcome-ssp.supersonicads.com.evil.example/mediation?adUnit=3",
                                 "https://supersonicads-outcome.example.org/mediation?adUnit=3"])
def test_lookalike_hosts_are_not_ironsource(analyzer, url):
    a = analyzer.analyze(request("POST", url, outcome_json(3)))
    assert a is None or a.tracker != "ironsource"
