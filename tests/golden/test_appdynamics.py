"""Golden tests: AppDynamics mobile beacons with the header names, beacon types and keys read out
of the iOS agent binary (@appdynamics/react-native-agent 23.5.0, ADEUMInstrumentation): gzipped
JSON to /eumcollector/mobileMetrics?version=2, on the SaaS collector and on an on-premise EUM
server's own host (recognised by path and beacon shape)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from golden_support import (analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            compact_json, make_request, request_via_mitmproxy)

TRACKER = "appdynamics"
pytestmark = pytest.mark.no_real_client("appdynamics", "native mobile agents only; the npm package wraps the iOS/Android agent")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

APP_KEY = "AD-AAB-ABC-XYZ"
HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip", "ky": APP_KEY, "an": "com.example.insurance",
           "bid": "5B2C1D0E-3F4A-4B5C-8D6E-7F8091A2B3C4", "osn": "iOS", "di": "E1F2A3B4-C5D6-4E7F-8091-A2B3C4D5E6F7"}
NETWORK = {"type": "network-request", "url": "https://api.example-insurance.com/v2/claims?policy=PL-88231&dob=1984-03-02",
           "hrc": 200, "st": 1767225600000, "et": 1767225600350, "ct": "wifi", "dmo": "iPhone14,5", "osv": "17.2",
           "av": "5.1.0", "ab": "5100", "agv": "23.5.0", "sessionCounter": 3,
           "userdata": {"customerId": "C-1029384", "email": "jan@example.nl"}}
SCREEN = {"type": "ui", "viewControllerName": "ClaimDetailsViewController", "viewControllerUuid": "0f0e0d0c-0b0a-4908-8706-050403020100"}


def test_beacons_on_the_saas_collector(analyzer):
    body = gzip.compress(compact_json([NETWORK, SCREEN]).encode())
    req = request_via_mitmproxy("POST", "https://mobile.eum-appdynamics.com/eumcollector/mobileMetrics?version=2", body, HEADERS)
    a = analyze(analyzer, req, "mobile_metrics")
    has(a, "project_key", APP_KEY, "header.ky")
    has(a, "page_url", NETWORK["url"], "body[0].url")
    has(a, "user_id", "C-1029384", "body[0].userdata.customerId", detector="key_name")  # key names beat the catch-all
    has(a, "screen_name", "ClaimDetailsViewController", "body[1].viewControllerName")
    assert a.app == "com.example.insurance"
    assert_every_key_mapped(analyzer, a, TRACKER, "mobile_metrics", [k for k in NETWORK if k != "userdata"], "body[0].")


def test_on_premise_collector_by_path_and_shape(analyzer):
    body = gzip.compress(compact_json([NETWORK]).encode())
    req = request_via_mitmproxy("POST", "https://eum.insurer.example/eumcollector/mobileMetrics?version=2", body, HEADERS)
    a = analyze(analyzer, req, "mobile_metrics", via="payload_shape")
    has(a, "email", "jan@example.nl", "body[0].userdata.email", detector="key_name")


def test_agent_registration_headers(analyzer):
    req = make_request("POST", "https://mobile.eum-appdynamics.com/eumcollector/mobileAgentCount",
                       headers=[(k, v) for k, v in HEADERS.items() if k not in ("Content-Encoding",)])
    a = analyze(analyzer, req, "agent_count")
    has(a, "device_id", HEADERS["di"], "header.di")
