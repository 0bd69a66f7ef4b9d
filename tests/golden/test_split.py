"""Golden tests: Split requests, built as @splitsoftware/splitio-commons 2.12.1 (the JavaScript
SDK 11.11.2's core) builds them: services/splitApi.js (paths and queries),
services/splitHttpClient.js (headers), sync/submitters (impressions f/i/k/b/t/r/c/m/pt,
unique keys), sync/streaming/SSEClient (the client key's last 4 characters)."""

from __future__ import annotations

from pathlib import Path
from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "split"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

KEY = "g0ldenbrowserkey0123456789abcdef"
HEADERS = [JSON_CT, ("Authorization", f"Bearer {KEY}"), ("SplitSDKVersion", "browserjs-11.11.2")]
SERVER = [JSON_CT, ("Authorization", f"Bearer {KEY}"), ("SplitSDKVersion", "nodejs-11.11.2"),
          ("SplitSDKMachineIP", "10.20.30.40"), ("SplitSDKMachineName", "web-7f9c")]


def test_impressions_bulk(analyzer):
    body = [{"f": "new_checkout", "i": [{"k": "split-user-12", "b": "acct-99", "t": "on", "r": "default rule",
                                         "c": 1767225600000, "m": 1767225600500, "pt": 1767225500000,
                                         "properties": '{"page":"cart"}'}]}]
    a = analyze(analyzer, make_request("POST", "https://events.split.io/api/testImpressions/bulk", compact_json(body),
                                       HEADERS + [("SplitSDKImpressionsMode", "OPTIMIZED")]), "impressions")
    has(a, "user_id", "split-user-12", "body[0].i[0].k")
    has(a, "other_id", "acct-99", "body[0].i[0].b")
    has(a, "auth_token", f"Bearer {KEY}", "header.authorization")
    has(a, "sdk_version", "browserjs-11.11.2", "header.splitsdkversion")
    assert labels(a)["body[0].i[0].t"] == "" and labels(a)["body[0].f"] == ""


def test_track_events_from_a_server(analyzer):
    body = [{"eventTypeId": "checkout", "trafficTypeName": "user", "value": 49.9, "timestamp": 1767225600000,
             "key": "split-user-12", "properties": {"plan": "team"}}]
    a = analyze(analyzer, make_request("POST", "https://events.split.io/api/events/bulk", compact_json(body), SERVER),
                "track")
    has(a, "event_name", "checkout", "body[0].eventTypeId")
    has(a, "custom_property", "team", "body[0].properties.plan")
    has(a, "local_ip", "10.20.30.40", "header.splitsdkmachineip")
    has(a, "device_name", "web-7f9c", "header.splitsdkmachinename")


def test_client_side_memberships_and_auth_carry_the_user_key(analyzer):
    a = analyze(analyzer, make_request("GET", "https://sdk.split.io/api/memberships/split-user-12", headers=HEADERS),
                "definitions")
    has(a, "user_id", "split-user-12", "path.user_key")
    a = analyze(analyzer, make_request("GET", "https://auth.split.io/api/v2/auth?s=1.3&users=split-user-12",
                                       headers=HEADERS), "auth")
    has(a, "user_id", "split-user-12", "query.users")
    a = analyze(analyzer, make_request("GET", "https://sdk.split.io/api/splitChanges?s=1.3&since=-1", headers=HEADERS),
                "definitions")
    has(a, "auth_token", f"Bearer {KEY}", "header.authorization")


def test_unique_keys_and_streaming(analyzer):
    body = {"keys": [{"k": "split-user-12", "fs": ["new_checkout", "dark_mode"]}]}
    a = analyze(analyzer, make_request("POST", "https://telemetry.split.io/api/v1/keys/cs", compact_json(body), HEADERS),
                "unique_keys")
    has(a, "user_id", "split-user-12", "body.keys[0].k")
    url = ("https://streaming.split.io/sse?channels=control_pri,flags&accessToken=abc.def.ghi&v=1.1&heartbeats=true"
           f"&SplitSDKVersion=browserjs-11.11.2&SplitSDKClientKey={KEY[-4:]}")
    a = analyze(analyzer, make_request("GET", url), "streaming")
    has(a, "project_key", KEY[-4:], "query.SplitSDKClientKey")
