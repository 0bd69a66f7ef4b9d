"""Golden tests: Hotjar requests as public captures of its script show them
(in.hotjar.com visit-data, identify.hotjar.com); the recording itself is a WebSocket stream."""

from __future__ import annotations

import gzip
import json

import pytest

from leakmap.model import Analysis
from golden_support import summary, analyzer_fixture, make_request

SITE = "1699068"
HJ_USER = "15479a8f-d042-5b8b-a029-36f6897e29cc"


analyzer = analyzer_fixture()


def findings(a: Analysis) -> set[tuple[str, str, str, str]]:
    return {(f.data_type, f.value, f.path, f.detector) for f in a.findings}


def test_visit_data(analyzer):
    # Body exactly as captured: JSON sent as text/plain.
    body = json.dumps({"r_value": 1, "is_vpv": False, "session_only": False, "rec_value": 0.7666666666666666,
                       "user_id": HJ_USER}, separators=(",", ":"))
    a = analyzer.analyze(make_request("POST", f"https://in.hotjar.com/api/v2/client/sites/{SITE}/visit-data?sv=6", body,
                                      [("Content-Type", "text/plain; charset=UTF-8"), ("Origin", "https://k6.io")]))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("hotjar", "visit_data", "decoded", ""), summary(a)
    got = findings(a)
    assert ("project_key", SITE, "path.site_id", "rule") in got, summary(a)
    assert ("browser_id", HJ_USER, "body.user_id", "rule") in got, summary(a)
    assert ("sdk_version", "6", "query.sv", "rule") in got, summary(a)
    assert a.app == "k6.io"
    # rec_value is mapped by name (not left to the body.** catch-all).
    assert {p: label for p, _, label in a.fields}["body.rec_value"] == ""


def test_identify(analyzer):
    body = json.dumps({"user_id": "crm-7731", "attributes": {"email": "jane.doe@example.com", "plan": "pro"}})
    a = analyzer.analyze(make_request("POST", f"https://identify.hotjar.com/sites/{SITE}/users/{HJ_USER}", body,
                                      [("Content-Type", "application/json")]))
    assert (a.tracker, a.endpoint, a.status) == ("hotjar", "identify", "decoded"), summary(a)
    got = findings(a)
    assert ("user_id", "crm-7731", "body.user_id", "rule") in got, summary(a)
    assert ("email", "jane.doe@example.com", "body.attributes.email", "rule") in got, summary(a)
    assert ("browser_id", HJ_USER, "path.hotjar_user_id", "rule") in got, summary(a)
    assert ("custom_property", "pro", "body.attributes.plan", "rule") in got, summary(a)


def test_script_names_the_site(analyzer):
    a = analyzer.analyze(make_request("GET", f"https://static.hotjar.com/c/hotjar-{SITE}.js?sv=7"))
    assert (a.tracker, a.endpoint) == ("hotjar", "script"), summary(a)
    assert ("project_key", SITE, "path.site_id", "rule") in findings(a)


def test_websocket_upgrade_is_seen_but_not_its_frames(analyzer):
    # As public captures show it: wss://ws.hotjar.com/api/v2/client/ws?v=7&site_id=<site id>.
    a = analyzer.analyze(make_request("GET", f"https://ws.hotjar.com/api/v2/client/ws?v=7&site_id={SITE}",
                                      headers=[("Upgrade", "websocket"), ("Connection", "Upgrade")]))
    assert (a.tracker, a.endpoint, a.status) == ("hotjar", "recording_websocket", "decoded"), summary(a)
    got = findings(a)
    assert ("project_key", SITE, "query.site_id", "rule") in got, summary(a)
    assert ("sdk_version", "7", "query.v", "rule") in got, summary(a)


def test_page_content_snapshot(analyzer):
    body = gzip.compress(json.dumps({"url": "https://k6.io/pricing", "nodes": [{"t": "Pricing"}]}).encode())
    a = analyzer.analyze(make_request("POST", f"https://content.hotjar.io/?site_id={SITE}&gzip=1", body))
    assert (a.tracker, a.endpoint, a.status) == ("hotjar", "page_content", "decoded"), summary(a)
    assert ("project_key", SITE, "query.site_id", "rule") in findings(a), summary(a)
    opaque = analyzer.analyze(make_request("POST", f"https://content.hotjar.io/?site_id={SITE}", "\x01binary"))
    assert (opaque.tracker, opaque.endpoint, opaque.status) == ("hotjar", "page_content", "decoded"), summary(opaque)


@pytest.mark.parametrize("url", [f"https://in.hotjar.com.evil.example/api/v2/client/sites/{SITE}/visit-data",
                                 f"https://in-hotjar.com/api/v2/client/sites/{SITE}/visit-data"])
def test_lookalike_hosts_do_not_match(analyzer, url):
    a = analyzer.analyze(make_request("POST", url, json.dumps({"user_id": HJ_USER})))
    assert a is None or a.tracker != "hotjar"
