"""Golden tests: Iterable API requests, built as Iterable/iterable-android-sdk@12748cfe builds them
(IterableConstants.java endpoint and key names, IterableApiClient.java bodies, IterableRequestTask.java headers).
"""

from __future__ import annotations


import pytest

from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import assert_finding_at as has, compact, decoded_for, labels, make_request as request

TRACKER = "iterable"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


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
