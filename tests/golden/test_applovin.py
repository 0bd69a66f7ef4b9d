"""Golden tests for tracker_rules/applovin.yaml.

The AppLovin SDK is closed source: requests are built from the decompiled Android SDK
(13.0.1 in solors/aaa@4e4987da, 13.3.1 in Elkalubi1/DLS-25-@c1a8f57b: the parameter map of
com/applovin/impl/sdk/l.smali, the network layer m0.smali, the cipher AbstractC5702vi / i4),
rebuilt in tests/support/applovin_sdk.py, and from plotalyzer's AppLovin parsers
(Impact-of-Mobile-SDK-Usage-on-Privacy/plugin-analysis@068fb36c). Obfuscated bodies and `p`
parameters open only with the app's SDK key, given as the user would with --tracker-key.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import analyze, assert_finding, compact_json, decoded_for, labels, make_request, \
    request_via_mitmproxy, summary
from support.applovin_sdk import encode_v1, encode_v2, p_parameter, query_text

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "applovin.yaml"
decoded = decoded_for("applovin")

SDK_KEY = "05TMDQ5tZabpXQ45_UTbmEGNUtRAzpEcf4IrJSvWkx8xkmVrX8D5YVhKnOdJWQrFYyLN8S8vSeYUPjGa5cNw0Z"
OTHER_APP_KEY = "9kQe3LrT0pWm7ZxYvB2nC4dF6gH8jJ1sA5uI_oPqRtUvWxYz-0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r"
WRONG_SECRET = "X" * 32 + SDK_KEY[32:]  # the right public end, the wrong secret start
IDFA = "38400000-8cf0-11bd-b23e-10b96e40000d"
APP_SET_ID = "6d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PACKAGE = "com.example.idlegame"
RANDOM_TOKEN = "f1e2d3c4-b5a6-4978-8899-aabbccddeeff"
USER_ID = "player-4711"
SESSION = "2b8e0c7a-1d3f-4e5a-9b6c-7d8e9f0a1b2c"
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"}

# sdk/l.smali a(Map, boolean) → device_info, D()/z() → app_info: the keys and what fills them.
DEVICE = {"idfa": IDFA, "idfv": APP_SET_ID, "brand": "Google", "brand_name": "google", "model": "Pixel 8",
          "os": "14", "api_level": 34, "platform": "android", "locale": "de_DE", "kb": "de_DE",
          "country_code": "de", "carrier": "Telekom.de", "tz_offset": 2.0, "dx": 1080, "dy": 2400, "volume": 47,
          "network": "wifi", "ua": "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A; wv)"}
APP = {"package_name": PACKAGE, "app_name": "Idle Game", "app_version": "1.4.2", "app_version_code": 142,
       "sdk_version": "13.3.1", "session_id": SESSION, "cuid": USER_ID, "first_install_v3_ms": 1717000000000,
       "app_launch_count": 12, "applovin_random_token": RANDOM_TOKEN, "compass_random_token": RANDOM_TOKEN,
       "installer_name": "com.android.vending", "test_mode": 0}
EXPECTED = [("advertising_id", IDFA, "idfa"), ("vendor_id", APP_SET_ID, "idfv"), ("manufacturer", "Google", "brand"),
            ("device_model", "Pixel 8", "model"), ("os_version", "14", "os"), ("os_name", "android", "platform"),
            ("language", "de_DE", "locale"), ("country", "de", "country_code"), ("carrier", "Telekom.de", "carrier"),
            ("timezone", "2.0", "tz_offset"), ("screen_width", "1080", "dx"), ("screen_height", "2400", "dy"),
            ("network_type", "wifi", "network"), ("app_id", PACKAGE, "package_name"),
            ("app_name", "Idle Game", "app_name"), ("app_build", "142", "app_version_code"),
            ("sdk_version", "13.3.1", "sdk_version"), ("session_id", SESSION, "session_id"),
            ("user_id", USER_ID, "cuid"), ("install_time", "1717000000000", "first_install_v3_ms"),
            ("installation_id", RANDOM_TOKEN, "applovin_random_token")]


def body() -> dict:
    """l.a(Map, true, true): device_info, app_info, connection_info and the request keys."""
    return {"device_info": DEVICE, "app_info": APP, "connection_info": {"network_throughput_kbps": 4200},
            "accept": "custom_size,launch_app,video", "format": "json", "sdk_key": SDK_KEY,
            "rid": "d1c2b3a4-0000-4000-8000-000000000001"}


def flat_params() -> dict[str, str]:
    """l.a(Map, false, false): the same maps merged flat, the parameters m0 puts into `p`."""
    return {k: str(v) for k, v in {**DEVICE, **APP, "sdk_key": SDK_KEY, "rid": "r-1"}.items()}


@pytest.fixture(scope="module")
def rules():
    loaded, problems = load_rules([RULE], bundled=False)
    assert problems == []
    return loaded


@pytest.fixture(scope="module")
def keyed(rules) -> Analyzer:
    return Analyzer(rules, keys={"applovin": SDK_KEY})


@pytest.fixture(scope="module")
def keyless(rules) -> Analyzer:
    return Analyzer(rules)


def assert_secret_not_kept(a) -> None:
    """The user's key (its secret first 32 characters above all) is in no stored value."""
    stored = compact_json([a.request.url, a.error, a.decode_chain, a.payload, a.fields,
                           [(f.value, f.path) for f in a.findings]])
    assert SDK_KEY[:32] not in stored and SDK_KEY not in stored


@pytest.mark.parametrize("fmt", ["1", "2"])
def test_obfuscated_body_decoded_with_the_key(keyed, fmt):
    """MAX /1.0/mediate on ms4: format 1 (base64 text, gzipped with Content-Encoding by m0) or
    format 2 (raw bytes, gzipped inside): opened with the key, every field mapped."""
    text = json.dumps(body())
    raw = gzip.compress(encode_v1(text, SDK_KEY).encode()) if fmt == "1" else encode_v2(text, SDK_KEY, as_text=False)
    headers = HEADERS if fmt == "1" else {"Content-Type": HEADERS["Content-Type"]}
    a = analyze(keyed, request_via_mitmproxy("POST", "https://ms4.applovin.com/1.0/mediate", raw, headers))
    decoded(a, "sdk")
    for data_type, value, key in EXPECTED:
        section = "device_info" if key in DEVICE else "app_info"
        assert_finding(a, data_type, value, f"body.{section}.{key}")
    # The app sends its whole SDK key in the clear inside: the finding stays, its value masked.
    assert_finding(a, "project_key", "[applovin key]", "body.sdk_key")
    assert_secret_not_kept(a)
    endpoint = keyed.endpoints[("applovin", "sdk")]
    for section in ("device_info", "app_info"):
        for key in body()[section]:
            assert endpoint.fields.lookup(f"body.{section}.{key}") is not None, (section, key)


@pytest.mark.parametrize("fmt", ["1", "2"])
def test_p_parameter_decoded_with_the_key(keyed, fmt):
    """GET with the parameters obfuscated into `p` (m0: a7.a(Map) text, then i4.b)."""
    text = query_text(flat_params() | {"app_name": "Idle & Relax"})
    envelope = encode_v1(text, SDK_KEY) if fmt == "1" else encode_v2(text, SDK_KEY, as_text=True)
    a = analyze(keyed, make_request("GET", f"https://a.applovin.com/4.0/ad?{p_parameter(envelope)}"))
    decoded(a, "sdk")
    for data_type, value, key in EXPECTED:
        assert_finding(a, data_type, "Idle & Relax" if key == "app_name" else value, f"query.p.{key}")
    assert_finding(a, "project_key", "[applovin key]", "query.p.sdk_key")
    assert_secret_not_kept(a)
    endpoint = keyed.endpoints[("applovin", "sdk")]
    assert all(endpoint.fields.lookup(f"query.p.{key}") for key in flat_params())
    assert all(endpoint.fields.lookup(f"query.{key}") for key in flat_params())


@pytest.mark.parametrize("fmt", ["1", "2"])
def test_without_the_key_not_decoded_with_the_reason(keyless, fmt):
    text = json.dumps(body())
    raw = encode_v1(text, SDK_KEY).encode() if fmt == "1" else encode_v2(text, SDK_KEY, as_text=False)
    a = analyze(keyless, make_request("POST", "https://ms.applovin.com/1.0/mediate", raw))
    assert (a.tracker, a.endpoint, a.status) == ("applovin", "sdk", "not_decoded"), summary(a)
    assert a.error == ("body: [keyed_xor → json] needs the app's AppLovin SDK key: "
                       "pass --tracker-key applovin=KEY (addon option leakmap_keys)")
    # The envelope's clear fields are still shown: the key's public end identifies the app's account.
    assert_finding(a, "project_key", SDK_KEY[32:], "body.sdk_key_tail")
    assert labels(a)["body.format"] == "" and dict((p, v) for p, v, _ in a.fields)["body.format"] == fmt
    assert not any(f.data_type == "advertising_id" for f in a.findings)


def test_p_parameter_without_the_key(keyless):
    a = analyze(keyless, make_request("GET", "https://a.applovin.com/4.0/ad?"
                                             + p_parameter(encode_v1(query_text(flat_params()), SDK_KEY))))
    assert a.status == "not_decoded"
    assert a.error == ("query.p: needs the app's AppLovin SDK key: pass --tracker-key applovin=KEY "
                       "(addon option leakmap_keys)")
    assert_finding(a, "project_key", SDK_KEY[32:], "query.p.sdk_key_tail")


@pytest.mark.parametrize("fmt, key, reason", [
    ("1", WRONG_SECRET, "wrong key? the decoded bytes are not UTF-8 text"),
    ("2", WRONG_SECRET, "wrong key? the decoded text has"),
    ("1", OTHER_APP_KEY, "the applovin key given is not the one this request was made with"),
])
def test_wrong_key_is_a_clear_decode_error(rules, fmt, key, reason):
    text = json.dumps(body())
    raw = encode_v1(text, SDK_KEY).encode() if fmt == "1" else encode_v2(text, SDK_KEY, as_text=False)
    a = analyze(Analyzer(rules, keys={"applovin": key}), make_request("POST", "https://d.applovin.com/2.0/ad", raw))
    assert a.status == "not_decoded" and a.error.startswith(f"body: [keyed_xor → json] {reason}"), summary(a)
    assert key[:32] not in compact_json([a.error, a.decode_chain, a.payload, a.fields])


def test_envelope_of_an_unknown_sdk_build_names_its_iv_digest(keyed):
    envelope = encode_v1("{}", SDK_KEY).replace("1:96943fde", "1:00000000", 1)
    a = analyze(keyed, make_request("POST", "https://d.applovin.com/2.0/ad", envelope))
    assert a.error == ("body: [keyed_xor → json] format 1: IV digest 00000000a087a1d759e08734fce0068af23ef96e is "
                       "not the SHA-1 of any IV the rule knows (an SDK build with another IV?)"), summary(a)


def test_plain_json_body_gzip_without_key(keyless):
    """Older SDKs / obfuscation off: gzipped JSON with Content-Encoding on d.applovin.com."""
    a = analyze(keyless, request_via_mitmproxy("POST", "https://d.applovin.com/2.0/ad",
                                               gzip.compress(json.dumps(body()).encode()), HEADERS))
    decoded(a, "sdk")
    assert_finding(a, "advertising_id", IDFA, "body.device_info.idfa")
    assert_finding(a, "project_key", SDK_KEY, "body.sdk_key")  # no key given: nothing to mask


def test_plain_query_and_headers(keyless):
    query = "&".join(f"{k}={v}" for k, v in flat_params().items() if k != "ua")
    headers = [("applovin-ad-format", "REWARDED"), ("applovin-ad-unit-id", "a1b2c3d4e5f60718")]
    url = f"https://ms4.applovin.com/1.0/mediate?{query}&event_id=e-9"
    a = analyze(keyless, make_request("GET", url, b"", headers))
    decoded(a, "sdk")
    assert_finding(a, "app_id", PACKAGE, "query.package_name")
    assert_finding(a, "advertising_id", IDFA, "query.idfa")
    assert_finding(a, "user_id", USER_ID, "query.cuid")
    assert_finding(a, "project_key", "a1b2c3d4e5f60718", "header.applovin-ad-unit-id")


def test_mediate_events_bcode(keyless):
    a = analyze(keyless, make_request("POST", "https://prod-mediate-events.applovin.com/1.0/event/vimp?id=evt-123",
                                      json.dumps({"bcode": "Zm9vYmFy"}), [("applovin-ad-unit-id", "a1b2c3d4e5f60718")]))
    decoded(a, "mediate_events")
    assert_finding(a, "other_id", "evt-123", "query.id")
    assert labels(a)["body.bcode"] == ""


def test_mediate_events_obfuscated_body_with_the_key(keyed):
    a = analyze(keyed, make_request("POST", "https://prod-mediate-events.applovin.com/1.0/event/load",
                                    encode_v2(json.dumps({"bcode": "x", "sdk_key": SDK_KEY}), SDK_KEY, False)))
    decoded(a, "mediate_events")
    assert ("body.bcode", "x", "") in a.fields


@pytest.mark.parametrize("url", ["https://ms4.applovin.com.evil.example/1.0/mediate",
                                 "https://applovin-ms4.example.net/1.0/mediate"])
def test_lookalike_hosts_are_not_applovin(keyless, url):
    a = keyless.analyze(make_request("POST", url, encode_v1("{}", SDK_KEY)))
    assert a is None or a.tracker != "applovin"
