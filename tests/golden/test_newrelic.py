"""Golden tests: New Relic browser harvests (@newrelic/browser-agent 1.322.0 src/common/harvest/send.js,
features.js endpoints; the page-view "rum" call and its reply; the rum_v2 connect call; the raw
browser/blobs and browser/logs harvests) and the mobile agents' positional connect and harvest
arrays (newrelic-android-agent ConnectInformation, HarvestData and their parts).
"""

from __future__ import annotations

import json
import zlib
from urllib.parse import quote

import pytest

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


# --- /events: the agent's querypack text (bel.6 timings, bel.7 ajax and interactions) ---------
# Written here the way the serializers write it (bel-serializer.js and the features' serializer
# functions), from the rules they follow:
# - numbers: Math.floor in base 36, 0 and undefined as nothing; `nullable` writes `!` (no comma
#   after it) for a missing value, else the value and, when asked, a comma;
# - strings: the first time quoted with `'` and `,` `;` `\` escaped by a backslash, entering the
#   string table; afterwards the table index in base 36; undefined and "" as nothing;
# - attribute nodes: `5,key,value` text, `6,key,number` (whole numbers get a trailing `.`),
#   `7,key` true, `8,key` false, `9,key` null;
# - a node: its fields joined by `,`, then its attached nodes joined by `;`.

def b36(n: float) -> str:
    n = int(n // 1)
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    sign, n = ("-", -n) if n < 0 else ("", n)
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return sign + out


def num(n) -> str:
    return "" if n in (None, 0) else b36(n)


def nullable(value, write, comma=False) -> str:
    return write(value) + ("," if comma else "") if value or value == 0 or value == "" else "!"


class Strings:
    """getAddStringContext: one string table."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}

    def __call__(self, s) -> str:
        if s is None or s == "":
            return ""
        s = str(s)
        if s in self.table:
            return b36(self.table[s])
        self.table[s] = len(self.table)
        return "'" + "".join("\\" + c if c in ",;\\" else c for c in s)


def attribute_nodes(attrs: dict, s: Strings) -> list[str]:
    out = []
    for key, value in attrs.items():
        key = s(key)
        if isinstance(value, bool):
            out.append(f"{7 if value else 8},{key}")
        elif value is None:
            out.append(f"9,{key}")
        elif isinstance(value, (int, float)):
            out.append(f"6,{key},{int(value)}." if value == int(value) else f"6,{key},{value!r}")
        else:
            out.append(f"5,{key},{s(value)}")
    return out


def ajax_node(ajax: dict, parent_start: float, s: Strings, attrs: dict) -> str:
    """soft_navigations/aggregate/ajax-node.js serialize and ajax/aggregate/index.js serializer
    (type 2; start relative to the parent, end to start, callbackEnd to end)."""
    fields = ["2", None, num(ajax["start"] - parent_start), num(ajax["end"] - ajax["start"]), "", "",
              s(ajax["method"]), num(ajax["status"]), s(ajax["domain"]), s(ajax["path"]), num(ajax["tx"]),
              num(ajax["rx"]), 1 if ajax.get("fetch") else "", s(ajax["nodeId"]),
              nullable(ajax.get("spanId"), s, True) + nullable(ajax.get("traceId"), s, True)
              + nullable(ajax.get("spanTimestamp"), num)]
    attached = attribute_nodes(attrs, s)                   # after the fields: table order matters
    fields[1] = num(len(attached))
    return ";".join([",".join(map(str, fields)), *([";".join(attached)] if attached else [])])


def interaction(ixn: dict, first_start, js_attributes: dict) -> str:
    """soft_navigations/aggregate/interaction.js serialize: its own string table; fields, then
    the custom attributes and AJAX children, then the navTiming node (or an empty node)."""
    s = Strings()
    category = "" if ixn["trigger"] == "initialPageLoad" else 1 if ixn["newURL"] != ixn["oldURL"] else 2
    fields = ["1", None, num(ixn["start"] - (first_start or 0)), num(ixn["end"] - ixn["start"]), "", "",
              s(ixn["trigger"]), s(ixn["initialPageURL"]), s(ixn["oldURL"]), s(ixn["newURL"]), s(ixn.get("customName")),
              category, nullable(ixn.get("queueTime"), num, True) + nullable(ixn.get("appTime"), num, True)
              + nullable(ixn.get("oldRoute"), s, True) + nullable(ixn.get("newRoute"), s, True) + s(ixn["id"]),
              s(ixn["nodeId"]), nullable(ixn.get("fp"), num, True) + nullable(ixn.get("fcp"), num)]
    attached = attribute_nodes({**js_attributes, **ixn.get("attributes", {})}, s)
    child_start = ixn["start"] if first_start is None else first_start
    attached += [ajax_node(a, child_start, Strings(), a.get("attributes", {})) for a in ixn.get("ajax", [])]
    fields[1] = num(len(attached))
    return ";".join([",".join(map(str, fields)), *([";".join(attached)] if attached else []), ixn.get("navTiming", "")])


def nav_timing(values: list) -> str:
    """initial-page-load-interaction.js navTiming: `b`, each timing relative to the previous one."""
    out, sep, prev = "b", ",", 0
    for v in values:
        out, sep, prev = (out + sep + num(v - prev), ",", v) if v is not None else (out + sep + "!", "", prev)
    return out


def events(analyzer, text: str, method: str = "POST"):
    url = f"https://bam.nr-data.net/events/1/{LICENSE}?{base_query()}"
    if method == "GET":
        return analyzer.analyze(request("GET", f"{url}&e={quote(text, safe='')}"))
    return analyzer.analyze(request("POST", url, text, [("Content-Type", "text/plain")]))


JS_ATTRIBUTES = {"enduser.id": "nr-user-66", "plan": "pro", "cartSize": 3, "vip": True}


def test_events_page_view_timings(analyzer):
    """page_view_timing/aggregate/index.js serializer: `bel.6;`, one string table; per timing
    `e,name,value,<attribute count>;attributes`: the agent's own (keys and values as is), the
    site's custom attributes, then pageUrl. Vitals attributes from common/vitals/*.js."""
    s = Strings()
    page = "https://shop.example/checkout"
    timings = [("fcp", 496, {"timeToFirstByte": 278.6, "firstByteToFCP": 217.4, "loadState": "loading",
                             "net-etype": "4g", "net-rtt": 100, "cls": 0, "webdriverDetected": False}),
               ("lcp", 812.7, {"size": 48000, "eid": "hero", "elTag": "IMG", "element": "main>img.hero",
                               "elUrl": "https://cdn.shop.example/img/hero.jpg", "cls": 0}),
               ("fi", 1250, {"type": "pointerdown", "eventTarget": "button#buy", "loadState": "complete"})]
    parts = []
    for name, value, attrs in timings:
        head = f"e,{s(name)},{nullable(value, num)},"        # the name enters the table first
        nodes = attribute_nodes(attrs, s) + attribute_nodes(JS_ATTRIBUTES, s) + attribute_nodes({"pageUrl": page}, s)
        parts.append(head + num(len(nodes)) + ";" + ";".join(nodes))
    text = "bel.6;" + ";".join(parts)
    assert text.count("'nr-user-66") == 1 and text.count("'pro") == 1    # later timings refer to the table
    a = events(analyzer, text)
    decoded(a, "events")
    has(a, "user_id", "nr-user-66", 'body.nodes[0].attributes["enduser.id"]')
    has(a, "custom_property", "pro", "body.nodes[0].attributes.plan")
    has(a, "custom_property", "3", "body.nodes[0].attributes.cartSize")
    has(a, "page_url", page, "body.nodes[0].attributes.pageUrl")
    has(a, "page_url", "https://cdn.shop.example/img/hero.jpg", "body.nodes[1].attributes.elUrl")
    has(a, "interaction", "button#buy", "body.nodes[2].attributes.eventTarget")
    has(a, "project_key", LICENSE, "path.license_key")
    assert a.payload["body"]["nodes"][1]["value"] == 812
    got = labels(a)
    assert got['body.nodes[2].attributes["enduser.id"]'] == "user_id"           # references resolved
    assert got["body.nodes[2].attributes.plan"] == "custom_property"
    agents_own = ((0, "name"), (1, "attributes.element"), (0, "attributes.timeToFirstByte"), (1, "attributes.size"),
                  (0, "attributes.net-etype"))
    assert {got[f"body.nodes[{i}].{k}"] for i, k in agents_own} == {""}
    assert sorted(f.data_type for f in a.findings if f.path.startswith("body")) == [
        "custom_property", "custom_property", "interaction", "page_url", "page_url", "user_id"]


IPL_ID, CLICK_ID, API_ID = ("c49f9430-9133-4c3c-8c8e-7bc8db85fc54", "0d6a1f8e-52b3-4c61-9e0a-3b7f2c8d1e45",
                            "7e2b9c14-08f5-4d3a-a6c1-5f9e3d2b7a60")
REFERRER = "https://search.example/?q=running+shoes"


def test_events_soft_navigation_interactions(analyzer):
    """soft_navigations/aggregate/index.js serializer: `bel.7;` interactions, the first one's start
    as the origin of the rest; each interaction and each of its AJAX nodes has its own string
    table, so strings repeat. The initial page load's oldURL is document.referrer."""
    home, orders = "https://shop.example/", "https://shop.example/orders/17"
    ipl = {"trigger": "initialPageLoad", "start": 0, "end": 675, "initialPageURL": home, "oldURL": REFERRER,
           "newURL": home, "id": IPL_ID, "nodeId": "1", "fp": 496, "fcp": 496,
           "attributes": {"isFirstOfSession": True, "webdriverDetected": False},
           "navTiming": nav_timing([None, None, None, None, 2, 2, 2, 40, 240, 247, 247, 279, 282, None, 656, 656,
                                    660, 672, 672, 675]),
           "ajax": [{"start": 627, "end": 700, "method": "GET", "status": 200, "domain": "api.shop.example:443",
                     "path": "/cart", "tx": 0, "rx": 512, "fetch": True, "nodeId": "2",
                     "attributes": {"ajaxRequest.id": "1e4c6026-62f4-47ca-874f-d606d7bab7af"}}]}
    click = {"trigger": "click", "start": 2400, "end": 2950, "initialPageURL": home, "oldURL": home, "newURL": orders,
             "oldRoute": "home", "newRoute": "orders", "id": CLICK_ID, "nodeId": "3",
             "attributes": {"actionText": "My orders"},
             "ajax": [{"start": 2420, "end": 2610, "method": "POST", "status": 200, "domain": "api.shop.example:443",
                       "path": "/graphql", "tx": 90, "rx": 2048, "fetch": True, "nodeId": "4",
                       "spanId": "a1b2c3d4e5f60718", "traceId": "0af7651916cd43dd8448eb211c80319c",
                       "spanTimestamp": 1767225602420,
                       "attributes": {"operationName": "Orders", "operationType": "query",
                                      "operationFramework": "GraphQL",
                                      "ajaxRequest.id": "f5ac1494-7ce3-451d-9f94-c96b763e9865",
                                      "requestBody": '{"query":"{orders{id}}","customer":"ada@shop.example"}'}}]}
    custom = {"trigger": "api", "start": 4000, "end": 4100, "initialPageURL": home, "oldURL": orders, "newURL": orders,
              "customName": "reorder", "id": API_ID, "nodeId": "5"}
    text = "bel.7;" + ";".join([interaction(ipl, None, JS_ATTRIBUTES), interaction(click, 0, JS_ATTRIBUTES),
                                interaction(custom, 0, JS_ATTRIBUTES)])
    assert text.count("'nr-user-66") == 3 and ",2,!!!!'" + API_ID in text   # custom: newURL = oldURL, a reference
    a = events(analyzer, text)
    decoded(a, "events")
    has(a, "user_id", "nr-user-66", 'body.nodes[0].attributes["enduser.id"]')
    has(a, "custom_property", "pro", "body.nodes[0].attributes.plan")
    has(a, "page_url", home, "body.nodes[0].initialPageURL")
    has(a, "referrer", REFERRER, "body.nodes[0].oldURL")
    has(a, "page_url", "api.shop.example:443", "body.nodes[0].children[0].domain")
    has(a, "page_url", "/cart", "body.nodes[0].children[0].path")
    has(a, "interaction", "click", "body.nodes[1].trigger")
    has(a, "page_url", orders, "body.nodes[1].newURL")
    has(a, "screen_name", "home", "body.nodes[1].previousRouteName")
    has(a, "screen_name", "orders", "body.nodes[1].targetRouteName")
    has(a, "interaction", "My orders", "body.nodes[1].attributes.actionText")
    has(a, "page_url", "/graphql", "body.nodes[1].children[0].path")
    has(a, "message_content", click["ajax"][0]["attributes"]["requestBody"],
        "body.nodes[1].children[0].attributes.requestBody")
    has(a, "event_name", "reorder", "body.nodes[2].customName")
    nodes = a.payload["body"]["nodes"]
    assert (nodes[2]["oldURL"], nodes[2]["newURL"], nodes[2]["category"]) == (orders, orders, "Custom")
    assert nodes[1]["children"][0]["domain"] == "api.shop.example:443"
    assert nodes[0]["navTiming"]["loadEventEnd"] == 675 - 672
    got = labels(a)
    assert got["body.nodes[0].trigger"] == "" and got['body.nodes[1].attributes["enduser.id"]'] == "user_id"
    assert {got["body.nodes[1].children[0].traceId"], got["body.nodes[1].children[0].attributes.operationName"],
            got["body.nodes[0].navTiming.domInteractive"], got["body.nodes[0].attributes.isFirstOfSession"]} == {""}


def test_events_ajax_requests(analyzer):
    """ajax/aggregate/index.js serializer (soft navigations off): `bel.7;` ajax nodes at the top,
    one string table for the payload, each with the custom attributes and ajaxRequest.id."""
    s, first, parts = Strings(), None, []
    for i, (path, start) in enumerate((("/cart", 1500), ("/cart/items", 1720))):
        ajax = {"start": start, "end": start + 80, "method": "GET", "status": 200, "domain": "api.shop.example:443",
                "path": path, "tx": 0, "rx": 300, "nodeId": 0}
        request_id = f"aaaaaaaa-0000-4000-8000-00000000000{i}"
        parts.append(ajax_node(ajax, first or 0, s, {**JS_ATTRIBUTES, "ajaxRequest.id": request_id}))
        first = first or start
    text = "bel.7;" + ";".join(parts)
    assert text.count("'api.shop.example:443") == 1 and text.count("'nr-user-66") == 1
    a = events(analyzer, text)
    decoded(a, "events")
    has(a, "user_id", "nr-user-66", 'body.nodes[0].attributes["enduser.id"]')
    has(a, "page_url", "api.shop.example:443", "body.nodes[0].domain")
    has(a, "page_url", "/cart/items", "body.nodes[1].path")
    nodes = a.payload["body"]["nodes"]
    assert nodes[1]["domain"] == "api.shop.example:443" and nodes[1]["attributes"]["enduser.id"] == "nr-user-66"
    assert labels(a)["body.nodes[1].attributes.plan"] == "custom_property"


def test_events_old_spa_agent_in_the_query(analyzer):
    """Agents before 1.236.0 could send the text as `e` in the query (harvest.js image fallback);
    the SPA feature (spa/aggregate/serializer.js, before 1.310.0) keeps one string table for the
    whole payload and nests custom tracers (type 4, name, traced time, id) with their AJAX."""
    s = Strings()
    home, orders = "https://shop.example/", "https://shop.example/orders/17"

    def old_interaction(start, end, trigger, old, new, node_id, category, children, nav=""):
        fields = [num(start), num(end - start), num(end), "", s(trigger), s(home), s(old), s(new), "", category,
                  "!!!!" + s(f"ixn-{node_id}"), s(node_id), "!!"]
        attached = attribute_nodes(JS_ATTRIBUTES, s) + children
        return ";".join([f"1,{num(len(attached))}," + ",".join(map(str, fields)), ";".join(attached), nav])

    ipl = old_interaction(0, 675, "initialPageLoad", REFERRER, home, "1", "", [], "b,2,,,12,5k,7,,w,3,!ae,,,,,j,!!!")
    ajax = ",".join(["2,", num(40), num(90), "", "", s("GET"), num(200), s("api.shop.example:443"), s("/orders"),
                     "", num(700), "", s("4") + "!!!"])
    tracer = f"4,1,{num(20)},{num(150)},,,{s('loadOrders')},{nullable(30, num, True)}{s('3')};{ajax}"
    click = old_interaction(2400, 2950, "click", home, orders, "2", 1, [tracer])
    text = "bel.7;" + ipl + ";" + click
    a = events(analyzer, text, "GET")
    decoded(a, "events")
    has(a, "user_id", "nr-user-66", 'query.e.nodes[0].attributes["enduser.id"]')
    has(a, "referrer", REFERRER, "query.e.nodes[0].oldURL")
    has(a, "page_url", orders, "query.e.nodes[1].newURL")
    has(a, "page_url", "/orders", "query.e.nodes[1].children[0].children[0].path")
    nodes = a.payload["query"]["e"]["nodes"]
    assert nodes[1]["oldURL"] == home and nodes[1]["attributes"]["enduser.id"] == "nr-user-66"   # references
    assert nodes[1]["children"][0]["name"] == "loadOrders" and nodes[1]["children"][0]["tracedCallbackDuration"] == 30
    assert labels(a)["query.e.nodes[1].children[0].name"] == ""


@pytest.mark.parametrize("text, where", [
    ("bel.7;1,2,,ir,,,'initialPageLoad", "character 7"),                 # announces 2 children, none follow
    ("bel.7;5,'key,7", "character 14"),                                  # string reference 7: empty table
    ("bel.7;2,,,,,,'GET,5k,'a\\b", "character 24"),                       # `\b` is no escape
    ("bel.9;1,,", "bel.9 is not supported"),
])
def test_events_malformed_querypack_is_reported_with_its_position(analyzer, text, where):
    a = events(analyzer, text)
    assert (a.endpoint, a.status) == ("events", "not_decoded") and "querypack" in a.error and where in a.error, summary(a)


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
