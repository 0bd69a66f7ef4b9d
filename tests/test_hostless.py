"""Recognition where the host says nothing: endpoints with no host (or a host a proxy,
collector or CNAME replaces) recognised by path, headers and payload shape, flagged as such;
ordinary first-party APIs not claimed; the cost per request independent of the number of
such endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from leakmap.cli import main
from leakmap.model import Request
from leakmap.pipeline import Analyzer
from leakmap.rules import compile_rule, load_rules

HOSTLESS = """\
id: acme
name: Acme Collector
company: Acme Inc.
category: analytics
endpoints:
  - id: collect
    description: A self-hosted collector on any host, recognised by its path and payload.
    methods: [POST]
    path: ^/(?:[\\w-]+/)*acme/v2/collect$
    decode: [{at: body, steps: [json]}]
    records: [body.events]
    shape: {segments: [collect], require: [acme_id, kind]}
    fields:
      record.acme_id: installation_id
      record.user.email: email
      header.x-acme-key: project_key
    source: acme-sdk:src/transport.js
  - id: beacon
    shape: {headers: [x-acme-beacon], require: [body.sid]}
    decode: [{at: body, steps: [json]}]
    fields: {body.sid: session_id}
    source: acme-sdk:src/beacon.js
"""


def request(url: str, body: object = None, method: str = "POST", headers: list[tuple[str, str]] | None = None) -> Request:
    raw = json.dumps(body).encode() if body is not None else b""
    return Request("f", "t", 0.0, method, url, headers or [("content-type", "application/json")], raw)


@pytest.fixture(scope="module")
def hostless() -> Analyzer:
    return Analyzer([compile_rule(yaml.safe_load(HOSTLESS), "acme.yaml")])


def test_an_endpoint_without_host_is_recognised_by_path_and_payload_and_flagged(hostless):
    a = hostless.analyze(request("https://metrics.shop.example/t/acme/v2/collect",
                                 {"events": [{"acme_id": "i-1", "kind": "view", "user": {"email": "a@b.example"}}]},
                                 headers=[("x-acme-key", "k-9")]))
    assert (a.tracker, a.endpoint, a.status, a.match_via) == ("acme", "collect", "decoded", "payload_shape")
    assert a.matched_by == "path segment 'collect'"
    assert a.decode_chain[0] == "recognised by payload shape on metrics.shop.example (found by path segment 'collect')"
    assert {(f.data_type, f.value) for f in a.findings} >= {("installation_id", "i-1"), ("email", "a@b.example"),
                                                           ("project_key", "k-9")}
    by_header = hostless.analyze(request("https://x.corp.example/anything", {"sid": "s-77"},
                                         headers=[("X-Acme-Beacon", "1")]))
    assert (by_header.endpoint, by_header.matched_by) == ("beacon", "header 'x-acme-beacon'")


@pytest.mark.parametrize("url,body", [
    ("https://shop.example/api/collect", {"events": [{"acme_id": "i-1", "kind": "view"}]}),  # path regex says no
    ("https://shop.example/acme/v2/collect", {"events": [{"acme_id": "i-1"}]}),               # `kind` missing
    ("https://shop.example/acme/v2/collect", {"events": []}),                                 # no records
])
def test_without_its_path_or_payload_a_hostless_endpoint_claims_nothing(hostless, url, body):
    a = hostless.analyze(request(url, body))
    assert a is None or a.match_via != "payload_shape"


def test_hostless_endpoints_need_a_shape_and_are_listed(tmp_path):

    data = yaml.safe_load(HOSTLESS)
    del data["endpoints"][1]["shape"]
    with pytest.raises(ValueError, match="needs `hosts`, or a `shape`"):
        compile_rule(data, "acme.yaml")
    (tmp_path / "acme.yaml").write_text(HOSTLESS)
    listed = CliRunner().invoke(main, ["rules", "list", "--rules", str(tmp_path)])
    assert "acme" in listed.output and "(any host, by shape)" in listed.output


# Realistic first-party JSON APIs whose paths or keys look like a tracker's: none may be claimed.
LOOKALIKES = [
    ("POST", "https://api.shop.example/v1/batch", {"batch": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}]}),
    ("POST", "https://api.shop.example/orders/track", {"orderId": "o-991", "carrier": "ups", "event": "shipped"}),
    ("POST", "https://shop.example/api/events", {"events": [{"type": "click", "target": "buy", "ts": 1767225600}]}),
    ("POST", "https://shop.example/graphql", {"query": "mutation Track($e: String!) { track(e: $e) }",
                                              "variables": {"e": "signup", "distinct_id": "u-1"}}),
    ("POST", "https://shop.example/capture", {"event": "payment_captured", "amount": 1200, "currency": "EUR"}),
    ("POST", "https://shop.example/api/identify", {"userId": "u-1", "traits": {"plan": "pro"}}),
    ("GET", "https://cdn.shop.example/i?id=42&size=large", None),
    ("POST", "https://shop.example/e", {"error": "timeout", "path": "/cart"}),
    ("POST", "https://shop.example/v2/logs", {"logs": [{"level": "info", "message": "ok", "timestamp": 1}]}),
    ("POST", "https://shop.example/collect", {"events": [{"name": "page", "params": {"url": "/"}}]}),
    ("POST", "https://shop.example/api/session", {"session_id": "s-1", "device_id": "d-1", "api_key": "pk_live_x"}),
    ("GET", "https://shop.example/b/ss/report?ndh=1", None),
]


@pytest.mark.parametrize("method,url,body", LOOKALIKES, ids=[u.split("/", 3)[-1] for _, u, _ in LOOKALIKES])
def test_ordinary_first_party_apis_are_not_claimed_by_any_bundled_rule(bundled, method, url, body):
    a = bundled.analyze(request(url, body, method))
    assert a is None or a.match_via != "payload_shape", (a.tracker, a.endpoint, a.decode_chain)


@pytest.fixture(scope="module")
def bundled() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


def _many(count: int) -> str:
    """*count* hostless endpoints, each with its own path segment and header."""
    endpoints = "".join(f"""\
  - id: e{n}
    path: ^/v1/seg{n}$
    shape: {{segments: [seg{n}], headers: [x-h{n}], require: [body.k{n}]}}
    decode: [{{at: body, steps: [json]}}]
    source: test
""" for n in range(count))
    return f"id: many\nname: Many\ncompany: Many Inc.\ncategory: analytics\nendpoints:\n{endpoints}"


def test_candidate_checks_per_request_do_not_grow_with_ten_times_the_hostless_endpoints(tmp_path):

    requests = [request("https://a.example/v1/seg3", {"k3": "v"}, headers=[("x-h7", "1")]),
                request("https://a.example/v1/other", {"k": "v"}, headers=[("x-unrelated", "1")]),
                request("https://a.example/v1/seg5?x=1", {"nope": 1})]
    checks = []
    for count in (20, 200):
        analyzer = Analyzer([compile_rule(yaml.safe_load(_many(count)), f"many{count}.yaml")])
        candidates = [len(analyzer.index.shape_candidates(r)) for r in requests]
        for r in requests:
            analyzer.analyze(r)
        checks.append((candidates, analyzer.shape_checks))
    assert checks[0] == checks[1] == ([2, 0, 1], 2)  # seg3 (path) + e7 (header, path regex fails); seg5 (payload fails)


def test_schema_rejects_an_endpoint_with_neither_hosts_nor_shape(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HOSTLESS.replace("    shape: {headers: [x-acme-beacon], require: [body.sid]}\n", ""))
    result = CliRunner().invoke(main, ["rules", "check", str(bad)])
    assert result.exit_code == 4 and "an endpoint needs `hosts`, or a `shape`" in result.output
    assert Path(bad).exists()
