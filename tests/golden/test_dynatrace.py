"""Golden tests: Dynatrace beacons as the OpenKit Java agent writes them (openkit-java
Beacon.java@02b445e3: the immutable prefix vv, va, ap, an, vn, pt, tt, vi, sn, ip, ... then one
block per event opened by `et=`), on a SaaS host and on a Managed cluster's own host (matched by
its query keys). The JavaScript agent's real traffic is in tests/e2e/test_mobile_sdks.py."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, labels, make_request

TRACKER = "dynatrace"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

QUERY = "type=m&srvid=4&app=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d&va=8.305.1.1005&pt=1&tt=okj&cts=0&resp=json&si=99887766_3"


def beacon() -> str:
    """Beacon.createImmutableBasicBeaconData + addAction/identifyUser/reportError: key=value
    pairs joined by '&', values percent-encoded (URLEncoder, UTF-8)."""
    prefix = {"vv": "3", "va": "8.305.1.1005", "ap": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "an": "Fitness Pal",
              "vn": "7.1.0", "pt": "1", "tt": "okj", "vi": "99887766", "sn": "3", "ss": "1", "ip": "198.51.100.23",
              "os": "Android 14", "mf": "samsung", "md": "SM-S918B", "dl": "2", "cl": "2", "vs": "2", "tv": "1767225600000",
              "mp": "1", "tx": "1767225660000"}
    events = [{"et": "18", "it": "1", "pa": "0", "s0": "1", "t0": "0"},
              {"et": "60", "na": "anna@example.org", "it": "1", "pa": "0", "s0": "2", "t0": "10"},
              {"et": "30", "na": "https://api.example.com/v1/orders?user=anna", "it": "1", "pa": "1", "s0": "3", "t0": "20",
               "s1": "4", "t1": "90", "rc": "200", "bs": "120", "br": "2048"},
              {"et": "1", "na": "Log Workout", "it": "1", "ca": "1", "pa": "0", "s0": "5", "t0": "5", "s1": "6", "t1": "300"}]
    def block(d: dict[str, str]) -> str:
        return "&".join(f"{k}={quote(v, safe='')}" for k, v in d.items())
    return "&".join(block(d) for d in [prefix, *events])


def test_saas_beacon_groups_events(analyzer):
    req = make_request("POST", f"https://bf12345abc.bf.dynatrace.com/mbeacon?{QUERY}", beacon(),
                       [("Content-Type", "text/plain; charset=UTF-8"), ("User-Agent", "OpenKit/8.305.1.1005")])
    a = analyze(analyzer, req, "mbeacon")
    has(a, "user_id", "anna@example.org", "body.groups[1].na")
    has(a, "page_url", "https://api.example.com/v1/orders?user=anna", "body.groups[2].na")
    has(a, "event_name", "Log Workout", "body.groups[3].na")
    has(a, "app_name", "Fitness Pal", "body.head.an")
    has(a, "public_ip", "198.51.100.23", "body.head.ip")
    has(a, "device_model", "SM-S918B", "body.head.md")
    has(a, "session_id", "99887766_3", "query.si")
    assert labels(a)["body.head.dl"] == "consent_state"
    assert labels(a)["body.groups[2].rc"] == ""


def test_managed_cluster_on_the_customers_host_is_recognised_by_its_query(analyzer):
    url = f"https://rum.customer.example/mbeacon/3f7c9a10-2b4d?{QUERY}"
    a = analyze(analyzer, make_request("POST", url, beacon(), [("Content-Type", "text/plain")]), "mbeacon",
                via="payload_shape")
    has(a, "user_id", "anna@example.org", "body.groups[1].na")


def test_status_request_without_body(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://bf12345abc.bf.dynatrace.com/mbeacon?{QUERY}"), "mbeacon")
    has(a, "project_key", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "query.app")
