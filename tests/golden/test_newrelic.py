"""Golden tests: New Relic browser harvests (@newrelic/browser-agent 1.322.0 src/common/harvest/send.js,
features.js endpoints) and the mobile agents' positional connect and harvest arrays
(newrelic-android-agent ConnectInformation, HarvestData and their parts).
"""

from __future__ import annotations

import zlib

import pytest

from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import assert_finding_at as has, compact, decoded_for, labels, make_request as request, request_via_mitmproxy as via_mitmproxy, summary

TRACKER = "newrelic"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


decoded = decoded_for(TRACKER)

LICENSE = "NRJS-1a2b3c4d5e6f7a8b9c0"
APP = "1134567890"


def base_query() -> str:
    """@newrelic/browser-agent 1.322.0 src/common/harvest/send.js baseQueryString."""
    return (f"a={APP}&sa=1&v=1.322.0&t=Unnamed%20Transaction&rst=5123&ck=0&s=6f5e4d3c2b1a0f9e"
            "&ref=https://shop.example/account/orders&ptid=7a8b9c")


def test_ins_page_actions(analyzer):
    body = {"ins": [{"eventType": "PageAction", "timestamp": 1767225600000, "actionName": "addToCart",
                     "pageUrl": "https://shop.example/account/orders", "currentUrl": "https://shop.example/account/orders",
                     "browserWidth": 1280, "browserHeight": 720, "enduser.id": "nr-user-66", "sku": "A-1"}]}
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net/ins/1/{LICENSE}?{base_query()}", compact(body),
                                 [("Content-Type", "text/plain")]))
    decoded(a, "browser")
    has(a, "project_key", LICENSE, "path.license_key")
    has(a, "session_id", "6f5e4d3c2b1a0f9e", "query.s")
    has(a, "page_url", "https://shop.example/account/orders", "query.ref")
    has(a, "user_id", "nr-user-66", 'body.ins[0]["enduser.id"]')
    has(a, "event_name", "PageAction", "body.ins[0].eventType")
    has(a, "viewport_width", "1280", "body.ins[0].browserWidth")
    assert labels(a)["query.a"] == "project_key" and labels(a)["query.v"] == "sdk_version"


def test_rum_and_jserrors(analyzer):
    a = analyzer.analyze(request("POST", f"https://bam.eu01.nr-data.net/1/{LICENSE}?{base_query()}",
                                 compact({"ja": {"enduser.id": "nr-user-66", "plan": "pro"}}), [("Content-Type", "text/plain")]))
    decoded(a, "browser")
    has(a, "user_id", "nr-user-66", 'body.ja["enduser.id"]')
    b = analyzer.analyze(request("POST", f"https://bam.nr-data.net/jserrors/1/{LICENSE}?{base_query()}",
                                 compact({"err": [{"params": {"exceptionClass": "TypeError",
                                                              "message": "x is undefined"},
                                                   "custom": {"enduser.id": "nr-user-66"}}]}),
                                 [("Content-Type", "text/plain")]))
    decoded(b, "browser")
    has(b, "error_report", "TypeError", "body.err[0].params.exceptionClass")


def test_events_compact_serialisation_kept_as_text(analyzer):
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net/events/1/{LICENSE}?{base_query()}",
                                 "bel.7;e,'fi,1a,3b;6,'value,7.5", [("Content-Type", "text/plain")]))
    assert (a.tracker, a.endpoint, a.status) == ("newrelic", "browser", "decoded"), summary(a)


MOBILE_KEY = "AA0123456789abcdef0123456789abcdef01-NRMA"
NR_UUID = "b5c8e7a2-4f1d-4e8b-9a3c-2d6f0e1b7c94"


def device_information() -> list:
    """newrelic-android-agent DeviceInformation.asJsonArray@37f4ec2c: osName, osVersion, model,
    agentName, agentVersion, deviceId, countryCode, regionCode, manufacturer, misc."""
    return ["Android", "14", "Pixel 8", "AndroidAgent", "7.8.1", NR_UUID, "DE", "BE", "Google",
            {"size": "normal", "platform": "Native", "platformVersion": "7.8.1"}]


def mobile_post(path: str, payload: list):
    """HarvestConnection.createPost/send: JSON, deflated (the body is over 512 bytes or not)."""
    return via_mitmproxy("POST", f"https://mobile-collector.newrelic.com{path}", zlib.compress(compact(payload).encode()),
                         {"X-App-License-Key": MOBILE_KEY, "X-NewRelic-OS-Name": "Android",
                          "X-NewRelic-App-Version": "2.0", "Content-Encoding": "deflate",
                          "Content-Type": "application/json"})


def test_mobile_connect(analyzer):
    """ConnectInformation.asJsonArray: [ApplicationInformation [appName, appVersion, packageId], DeviceInformation]."""
    a = analyzer.analyze(mobile_post("/mobile/v5/connect", [["Notes", "2.0", "com.example.notes"], device_information()]))
    decoded(a, "mobile_connect")
    has(a, "project_key", MOBILE_KEY, "header.x-app-license-key")
    has(a, "app_name", "Notes", "body[0][0]")
    has(a, "app_version", "2.0", "body[0][1]")
    has(a, "app_id", "com.example.notes", "body[0][2]")
    has(a, "os_version", "14", "body[1][1]")
    has(a, "device_model", "Pixel 8", "body[1][2]")
    has(a, "sdk_version", "7.8.1", "body[1][4]")
    has(a, "installation_id", NR_UUID, "body[1][5]")
    has(a, "country", "DE", "body[1][6]")
    has(a, "manufacturer", "Google", "body[1][8]")
    assert a.app == "com.example.notes"
    assert "custom_property" not in labels(a).values(), labels(a)


def test_mobile_harvest_data(analyzer):
    """HarvestData.asJsonArray@37f4ec2c: [DataToken, DeviceInformation, time delta, HttpTransactions,
    metrics, [], activity traces, agent health, session attributes, analytics events]."""
    transaction = ["https://api.example.com/v1/orders?user=nr-user-88", "Vodafone DE", 0.412, 200, 0, 312, 5120,
                   None, "wifi", "GET"]                                   # HttpTransaction.asJsonArray
    metric = [{"name": "Mobile/Activity/Name/Display OrdersActivity", "scope": ""},
              {"count": 1, "total": 0.8, "min": 0.8, "max": 0.8, "sum_of_squares": 0.64}]
    trace = [{"type": "ACTIVITY", "traceVersion": "1.0"}, 1767225600000, 1767225600800, "Display OrdersActivity",
             [["ENV"], [{}, 1767225600000, 1767225600800, "Display OrdersActivity", [1, "main"], "", []], {}]]
    session = {"uuid": NR_UUID, "sessionId": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", "userId": "nr-user-88",
               "osName": "Android", "osVersion": "14", "osMajorVersion": "14", "osBuild": "11583682",
               "deviceManufacturer": "Google", "deviceModel": "Pixel 8", "carrier": "Vodafone DE",
               "newRelicVersion": "7.8.1", "memUsageMb": 142.5, "processId": 12345, "platform": "Native",
               "platformVersion": "7.8.1", "runTime": "2.1.0", "architecture": "aarch64", "appBuild": "205",
               "sessionDuration": 61.2, "lastInteraction": "Display OrdersActivity", "plan": "family"}
    event = {"name": "OrderPlaced", "timestamp": "1767225600900", "category": "Custom", "eventType": "Purchase",
             "sessionId": session["sessionId"], "total": 49.9}
    payload = [[1234567, 98765432], device_information(), 60, [transaction], [metric], [], [trace], [], session, [event]]
    a = analyzer.analyze(mobile_post("/mobile/v3/data", payload))
    decoded(a, "mobile_data")
    has(a, "project_key", "1234567", "body[0][0]")
    has(a, "installation_id", NR_UUID, "body[1][5]")
    has(a, "page_url", transaction[0], "body[3][0][0]")
    has(a, "carrier", "Vodafone DE", "body[3][0][1]")
    has(a, "network_type", "wifi", "body[3][0][8]")
    has(a, "screen_name", "Display OrdersActivity", "body[6][0][3]")
    has(a, "user_id", "nr-user-88", "body[8].userId")
    has(a, "session_id", session["sessionId"], "body[8].sessionId")
    has(a, "cpu_architecture", "aarch64", "body[8].architecture")
    has(a, "app_build", "205", "body[8].appBuild")
    has(a, "time_spent", "61.2", "body[8].sessionDuration")
    has(a, "custom_property", "family", "body[8].plan")
    has(a, "event_name", "Purchase", "body[9][0].eventType")
    has(a, "event_name", "OrderPlaced", "body[9][0].name")
    has(a, "custom_property", "49.9", "body[9][0].total")
    custom = {path for path, label in labels(a).items() if label == "custom_property"}
    assert custom == {"body[8].plan", "body[9][0].total"}, custom


def test_mobile_crash_path(analyzer):
    """CrashSender: /mobile_crash (no trailing segment)."""
    a = analyzer.analyze(via_mitmproxy("POST", "https://mobile-crash.newrelic.com/mobile_crash",
                                       compact({"uuid": "c1", "appInfo": {"appName": "Notes"}}).encode(),
                                       {"X-App-License-Key": MOBILE_KEY, "Content-Type": "application/json"}))
    decoded(a, "mobile")


def test_lookalike_is_not_newrelic(analyzer):
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net.example.org/ins/1/{LICENSE}", "{}"))
    assert a is None or a.tracker != "newrelic"
