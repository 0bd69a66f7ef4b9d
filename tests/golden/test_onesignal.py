"""Golden tests: OneSignal requests, built as OneSignal-Android-SDK builds them: v5 user model
(UserBackendService, SubscriptionBackendService, JSONConverter, HttpClient headers @18bc069a1)
and the legacy v4 player registration (OneSignal.java, UserState.java @4.8.12; ad_id @3.16.2).
"""

from __future__ import annotations

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "onesignal"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

APP_ID = "2f1c7a3e-5b4d-4c6e-8f0a-1b2c3d4e5f60"
SUB_ID = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
INSTALL_ID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
PUSH_TOKEN = "fcm:APA91bF3xYz_honeyPushToken_9kLmN0pQrS"
EXTERNAL_ID = "os-user-1207"
EMAIL = "ana.onesignal@example.com"

V5_HEADERS = [("Content-Type", "application/json; charset=UTF-8"), ("SDK-Version", "onesignal/android/050108"),
              ("Accept", "application/vnd.onesignal.v1+json"), ("OneSignal-Subscription-Id", SUB_ID),
              ("OneSignal-Install-Id", INSTALL_ID)]


def push_subscription() -> dict:
    """JSONConverter.convertToJSON(SubscriptionObject) key order and names."""
    return {"id": SUB_ID, "type": "AndroidPush", "token": PUSH_TOKEN, "enabled": True, "notification_types": 1,
            "sdk": "050108", "device_model": "SM-S918B", "device_os": "14", "rooted": False, "net_type": 0,
            "carrier": "Vodafone", "app_version": "412"}


def test_v5_create_user(analyzer):
    """UserBackendService.createUser: {identity, subscriptions, properties, refresh_device_metadata}."""
    body = {"identity": {"external_id": EXTERNAL_ID},
            "subscriptions": [push_subscription(), {"type": "Email", "token": EMAIL, "enabled": True}],
            "properties": {"language": "pt", "timezone_id": "Europe/Lisbon"}, "refresh_device_metadata": True}
    a = analyzer.analyze(request("POST", f"https://api.onesignal.com/apps/{APP_ID}/users", compact(body), V5_HEADERS))
    decoded(a, "users")
    has(a, "project_key", APP_ID, "path.app_id")
    has(a, "user_id", EXTERNAL_ID, "body.identity.external_id")
    has(a, "push_token", PUSH_TOKEN, "body.subscriptions[0].token")
    has(a, "email", EMAIL, "body.subscriptions[1].token", detector="pattern")
    # An Email subscription's token is the address, not a push token (benchmarks/accuracy found it).
    assert not [f for f in a.findings if f.value == EMAIL and f.data_type == "push_token"]
    has(a, "device_model", "SM-S918B", "body.subscriptions[0].device_model")
    has(a, "carrier", "Vodafone", "body.subscriptions[0].carrier")
    has(a, "language", "pt", "body.properties.language")
    has(a, "timezone", "Europe/Lisbon", "body.properties.timezone_id")
    has(a, "installation_id", SUB_ID, "body.subscriptions[0].id")  # also in OneSignal-Subscription-Id
    assert labels(a)["header.onesignal-subscription-id"] == "installation_id"
    has(a, "installation_id", INSTALL_ID, "header.onesignal-install-id")
    has(a, "sdk_version", "onesignal/android/050108", "header.sdk-version")
    fields = labels(a)
    for key in ("type", "enabled", "notification_types", "sdk", "device_os", "rooted", "net_type", "app_version"):
        assert fields[f"body.subscriptions[0].{key}"] != "custom_property", key


def test_v5_update_user_properties_and_deltas(analyzer):
    """updateUser: PATCH .../users/by/<label>/<value> {refresh_device_metadata, properties, deltas}."""
    body = {"refresh_device_metadata": False,
            "properties": {"tags": {"plan": "pro"}, "lat": 38.7223, "long": -9.1393, "country": "PT"},
            "deltas": {"session_time": 93, "session_count": 1, "amount_spent": "4.99",
                       "purchases": [{"sku": "coins_500", "iso": "EUR", "amount": "4.99"}]}}
    a = analyzer.analyze(request("PATCH", f"https://api.onesignal.com/apps/{APP_ID}/users/by/external_id/{EXTERNAL_ID}",
                                 compact(body), V5_HEADERS))
    decoded(a, "users")
    has(a, "user_id", EXTERNAL_ID, "path.alias_value")
    has(a, "latitude", "38.7223", "body.properties.lat")
    has(a, "longitude", "-9.1393", "body.properties.long")
    has(a, "custom_property", "pro", "body.properties.tags.plan")
    has(a, "time_spent", "93", "body.deltas.session_time")
    has(a, "revenue", "4.99", "body.deltas.amount_spent")


def test_v5_subscription_update(analyzer):
    body = {"subscription": push_subscription() | {"enabled": False}}
    a = analyzer.analyze(request("PATCH", f"https://api.onesignal.com/apps/{APP_ID}/subscriptions/{SUB_ID}",
                                 compact(body), V5_HEADERS))
    decoded(a, "subscriptions")
    has(a, "push_token", PUSH_TOKEN, "body.subscription.token")
    assert labels(a)["path.subscription_id"] == "installation_id"


def test_v4_player_registration(analyzer):
    """OneSignal.registerUserTask@4.8.12 + UserState (lat/long/loc_acc) + 3.16.2 ad_id."""
    body = {"app_id": APP_ID, "device_os": "13", "timezone": 3600, "timezone_id": "Europe/Paris", "language": "fr",
            "sdk": "040812", "sdk_type": "native", "android_package": "fr.example.meteo", "device_model": "Pixel 6a",
            "game_version": 87, "net_type": 0, "carrier": "Orange F", "rooted": False, "identifier": PUSH_TOKEN,
            "device_type": 1, "notification_types": 1, "lat": 48.8566, "long": 2.3522, "loc_acc": 14.0,
            "ad_id": "38400000-8cf0-11bd-b23e-10b96e40000d", "external_user_id": EXTERNAL_ID,
            "tags": {"city": "Paris"}}
    a = analyzer.analyze(request("POST", "https://api.onesignal.com/players", compact(body),
                                 [("Content-Type", "application/json; charset=UTF-8"), ("SDK-Version", "onesignal/android/040812")]))
    decoded(a, "players")
    has(a, "app_id", "fr.example.meteo", "body.android_package")
    has(a, "push_token", PUSH_TOKEN, "body.identifier")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.ad_id")
    has(a, "latitude", "48.8566", "body.lat")
    has(a, "location_accuracy", "14.0", "body.loc_acc")
    has(a, "user_id", EXTERNAL_ID, "body.external_user_id")
    has(a, "app_version", "87", "body.game_version")
    has(a, "carrier", "Orange F", "body.carrier")
    assert a.identity["app_id"] == "fr.example.meteo"
    fields = labels(a)
    assert (fields["body.rooted"], fields["body.net_type"], fields["body.sdk_type"], fields["body.device_type"]) == \
        ("is_rooted", "network_type", "sdk_name", "")


def test_notification_received_and_outcome(analyzer):
    a = analyzer.analyze(request("PUT", "https://api.onesignal.com/notifications/9a8b7c6d-0000-4000-8000-000000000001/report_received",
                                 compact({"app_id": APP_ID, "player_id": SUB_ID, "device_type": 1}), V5_HEADERS))
    decoded(a, "notifications")
    has(a, "installation_id", SUB_ID, "body.player_id")
    b = analyzer.analyze(request("POST", "https://api.onesignal.com/outcomes/measure",
                                 compact({"app_id": APP_ID, "onesignal_id": "a1b2c3d4-0000-4000-8000-00000000abcd",
                                          "subscription": {"id": SUB_ID, "type": "AndroidPush"},
                                          "id": "purchase_completed", "weight": 2.5, "session_time": 40}), V5_HEADERS))
    decoded(b, "notifications")
    has(b, "user_id", "a1b2c3d4-0000-4000-8000-00000000abcd", "body.onesignal_id")
    has(b, "event_name", "purchase_completed", "body.id")


def test_lookalike_is_not_onesignal(analyzer):
    a = analyzer.analyze(request("POST", "https://api.onesignal.com.example.org/players", compact({"identifier": "x"})))
    assert a is None or a.tracker != "onesignal"


# ---- REST API from a server: @onesignal/node-onesignal (npm 5.18.0) -----------------------

REST_HEADERS = [("Content-Type", "application/json"), ("Accept", "application/json, */*;q=0.8"),
                ("OS-Usage-Data", "kind=sdk, sdk-name=onesignal-typescript, version=5.18.0"),
                ("Authorization", "Key os_v2_app_restkey0123456789")]


def test_server_create_user_with_properties(analyzer):
    """DefaultApi.js createUser: POST /apps/{app_id}/users with the User model (PropertiesObject:
    ip, amount_spent, purchases; Subscription: session_count)."""
    body = {"identity": {"external_id": EXTERNAL_ID},
            "properties": {"tags": {"tier": "gold"}, "ip": "203.0.113.9", "amount_spent": "19.99",
                           "first_active": 1767225600, "purchases": [{"sku": "p1", "amount": "19.99", "iso": "EUR"}]},
            "subscriptions": [{"type": "SMS", "token": "+15550100123", "session_count": 4}]}
    a = analyzer.analyze(request("POST", f"https://api.onesignal.com/apps/{APP_ID}/users", compact(body), REST_HEADERS))
    decoded(a, "users")
    has(a, "public_ip", "203.0.113.9", "body.properties.ip")
    has(a, "revenue", "19.99", "body.properties.amount_spent")
    has(a, "custom_property", "gold", "body.properties.tags.tier")
    has(a, "session_count", "4", "body.subscriptions[0].session_count")
    has(a, "auth_token", "Key os_v2_app_restkey0123456789", "header.authorization")
    assert labels(a)["body.properties.first_active"] == ""


def test_server_custom_events_and_send(analyzer):
    """DefaultApi.js createCustomEvents (CustomEvent: name, external_id, timestamp, payload) and
    createNotification (Notification: app_id, include_aliases, target_channel, contents,
    headings, include_email_tokens, data)."""
    events = {"events": [{"name": "level_up", "external_id": EXTERNAL_ID, "timestamp": "2026-01-01T00:00:00Z",
                          "payload": {"level": "7"}}]}
    a = analyzer.analyze(request("POST", f"https://api.onesignal.com/apps/{APP_ID}/custom_events", compact(events),
                                 REST_HEADERS))
    decoded(a, "custom-events")
    has(a, "event_name", "level_up", "body.events[0].name")
    has(a, "user_id", EXTERNAL_ID, "body.events[0].external_id")
    has(a, "custom_property", "7", "body.events[0].payload.level")
    has(a, "project_key", APP_ID, "path.app_id")
    send = {"app_id": APP_ID, "include_aliases": {"external_id": [EXTERNAL_ID]}, "target_channel": "push",
            "contents": {"en": "Your order shipped"}, "headings": {"en": "Hi Ana"}, "data": {"order": "A-9"},
            "include_email_tokens": [EMAIL], "external_id": "4f3e2d1c-0b9a-4876-9543-210fedcba987"}
    b = analyzer.analyze(request("POST", "https://api.onesignal.com/notifications", compact(send), REST_HEADERS))
    decoded(b, "send")
    has(b, "user_id", EXTERNAL_ID, "body.include_aliases.external_id[0]")
    has(b, "message_content", "Your order shipped", "body.contents.en")
    has(b, "message_content", "Hi Ana", "body.headings.en")
    has(b, "email", EMAIL, "body.include_email_tokens[0]")
    has(b, "custom_property", "A-9", "body.data.order")
    has(b, "project_key", APP_ID, "body.app_id")
    assert labels(b)["body.external_id"] == ""  # the send's idempotency key
