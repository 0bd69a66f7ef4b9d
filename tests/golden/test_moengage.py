"""Golden tests: MoEngage. The mobile SDKs are closed source: these payloads follow the unverified
catalogue notes ([K]) and check matching, JSON decoding and the few mapped keys.
"""

from __future__ import annotations

import json

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.read import request_from_flow
from leakmap.rules import load_rules

TRACKER = "moengage"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


def summary(a: Analysis) -> str:
    lines = [f"status={a.status} endpoint={a.endpoint} error={a.error!r} via={a.match_via}"]
    lines += [f"  {f.data_type} {f.value!r} @ {f.path} [{f.detector}]" for f in a.findings]
    return "\n".join(lines)


def has(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    """The (data_type, value) finding exists, first seen at *path*, decided by *detector*."""
    hits = [(f.path, f.detector) for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert (path, detector) in hits, f"({data_type}, {value!r}) not at {path}:\n{summary(a)}"


def labels(a: Analysis) -> dict[str, str]:
    return {path: label for path, _, label in a.fields}


def request(method: str, url: str, body: bytes | str = b"", headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(flow_id="golden", source="golden", timestamp=0.0, method=method, url=url,
                   headers=headers or [], body=body.encode() if isinstance(body, str) else body)


def via_mitmproxy(method: str, url: str, raw: bytes, headers: dict[str, str]) -> Request:
    """A real mitmproxy flow carrying *raw* as sent (e.g. gzip + Content-Encoding)."""
    flow = tflow.tflow()
    flow.request = http.Request.make(method, url, b"", headers)
    flow.request.raw_content = raw
    return request_from_flow(flow, "golden", Limits())


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def decoded(a: Analysis, endpoint: str, tracker: str = TRACKER, via: str = "host") -> None:
    assert a is not None
    assert (a.tracker, a.endpoint, a.status, a.error, a.match_via) == (tracker, endpoint, "decoded", "", via), summary(a)


def test_report_query_params(analyzer):
    body = {"query_params": {"app_id": "MOEAPP123XYZ", "os": "ANDROID", "app_ver": "120", "sdk_ver": "130100",
                             "unique_id": "4c3b2a19-0817-4e6f-9d8c-7b6a5f4e3d2c", "device_tz": "Asia/Kolkata",
                             "push_id": "fcm-honey-moe-9", "model": "RMX3710", "manufacturer": "realme"},
            "viewsInfo": [{"EVENT_ACTION": "Product Viewed", "EVENT_ATTRS": {"sku": "TV-55"}}]}
    a = analyzer.analyze(request("POST", "https://sdk-03.moengage.com/v2/sdk/report/MOEAPP123XYZ", compact(body),
                                 [("Content-Type", "application/json")]))
    decoded(a, "report")
    has(a, "project_key", "MOEAPP123XYZ", "path.app_id")
    has(a, "installation_id", "4c3b2a19-0817-4e6f-9d8c-7b6a5f4e3d2c", "body.query_params.unique_id")
    has(a, "push_token", "fcm-honey-moe-9", "body.query_params.push_id")
    has(a, "event_name", "Product Viewed", "body.viewsInfo[0].EVENT_ACTION")


def test_encrypted_body_matched_not_failed(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk-01.moengage.com/v2/sdk/report/APP", b"\x93\x11\xfe opaque",
                                 [("Content-Type", "application/octet-stream")]))
    assert (a.tracker, a.endpoint, a.status) == ("moengage", "report", "decoded"), summary(a)


def test_sdkconfig_and_lookalike(analyzer):
    a = analyzer.analyze(request("POST", "https://sdk-02.moengage.com/v3/sdkconfig/android/APP",
                                 compact({"query_params": {"app_id": "APP"}})))
    decoded(a, "sdkconfig")
    b = analyzer.analyze(request("POST", "https://sdk-01.moengage.com.example.org/v2/sdk/report/APP", "{}"))
    assert b is None or b.tracker != "moengage"
