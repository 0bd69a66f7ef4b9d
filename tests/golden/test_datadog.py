"""Golden tests: Datadog browser and mobile intake formats, built as the SDKs build them.

Browser: @datadog/js-core 7.16.2 src/transport/endpointBuilder.ts (query parameters, host
per site), @datadog/browser-rum-core 7.16.2 src/domain/assembly.ts and contexts/ (event keys),
NDJSON bodies, optional deflate. Mobile: dd-sdk-android@90d2c73a1 RequestFactory.kt (headers,
ddsource/ddtags query, gzip) and _common-schema.json (device, os, connectivity).
"""

from __future__ import annotations

import gzip
import zlib
from urllib.parse import quote

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            request_via_mitmproxy as via_mitmproxy, summary, analyzer_fixture)

TRACKER = "datadog"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

CLIENT_TOKEN = "pub1a2b3c4d5e6f708192a3b4c5d6e7f80"
APP_ID = "9b1e3c5a-7d2f-4e6b-8a0c-1d3f5b7e9a2c"
SESSION = "e3f1a2b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
USER_ID = "usr-7781"
EMAIL = "lee.datadog@example.com"
PACKAGE = "com.example.shop"
ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"


def browser_query(track: str) -> str:
    """@datadog/js-core src/transport/endpointBuilder.ts buildEndpointParameters."""
    q = (f"ddsource=browser&dd-api-key={CLIENT_TOKEN}&dd-evp-origin-version=7.16.2&dd-evp-origin=browser"
         "&dd-request-id=5a8b6c1e-2f3d-4a5b-9c7d-8e9f0a1b2c3d")
    if track == "rum":
        q += "&batch_time=1767225600123&_dd.api=fetch"
    return q


def browser_view() -> dict:
    """A RUM view event as @datadog/browser-rum-core assembles it (assembly.ts + contexts)."""
    return {"date": 1767225600000, "type": "view", "service": "shop-web", "version": "1.4.2", "source": "browser",
            "ddtags": "sdk_version:7.16.2,api:fetch,env:prod,service:shop-web,version:1.4.2",
            "application": {"id": APP_ID}, "session": {"id": SESSION, "type": "user", "has_replay": False},
            "view": {"id": "0b9d8c7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e", "url": "https://shop.example/orders/991?coupon=X1",
                     "referrer": "https://www.google.com/", "name": "Orders"},
            "usr": {"id": USER_ID, "name": "Lee Park", "email": EMAIL, "anonymous_id": "anon-4f3e2d1c"},
            "display": {"viewport": {"width": 1440, "height": 900}},
            "connectivity": {"status": "connected", "interfaces": ["wifi"], "effective_type": "4g"},
            "context": {"plan": "gold"},
            "_dd": {"format_version": 2, "drift": 0, "configuration": {"session_sample_rate": 100}}}


def mobile_action() -> dict:
    """dd-sdk-android RUM action event (_common-schema.json: device, os, connectivity, usr)."""
    return {"date": 1767225601000, "type": "action", "service": PACKAGE, "version": "5.0.1", "build_version": "501",
            "source": "android", "application": {"id": APP_ID}, "session": {"id": SESSION, "type": "user"},
            "view": {"id": "v1", "url": "com.example.shop.CheckoutActivity", "name": "Checkout"},
            "usr": {"id": USER_ID, "email": EMAIL},
            "action": {"type": "tap", "target": {"name": "Pay now"}},
            "connectivity": {"status": "connected", "interfaces": ["cellular"],
                             "cellular": {"technology": "LTE", "carrier_name": "Telekom"}},
            "device": {"type": "mobile", "name": "Pixel 8", "model": "Pixel 8", "brand": "Google",
                       "architecture": "arm64-v8a", "locale": "de-DE", "time_zone": "Europe/Berlin",
                       "battery_level": 0.81, "logical_cpu_count": 8, "total_ram": 7802},
            "os": {"name": "Android", "version": "14", "build": "AP2A.240905.003", "version_major": "14"},
            "_dd": {"format_version": 2}}


def ndjson(*events: dict) -> bytes:
    return "\n".join(compact(e) for e in events).encode()


def test_browser_rum_ndjson(analyzer):
    url = f"https://browser-intake-datadoghq.com/api/v2/rum?{browser_query('rum')}"
    a = analyzer.analyze(request("POST", url, ndjson(browser_view(), browser_view() | {"type": "action"}),
                                 [("Content-Type", "text/plain;charset=UTF-8"), ("Origin", "https://shop.example")]))
    decoded(a, "rum")
    has(a, "project_key", CLIENT_TOKEN, "query.dd-api-key")
    has(a, "session_id", SESSION, "body[0].session.id")
    has(a, "user_id", USER_ID, "body[0].usr.id")
    has(a, "email", EMAIL, "body[0].usr.email")
    has(a, "name", "Lee Park", "body[0].usr.name")
    has(a, "installation_id", "anon-4f3e2d1c", "body[0].usr.anonymous_id")
    has(a, "page_url", "https://shop.example/orders/991?coupon=X1", "body[0].view.url")
    has(a, "referrer", "https://www.google.com/", "body[0].view.referrer")
    has(a, "viewport_width", "1440", "body[0].display.viewport.width")
    has(a, "custom_property", "gold", "body[0].context.plan")
    has(a, "sdk_version", "7.16.2", "query.dd-evp-origin-version")
    fields = labels(a)
    assert fields["body[0].application.id"] == "project_key"
    assert fields["body[1].type"] == "" and fields['query["_dd.api"]'] == ""


def test_browser_rum_deflate(analyzer):
    """compressIntakeRequests: deflate (zlib) body, dd-evp-encoding=deflate."""
    url = f"https://browser-intake-datadoghq.eu/api/v2/rum?{browser_query('rum')}&dd-evp-encoding=deflate"
    a = analyzer.analyze(request("POST", url, zlib.compress(ndjson(browser_view()))))
    decoded(a, "rum")
    assert a.decode_chain == ["body: zlib → ndjson"]
    has(a, "user_id", USER_ID, "body[0].usr.id")


def test_mobile_rum_gzip_headers_and_ddtags(analyzer):
    """dd-sdk-android RequestFactory: DD-API-KEY, DD-EVP-ORIGIN(-VERSION), DD-REQUEST-ID headers,
    ddsource and ddtags in the query, gzip Content-Encoding."""
    url = (f"https://browser-intake-us5-datadoghq.com/api/v2/rum?ddsource=android"
           f"&ddtags=service%3A{PACKAGE}%2Cversion%3A5.0.1%2Csdk_version%3A2.20.0%2Cenv%3Aprod")
    req = via_mitmproxy("POST", url, gzip.compress(ndjson(mobile_action())),
                        {"DD-API-KEY": CLIENT_TOKEN, "DD-EVP-ORIGIN": "android", "DD-EVP-ORIGIN-VERSION": "2.20.0",
                         "DD-REQUEST-ID": "r-1", "Content-Encoding": "gzip", "Content-Type": "text/plain;charset=UTF-8"})
    a = analyzer.analyze(req)
    decoded(a, "rum")
    has(a, "project_key", CLIENT_TOKEN, "header.dd-api-key")
    has(a, "app_id", PACKAGE, "query.ddtags.service")
    has(a, "sdk_version", "2.20.0", "query.ddtags.sdk_version")
    assert labels(a)["body[0].service"] == ""  # not the identity: telemetry records carry the SDK's name there
    has(a, "device_model", "Pixel 8", "body[0].device.model")
    has(a, "manufacturer", "Google", "body[0].device.brand")
    has(a, "carrier", "Telekom", "body[0].connectivity.cellular.carrier_name")
    has(a, "timezone", "Europe/Berlin", "body[0].device.time_zone")
    has(a, "os_version", "14", "body[0].os.version")
    has(a, "interaction", "Pay now", "body[0].action.target.name")
    has(a, "screen_name", "Checkout", "body[0].view.name")
    # every key of the SDK's device/os/connectivity context is mapped by name, not by a catch-all
    fields = labels(a)
    for key in ("device.architecture", "device.locale", "device.battery_level", "device.total_ram",
                "os.build", "connectivity.status", "connectivity.interfaces[0]", "build_version"):
        assert fields[f"body[0].{key}"] not in ("", "custom_property"), key


def test_logs_browser_ndjson_and_mobile_array(analyzer):
    log = {"date": 1767225600000, "message": "checkout failed for lee.datadog@example.com", "status": "error",
           "origin": "logger", "service": "shop-web", "session_id": SESSION,
           "view": {"url": "https://shop.example/checkout", "referrer": ""}, "usr": {"id": USER_ID}}
    a = analyzer.analyze(request("POST", f"https://browser-intake-datadoghq.com/api/v2/logs?{browser_query('logs')}",
                                 ndjson(log, log | {"message": "retry"})))
    decoded(a, "logs")
    has(a, "message_content", log["message"], "body[0].message")
    has(a, "email", EMAIL, "body[0].message", detector="pattern")
    has(a, "session_id", SESSION, "body[0].session_id")
    mobile = [{"status": "info", "service": PACKAGE, "message": "cart synced", "date": "2026-01-01T10:00:00.000Z",
               "logger": {"name": "cart", "thread_name": "main", "version": "2.20.0"},
               "usr": {"id": USER_ID, "email": EMAIL},
               "network": {"client": {"sim_carrier": {"id": 262, "name": "Telekom"}, "connectivity": "network_cellular"}},
               "_dd": {"device": {"architecture": "arm64-v8a"}}, "ddtags": "env:prod,version:5.0.1"}]
    req = via_mitmproxy("POST", "https://browser-intake-ap1-datadoghq.com/api/v2/logs?ddsource=android",
                        gzip.compress(compact(mobile).encode()),
                        {"DD-API-KEY": CLIENT_TOKEN, "Content-Encoding": "gzip", "Content-Type": "application/json"})
    b = analyzer.analyze(req)
    decoded(b, "logs")
    has(b, "carrier", "Telekom", "body[0].network.client.sim_carrier.name")
    has(b, "cpu_architecture", "arm64-v8a", "body[0]._dd.device.architecture")
    has(b, "sdk_version", "2.20.0", "body[0].logger.version")


def test_replay_multipart(analyzer):
    boundary = "----ddreplay7f"
    event = compact({"application": {"id": APP_ID}, "session": {"id": SESSION}, "view": {"id": "v1"},
                     "start": 1, "end": 2, "records_count": 3, "source": "browser"})
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"segment\"; filename=\"{SESSION}-1\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + zlib.compress(b'{"records":[]}') + \
        (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"event\"; filename=\"blob\"\r\n"
         f"Content-Type: application/json\r\n\r\n{event}\r\n--{boundary}--\r\n").encode()
    a = analyzer.analyze(request("POST", f"https://browser-intake-datadoghq.com/api/v2/replay?{browser_query('replay')}",
                                 body, [("Content-Type", f"multipart/form-data; boundary={boundary}")]))
    decoded(a, "replay")
    has(a, "session_id", SESSION, "body.event.session.id")
    has(a, "project_key", CLIENT_TOKEN, "query.dd-api-key")
    segment = zlib.compress(b'{"records":[]}')
    assert ("body.segment", f"<{len(segment)} bytes not decoded>", "") in a.fields  # the recording: deflated bytes


def proxied(proxy: str, track: str) -> str:
    """endpointBuilder.ts buildEndpointUrl with a string `proxy`:
    `<proxy>?ddforward=encodeURIComponent(/api/v2/<track>?<parameters>)`."""
    return f"{proxy}?ddforward={quote(f'/api/v2/{track}?{browser_query(track)}', safe=ENCODE_URI_COMPONENT_SAFE)}"


def test_proxy_option_recognised_by_ddforward(analyzer):
    rum = analyzer.analyze(request("POST", proxied("https://telemetry.shop.example/dd", "rum"), ndjson(browser_view()),
                                   [("Content-Type", "text/plain;charset=UTF-8")]))
    decoded(rum, "rum", via="payload_shape")
    has(rum, "project_key", CLIENT_TOKEN, "query.ddforward.params.dd-api-key")
    has(rum, "sdk_version", "7.16.2", "query.ddforward.params.dd-evp-origin-version")
    has(rum, "user_id", USER_ID, "body[0].usr.id")
    assert labels(rum)["query.ddforward.path"] == ""
    log = {"date": 1767225600000, "message": "checkout failed", "status": "error", "origin": "logger",
           "service": "shop-web", "session_id": SESSION, "usr": {"id": USER_ID}}
    logs = analyzer.analyze(request("POST", proxied("https://telemetry.shop.example/dd", "logs"), ndjson(log)))
    decoded(logs, "logs", via="payload_shape")
    has(logs, "message_content", "checkout failed", "body.message")  # one line: read as JSON
    has(logs, "project_key", CLIENT_TOKEN, "query.ddforward.params.dd-api-key")
    # Not every request with a `ddforward` parameter is Datadog's.
    other = analyzer.analyze(request("POST", "https://telemetry.shop.example/dd?ddforward=%2Fx", b'{"a": 1}'))
    assert other is None or other.tracker != "datadog", summary(other)


def test_lookalike_hosts_are_not_datadog(analyzer):
    for host in ("browser-intake-datadoghq.com.evil.example", "intake-datadoghq.com"):
        a = analyzer.analyze(request("POST", f"https://{host}/api/v2/rum", ndjson(browser_view())))
        assert a is None or a.tracker != "datadog", summary(a)
