"""Golden tests: App Center log batches, built as appcenter-sdk-android builds them
(AbstractLog.java@3ebbd6b4, Device.java@3bc6119d, EventLog.java@fe66498f,
AbstractErrorLog.java@61b0d4d2, ErrorAttachmentLog.java@a0114038; AppCenterIngestion: POST
/logs?api-version=1.0.0 with App-Secret and Install-ID), gzip-compressed as large batches are."""

from __future__ import annotations

from pathlib import Path
import base64
import gzip

from golden_support import (analyze_for, analyzer_fixture, assert_finding_at as has, labels, org_json,
                            request_via_mitmproxy)

TRACKER = "appcenter"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
INSTALL = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
SESSION = "11112222-3333-4444-8555-666677778888"
DEVICE = {"sdkName": "appcenter.android", "sdkVersion": "5.0.6", "model": "SM-G991B", "oemName": "samsung",
          "osName": "Android", "osVersion": "14", "osBuild": "UP1A.231005.007", "osApiLevel": 34, "locale": "de_DE",
          "timeZoneOffset": 60, "screenSize": "1080x2340", "appVersion": "7.2.0", "carrierName": "Telekom.de",
          "carrierCountry": "de", "appBuild": "720", "appNamespace": "com.example.fitness"}


def batch() -> bytes:
    logs = [{"type": "startSession", "timestamp": "2026-01-01T10:00:00.000Z", "sid": SESSION, "device": DEVICE},
            {"type": "event", "timestamp": "2026-01-01T10:00:05.000Z", "sid": SESSION, "userId": "ac-user-42",
             "device": DEVICE, "id": "0f0e0d0c-0b0a-4908-8706-050403020100", "name": "Workout Finished",
             "typedProperties": [{"type": "string", "name": "plan", "value": "marathon-12w"},
                                 {"type": "long", "name": "minutes", "value": 42}]},
            {"type": "managedError", "timestamp": "2026-01-01T10:01:00.000Z", "sid": SESSION, "device": DEVICE,
             "id": "a1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6", "processId": 4242, "processName": "com.example.fitness",
             "fatal": True, "appLaunchTimestamp": "2026-01-01T09:59:00.000Z", "architecture": "arm64-v8a",
             "errorThreadName": "main",
             "exception": {"type": "java.lang.IllegalStateException", "message": "user ac-user-42 has no plan",
                           "frames": [{"className": "com.example.fitness.Plan", "methodName": "load", "lineNumber": 88,
                                       "fileName": "Plan.kt"}]}},
            {"type": "errorAttachment", "timestamp": "2026-01-01T10:01:01.000Z", "device": DEVICE,
             "id": "b1b2b3b4-c1c2-4d1d-8e1e-f1f2f3f4f5f6", "errorId": "a1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6",
             "contentType": "text/plain", "fileName": "log.txt",
             "data": base64.b64encode(b"last screen: Checkout").decode()}]
    return gzip.compress(org_json({"logs": logs}).encode())


def test_gzip_batch_with_session_event_crash_and_attachment(analyzer):
    req = request_via_mitmproxy("POST", "https://in.appcenter.ms/logs?api-version=1.0.0", batch(),
                                {"Content-Type": "application/json", "Content-Encoding": "gzip", "App-Secret": SECRET,
                                 "Install-ID": INSTALL})
    a = analyze(analyzer, req, "logs")
    has(a, "project_key", SECRET, "header.app-secret")
    has(a, "installation_id", INSTALL, "header.install-id")
    has(a, "session_id", SESSION, "body.logs[0].sid")
    has(a, "device_model", "SM-G991B", "body.logs[0].device.model")
    has(a, "manufacturer", "samsung", "body.logs[0].device.oemName")
    has(a, "carrier", "Telekom.de", "body.logs[0].device.carrierName")
    has(a, "app_id", "com.example.fitness", "body.logs[0].device.appNamespace")
    has(a, "screen_width", "1080", "body.logs[0].device.screenSize.width")
    has(a, "screen_height", "2340", "body.logs[0].device.screenSize.height")
    has(a, "user_id", "ac-user-42", "body.logs[1].userId")
    has(a, "event_name", "Workout Finished", "body.logs[1].name")
    has(a, "custom_property", "marathon-12w", "body.logs[1].typedProperties[0].value")
    has(a, "error_report", "user ac-user-42 has no plan", "body.logs[2].exception.message")
    has(a, "cpu_architecture", "arm64-v8a", "body.logs[2].architecture")
    assert labels(a)["body.logs[3].data"] == "error_report"
    assert labels(a)["body.logs[1].typedProperties[0].name"] == ""
    assert a.app == "com.example.fitness"
