"""End to end with real components: the official `mixpanel` Python SDK sends through a real
`mitmdump -s addons/leakmap.py`; the findings store, the report written on exit, the dump
mitmdump wrote, and a HAR made from it by mitmproxy's own savehar must all agree."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MITMDUMP

pytestmark = [pytest.mark.e2e, pytest.mark.real_client("mixpanel", "mixpanel (PyPI)")]

HONEY = {
    "distinct_id": "honey-user-7731",
    "email": "alice.honey@example.net",
    "name": "Alice Honeypot",
    "phone": "+447700900123",
    "token": "e2etoken5f2a",
}

SDK_SCRIPT = """
import sys
from mixpanel import Mixpanel, BufferedConsumer
h = dict(distinct_id=sys.argv[1], email=sys.argv[2], name=sys.argv[3], phone=sys.argv[4], token=sys.argv[5])
mp = Mixpanel(h["token"])
mp.track(h["distinct_id"], "Checkout", {"user_email": h["email"], "basket_value": 42.5, "coupon": "SPRING"})
mp.people_set(h["distinct_id"], {"$email": h["email"], "$name": h["name"], "$phone": h["phone"]})
mp.group_set("company", "acme-corp", {"plan": "enterprise"})
batched = Mixpanel(h["token"], consumer=BufferedConsumer())
for n in range(3):
    batched.track(h["distinct_id"], f"Step {n}", {"step": n})
batched._consumer.flush()
print("sent")
"""


def run_sdk(proxy) -> None:
    result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, *HONEY.values()], env=proxy.client_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sent" in result.stdout


def findings(db: Path) -> set[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT r.endpoint, f.data_type, f.value, f.detector FROM findings f "
                            "JOIN requests r ON r.id = f.request_id").fetchall()
    return set(rows)


@pytest.fixture(scope="module")
def live_capture(tmp_path_factory, mitm_confdir):
    """One real capture shared by the tests below."""
    from conftest import start_proxy

    tmp = tmp_path_factory.mktemp("live")
    proxy = start_proxy(tmp, mitm_confdir)
    try:
        run_sdk(proxy)
    finally:
        log = proxy.stop()
    assert "Traceback" not in log, log
    return proxy


def test_honey_values_come_out_with_their_data_types(live_capture):
    found = findings(live_capture.db)
    assert ("track", "user_id", HONEY["distinct_id"], "rule") in found
    assert ("track", "email", HONEY["email"], "key_name") in found  # custom property `user_email`
    assert ("track", "project_key", HONEY["token"], "rule") in found
    assert ("track", "custom_property", "SPRING", "rule") in found
    assert ("engage", "email", HONEY["email"], "rule") in found  # reserved `$set.$email`
    assert ("engage", "name", HONEY["name"], "rule") in found
    assert ("engage", "phone", HONEY["phone"], "rule") in found
    assert ("groups", "other_id", "acme-corp", "rule") in found
    assert {("track", "event_name", f"Step {n}", "rule") for n in range(3)} <= found


def test_every_request_is_attributed_by_the_project_token(live_capture):
    with sqlite3.connect(live_capture.db) as conn:
        rows = conn.execute("SELECT DISTINCT app, app_signal, status FROM requests").fetchall()
    assert rows == [(f"mixpanel project {HONEY['token']}", "payload_project_key", "decoded")]


def test_report_written_on_exit_shows_the_values(live_capture):
    html = live_capture.report.read_text()
    for value in (HONEY["email"], HONEY["name"], HONEY["distinct_id"], HONEY["phone"]):
        assert value in html
    assert "Content-Security-Policy" in html


def test_sdk_got_answers_from_the_proxy(live_capture):
    from mitmproxy import io

    with live_capture.dump.open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    assert len(flows) == 4  # track, engage, groups, one batched track
    assert all(f.response and f.response.headers.get("x-leakmap") == "answered-by-proxy" for f in flows)


def _analyze(capture: Path, tmp: Path, name: str) -> set[tuple[str, str, str, str]]:
    db = tmp / f"{name}.db"
    result = subprocess.run([str(Path(sys.executable).parent / "leakmap"), "analyze", str(capture), "-q",
                             "--db", str(db), "-o", str(tmp / f"{name}.html"), "--findings", str(tmp / f"{name}.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = json.loads((tmp / f"{name}.json").read_text())
    assert rows and {"app", "data_type", "value", "path", "context", "detector", "flow_id"} <= set(rows[0])
    return findings(db)


def test_replay_of_the_dump_and_of_its_har_give_the_live_findings(live_capture, tmp_path):
    har = tmp_path / "capture.har"
    subprocess.run([str(MITMDUMP), "-n", "-q", "-r", str(live_capture.dump), "--set", f"hardump={har}"],
                   check=True, timeout=60)
    live = findings(live_capture.db)
    from_dump = _analyze(live_capture.dump, tmp_path, "dump")
    from_har = _analyze(har, tmp_path, "har")
    assert from_dump == live
    assert from_har == live
