"""Golden tests: LaunchDarkly requests, built as the SDKs build them: the browser SDK
(launchdarkly-js-client-sdk 3.9.5: the context base64url-encoded in the evalx path, events to
/events/bulk/<env> with a page url), the Android SDK (LDConfig.java@073d6c3f hosts,
AutoEnvContextModifier.java@dad79cea ld_application/ld_device contexts, "api_key" mobile key)
and the Node server SDK 9.13.7 (/bulk with the SDK key, /diagnostic)."""

from __future__ import annotations

from pathlib import Path
import base64

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "launchdarkly"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

ENV = "64f0a1b2c3d4e5f6a7b8c9d0"
MOBILE_KEY = "mob-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SDK_KEY = "sdk-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
CONTEXT = {"kind": "user", "key": "ld-user-451", "email": "lee.ld@example.com", "name": "Lee Dark",
           "country": "FR", "plan": "gold", "_meta": {"privateAttributes": ["plan"]}}


def b64url(value: dict) -> str:
    """base64URLEncode(JSON.stringify(context)): URL-safe alphabet, padding kept."""
    return base64.urlsafe_b64encode(compact_json(value).encode()).decode()


def test_browser_evalx_context_in_the_path(analyzer):
    url = f"https://app.launchdarkly.com/sdk/evalx/{ENV}/contexts/{b64url(CONTEXT)}?h=aHash&withReasons=true"
    a = analyze(analyzer, make_request("GET", url, headers=[("X-LaunchDarkly-User-Agent", "JSClient/3.9.5")]),
                "client_eval")
    has(a, "user_id", "ld-user-451", "path.context.key")
    has(a, "email", "lee.ld@example.com", "path.context.email")
    has(a, "name", "Lee Dark", "path.context.name")
    has(a, "country", "FR", "path.context.country")
    has(a, "custom_property", "gold", "path.context.plan")
    has(a, "project_key", ENV, "path.env")
    has(a, "sdk_version", "JSClient/3.9.5", "header.x-launchdarkly-user-agent")
    assert labels(a)["path.context._meta.privateAttributes[0]"] == ""


def test_browser_events_custom_click_and_summary(analyzer):
    events = [{"kind": "identify", "creationDate": 1767225600000, "context": CONTEXT},
              {"kind": "custom", "key": "checkout", "creationDate": 1767225600100, "contextKeys": {"user": "ld-user-451"},
               "data": {"coupon": "LD10"}, "metricValue": 19.9, "url": "https://shop.example.net/cart"},
              {"kind": "click", "key": "buy-button", "creationDate": 1767225600200, "contextKeys": {"user": "ld-user-451"},
               "url": "https://shop.example.net/cart", "selector": "button#buy"},
              {"kind": "summary", "startDate": 1, "endDate": 2,
               "features": {"new-checkout": {"default": False, "counters": [{"value": True, "count": 1}]}}}]
    a = analyze(analyzer, make_request("POST", f"https://events.launchdarkly.com/events/bulk/{ENV}", compact_json(events),
                                       [JSON_CT, ("X-LaunchDarkly-Event-Schema", "4")]), "events")
    has(a, "user_id", "ld-user-451", "body[0].context.key")
    has(a, "event_name", "checkout", "body[1].key")
    has(a, "custom_property", "LD10", "body[1].data.coupon")
    has(a, "page_url", "https://shop.example.net/cart", "body[1].url")
    has(a, "interaction", "button#buy", "body[2].selector")
    fields = labels(a)
    assert fields["body[2].key"] == "" and fields["body[3].features.new-checkout.counters[0].count"] == ""
    has(a, "project_key", ENV, "path.env")


def test_android_multi_context_with_application_and_device(analyzer):
    """Android auto environment attributes: a multi-kind context with ld_application and ld_device."""
    multi = {"kind": "multi", "user": {"key": "ld-user-451", "email": "lee.ld@example.com"},
             "ld_application": {"key": "hashed-app-key", "envAttributesVersion": "1.0", "id": "com.example.notes",
                                "name": "Notes", "version": "512", "versionName": "5.1.2"},
             "ld_device": {"key": "3c9f8a1e-5d2b-4c7a-9e0f-1a2b3c4d5e6f", "envAttributesVersion": "1.0",
                           "manufacturer": "Google", "model": "Pixel 7", "locale": "fr-FR", "os": {"family": "Android", "name": "Android",
                                                                                 "version": "34"}}}
    a = analyze(analyzer, make_request("GET", f"https://clientsdk.launchdarkly.com/msdk/evalx/contexts/{b64url(multi)}",
                                       headers=[("Authorization", f"api_key {MOBILE_KEY}")]), "client_eval")
    has(a, "user_id", "ld-user-451", "path.context.user.key")
    has(a, "app_id", "com.example.notes", "path.context.ld_application.id")
    has(a, "app_version", "5.1.2", "path.context.ld_application.versionName")
    has(a, "device_model", "Pixel 7", "path.context.ld_device.model")
    has(a, "installation_id", "3c9f8a1e-5d2b-4c7a-9e0f-1a2b3c4d5e6f", "path.context.ld_device.key")
    has(a, "os_version", "34", "path.context.ld_device.os.version")
    has(a, "language", "fr-FR", "path.context.ld_device.locale")
    has(a, "project_key", f"api_key {MOBILE_KEY}", "header.authorization")
    assert a.app == "com.example.notes"


def test_mobile_events_and_report_stream(analyzer):
    events = [{"kind": "feature", "key": "dark-mode", "value": True, "variation": 1, "version": 7,
               "creationDate": 1767225600000, "context": {"kind": "user", "key": "ld-user-451"}}]
    a = analyze(analyzer, make_request("POST", "https://mobile.launchdarkly.com/mobile/events/bulk", compact_json(events),
                                       [JSON_CT, ("Authorization", f"api_key {MOBILE_KEY}")]), "events")
    has(a, "user_id", "ld-user-451", "body[0].context.key")
    assert labels(a)["body[0].key"] == ""   # a flag key, not an event name
    a = analyze(analyzer, make_request("POST", f"https://clientstream.launchdarkly.com/eval/{ENV}",
                                       compact_json(CONTEXT), [JSON_CT]), "client_stream")
    has(a, "email", "lee.ld@example.com", "body.email")


def test_server_events_diagnostic_and_legacy_user(analyzer):
    legacy = [{"kind": "identify", "creationDate": 1767225600000, "key": "ld-user-451",
               "user": {"key": "ld-user-451", "email": "lee.ld@example.com", "ip": "198.51.100.4",
                        "custom": {"team": "blue"}}}]
    a = analyze(analyzer, make_request("POST", "https://events.launchdarkly.com/bulk", compact_json(legacy),
                                       [JSON_CT, ("Authorization", SDK_KEY), ("User-Agent", "NodeJSClient/9.13.7")]),
                "events")
    has(a, "public_ip", "198.51.100.4", "body[0].user.ip")
    has(a, "custom_property", "blue", "body[0].user.custom.team")
    has(a, "auth_token", SDK_KEY, "header.authorization")
    diag = {"kind": "diagnostic-init", "id": {"diagnosticId": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                                               "sdkKeySuffix": "6f5e4d"}, "creationDate": 1767225600000,
            "sdk": {"name": "@launchdarkly/node-server-sdk", "version": "9.13.7"},
            "platform": {"name": "Node", "osArch": "arm64", "osName": "Linux", "osVersion": "6.8.0"}}
    a = analyze(analyzer, make_request("POST", "https://events.launchdarkly.com/diagnostic", compact_json(diag),
                                       [JSON_CT, ("Authorization", SDK_KEY)]), "diagnostic")
    has(a, "cpu_architecture", "arm64", "body.platform.osArch")
    has(a, "project_key", "6f5e4d", "body.id.sdkKeySuffix")
    a = analyze(analyzer, make_request("GET", "https://sdk.launchdarkly.com/sdk/latest-all",
                                       headers=[("Authorization", SDK_KEY)]), "server_poll")
    has(a, "auth_token", SDK_KEY, "header.authorization")


def test_cors_less_pixel_carries_base64_events(analyzer):
    events = [{"kind": "custom", "key": "signup", "creationDate": 1, "context": {"kind": "user", "key": "ld-user-451"}}]
    d = base64.b64encode(compact_json(events).encode()).decode()
    a = analyze(analyzer, make_request("GET", f"https://events.launchdarkly.com/a/{ENV}.gif?d={d}"), "events")
    has(a, "event_name", "signup", "query.d[0].key")
    has(a, "project_key", ENV, "path.pixel_env")
