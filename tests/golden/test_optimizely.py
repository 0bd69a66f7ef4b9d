"""Golden tests: Optimizely requests, built as @optimizely/optimizely-sdk 6.6.1 builds them
(event_builder/log_event: makeEventBatch, makeVisitor, makeDecisionSnapshot and
makeConversionSnapshot; odp_event_api_manager: /v3/events and the zaius.gif pixel;
odp_segment_api_manager: the GraphQL query; cmab_client: /predict)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request)

TRACKER = "optimizely"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

ODP_KEY = "W4WzcEs-G0ldenOdpPublicKey"
VUID = "vuid_8f2b9c1d3e4f4a5b9c6d7e8f0"


def batch() -> dict:
    decision = {"decisions": [{"campaign_id": "9001", "experiment_id": "9002", "variation_id": "9003",
                               "metadata": {"flag_key": "checkout", "rule_key": "ab", "rule_type": "experiment",
                                            "variation_key": "b", "enabled": True}}],
                "events": [{"entity_id": "9001", "timestamp": 1767225600000, "key": "campaign_activated",
                            "uuid": "2c0f5a1e-1111-4a2b-8c3d-4e5f6a7b8c9d"}]}
    conversion = {"events": [{"entity_id": "9100", "key": "purchase", "timestamp": 1767225601000,
                              "uuid": "2c0f5a1e-2222-4a2b-8c3d-4e5f6a7b8c9d",
                              "tags": {"revenue": 1999, "value": 3.5, "category": "shoes"}, "revenue": 1999, "value": 3.5}]}
    return {"account_id": "12345678", "project_id": "87654321", "revision": "42", "client_name": "javascript-sdk",
            "client_version": "6.6.1", "anonymize_ip": True, "enrich_decisions": True,
            "visitors": [{"visitor_id": "opt-user-3", "snapshots": [decision, conversion],
                          "attributes": [{"entity_id": "777", "key": "plan", "type": "custom", "value": "gold"},
                                         {"entity_id": "$opt_bot_filtering", "key": "$opt_bot_filtering",
                                          "type": "custom", "value": False}]}]}


def test_event_batch_impression_and_conversion(analyzer):
    a = analyze(analyzer, make_request("POST", "https://logx.optimizely.com/v1/events", compact_json(batch()), [JSON_CT]),
                "events")
    p = "body.visitors[0]."
    has(a, "user_id", "opt-user-3", p + "visitor_id")
    has(a, "custom_property", "gold", p + "attributes[0].value")
    has(a, "event_name", "purchase", p + "snapshots[1].events[0].key")
    has(a, "revenue", "1999", p + "snapshots[1].events[0].tags.revenue")
    has(a, "custom_property", "shoes", p + "snapshots[1].events[0].tags.category")
    has(a, "project_key", "87654321", "body.project_id")
    has(a, "sdk_name", "javascript-sdk", "body.client_name")
    fields = labels(a)
    assert fields[p + "snapshots[0].decisions[0].metadata.flag_key"] == ""
    assert fields[p + "attributes[0].key"] == ""


def test_eu_endpoint_and_datafile(analyzer):
    a = analyze(analyzer, make_request("POST", "https://eu.logx.optimizely.com/v1/events", compact_json(batch()),
                                       [JSON_CT]), "events")
    has(a, "project_key", "12345678", "body.account_id")
    a = analyze(analyzer, make_request("GET", "https://cdn.optimizely.com/datafiles/G0ldenSdkKey9.json"), "datafile")
    has(a, "project_key", "G0ldenSdkKey9", "path.sdk_key")
    a = analyze(analyzer, make_request("GET", "https://config.optimizely.com/datafiles/auth/G0ldenSdkKey9.json",
                                       headers=[("Authorization", "Bearer dfat-golden")]), "datafile")
    has(a, "auth_token", "Bearer dfat-golden", "header.authorization")


def test_odp_events_api_and_pixel(analyzer):
    """eventApiRequestGenerator: a JSON array with Map fields as objects; identify sets vuid and
    fs_user_id, the data block idempotence_id, data_source_type, data_source, data_source_version."""
    events = [{"type": "fullstack", "action": "identified",
               "identifiers": {"vuid": VUID, "fs_user_id": "opt-user-3", "email": "ode.opt@example.com"},
               "data": {"idempotence_id": "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f", "data_source_type": "sdk",
                        "data_source": "javascript-sdk", "data_source_version": "6.6.1", "coupon": "OPT5"}}]
    a = analyze(analyzer, make_request("POST", "https://api.zaius.com/v3/events", compact_json(events),
                                       [JSON_CT, ("x-api-key", ODP_KEY)]), "odp_events")
    has(a, "user_id", "opt-user-3", "body[0].identifiers.fs_user_id")
    has(a, "installation_id", VUID, "body[0].identifiers.vuid")
    has(a, "email", "ode.opt@example.com", "body[0].identifiers.email")
    has(a, "custom_property", "OPT5", "body[0].data.coupon")
    has(a, "project_key", ODP_KEY, "header.x-api-key")
    query = urlencode({"vuid": VUID, "fs_user_id": "opt-user-3", "idempotence_id": "x", "data_source_type": "sdk",
                       "data_source": "javascript-sdk", "data_source_version": "6.6.1", "tracker_id": ODP_KEY,
                       "event_type": "fullstack", "vdl_action": "identified"})
    a = analyze(analyzer, make_request("GET", f"https://jumbe.zaius.com/v2/zaius.gif?{query}"), "odp_events")
    has(a, "user_id", "opt-user-3", "query.fs_user_id")
    has(a, "project_key", ODP_KEY, "query.tracker_id")


def test_odp_segments_graphql_and_cmab(analyzer):
    body = '{"query" : "query {customer(fs_user_id : \\"opt-user-3\\") {audiences(subset: [\\"vip\\"]) {edges {node {name state}}}}}"}'
    a = analyze(analyzer, make_request("POST", "https://api.zaius.com/v3/graphql", body,
                                       [JSON_CT, ("x-api-key", ODP_KEY)]), "odp_segments")
    assert labels(a)["body.query"] == "custom_property"
    assert any("opt-user-3" in f.value for f in a.findings if f.path == "body.query")
    cmab = {"instances": [{"visitorId": "opt-user-3", "experimentId": "9002",
                           "attributes": [{"id": "plan", "value": "gold", "type": "custom_attribute"}],
                           "cmabUUID": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"}]}
    a = analyze(analyzer, make_request("POST", "https://prediction.cmab.optimizely.com/predict/9002",
                                       compact_json(cmab), [JSON_CT]), "cmab")
    has(a, "user_id", "opt-user-3", "body.instances[0].visitorId")
    has(a, "custom_property", "gold", "body.instances[0].attributes[0].value")
