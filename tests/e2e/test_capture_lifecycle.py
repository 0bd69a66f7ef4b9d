"""Live capture lifecycle: findings survive a crash (kill -9), reports rebuild from the
store, and `leakmap capture` runs mitmdump with the addon as a user would start it."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
SEND = """
import sys
from mixpanel import Mixpanel
Mixpanel("crashtoken").track("crash-user", "Before crash", {"contact_email": "crash@example.org"})
"""


def wait_for_findings(db: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as conn:
                count = conn.execute("SELECT count(*) FROM findings").fetchone()[0]
            if count:
                return count
        except sqlite3.OperationalError:
            pass
        time.sleep(0.2)
    return 0


def test_kill_9_loses_nothing_and_report_rebuilds(proxy_factory, tmp_path):
    proxy = proxy_factory()
    subprocess.run([sys.executable, "-c", SEND], env=proxy.client_env(), check=True, timeout=60)
    assert wait_for_findings(proxy.db) > 0
    proxy.process.send_signal(signal.SIGKILL)
    proxy.process.wait()
    assert not proxy.report.exists()  # no clean exit, so no report was written

    result = subprocess.run([str(BIN / "leakmap"), "report", "--db", str(proxy.db), "-o", str(tmp_path / "r.html"),
                             "--findings", str(tmp_path / "f.csv")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "crash@example.org" in (tmp_path / "r.html").read_text()
    csv = (tmp_path / "f.csv").read_text()
    assert "crash-user" in csv and "crash@example.org" in csv

    redacted = subprocess.run([str(BIN / "leakmap"), "report", "--db", str(proxy.db), "--redact", "-o",
                               str(tmp_path / "red.html"), "--findings", str(tmp_path / "red.csv")],
                              capture_output=True, text=True, timeout=60)
    assert redacted.returncode == 0, redacted.stderr
    assert "crash@example.org" not in (tmp_path / "red.html").read_text()
    assert "crash@example.org" not in (tmp_path / "red.csv").read_text()


def test_leakmap_capture_command(tmp_path, mitm_confdir):
    port = free_port()
    db, report = tmp_path / "cap.db", tmp_path / "cap.html"
    process = subprocess.Popen([str(BIN / "leakmap"), "capture", "--app", "Crash Test App", "--block", "--db", str(db),
                                "-o", str(report), "--listen-host", "127.0.0.1", "-p", str(port),
                                "--set", f"confdir={mitm_confdir}"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{port}", "REQUESTS_CA_BUNDLE": str(mitm_confdir / "mitmproxy-ca-cert.pem"),
               "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-c", SEND], env=env, check=True, timeout=60)
        assert wait_for_findings(db) > 0
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output
    html = report.read_text()
    assert "Crash Test App" in html and "crash@example.org" in html
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT app, app_signal FROM requests").fetchall() == [("Crash Test App", "capture_label")]
