"""Golden tests: Airship warp9 events and channel registration, built as
urbanairship/android-library@1c7b1d0b9 builds them (EventApiClient.kt, Event.kt, CustomEvent.kt,
ScreenTrackingEvent.kt, ChannelRegistrationPayload.kt, X-UA-* header constants).
"""

from __future__ import annotations

import gzip

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            request_via_mitmproxy as via_mitmproxy, analyzer_fixture)

TRACKER = "airship"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

APP_KEY = "ISex_TTJRuarzs9-o_Gkhg"
CHANNEL = "a1b2c3d4-e5f6-4789-8abc-def012345678"
PUSH = "fcm-token-honey-ua-771"
UA_HEADERS = {"X-UA-App-Key": APP_KEY, "X-UA-Channel-ID": CHANNEL, "X-UA-Package-Name": "com.example.news",
              "X-UA-Package-Version": "6.2.0", "X-UA-Android-Version-Code": "34", "X-UA-Device-Family": "android",
              "X-UA-Device-Model": "Pixel 7", "X-UA-Lib-Version": "19.1.0", "X-UA-Locale-Language": "es",
              "X-UA-Locale-Country": "MX", "X-UA-Timezone": "America/Mexico_City", "X-UA-Push-Address": PUSH,
              "X-UA-Channel-Opted-In": "true", "X-UA-Sent-At": "1767225600.123"}


def test_warp9_gzip_events(analyzer):
    """EventApiClient.sendEvents: POST analyticsUrl + warp9/, GzippedJson body, X-UA-* headers."""
    events = [{"type": "app_foreground", "event_id": "e-1", "time": "1767225600.000",
               "data": {"session_id": "s-9f8e", "connection_type": "wifi", "carrier": "Telcel", "time_zone": -21600,
                        "daylight_savings": "false", "os_version": "14", "lib_version": "19.1.0",
                        "package_version": "6.2.0", "notification_types": ["alert", "badge"]}},
              {"type": "enhanced_custom_event", "event_id": "e-2", "time": "1767225601.000",
               "data": {"session_id": "s-9f8e", "event_name": "article_read", "event_value": 1.0,
                        "properties": {"section": "politica"}}},
              {"type": "screen_tracking", "event_id": "e-3", "time": "1767225602.000",
               "data": {"session_id": "s-9f8e", "screen": "ArticleScreen", "previous_screen": "Home",
                        "entered_time": "1", "exited_time": "2", "duration": "1.0"}}]
    req = via_mitmproxy("POST", "https://combine.urbanairship.com/warp9/", gzip.compress(compact(events).encode()),
                        {**UA_HEADERS, "Content-Encoding": "gzip", "Content-Type": "application/json"})
    a = analyzer.analyze(req)
    decoded(a, "warp9")
    has(a, "project_key", APP_KEY, "header.x-ua-app-key")
    has(a, "installation_id", CHANNEL, "header.x-ua-channel-id")
    has(a, "app_id", "com.example.news", "header.x-ua-package-name")
    has(a, "push_token", PUSH, "header.x-ua-push-address")
    has(a, "device_model", "Pixel 7", "header.x-ua-device-model")
    has(a, "session_id", "s-9f8e", "body[0].data.session_id")
    has(a, "carrier", "Telcel", "body[0].data.carrier")
    has(a, "event_name", "article_read", "body[1].data.event_name")
    has(a, "custom_property", "politica", "body[1].data.properties.section")
    has(a, "screen_name", "ArticleScreen", "body[2].data.screen")
    assert a.identity["app_id"] == "com.example.news"


def test_channel_registration(analyzer):
    """ChannelRegistrationPayload keys."""
    body = {"channel": {"device_type": "android", "opt_in": True, "background": True, "push_address": PUSH,
                        "set_tags": True, "tags": ["sports"], "timezone": "America/Mexico_City",
                        "locale_language": "es", "locale_country": "MX", "app_version": "6.2.0",
                        "sdk_version": "19.1.0", "device_model": "Pixel 7", "android_api_version": 34,
                        "contact_id": "ct-77aa", "is_activity": False},
            "identity_hints": {"user_id": "reader-4410"}}
    a = analyzer.analyze(request("POST", "https://device-api.asnapieu.com/api/channels/", compact(body),
                                 [(k, v) for k, v in UA_HEADERS.items()]))
    decoded(a, "channels")
    has(a, "push_token", PUSH, "body.channel.push_address")
    assert labels(a)["header.x-ua-push-address"] == "push_token"
    has(a, "user_id", "reader-4410", "body.identity_hints.user_id")
    has(a, "user_id", "ct-77aa", "body.channel.contact_id")
    has(a, "custom_property", "sports", "body.channel.tags[0]")
    assert labels(a)["body.channel.android_api_version"] == "os_version"


def test_lookalike_is_not_airship(analyzer):
    a = analyzer.analyze(request("POST", "https://combine.urbanairship.com.example.org/warp9/", "[]"))
    assert a is None or a.tracker != "airship"
