"""Golden tests: Bugsnag notify and sessions, from the installed `bugsnag` PyPI package (payload built
by the SDK itself) and as bugsnag-android@29def7249 serialises events (AppWithState, DeviceWithState,
User, Breadcrumb, Session; DeliveryHeaders.kt).
"""

from __future__ import annotations

import pytest

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "bugsnag"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

API_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
HEADERS = [("Content-Type", "application/json"), ("Bugsnag-Api-Key", API_KEY), ("Bugsnag-Payload-Version", "4.0"),
           ("Bugsnag-Sent-At", "2026-01-01T10:00:00.000Z")]


def python_sdk_payload() -> str:
    """The installed `bugsnag` package builds the payload (Client.notify → Event._payload);
    only its delivery is replaced."""
    bugsnag = pytest.importorskip("bugsnag")
    from bugsnag.delivery import Delivery

    sent: list[tuple[str, dict]] = []

    class Capture(Delivery):
        def deliver(self, config, payload, options=None):  # type: ignore[no-untyped-def]
            sent.append((payload, options or {}))

        def deliver_sessions(self, config, payload):  # type: ignore[no-untyped-def]
            pass

    client = bugsnag.Client(api_key=API_KEY, app_version="7.0.3", release_stage="production", hostname="api-3",
                            asynchronous=False, delivery=Capture(), auto_capture_sessions=False)
    try:
        raise ValueError("card 4242 declined for bo.bugsnag@example.com")
    except ValueError as e:
        client.notify(e, user={"id": "bs-user-8", "email": "bo.bugsnag@example.com", "name": "Bo Berg"},
                      metadata={"order": {"id": "ORD-77"}}, context="/checkout")
    assert sent
    return sent[0][0]


def test_python_sdk_notify(analyzer):
    a = analyzer.analyze(request("POST", "https://notify.bugsnag.com/", python_sdk_payload(), HEADERS))
    decoded(a, "notify")
    has(a, "project_key", API_KEY, "body.apiKey")
    assert labels(a)["header.bugsnag-api-key"] == "project_key"
    has(a, "user_id", "bs-user-8", "body.events[0].user.id")
    # first seen inside the exception message (pattern), and labelled by the rule where the SDK puts it
    has(a, "email", "bo.bugsnag@example.com", "body.events[0].exceptions[0].message", detector="pattern")
    assert labels(a)["body.events[0].user.email"] == "email"
    assert labels(a)["body.events[0].releaseStage"] == ""
    has(a, "name", "Bo Berg", "body.events[0].user.name")
    has(a, "device_name", "api-3", "body.events[0].device.hostname")
    has(a, "app_version", "7.0.3", "body.events[0].app.version")
    has(a, "screen_name", "/checkout", "body.events[0].context")
    has(a, "custom_property", "ORD-77", "body.events[0].metaData.order.id")
    has(a, "error_report", "ValueError", "body.events[0].exceptions[0].errorClass")
    has(a, "sdk_name", "Python Bugsnag Notifier", "body.notifier.name")


def android_event() -> dict:
    """bugsnag-android@29def7249 Event serialisation: AppWithState, DeviceWithState, User, Breadcrumb."""
    return {"exceptions": [{"errorClass": "java.lang.NullPointerException", "message": "cart was null",
                            "type": "android", "stacktrace": [{"method": "onPay", "file": "Pay.kt", "lineNumber": 40}]}],
            "severity": "error", "unhandled": True, "context": "PaymentActivity",
            "app": {"id": "com.example.bank", "releaseStage": "production", "version": "9.1.0", "versionCode": 910,
                    "type": "android", "buildUUID": "b-1", "binaryArch": "arm64", "duration": 5230,
                    "durationInForeground": 5100, "inForeground": True, "isLaunching": False},
            "device": {"id": "7f3e9a1c-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "osName": "android", "osVersion": "14",
                       "manufacturer": "Xiaomi", "brand": "Redmi", "model": "23090RA98G", "jailbroken": False,
                       "locale": "pl_PL", "cpuAbi": ["arm64-v8a"], "totalMemory": 7_700_000_000,
                       "freeMemory": 1_200_000_000, "freeDisk": 20_000_000_000, "orientation": "portrait",
                       "screenDensity": 2.75, "dpi": 440, "screenResolution": "2400x1080", "batteryLevel": 0.64,
                       "charging": False, "locationStatus": "allowed", "networkAccess": "wifi",
                       "runtimeVersions": {"androidApiLevel": "34", "osBuild": "UKQ1"}, "time": "2026-01-01T10:00:00Z"},
            "user": {"id": "7f3e9a1c-2b4d-4e6f-8a0b-1c2d3e4f5a6b"},
            "breadcrumbs": [{"timestamp": "2026-01-01T09:59:50Z", "name": "Tapped 'Pay Kasia'", "type": "user",
                             "metaData": {"to": "PaymentActivity"}}],
            "session": {"id": "sess-41", "startedAt": "2026-01-01T09:59:00Z", "events": {"handled": 0, "unhandled": 1}}}


def test_android_notify_device_fields(analyzer):
    body = {"apiKey": API_KEY, "payloadVersion": "4.0",
            "notifier": {"name": "Android Bugsnag Notifier", "version": "6.10.0", "url": "https://bugsnag.com"},
            "events": [android_event()]}
    a = analyzer.analyze(request("POST", "https://notify.bugsnag.smartbear.com", compact(body),
                                 HEADERS + [("Bugsnag-Stacktrace-Types", "android")]))
    decoded(a, "notify")
    ev = "body.events[0]"
    has(a, "app_id", "com.example.bank", f"{ev}.app.id")
    has(a, "installation_id", "7f3e9a1c-2b4d-4e6f-8a0b-1c2d3e4f5a6b", f"{ev}.device.id")
    has(a, "device_model", "23090RA98G", f"{ev}.device.model")
    has(a, "language", "pl_PL", f"{ev}.device.locale")
    has(a, "interaction", "Tapped 'Pay Kasia'", f"{ev}.breadcrumbs[0].name")
    has(a, "session_id", "sess-41", f"{ev}.session.id")
    assert a.identity["app_id"] == "com.example.bank"
    fields = labels(a)
    for key in ("app.versionCode", "app.binaryArch", "app.duration", "device.osName", "device.osVersion",
                "device.manufacturer", "device.jailbroken", "device.cpuAbi[0]", "device.totalMemory",
                "device.freeDisk", "device.orientation", "device.batteryLevel", "device.charging",
                "device.networkAccess", "device.screenResolution"):
        assert fields[f"{ev}.{key}"] not in ("", "custom_property"), key


def test_sessions(analyzer):
    body = {"notifier": {"name": "Android Bugsnag Notifier", "version": "6.10.0"},
            "app": {"id": "com.example.bank", "version": "9.1.0"},
            "device": {"id": "7f3e9a1c-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "model": "23090RA98G", "osName": "android"},
            "sessions": [{"id": "sess-41", "startedAt": "2026-01-01T09:59:00Z", "user": {"id": "u-41"}}]}
    a = analyzer.analyze(request("POST", "https://sessions.bugsnag.com/", compact(body), HEADERS))
    decoded(a, "sessions")
    has(a, "session_id", "sess-41", "body.sessions[0].id")
    has(a, "user_id", "u-41", "body.sessions[0].user.id")
    has(a, "app_id", "com.example.bank", "body.app.id")


def test_on_premise_endpoints_recognised_by_header_and_shape(analyzer):
    """Endpoints the app configures (@bugsnag/core config.js `endpoints`; Android
    EndpointConfiguration): an on-premise server at any host, port and path."""
    body = {"apiKey": API_KEY, "payloadVersion": "4.0",
            "notifier": {"name": "Android Bugsnag Notifier", "version": "6.10.0", "url": "https://bugsnag.com"},
            "events": [android_event()]}
    a = analyzer.analyze(request("POST", "https://bugsnag.bank.internal:49000/", compact(body), HEADERS))
    decoded(a, "notify", via="payload_shape")
    has(a, "installation_id", "7f3e9a1c-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "body.events[0].device.id")
    has(a, "project_key", API_KEY, "body.apiKey")
    assert labels(a)["header.bugsnag-api-key"] == "project_key"
    python = analyzer.analyze(request("POST", "https://errors.corp.example/bugsnag/notify", python_sdk_payload(), HEADERS))
    decoded(python, "notify", via="payload_shape")
    has(python, "user_id", "bs-user-8", "body.events[0].user.id")
    sessions = {"notifier": {"name": "Bugsnag JavaScript", "version": "9.0.0"}, "app": {"version": "1.4.2"},
                "device": {"locale": "en-GB"}, "sessions": [{"id": "sess-9", "startedAt": "2026-01-01T09:59:00Z"}]}
    b = analyzer.analyze(request("POST", "https://bugsnag.bank.internal:49001/", compact(sessions), HEADERS))
    decoded(b, "sessions", via="payload_shape")
    has(b, "session_id", "sess-9", "body.sessions[0].id")
    # The header alone is not enough: the payload must have Bugsnag's shape.
    other = analyzer.analyze(request("POST", "https://bugsnag.bank.internal:49000/", '{"hello": 1}', HEADERS))
    assert other is not None and other.match_via == "generic"  # not Bugsnag: a third party without a rule


def test_lookalike_is_not_bugsnag(analyzer):
    a = analyzer.analyze(request("POST", "https://notify.bugsnag.com.example.org/", "{}"))
    assert a is None or a.tracker != "bugsnag"
