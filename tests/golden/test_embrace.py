"""Golden tests: Embrace envelopes as embrace-android-sdk serialises them (Envelope.kt@082924b6,
EnvelopeResource.kt@02973221, EnvelopeMetadata.kt@18ea01e2, Log.kt@082924b6,
Attribute.kt@2a6bdef0), gzip-compressed with Content-Encoding and the X-EM-AID / X-EM-DID
headers, to the app's own data host a-<appId>.data.emb-api.com."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from golden_support import (analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            compact_json, make_request, request_via_mitmproxy)

TRACKER = "embrace"
pytestmark = pytest.mark.no_real_client("embrace", "mobile SDKs (Android, iOS, React Native, Unity) only; the web SDK is not on npm")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

APP, DEVICE = "aB3dE", "5F1E9A4C2B7D4E8F9A0B1C2D3E4F5A6B"
RESOURCE = {"app_version": "4.2.0", "app_framework": 1, "build_id": "d41d8cd98f00b204e9800998ecf8427e",
            "app_ecosystem_id": "com.example.banking", "build_type": "release", "environment": "prod", "bundle_version": "420",
            "sdk_version": "7.3.0", "sdk_simple_version": 73, "device_manufacturer": "Google", "device_model": "Pixel 7a",
            "device_architecture": "arm64-v8a", "jailbroken": False, "disk_total_capacity": 127817449472, "os_type": "linux",
            "os_name": "android", "os_version": "14", "os_code": "34", "screen_resolution": "1080x2400", "num_cores": 8}
METADATA = {"user_id": "cust-1044", "email": "maria@example.com", "username": "maria_k", "personas": ["payer"],
            "timezone_description": "Europe/Madrid", "locale": "es_ES"}


def envelope(data: dict, kind: str) -> bytes:
    return gzip.compress(compact_json({"resource": RESOURCE, "metadata": METADATA, "version": "0.1.0", "type": kind,
                                       "data": data}).encode())


HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip", "User-Agent": "Embrace/a/7.3.0",
           "X-EM-AID": APP, "X-EM-DID": DEVICE}


def test_log_envelope(analyzer):
    logs = {"logs": [{"time_unix_nano": 1767225600000000000, "severity_number": 17, "severity_text": "ERROR",
                      "body": "transfer to IBAN ES9121000418450200051332 failed",
                      "attributes": [{"key": "emb.type", "value": "sys.log"}, {"key": "account", "value": "ES91-2100"}]}]}
    req = request_via_mitmproxy("POST", f"https://a-{APP}.data.emb-api.com/v2/logs", envelope(logs, "logs"), HEADERS)
    a = analyze(analyzer, req, "data")
    has(a, "project_key", APP, "header.x-em-aid")
    has(a, "device_id", DEVICE, "header.x-em-did")
    has(a, "email", "maria@example.com", "body.metadata.email")
    has(a, "user_id", "cust-1044", "body.metadata.user_id")
    has(a, "message_content", "transfer to IBAN ES9121000418450200051332 failed", "body.data.logs[0].body")
    has(a, "custom_property", "ES91-2100", "body.data.logs[0].attributes[1].value")
    assert a.app == "com.example.banking"
    assert_every_key_mapped(analyzer, a, TRACKER, "data",
                            [f"resource.{k}" for k, v in RESOURCE.items() if not isinstance(v, bool)]
                            + [f"metadata.{k}" for k in METADATA if k != "personas"], "body.")


def test_session_spans_on_a_custom_host_by_header(analyzer):
    spans = {"spans": [{"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "name": "emb-session",
                        "attributes": [{"key": "emb.session_number", "value": "12"}],
                        "events": [{"name": "emb-view-start", "attributes": [{"key": "view.name", "value": "TransferScreen"}]}]}]}
    req = request_via_mitmproxy("POST", "https://telemetry.bank.example/v2/spans", envelope(spans, "spans"), HEADERS)
    a = analyze(analyzer, req, "data", via="payload_shape")
    has(a, "custom_property", "TransferScreen", "body.data.spans[0].events[0].attributes[0].value")


def test_config(analyzer):
    url = f"https://a-{APP}.config.emb-api.com/v2/config?appId={APP}&osVersion=14.0.0&appVersion=4.2.0&deviceId={DEVICE}"
    a = analyze(analyzer, make_request("GET", url), "config")
    has(a, "device_id", DEVICE, "query.deviceId")
