"""Golden tests: New Relic browser harvests (@newrelic/browser-agent 1.322.0 src/common/harvest/send.js,
features.js endpoints; the page-view "rum" call and its reply; the rum_v2 connect call; the raw
browser/blobs and browser/logs harvests) and the mobile agents' positional connect and harvest
arrays (newrelic-android-agent ConnectInformation, HarvestData and their parts).
"""

from __future__ import annotations

import json
import zlib
from urllib.parse import quote

from leakmap.rules import load_rules
from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            request_via_mitmproxy as via_mitmproxy, summary, analyzer_fixture)

TRACKER = "newrelic"


analyzer = analyzer_fixture()
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
                                 compact({"ja": {"enduser.id": "nr-user-66", "plan": "pro",
                                                 "webdriverDetected": False}}),
                                 [("Content-Type", "text/plain")]))
    decoded(a, "rum")
    has(a, "user_id", "nr-user-66", 'body.ja["enduser.id"]')
    has(a, "custom_property", "pro", "body.ja.plan")
    assert labels(a)["body.ja.webdriverDetected"] == ""
    b = analyzer.analyze(request("POST", f"https://bam.nr-data.net/jserrors/1/{LICENSE}?{base_query()}",
                                 compact({"err": [{"params": {"exceptionClass": "TypeError",
                                                              "message": "x is undefined"},
                                                   "custom": {"enduser.id": "nr-user-66"}}]}),
                                 [("Content-Type", "text/plain")]))
    decoded(b, "browser")
    has(b, "error_report", "TypeError", "body.err[0].params.exceptionClass")


def reply_for(endpoint_id: str) -> dict:
    """The block-mode reply the rule declares for an endpoint, parsed."""
    rules, _ = load_rules()
    endpoint = next(e for r in rules if r.id == TRACKER for e in r.endpoints if e.id == endpoint_id)
    return json.loads(endpoint.reply({})["body"])


def test_rum_reply_keeps_the_agent_running():
    """page_view_event/aggregate/index.js postHarvestCleanup: JSON {app, ...flags}; time-keeper.js
    processRumRequest needs app.nrServerTime; logging reads app.agents[0].entityGuid; the features
    wait for their flags (err, ins, spa, st/sts, sr/srs, log/logapi)."""
    flags = reply_for("rum")
    assert flags["app"]["nrServerTime"] > 0 and flags["app"]["agents"][0]["entityGuid"]
    assert all(flags[f] == 1 for f in ("err", "ins", "spa", "st", "sts", "loaded"))
    connect = reply_for("connect")  # connector.js #processConnectResponse: {app, config}
    assert connect["app"] == flags["app"] and connect["config"] == {k: v for k, v in flags.items() if k != "app"}


def test_connect_v2(analyzer):
    """connector.js makeConnectRequest: raw URL browser/connect/2/<licenseKey>, qs a, v, s; no body."""
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net/browser/connect/2/{LICENSE}?a={APP}&v=1.322.0"
                                 "&s=6f5e4d3c2b1a0f9e", "", [("Content-Type", "text/plain")]))
    decoded(a, "connect")
    has(a, "project_key", LICENSE, "path.license_key")
    has(a, "project_key", APP, "query.a")
    has(a, "session_id", "6f5e4d3c2b1a0f9e", "query.s")


def test_raw_blobs_session_trace(analyzer):
    """session_trace/aggregate/index.js queryStringsBuilder: raw browser/blobs, the metadata
    form-encoded (encodeObj) in `attributes`; body: TraceNodes {n, s, e, o, t} (trace/node.js)."""
    attributes = ("entityGuid=MXxCUk9XU0VSfEFQUExJQ0FUSU9OfDE%3D&harvestId=6f5e4d3c2b1a0f9e_7a8b9c_1"
                  "&trace.firstTimestamp=1767225600000&trace.nodes=2&agentVersion=1.322.0&ptid=7a8b9c"
                  "&session=6f5e4d3c2b1a0f9e&enduser.id=nr-user-66&currentUrl=https://shop.example/account")
    url = (f"https://bam.nr-data.net/browser/blobs?browser_monitoring_key={LICENSE}&type=BrowserSessionChunk"
           f"&app_id={APP}&protocol_version=0&timestamp=1767225600000&attributes={quote(attributes, safe='')}")
    nodes = [{"n": "click", "s": 812, "e": 815, "o": "button#buy", "t": "event"},
             {"n": "fetch", "s": 820, "e": 901, "o": "https://api.shop.example:443/cart", "t": "resource"}]
    a = analyzer.analyze(request("POST", url, compact(nodes), [("Content-Type", "text/plain")]))
    decoded(a, "browser")
    has(a, "project_key", LICENSE, "query.browser_monitoring_key")
    has(a, "project_key", APP, "query.app_id")
    has(a, "user_id", "nr-user-66", 'query.attributes["enduser.id"]')
    has(a, "page_url", "https://shop.example/account", "query.attributes.currentUrl")
    has(a, "session_id", "6f5e4d3c2b1a0f9e", "query.attributes.session")
    has(a, "interaction", "button#buy", "body[0].o")
    assert labels(a)["body[0].n"] == "" and labels(a)["query.attributes.harvestId"] == ""


def test_raw_logs(analyzer):
    """logging/aggregate/index.js serializer: [{common{attributes}, logs[Log]}] (shared/log.js),
    raw browser/logs with browser_monitoring_key."""
    body = [{"common": {"attributes": {"enduser.id": "nr-user-66", "plan": "pro",
                                       "entity.guid": "MXxCUk9XU0VSfEFQUExJQ0FUSU9OfDE=", "appId": APP,
                                       "session": "6f5e4d3c2b1a0f9e", "hasReplay": False, "hasTrace": True,
                                       "ptid": "7a8b9c", "standalone": True, "agentVersion": "1.322.0",
                                       "instrumentation.provider": "browser", "instrumentation.version": "1.322.0",
                                       "instrumentation.name": "browser-agent"}},
             "logs": [{"timestamp": 1767225600000, "message": "payment declined",
                       "attributes": {"orderId": "A-17", "pageUrl": "https://shop.example/checkout"},
                       "level": "INFO"}]}]
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net/browser/logs?browser_monitoring_key={LICENSE}",
                                 compact(body), [("Content-Type", "text/plain")]))
    decoded(a, "browser")
    has(a, "user_id", "nr-user-66", 'body[0].common.attributes["enduser.id"]')
    has(a, "project_key", APP, "body[0].common.attributes.appId")
    has(a, "message_content", "payment declined", "body[0].logs[0].message")
    has(a, "page_url", "https://shop.example/checkout", "body[0].logs[0].attributes.pageUrl")
    has(a, "custom_property", "A-17", "body[0].logs[0].attributes.orderId")
    has(a, "custom_property", "pro", "body[0].common.attributes.plan")
    assert labels(a)['body[0].common.attributes["instrumentation.name"]'] == ""


def test_rum_v2_harvest(analyzer):
    """send.js: rum with endpointVersion 2 keeps the endpoint name, /rum/2/<licenseKey>."""
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net/rum/2/{LICENSE}?{base_query()}",
                                 compact({"ja": {"enduser.id": "nr-user-66"}}), [("Content-Type", "text/plain")]))
    decoded(a, "browser")
    has(a, "user_id", "nr-user-66", 'body.ja["enduser.id"]')


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
