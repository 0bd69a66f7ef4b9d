"""Golden tests: Sentry envelopes and legacy store events, built the way the SDKs build them.

The Python envelope is not imitated but produced by the installed `sentry-sdk` (its own
Envelope serialisation; only the transport is replaced). The Android and browser envelopes
follow sentry-java (gzip, X-Sentry-Auth; protocol/Device, App, OperatingSystem, User,
Session) and sentry-javascript (packages/core/src/api.ts: sentry_key/sentry_version/
sentry_client in the query). The legacy store body follows raven-python's Client.encode
(base64 of zlib of JSON).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zlib

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Analysis, Request
from leakmap.read import request_from_flow
from golden_support import labels, summary, analyzer_fixture

PUBLIC_KEY = "3f1e2d4c5b6a79880f1e2d3c4b5a6978"
PROJECT = "4508123456789012"
HOST = "o450812.ingest.us.sentry.io"
USER_ID = "user-5521"
EMAIL = "kim.sentry@example.com"
INSTALL_ID = "6a3b0f6e-7c2d-4f1a-9e8b-2d4c6f8a0b1c"
PACKAGE = "com.example.notes"


analyzer = analyzer_fixture()


def has(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    hits = [(f.path, f.detector) for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert (path, detector) in hits, f"({data_type}, {value!r}) not at {path}:\n{summary(a)}"


def request(method: str, url: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(flow_id="golden", source="golden", timestamp=0.0, method=method, url=url,
                   headers=headers or [], body=body)


def via_mitmproxy(url: str, raw: bytes, headers: dict[str, str]) -> Request:
    flow = tflow.tflow()
    flow.request = http.Request.make("POST", url, b"", headers)
    flow.request.raw_content = raw
    return request_from_flow(flow, "golden", Limits())


def envelope(header: dict, *items: tuple[dict, bytes | dict]) -> bytes:
    """Envelope wire format: header line, then per item a header line (with `length`, as
    sentry-java and sentry-cocoa write it) and the payload."""
    out = [json.dumps(header, separators=(",", ":")).encode()]
    for item_header, payload in items:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        out.append(json.dumps({**item_header, "length": len(data)}, separators=(",", ":")).encode())
        out.append(data)
    return b"\n".join(out) + b"\n"


AUTH = f"Sentry sentry_version=7,sentry_client=sentry.java.android/8.20.0,sentry_key={PUBLIC_KEY}"


def android_event() -> dict:
    """sentry-java DefaultAndroidEventProcessor + protocol classes (Device, OperatingSystem, App)."""
    return {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "timestamp": "2026-01-01T10:00:00.123Z",
        "platform": "java", "level": "error", "release": f"{PACKAGE}@3.4.1+341", "dist": "341",
        "environment": "production",
        "user": {"id": INSTALL_ID, "email": EMAIL, "ip_address": "{{auto}}"},
        "contexts": {
            "device": {"name": "Pixel 8", "manufacturer": "Google", "brand": "google", "family": "Pixel",
                       "model": "Pixel 8", "model_id": "AP2A.240905.003", "archs": ["arm64-v8a"],
                       "battery_level": 81.0, "charging": False, "online": True, "orientation": "portrait",
                       "simulator": False, "memory_size": 7_802_000_000, "free_memory": 2_100_000_000,
                       "storage_size": 118_000_000_000, "free_storage": 40_000_000_000,
                       "screen_width_pixels": 1080, "screen_height_pixels": 2400, "screen_density": 2.625,
                       "screen_dpi": 420, "boot_time": "2025-12-30T08:00:00Z", "timezone": "Europe/Berlin",
                       "locale": "de_DE", "connection_type": "wifi", "id": "b5f4c3d2-e1a0-4b9c-8d7e-6f5a4b3c2d1e",
                       "processor_count": 8},
            "os": {"name": "Android", "version": "14", "build": "AP2A.240905.003", "kernel_version": "6.1.75",
                   "rooted": False},
            "app": {"app_identifier": PACKAGE, "app_name": "Notes", "app_version": "3.4.1", "app_build": "341",
                    "app_start_time": "2026-01-01T09:59:00Z", "in_foreground": True,
                    "view_names": ["MainActivity"], "permissions": {"CAMERA": "granted"}},
        },
        "breadcrumbs": [{"timestamp": "2026-01-01T09:59:30Z", "type": "navigation", "category": "ui.lifecycle",
                         "message": "tapped 'Send to Kim'", "data": {"screen": "ComposeActivity"}}],
        "exception": {"values": [{"type": "IllegalStateException", "value": "note 77 missing",
                                  "stacktrace": {"frames": [{"function": "onClick", "module": "com.example"}]}}]},
        "sdk": {"name": "sentry.java.android", "version": "8.20.0"},
    }


def test_python_sdk_envelope_made_by_sentry_sdk(analyzer):
    """The installed sentry-sdk builds and serialises the envelope itself."""
    sentry_sdk = pytest.importorskip("sentry_sdk")
    from sentry_sdk.transport import Transport

    captured: list[bytes] = []

    class Capture(Transport):
        def capture_envelope(self, env):  # type: ignore[no-untyped-def]
            buf = io.BytesIO()
            env.serialize_into(buf)
            captured.append(buf.getvalue())

    client = sentry_sdk.Client(dsn=f"https://{PUBLIC_KEY}@{HOST}/{PROJECT}", transport=Capture,
                               release="notes-api@2.1.0", send_default_pii=True, default_integrations=False)
    with sentry_sdk.isolation_scope() as scope:  # no global init: nothing leaks into other tests
        scope.set_client(client)
        scope.set_user({"id": USER_ID, "email": EMAIL, "username": "kim"})
        sentry_sdk.add_breadcrumb(message="opened invoice 42", category="ui.click")
        sentry_sdk.capture_message("payment failed", level="error")
    client.flush()
    assert captured
    # sentry_sdk/utils.py Auth.to_header: "Sentry sentry_key=..., sentry_version=7, sentry_client=..."
    auth = f"Sentry sentry_key={PUBLIC_KEY}, sentry_version=7, sentry_client=sentry.python/{sentry_sdk.VERSION}"
    a = analyzer.analyze(request("POST", f"https://{HOST}/api/{PROJECT}/envelope/", captured[0],
                                 [("X-Sentry-Auth", auth), ("Content-Type", "application/x-sentry-envelope")]))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("sentry", "envelope", "decoded", ""), summary(a)
    has(a, "user_id", USER_ID, "body.items[0].payload.user.id")
    has(a, "email", EMAIL, "body.items[0].payload.user.email")
    has(a, "username", "kim", "body.items[0].payload.user.username")
    has(a, "interaction", "opened invoice 42", "body.items[0].payload.breadcrumbs.values[0].message")
    has(a, "error_report", "payment failed", "body.items[0].payload.message")
    has(a, "app_version", "notes-api@2.1.0", "body.header.trace.release")  # first of the two places
    assert labels(a)["body.items[0].payload.release"] == "app_version"
    has(a, "project_key", PROJECT, "path.project_id")
    assert labels(a)["header.x-sentry-auth.sentry_key"] == "project_key"  # same key, found once
    has(a, "sdk_version", f"sentry.python/{sentry_sdk.VERSION}", "header.x-sentry-auth.sentry_client")
    has(a, "project_key", PUBLIC_KEY, "body.header.trace.public_key")


def test_android_gzip_envelope_event_and_session(analyzer):
    """sentry-java HttpConnection: gzip body, Content-Encoding gzip, X-Sentry-Auth header."""
    session = {"sid": "c0ffee00-1111-4222-8333-444455556666", "did": INSTALL_ID, "init": True,
               "started": "2026-01-01T09:59:00Z", "status": "ok", "seq": 1, "errors": 1, "duration": 60.5,
               "attrs": {"release": f"{PACKAGE}@3.4.1+341", "environment": "production"}}
    body = envelope({"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "sdk": {"name": "sentry.java.android",
                                                                            "version": "8.20.0"},
                     "sent_at": "2026-01-01T10:00:01Z",
                     "trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "public_key": PUBLIC_KEY,
                               "release": f"{PACKAGE}@3.4.1+341", "environment": "production",
                               "replay_id": "1a2b3c4d5e6f40718293a4b5c6d7e8f9"}},
                    ({"type": "event", "content_type": "application/json"}, android_event()),
                    ({"type": "session", "content_type": "application/json"}, session),
                    ({"type": "attachment", "filename": "screenshot.png", "attachment_type": "event.attachment"},
                     b"\x89PNG\r\n\x1a\n\x00\x00binary\n\xff"))
    req = via_mitmproxy(f"https://{HOST}/api/{PROJECT}/envelope/", gzip.compress(body),
                        {"X-Sentry-Auth": AUTH, "Content-Encoding": "gzip",
                         "Content-Type": "application/x-sentry-envelope"})
    a = analyzer.analyze(req)
    assert (a.tracker, a.endpoint, a.status) == ("sentry", "envelope", "decoded"), summary(a)
    ev = "body.items[0].payload"
    has(a, "app_id", PACKAGE, f"{ev}.contexts.app.app_identifier")
    has(a, "app_name", "Notes", f"{ev}.contexts.app.app_name")
    has(a, "device_name", "Pixel 8", f"{ev}.contexts.device.name")
    has(a, "manufacturer", "Google", f"{ev}.contexts.device.manufacturer")
    has(a, "timezone", "Europe/Berlin", f"{ev}.contexts.device.timezone")
    has(a, "language", "de_DE", f"{ev}.contexts.device.locale")
    has(a, "device_id", "b5f4c3d2-e1a0-4b9c-8d7e-6f5a4b3c2d1e", f"{ev}.contexts.device.id")
    has(a, "os_version", "14", f"{ev}.contexts.os.version")
    assert labels(a)[f"{ev}.contexts.os.rooted"] == "is_rooted"  # "false" is kept, not a finding
    assert labels(a)[f"{ev}.contexts.device.simulator"] == "is_emulator"
    has(a, "screen_width", "1080", f"{ev}.contexts.device.screen_width_pixels")
    has(a, "user_id", INSTALL_ID, f"{ev}.user.id")
    has(a, "email", EMAIL, f"{ev}.user.email")
    has(a, "screen_name", "MainActivity", f"{ev}.contexts.app.view_names[0]")
    has(a, "screen_name", "ComposeActivity", f"{ev}.breadcrumbs[0].data.screen")
    has(a, "error_report", "note 77 missing", f"{ev}.exception.values[0].value")
    has(a, "session_id", "c0ffee00-1111-4222-8333-444455556666", "body.items[1].payload.sid")
    has(a, "session_replay", "1a2b3c4d5e6f40718293a4b5c6d7e8f9", "body.header.trace.replay_id")
    has(a, "project_key", PUBLIC_KEY, "body.header.trace.public_key")
    # Every key sentry-java sets in contexts.device/os/app is mapped by name, not by a catch-all.
    fields = labels(a)
    for key in ("archs[0]", "battery_level", "charging", "memory_size", "free_storage", "screen_density",
                "boot_time", "connection_type", "orientation"):
        assert fields[f"{ev}.contexts.device.{key}"] not in ("", "custom_property"), key
    assert fields["body.items[2].header.attachment_type"] == ""  # the screenshot itself stays bytes
    assert a.identity["app_id"] == PACKAGE


def test_browser_envelope_query_auth(analyzer):
    """sentry-javascript api.ts: auth in the query (no custom header, no CORS preflight)."""
    event = {"event_id": "5f0c0d0e0a0b4c1d8e2f3a4b5c6d7e8f", "platform": "javascript", "level": "error",
             "request": {"url": "https://shop.example/checkout?step=2",
                         "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131",
                                     "Referer": "https://shop.example/cart"}},
             "user": {"id": USER_ID, "email": EMAIL, "ip_address": "{{auto}}"},
             "contexts": {"browser": {"name": "Chrome", "version": "131.0"}},
             "breadcrumbs": [{"category": "navigation", "data": {"from": "/cart", "to": "/checkout"}}],
             "exception": {"values": [{"type": "TypeError", "value": "card is undefined"}]},
             "sdk": {"name": "sentry.javascript.browser", "version": "11.12.0",
                     "settings": {"infer_ip": "auto"}}}  # @sentry/browser 11.12.0 client.js
    body = b"\n".join([json.dumps({"event_id": event["event_id"], "sent_at": "2026-01-01T10:00:00Z",
                                   "sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"},
                                   "trace": {"public_key": PUBLIC_KEY, "org_id": "450812",
                                             "trace_id": "f851c87074c2462bbc5e02f0bd018ac1"}}).encode(),
                       json.dumps({"type": "event"}).encode(), json.dumps(event).encode()])
    url = (f"https://{HOST}/api/{PROJECT}/envelope/?sentry_version=7&sentry_key={PUBLIC_KEY}"
           "&sentry_client=sentry.javascript.browser%2F11.12.0")
    a = analyzer.analyze(request("POST", url, body, [("Content-Type", "text/plain;charset=UTF-8")]))
    assert (a.endpoint, a.status) == ("envelope", "decoded"), summary(a)
    has(a, "project_key", PUBLIC_KEY, "query.sentry_key")
    has(a, "sdk_version", "sentry.javascript.browser/11.12.0", "query.sentry_client")
    has(a, "page_url", "https://shop.example/checkout?step=2", "body.items[0].payload.request.url")
    has(a, "user_agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131", "body.items[0].payload.request.headers.User-Agent")
    has(a, "referrer", "https://shop.example/cart", "body.items[0].payload.request.headers.Referer")
    has(a, "browser", "Chrome", "body.items[0].payload.contexts.browser.name")
    has(a, "screen_name", "/checkout", "body.items[0].payload.breadcrumbs[0].data.to")
    has(a, "custom_property", "{{auto}}", "body.items[0].payload.user.ip_address")  # a placeholder, not an IP
    has(a, "project_key", "450812", "body.header.trace.org_id")  # the org id of the DSN host o450812
    assert labels(a)["body.items[0].payload.sdk.settings.infer_ip"] == ""


def test_self_hosted_envelope_recognised_by_shape(analyzer):
    body = envelope({"event_id": "aa", "sdk": {"name": "sentry.cocoa", "version": "8.40.0"}},
                    ({"type": "event"}, {"user": {"id": USER_ID},
                                         "contexts": {"app": {"app_identifier": "com.example.ios"}}}))
    a = analyzer.analyze(request("POST", "https://errors.example.org/api/7/envelope/", body,
                                 [("X-Sentry-Auth", AUTH)]))
    assert a is not None and (a.tracker, a.endpoint, a.match_via) == ("sentry", "envelope", "payload_shape"), \
        a and summary(a)
    has(a, "app_id", "com.example.ios", "body.items[0].payload.contexts.app.app_identifier")


def test_legacy_store_raven_python(analyzer):
    """raven-python Client.encode: base64(zlib(json)), X-Sentry-Auth, octet-stream."""
    event = {"event_id": "0123456789abcdef0123456789abcdef", "platform": "python", "project": PROJECT,
             "server_name": "web-7", "release": "billing@1.0", "message": "timeout charging card",
             "user": {"id": USER_ID, "email": EMAIL}, "extra": {"order": "A-991"}}
    body = base64.b64encode(zlib.compress(json.dumps(event).encode()))
    a = analyzer.analyze(request("POST", f"https://sentry.io/api/{PROJECT}/store/", body,
                                 [("X-Sentry-Auth", f"Sentry sentry_version=6, sentry_key={PUBLIC_KEY}"),
                                  ("Content-Type", "application/octet-stream")]))
    assert (a.endpoint, a.status) == ("store", "decoded"), summary(a)
    assert a.decode_chain == ["body: base64 → zlib → json", "header.x-sentry-auth: auth_params"]
    has(a, "user_id", USER_ID, "body.user.id")
    has(a, "email", EMAIL, "body.user.email")
    has(a, "device_name", "web-7", "body.server_name")
    has(a, "custom_property", "A-991", "body.extra.order")


def test_lookalike_host_and_path_do_not_match(analyzer):
    a = analyzer.analyze(request("POST", "https://ingest.sentry.io.example.net/api/1/envelope/", b"{}\n"))
    assert a is None or a.tracker != "sentry"
    b = analyzer.analyze(request("GET", f"https://{HOST}/api/{PROJECT}/envelope/"))
    assert (b.tracker, b.endpoint, b.status) == ("sentry", "(no endpoint rule)", "not_decoded")
