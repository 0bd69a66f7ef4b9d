"""Golden tests: New Relic browser harvests (@newrelic/browser-agent 1.322.0 src/common/harvest/send.js,
features.js endpoints) and the mobile connect call (newrelic-android-agent HarvestConnection).
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
