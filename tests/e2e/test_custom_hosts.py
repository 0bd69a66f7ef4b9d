"""End to end: official SDKs pointed at a first-party host name (the `api_host` / `host`
option every one of them offers for reverse proxies) send through a real `mitmdump -s
addons/leakmap.py`. leakmap has no rule for those hosts, yet must recognise each tracker by
path, headers and payload shape, and flag the match as such; ordinary first-party JSON
calls, made through the same proxy with the same path words, must not be claimed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("posthog", "posthog (PyPI)"),
    pytest.mark.real_client("mixpanel", "mixpanel (PyPI)"),
    pytest.mark.real_client("segment", "segment-analytics-python (PyPI)"),
]

ANSWER_ALL = Path(__file__).resolve().parents[1] / "support" / "answer_all.py"
HONEY = {"user": "honey-proxy-user-3301", "email": "honey.proxy@example.net",
         "posthog_key": "phc_honeyProxyKey000000000000000000000000001", "mixpanel_token": "honeyproxytoken77",
         "segment_key": "honeyProxySegKey5510"}

SDK_SCRIPT = r"""
import json, sys, urllib.request
h = json.loads(sys.argv[1])
from posthog import Posthog
ph = Posthog(h["posthog_key"], host="https://t.shop.example/ingest", sync_mode=True, max_retries=1)
ph.capture("Proxy Clicked", distinct_id=h["user"], properties={"$set": {"email": h["email"]}})
ph.shutdown()

from mixpanel import Consumer, Mixpanel
mp = Mixpanel(h["mixpanel_token"], consumer=Consumer(api_host="mp.shop.example", retry_limit=0))
mp.track(h["user"], "Proxy Viewed", {"user_email": h["email"]})

from segment.analytics import Client
seg = Client(h["segment_key"], host="https://seg.shop.example", sync_mode=True, max_retries=1)
seg.track(h["user"], "Proxy Bought", {"coupon": "PROXY5"})

# The shop's own API: the same path words, ordinary JSON.
for path, body in (("/v1/batch", {"batch": [{"sku": "A-1", "qty": 2}]}),
                   ("/track", {"orderId": "o-77", "event": "shipped", "carrier": "ups"}),
                   ("/ingest/capture", {"event": "payment_captured", "amount": 1200})):
    request = urllib.request.Request("https://api.shop.example" + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=20).read()
print("sent")
"""


@pytest.fixture(scope="module")
def capture(tmp_path_factory, mitm_confdir):
    from conftest import start_proxy

    tmp = tmp_path_factory.mktemp("custom-hosts")
    proxy = start_proxy(tmp, mitm_confdir, scripts=(ANSWER_ALL,))
    try:
        result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, json.dumps(HONEY)], env=proxy.client_env(),
                                capture_output=True, text=True, timeout=120)
    finally:
        log = proxy.stop()
    assert result.returncode == 0 and "sent" in result.stdout, result.stderr
    assert "Traceback" not in log, log
    return proxy


def requests_by_host(db: Path) -> dict[str, list[tuple[str, str, str, str]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url, tracker, endpoint, match_via, decode_chain FROM requests").fetchall()
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for url, tracker, endpoint, via, chain in rows:
        out.setdefault(url.split("/")[2], []).append((tracker, endpoint, via, chain or ""))
    return out


@pytest.mark.parametrize("host,tracker,endpoint,key", [
    ("t.shop.example", "posthog", "capture", "path segment"),
    ("mp.shop.example", "mixpanel", "track", "path segment 'track'"),
    ("seg.shop.example", "segment", "tracking", "path segment 'batch'"),
])
def test_sdk_on_a_first_party_host_is_recognised_and_flagged(capture, host, tracker, endpoint, key):
    rows = requests_by_host(capture.db).get(host, [])
    assert any(r[:3] == (tracker, endpoint, "payload_shape") for r in rows), rows
    chain = json.loads(next(r[3] for r in rows if r[0] == tracker))  # stored as JSON text
    assert chain[0].startswith(f"host {host} is not a known ") and \
        f"recognised by payload shape (found by {key}" in chain[0], chain


def test_honey_values_come_out_under_the_recognised_tracker(capture):
    with sqlite3.connect(capture.db) as conn:
        found = set(conn.execute("SELECT r.tracker, f.data_type, f.value FROM findings f "
                                 "JOIN requests r ON r.id = f.request_id").fetchall())
    assert {("posthog", "email", HONEY["email"]), ("posthog", "user_id", HONEY["user"]),
            ("mixpanel", "email", HONEY["email"]), ("mixpanel", "project_key", HONEY["mixpanel_token"]),
            ("segment", "project_key", HONEY["segment_key"])} <= found, found


def test_the_shops_own_api_is_not_claimed(capture):
    rows = requests_by_host(capture.db).get("api.shop.example", [])
    assert all(via != "payload_shape" for _, _, via, _ in rows), rows
