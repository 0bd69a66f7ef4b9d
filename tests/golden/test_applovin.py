"""Golden tests for tracker_rules/applovin.yaml.

The AppLovin SDK is closed source: requests are built from the research traffic analyser
Impact-of-Mobile-SDK-Usage-on-Privacy/plugin-analysis@068fb36c (plotalyzer plugin,
EndpointParser/applovin/*.scala): its host list, the plain query keys it reads, the JSON keys
it reads after deobfuscation, and the obfuscated body format of AppLovinDecode.rtDecode
(`1:<sha1 hex of IV>:<SDK key after char 32>:<base64 with - _ *>`). The obfuscated payload
below is random bytes in that envelope: leakmap cannot (and must not pretend to) decode it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Request
from leakmap.read import request_from_flow
from golden_support import analyze, assert_finding, summary, analyzer_fixture

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "applovin.yaml"

SDK_KEY = "05TMDQ5tZabpXQ45_UTbmEGNUtRAzpEcf4IrJSvWkx8xkmVrX8D5YVhKnOdJWQrFYyLN8S8vSeYUPjGa5cNw0Z"
IDFA = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFV = "6D1A2B3C-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
PACKAGE = "com.example.idlegame"
RANDOM_TOKEN = "f1e2d3c4-b5a6-4978-8899-aabbccddeeff"


# Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
analyzer = analyzer_fixture(only=RULE)


def request(method: str, url: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(flow_id="g", source="golden", timestamp=0.0, method=method, url=url,
                   headers=headers or [], body=body)


def obfuscated(payload_len: int = 96) -> str:
    """The envelope plotalyzer's rtDecode accepts: version 1, SHA-1 hex of the SDK's IV, the
    SDK key minus its first 32 characters, and the masked bytes in base64 with -, _, *."""
    iv_digest = hashlib.sha1(b"\x00" * 32).hexdigest()
    masked = base64.b64encode(os.urandom(payload_len)).decode()
    masked = masked.replace("+", "-").replace("/", "_").replace("=", "*")
    return f"1:{iv_digest}:{SDK_KEY[32:]}:{masked}"


QUERY = {"package_name": PACKAGE, "app_version": "1.4.2", "platform": "android", "model": "Pixel 8",
         "brand": "google", "carrier": "Telekom.de", "network": "wifi", "locale": "de_DE", "kb": "de_DE",
         "volume": "47", "rid": "d1c2b3a4-0000-4000-8000-000000000001", "idfa": IDFA,
         "applovin_random_token": RANDOM_TOKEN}


def test_mediate_obfuscated_body_matched_not_decoded(analyzer):
    """MAX /1.0/mediate on ms4: the obfuscated envelope is split into its fields (its payload
    stays opaque, unlabelled), the plain query and the applovin-ad-* headers are mapped."""
    query = "&".join(f"{k}={v}" for k, v in QUERY.items())
    req = request("POST", f"https://ms4.applovin.com/1.0/mediate?{query}", obfuscated().encode(),
                  [("Content-Type", "application/json; charset=utf-8"), ("applovin-ad-format", "REWARDED"),
                   ("applovin-ad-unit-id", "a1b2c3d4e5f60718")])
    a = analyze(analyzer, req)
    assert (a.tracker, a.endpoint, a.status, a.error) == ("applovin", "sdk", "decoded", ""), summary(a)
    payload = req.body.decode().split(":", 3)[3]
    assert ("body.payload", payload, "") in a.fields
    assert ("body.sdk_key_tail", SDK_KEY[32:], "project_key") in a.fields
    assert_finding(a, "app_id", PACKAGE, "query.package_name")
    assert_finding(a, "advertising_id", IDFA, "query.idfa")
    assert_finding(a, "installation_id", RANDOM_TOKEN, "query.applovin_random_token")
    assert_finding(a, "carrier", "Telekom.de", "query.carrier")
    assert_finding(a, "project_key", "a1b2c3d4e5f60718", "header.applovin-ad-unit-id")
    endpoint = analyzer.endpoints[("applovin", "sdk")]
    for key in QUERY:
        assert endpoint.fields.lookup(f"query.{key}") is not None, key


def deobfuscated_body() -> dict:
    """The JSON plotalyzer reads after deobfuscation (MsApplovin/MS4.parseBody)."""
    return {"app_info": {"app_name": "Idle Game", "package_name": PACKAGE, "app_version": "1.4.2",
                         "applovin_random_token": RANDOM_TOKEN},
            "device_info": {"brand": "google", "carrier": "Telekom.de", "country_code": "DE", "dx": 1080,
                            "dy": 2400, "idfa": IDFA, "model": "Pixel 8", "network": "wifi", "type": "android",
                            "os": "14"}}


def test_plain_json_body_gzip(analyzer):
    """Older SDKs / deobfuscated captures: gzipped JSON with Content-Encoding on d.applovin.com."""
    flow = tflow.tflow()
    flow.request = http.Request.make("POST", "https://d.applovin.com/2.0/ad", b"",
                                     {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    flow.request.raw_content = gzip.compress(json.dumps(deobfuscated_body()).encode())
    a = analyze(analyzer, request_from_flow(flow, "golden", Limits()))
    assert (a.tracker, a.endpoint, a.status) == ("applovin", "sdk", "decoded"), summary(a)
    assert_finding(a, "app_id", PACKAGE, "body.app_info.package_name")
    assert_finding(a, "advertising_id", IDFA, "body.device_info.idfa")
    assert_finding(a, "app_name", "Idle Game", "body.app_info.app_name")
    assert_finding(a, "country", "DE", "body.device_info.country_code")
    assert_finding(a, "screen_height", "2400", "body.device_info.dy")
    endpoint = analyzer.endpoints[("applovin", "sdk")]
    for section, values in deobfuscated_body().items():
        for key in values:
            assert endpoint.fields.lookup(f"body.{section}.{key}") is not None, (section, key)


def test_mediate_events_bcode(analyzer):
    req = request("POST", "https://prod-mediate-events.applovin.com/1.0/event/vimp?id=evt-123",
                  json.dumps({"bcode": obfuscated(48)}).encode(),
                  [("applovin-ad-unit-id", "a1b2c3d4e5f60718")])
    a = analyze(analyzer, req)
    assert (a.tracker, a.endpoint, a.status) == ("applovin", "mediate_events", "decoded"), summary(a)
    assert_finding(a, "other_id", "evt-123", "query.id")
    assert {path: label for path, _, label in a.fields}["body.bcode"] == ""


def test_sdk_key_tail_in_obfuscated_envelope_is_a_project_key(analyzer):
    a = analyze(analyzer, request("POST", "https://ms.applovin.com/sdk/v1", obfuscated().encode()))
    assert_finding(a, "project_key", SDK_KEY[32:], "body.sdk_key_tail")


@pytest.mark.parametrize("url", ["https://ms4.applovin.com.evil.example/1.0/mediate",
                                 "https://applovin-ms4.example.net/1.0/mediate"])
def test_lookalike_hosts_are_not_applovin(analyzer, url):
    a = analyzer.analyze(request("POST", url, obfuscated().encode()))
    assert a is None or a.tracker != "applovin"
