"""Golden tests: mParticle events, identity and config requests as the Android SDK builds them."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import JSON_CT, assert_finding_at as assert_finding, compact_json, labels, make_request, request_via_mitmproxy, summary

TRACKER = "mparticle"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


@pytest.fixture(scope="module")
def analyzer():
    loaded, problems = load_rules()
    assert [p for p in problems if TRACKER in p.source] == []
    return Analyzer(loaded)


@pytest.fixture
def analyze(analyzer) -> Callable[[Request], Analysis]:
    def run(request: Request) -> Analysis:
        analysis = analyzer.analyze(request)
        assert analysis is not None, f"{request.method} {request.url} was not recognised"
        return analysis

    return run


def assert_decoded(a: Analysis, endpoint: str, match_via: str = "host") -> None:
    got = (a.tracker, a.endpoint, a.status, a.error, a.match_via)
    assert got == (TRACKER, endpoint, "decoded", "", match_via), summary(a)


API_KEY = "us1-0123456789abcdef0123456789abcdef"
PACKAGE = "com.example.fitness"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DAS = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
MPID = "-4735285478915836012"
EMAIL = "morgan.mp@example.com"


def android_batch() -> dict[str, Any]:
    """mparticle-android-sdk Constants.kt MessageKey@eb2b4c87 (read via find_string): upload
    batch with ai (app info), di (device info), ui (identities), msgs."""
    return {"dt": "h", "id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", "ct": 1767225600123, "sdk": "5.58.0",
            "mpid": MPID, "das": DAS,
            "ai": {"an": "Fitness", "av": "9.1.0", "apn": PACKAGE, "abn": "910", "ain": "com.android.vending",
                   "ict": 1760000000000, "dbg": False, "pir": False, "lc": 31, "env": 2, "fi": False},
            "di": {"bid": "UQ1A.240105.004", "b": "google", "p": "shiba", "dn": "shiba", "dma": "Google",
                   "dp": "Android", "dosv": "14", "dosvi": 34, "dmdl": "Pixel 8", "dsh": 2400, "dsw": 1080, "dpi": 420,
                   "dc": "US", "dlc": "US", "dll": "en", "jb": {"cydia": False}, "anid": "9774d56d682e549c",
                   "tzn": "America/Chicago", "it": False, "dst": True, "dsnfc": True, "gaid": AAID, "lat": False,
                   "nca": "Verizon", "mnc": "480", "mcc": "311", "to": "fcm-mp-token-9"},
            "ui": [{"n": 7, "i": EMAIL, "dfs": 1767225600000, "f": True}],
            "ua": {"$FirstName": "Morgan", "plan": "premium"},
            "msgs": [{"dt": "e", "id": "e1", "ct": 1767225600123, "sid": "5f4e3d2c-1b0a-4987-8765-43210fedcba9",
                      "n": "Workout Finished", "et": "Other", "attrs": {"minutes": 42},
                      "lc": {"lat": 41.88, "lng": -87.63, "acc": 20.0},
                      "cs": {"sma": 2100000000, "tsm": 8000000000, "bl": 0.8, "dct": "wifi", "so": 1}}]}


def test_android_events_gzip(analyze):
    """MParticleApiClientImpl@eb2b4c87: POST nativesdks.mparticle.com/v2/<key>/events, gzip,
    x-mp-key, x-mp-signature."""
    raw = gzip.compress(compact_json(android_batch()).encode())
    req = request_via_mitmproxy("POST", f"https://nativesdks.mparticle.com/v2/{API_KEY}/events", raw, {
        "Content-Type": "application/json", "Content-Encoding": "gzip", "x-mp-key": API_KEY,
        "x-mp-signature": "c2lnbmF0dXJl", "x-mp-env": "2"})
    a = analyze(req)
    assert_decoded(a, "events")
    assert_finding(a, "app_id", PACKAGE, "body.ai.apn")
    assert_finding(a, "advertising_id", AAID, "body.di.gaid")
    assert_finding(a, "android_id", "9774d56d682e549c", "body.di.anid")
    assert_finding(a, "installation_id", DAS, "body.das")
    assert_finding(a, "user_id", MPID, "body.mpid")
    assert_finding(a, "user_id", EMAIL, "body.ui[0].i")
    assert_finding(a, "email", EMAIL, "body.ui[0].i", detector="pattern")
    assert_finding(a, "latitude", "41.88", "body.msgs[0].lc.lat")
    assert_finding(a, "event_name", "Workout Finished", "body.msgs[0].n")
    assert_finding(a, "push_token", "fcm-mp-token-9", "body.di.to")
    assert_finding(a, "project_key", API_KEY, "path.api_key")  # same key in x-mp-key: deduplicated
    assert labels(a)["header.x-mp-key"] == "project_key"
    assert a.app == PACKAGE


def test_every_device_and_app_key_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("POST", f"https://nativesdks.mparticle.com/v2/{API_KEY}/events",
                             compact_json(android_batch()), [JSON_CT]))
    auto = {k: v for k, v in labels(a).items() if k.startswith(("body.ai.", "body.di."))}
    assert auto and "custom_property" not in auto.values(), auto
    assert auto["body.di.dmdl"] == "device_model" and auto["body.ai.ict"] == "install_time"


def test_identity_login(analyze):
    body = {"client_sdk": {"platform": "android", "sdk_vendor": "mparticle", "sdk_version": "5.58.0"},
            "environment": "production", "request_id": "r-1", "request_timestamp_ms": 1767225600123,
            "previous_mpid": MPID, "known_identities": {"email": EMAIL, "customerid": "cust-77", "android_aaid": AAID,
                                                        "device_application_stamp": DAS, "push_token": "fcm-x"}}
    a = analyze(make_request("POST", "https://identity.mparticle.com/v1/login", compact_json(body),
                             [JSON_CT, ("x-mp-key", API_KEY)]))
    assert_decoded(a, "identity")
    assert_finding(a, "email", EMAIL, "body.known_identities.email")
    assert_finding(a, "user_id", "cust-77", "body.known_identities.customerid")
    assert_finding(a, "advertising_id", AAID, "body.known_identities.android_aaid")


def test_config(analyze):
    a = analyze(make_request("GET", f"https://config2.mparticle.com/v4/{API_KEY}/config?av=9.1.0&sv=5.58.0"))
    assert_decoded(a, "config")
    assert_finding(a, "project_key", API_KEY, "path.api_key")


def test_lookalike_host_is_not_mparticle(analyzer):
    a = analyzer.analyze(make_request("POST", f"https://nativesdks.mparticle.com.example.org/v2/{API_KEY}/events",
                                      "{}", [JSON_CT]))
    assert a is None or a.tracker != TRACKER
