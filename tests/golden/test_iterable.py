"""Golden tests: Iterable API requests, built as Iterable/iterable-android-sdk@12748cfe builds them
(IterableConstants.java endpoint and key names, IterableApiClient.java bodies, IterableRequestTask.java headers).
"""

from __future__ import annotations

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "iterable"


analyzer = analyzer_fixture()
decoded = decoded_for(TRACKER)

API_KEY = "3a8f1c2d4e5b6a7980112233445566ee"
EMAIL = "jo.iterable@example.com"
HEADERS = [("Content-Type", "application/json"), ("Api-Key", API_KEY), ("SDK-Platform", "Android"),
           ("SDK-Version", "3.6.2")]


def test_register_device_token(analyzer):
    """IterableApiClient.registerDeviceToken: {email|userId, device{token, platform,
    applicationName, dataFields{...IterableConstants.DEVICE_*}}}."""
    body = {"email": EMAIL, "device": {"token": "fcm-honey-iterable-55", "platform": "GCM",
                                       "applicationName": "com.example.fitness",
                                       "dataFields": {"brand": "OnePlus", "manufacturer": "OnePlus",
                                                      "systemName": "Android", "systemVersion": "14",
                                                      "model": "CPH2449", "sdkVersion": 34,
                                                      "deviceId": "d6c5b4a3-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
                                                      "appPackageName": "com.example.fitness", "appVersion": "4.1.0",
                                                      "appBuild": "410", "iterableSdkVersion": "3.6.2",
                                                      "notificationsEnabled": True,
                                                      "mobileFrameworkInfo": {"frameworkType": "native",
                                                                              "iterableSdkVersion": "3.6.2"}}}}
    a = analyzer.analyze(request("POST", "https://api.iterable.com/api/users/registerDeviceToken", compact(body), HEADERS))
    decoded(a, "api")
    has(a, "email", EMAIL, "body.email")
    has(a, "project_key", API_KEY, "header.api-key")
    has(a, "push_token", "fcm-honey-iterable-55", "body.device.token")
    has(a, "app_id", "com.example.fitness", "body.device.applicationName")
    has(a, "installation_id", "d6c5b4a3-2f1e-4d0c-9b8a-7f6e5d4c3b2a", "body.device.dataFields.deviceId")
    has(a, "device_model", "CPH2449", "body.device.dataFields.model")
    has(a, "app_version", "4.1.0", "body.device.dataFields.appVersion")
    fields = labels(a)
    for key in ("brand", "systemName", "systemVersion", "sdkVersion", "appBuild", "iterableSdkVersion",
                "notificationsEnabled"):
        assert fields[f"body.device.dataFields.{key}"] not in ("", "custom_property"), key


def test_track_event_and_purchase(analyzer):
    a = analyzer.analyze(request("POST", "https://api.eu.iterable.com/api/events/track",
                                 compact({"userId": "it-user-9", "eventName": "workout_completed",
                                          "dataFields": {"minutes": 42}, "createdAt": 1767225600}), HEADERS))
    decoded(a, "api")
    has(a, "user_id", "it-user-9", "body.userId")
    has(a, "event_name", "workout_completed", "body.eventName")
    b = analyzer.analyze(request("POST", "https://api.iterable.com/api/commerce/trackPurchase",
                                 compact({"user": {"email": EMAIL, "dataFields": {"tier": "gold"}}, "total": 19.99,
                                          "items": [{"id": "p1", "name": "Premium", "price": 19.99, "quantity": 1}]}),
                                 HEADERS))
    decoded(b, "api")
    has(b, "email", EMAIL, "body.user.email")
    has(b, "revenue", "19.99", "body.total")


def test_lookalike_is_not_iterable(analyzer):
    a = analyzer.analyze(request("POST", "https://api.iterable.com.example.net/api/events/track", "{}"))
    assert a is None or a.tracker != "iterable"


def test_web_in_app_messages_and_update_email(analyzer):
    """iterable-web-sdk@85879797: inapp/request.ts GET /api/inApp/web/getMessages with count,
    packageName, platform=Web, SDKVersion and the userId the authorization.ts interceptor adds;
    users.ts updateUserEmail POST /api/users/updateEmail {newEmail, currentUserId}; request.ts
    Authorization: Bearer <JWT> for JWT-enabled keys. Block mode answers the message list."""
    headers = [("Api-Key", API_KEY), ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySWQiOiJ3In0.c2ln")]
    url = ("https://api.iterable.com/api/inApp/web/getMessages?count=20&packageName=shop.example&platform=Web"
           "&SDKVersion=2.2.1&userId=web-user-3")
    a = analyzer.analyze(request("GET", url, b"", headers))
    decoded(a, "api")
    has(a, "user_id", "web-user-3", "query.userId")
    has(a, "app_id", "shop.example", "query.packageName")
    has(a, "auth_token", headers[1][1], "header.authorization")
    endpoint = analyzer.endpoints[("iterable", "api")]
    assert endpoint.reply({"platform": "Web", "count": "20"})["body"] == '{"inAppMessages":[]}'
    assert endpoint.reply({})["body"] == '{"msg":"","code":"Success","params":null}'
    b = analyzer.analyze(request("POST", "https://api.iterable.com/api/users/updateEmail",
                                 compact({"newEmail": EMAIL, "currentUserId": "web-user-3"}), headers))
    decoded(b, "api")
    has(b, "email", EMAIL, "body.newEmail")
    has(b, "user_id", "web-user-3", "body.currentUserId")
