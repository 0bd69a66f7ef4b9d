"""Golden tests: New Relic browser harvests (@newrelic/browser-agent 1.322.0 src/common/harvest/send.js,
features.js endpoints; the page-view "rum" call and its reply; the rum_v2 connect call; the raw
browser/blobs and browser/logs harvests) and the mobile connect call (newrelic-android-agent
HarvestConnection).
"""

from __future__ import annotations

import json
import zlib
from urllib.parse import quote

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


def test_mobile_connect(analyzer):
    req = via_mitmproxy("POST", "https://mobile-collector.newrelic.com/mobile/v4/connect",
                        zlib.compress(compact([["Notes", "2.0", "com.example.notes"],
                                               ["Android", "14", "Pixel 8", "AndroidAgent", "7.6.0", "uuid-1", "", "",
                                                "Google"]]).encode()),
                        {"X-App-License-Key": "AA0123456789abcdef0123456789abcdef01-NRMA",
                         "X-NewRelic-OS-Name": "Android", "X-NewRelic-App-Version": "2.0",
                         "Content-Encoding": "deflate", "Content-Type": "application/json"})
    a = analyzer.analyze(req)
    decoded(a, "mobile")
    has(a, "project_key", "AA0123456789abcdef0123456789abcdef01-NRMA", "header.x-app-license-key")
    assert ("body[0][2]", "com.example.notes", "custom_property") in a.fields


def test_lookalike_is_not_newrelic(analyzer):
    a = analyzer.analyze(request("POST", f"https://bam.nr-data.net.example.org/ins/1/{LICENSE}", "{}"))
    assert a is None or a.tracker != "newrelic"
