"""The live addon's analysis process, through a real `mitmdump -s addons/leakmap.py`: its
findings are those of `leakmap analyze` on the dump of the same traffic; killed mid-run, it
is restarted while the proxy keeps serving, and block mode blocks throughout; hung, block
mode still answers tracker requests locally, never forwards them (leakmap/live.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from support.cli import leakmap
from support.upstream import UPSTREAM_BODY, Upstream, start_upstream, via_proxy

pytestmark = pytest.mark.e2e
MIXPANEL = "api-js.mixpanel.com"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def mixpanel_form(user: str, **properties: object) -> bytes:
    events = [{"event": "Live", "properties": {"token": "livetoken01", "distinct_id": user, **properties}}]
    return ("data=" + quote(json.dumps(events))).encode()


@pytest.fixture(scope="module")
def upstream():
    server = start_upstream()
    yield server
    server.close()


def analysis_pid(proxy) -> int:
    """The pid of the proxy's analysis process (its only child)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{proxy.process.pid}/task/{proxy.process.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("mitmdump started no analysis process")


def findings(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute(
            "SELECT r.url, r.tracker, r.endpoint, r.status, f.data_type, f.value, f.path FROM findings f "
            "JOIN requests r ON r.id = f.request_id"))


def stored_users(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {v for v, in conn.execute("SELECT value FROM findings WHERE data_type = 'user_id'")}


def test_live_findings_are_those_of_an_analysis_of_the_dump(proxy_factory, upstream: Upstream, tmp_path: Path):
    proxy = proxy_factory(block=False)
    for n in range(12):  # Mixpanel uploads among the app's own traffic, a generic leak to a third party
        via_proxy(proxy.port, "POST", MIXPANEL, f"/track/?ip=1&n={n}",
                  mixpanel_form(f"user-{n}", **{"$email": f"u{n}@example.com", "$os": "Android"}), FORM)
        via_proxy(proxy.port, "GET", upstream.authority, f"/v1/items?page={n}")
        via_proxy(proxy.port, "POST", upstream.authority, "/track?shape=1", mixpanel_form(f"shape-{n}"), FORM)
    via_proxy(proxy.port, "GET", "collect.unknown-analytics.example", "/c?email=alice%40example.com&uid=42")
    proxy.stop()  # a clean exit: the analysis process commits and closes the store
    live = findings(proxy.db)
    assert {f"user-{n}" for n in range(12)} | {f"shape-{n}" for n in range(12)} <= stored_users(proxy.db)
    result = leakmap("analyze", proxy.dump, "--db", tmp_path / "replay.db", "--no-report", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr  # 1: leaks found
    assert live == findings(tmp_path / "replay.db")
    assert any(row[4] == "email" and row[5] == "alice@example.com" for row in live)  # the generic path ran too


def test_killed_analysis_process_is_restarted_and_block_mode_blocks_throughout(proxy_factory, upstream: Upstream):
    proxy = proxy_factory()
    first = via_proxy(proxy.port, "POST", MIXPANEL, "/track/?ip=1", mixpanel_form("before-kill"), FORM)
    assert first.headers.get("x-leakmap") == "answered-by-proxy"
    old = analysis_pid(proxy)
    os.kill(old, signal.SIGKILL)
    # Right after the kill: tracker hosts and a Mixpanel payload on an unknown host are answered
    # locally (the dead process cannot say "not a tracker", so the proxy fails closed);
    # ordinary traffic passes.
    blocked = via_proxy(proxy.port, "POST", MIXPANEL, "/track/?ip=1", mixpanel_form("during-kill"), FORM)
    shaped = via_proxy(proxy.port, "POST", upstream.authority, "/track?case=kill", mixpanel_form("shape-kill"), FORM)
    ordinary = via_proxy(proxy.port, "GET", upstream.authority, "/ping?case=kill")
    assert blocked.headers.get("x-leakmap") == "answered-by-proxy"
    assert shaped.headers.get("x-leakmap") == "answered-by-proxy"
    assert ordinary.body == UPSTREAM_BODY
    assert not [r for r in upstream.received if "case=kill" in r.path and r.path.startswith("/track")]
    after = via_proxy(proxy.port, "POST", MIXPANEL, "/track/?ip=1", mixpanel_form("after-restart"), FORM)
    assert after.headers.get("x-leakmap") == "answered-by-proxy"
    assert analysis_pid(proxy) != old
    assert {"before-kill", "after-restart"} <= stored_users(proxy.db)  # acknowledged: committed
    log = proxy.stop()
    assert "leakmap: the analysis process stopped (killed by signal 9); restarted" in log, log
    assert "Traceback" not in log


def test_hung_analysis_process_never_lets_a_blocked_request_through(proxy_factory, upstream: Upstream):
    proxy = proxy_factory()
    via_proxy(proxy.port, "GET", upstream.authority, "/ping?case=warm")
    child = analysis_pid(proxy)
    os.kill(child, signal.SIGSTOP)
    try:
        answers: dict[str, object] = {}

        def send(name: str, host: str, target: str) -> None:
            answers[name] = via_proxy(proxy.port, "POST", host, target, mixpanel_form(f"hung-{name}"), FORM)

        threads = [threading.Thread(target=send, args=("host", MIXPANEL, "/track/?ip=1")),
                   threading.Thread(target=send, args=("shape", upstream.authority, "/track?case=hung"))]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        ordinary = via_proxy(proxy.port, "GET", upstream.authority, "/ping?case=hung")
        assert ordinary.body == UPSTREAM_BODY and time.perf_counter() - started < 2  # the proxy is not stuck
        for thread in threads:
            thread.join(30)
        assert all(answers[name].headers.get("x-leakmap") == "answered-by-proxy"  # type: ignore[attr-defined]
                   for name in ("host", "shape"))
        assert not [r for r in upstream.received if r.path == "/track?case=hung"]
    finally:
        os.kill(child, signal.SIGCONT)
    proxy.stop()
    assert {"hung-host", "hung-shape"} <= stored_users(proxy.db)  # analysed once it ran again
