"""Golden tests: Microsoft Clarity uploads as clarity-js builds them
(microsoft/clarity@8aa987e4 packages/clarity-js/src/data/{envelope,upload,compress}.ts)."""

from __future__ import annotations

import gzip
import json

import pytest

from leakmap.extract import Indicator
from leakmap.model import Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import summary

PROJECT = "k2x9honeyp"
USER = "1abcd2e"          # _clck id (base-36 shortid)
SESSION = "9zyx8w7"       # _clsk id
URL = "https://shop.example.net/checkout?step=2"
TYPED = "jane.doe@example.com"


@pytest.fixture(scope="module")
def rules():
    loaded, problems = load_rules()
    assert problems == []
    return loaded


def make_request(method: str, url: str, body: bytes | str = b"", headers=None) -> Request:
    return Request(flow_id="golden", source="golden", timestamp=0.0, method=method, url=url,
                   headers=headers or [], body=body.encode() if isinstance(body, str) else body)


def envelope(last: bool) -> list:
    """envelope.ts envelope(): version, sequence, start, duration, projectId, userId,
    sessionId, pageNum, upload (0 async / 1 beacon), end, applicationPlatform (0 web), url."""
    return ["0.8.25", 3, 12000, 4000, PROJECT, USER, SESSION, 1, 1 if last else 0, 1 if last else 0, 0, URL]


def payload(last: bool) -> str:
    """upload.ts: '{"e":' + e + ',"a":' + a + ',"p":' + p + '}' with numeric-coded events:
    here a Dimension-like analytics event and playback text/input events."""
    a = [[12010, 1, 1, ["Mozilla/5.0"]]]
    p = [[12020, 6, [12, 8, "INPUT", {"type": "email", "value": TYPED}]], [12030, 9, 12, 412, 88]]
    return '{"e":' + json.dumps(envelope(last)) + ',"a":' + json.dumps(a) + ',"p":' + json.dumps(p) + "}"


HEADERS = [("Accept", "application/x-clarity-gzip"), ("Origin", "https://shop.example.net"),
           ("Content-Type", "text/plain;charset=UTF-8")]


def test_gzipped_batch_without_content_encoding(rules):
    body = gzip.compress(payload(False).encode())
    analyzer = Analyzer(rules, indicators=[Indicator.make("email", TYPED)])
    a = analyzer.analyze(make_request("POST", "https://x.clarity.ms/collect", body, HEADERS))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("clarity", "collect", "decoded", ""), summary(a)
    assert a.decode_chain == ["body: gzip → json"], a.decode_chain
    # What the visitor typed is in the recording: found by the honey detector, and by pattern.
    hits = {(f.data_type, f.value, f.detector) for f in a.findings}
    assert ("email", TYPED, "indicator") in hits or ("email", TYPED, "pattern") in hits, summary(a)
    assert a.app == "example.net"


def test_last_batch_plain_json_beacon(rules):
    a = Analyzer(rules).analyze(make_request("POST", "https://k.clarity.ms/collect", payload(True),
                                             [("Content-Type", "text/plain;charset=UTF-8")]))
    assert (a.tracker, a.endpoint, a.status) == ("clarity", "collect", "decoded"), summary(a)
    assert a.decode_chain == ["body: json"], a.decode_chain
    assert any(p == "body.e[11]" and v == URL for p, v, _ in a.fields)


def test_envelope_positions(rules):
    a = Analyzer(rules).analyze(make_request("POST", "https://x.clarity.ms/collect", payload(True)))
    found = {(f.data_type, f.value, f.path) for f in a.findings}
    assert ("project_key", PROJECT, "body.e[4]") in found, summary(a)
    assert ("browser_id", USER, "body.e[5]") in found, summary(a)
    assert ("session_id", SESSION, "body.e[6]") in found, summary(a)
    assert ("page_url", URL, "body.e[11]") in found, summary(a)


def test_tag_loader_names_the_project(rules):
    a = Analyzer(rules).analyze(make_request("GET", f"https://www.clarity.ms/tag/{PROJECT}?ref=gtm2"))
    assert (a.tracker, a.endpoint, a.status) == ("clarity", "tag", "decoded"), summary(a)
    assert ("project_key", PROJECT, "path.project_id") in {(f.data_type, f.value, f.path) for f in a.findings}


@pytest.mark.parametrize("url", ["https://x.clarity.ms.evil.example/collect", "https://xclarity.ms/collect"])
def test_lookalike_hosts_do_not_match(rules, url):
    a = Analyzer(rules).analyze(make_request("POST", url, payload(True)))
    assert a is None or a.tracker != "clarity"
