"""Private by default, through the real `leakmap capture` (mitmdump in-process) and `leakmap
analyze`: where the proxy listens (read from the kernel's socket table), who may use it
(407 without the printed credentials), file modes under umask 022, and a tracker key that
reaches no output file and no log."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port
from leakmap.listen_plan import ipv6_loopback_works
from support.applovin_sdk import encode_v2
from support.sockets import listening_addresses

pytestmark = pytest.mark.e2e
LEAKMAP = Path(sys.executable).parent / "leakmap"
SDK_KEY = "05TMDQ5tZabpXQ45_UTbmEGNUtRAzpEcf4IrJSvWkx8xkmVrX8D5YVhKnOdJWQrFYyLN8S8vSeYUPjGa5cNw0Z"
# The SDK itself sends the key's tail (from character 32) in clear in every request; the
# secret the user hands leakmap is what it masks with, the first 32 characters.
SECRET = SDK_KEY[:32]
IDFA = "38400000-8cf0-11bd-b23e-10b96e40000d"
TRACKER_URL = "http://ms4.applovin.com/1.0/mediate"


class Capture:
    """A running `leakmap capture`, its output collected line by line as it comes."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen([str(LEAKMAP), "capture", *args], cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, umask=0o022, env=env)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not in output:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=10)
        return self.output


def applovin_body() -> bytes:
    body = json.dumps({"device_info": {"idfa": IDFA, "model": "Pixel 8"}, "sdk_key": SDK_KEY})
    return encode_v2(body, SDK_KEY, as_text=False)


def post_via(port: int, credentials: str | None = None, host: str = "127.0.0.1") -> int:
    """POST a tracker request through the proxy (plain HTTP: proxy auth applies per request);
    the status the client sees."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if credentials:
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{host}:{port}"}))
    request = urllib.request.Request(TRACKER_URL, data=applovin_body(), method="POST", headers=headers)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_capture_is_loopback_only_private_and_never_keeps_the_key(tmp_path, mitm_confdir):
    port = free_port()
    out = tmp_path / "out"
    db, report, dump = out / "live.db", out / "live.html", tmp_path / "dump.mitm"
    capture = Capture(["--block", "--db", str(db), "-o", str(report), "--tracker-key", f"applovin={SDK_KEY}",
                       "--", "-p", str(port), "--set", f"confdir={mitm_confdir}", "-w", str(dump)], tmp_path)
    try:
        capture.wait_for(r"listening on 127\.0\.0\.1:")
        expected = {("127.0.0.1", port)} | ({("::1", port)} if ipv6_loopback_works() else set())
        assert listening_addresses(capture.process.pid) == expected
        assert f"[::1]:{port}" in capture.output or not ipv6_loopback_works()
        assert post_via(port) == 204  # loopback: no password asked
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and mode(wal) == 0o600 and mode(db) == 0o600 and mode(out) == 0o700
        live_files = {"live.db-wal": wal.read_bytes(), "live.db (running)": db.read_bytes()}
    finally:
        log = capture.stop()
    assert "Traceback" not in log, log
    assert "--redact" in log  # the exit summary names it before the report is shared
    with sqlite3.connect(db) as conn:
        assert (IDFA,) in conn.execute("SELECT value FROM findings").fetchall()  # the key opened the body
    assert mode(db) == mode(report) == mode(dump) == 0o600

    # The same traffic replayed by `leakmap analyze` into every output it writes.
    analyzed = tmp_path / "analyzed"
    analyzed.mkdir()
    result = subprocess.run([str(LEAKMAP), "analyze", str(dump), "--db", str(analyzed / "a.db"), "-o",
                             str(analyzed / "a.html"), "--findings", str(analyzed / "f.csv"), "--evidence-har",
                             str(analyzed / "e.har")], env={**os.environ, "LEAKMAP_TRACKER_KEY": f"applovin={SDK_KEY}"},
                            capture_output=True, text=True, umask=0o022, timeout=120)
    assert result.returncode == 0, result.stderr
    for fmt in ("json", "parquet"):
        export = subprocess.run([str(LEAKMAP), "report", "--db", str(analyzed / "a.db"), "-o", str(analyzed / "b.html"),
                                 "--findings", str(analyzed / f"f.{fmt}")], capture_output=True, text=True,
                                umask=0o022, timeout=120)
        assert export.returncode == 0, export.stderr
        result.stdout += export.stdout + export.stderr
    written = sorted(p for p in analyzed.iterdir())
    assert {p.name for p in written} >= {"a.db", "a.html", "b.html", "f.csv", "f.json", "f.parquet", "e.har"}
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert IDFA in (analyzed / "f.csv").read_text()

    outputs = {**live_files, "capture log": log.encode(), "analyze output": (result.stdout + result.stderr).encode()}
    outputs |= {str(p.relative_to(tmp_path)): p.read_bytes() for p in (*out.iterdir(), *written)}
    for name, content in outputs.items():
        assert SECRET.encode() not in content, f"the tracker key is in {name}"


def test_lan_requires_the_printed_credentials(tmp_path, mitm_confdir):
    port = free_port()
    capture = Capture(["--lan", "--block", "--db", str(tmp_path / "lan.db"), "-o", str(tmp_path / "lan.html"),
                       "--", "--listen-host", "127.0.0.2", "-p", str(port), "--set", f"confdir={mitm_confdir}"],
                      tmp_path)
    try:
        found = capture.wait_for(r"user (\S+), password (\S+)")
        credentials = f"{found[1].rstrip(',')}:{found[2].rstrip(',')}"
        assert listening_addresses(capture.process.pid) == {("127.0.0.2", port)}
        assert f"127.0.0.2:{port}" in capture.output
        assert post_via(port, host="127.0.0.2") == 407
        assert post_via(port, "leakmap:wrong-password", host="127.0.0.2") == 407
        assert post_via(port, credentials, host="127.0.0.2") == 204
    finally:
        log = capture.stop()
    assert "Traceback" not in log, log


def test_lan_no_auth_listens_everywhere_and_serves_without_credentials(tmp_path, mitm_confdir):
    port = free_port()
    capture = Capture(["--lan", "--no-auth", "--block", "--db", str(tmp_path / "open.db"), "-o",
                       str(tmp_path / "open.html"), "--", "-p", str(port), "--set", f"confdir={mitm_confdir}"],
                      tmp_path)
    try:
        capture.wait_for(r"reachable from other machines without a password")
        bound = listening_addresses(capture.process.pid)
        assert ("0.0.0.0", port) in bound and bound <= {("0.0.0.0", port), ("::", port)}
        assert "password" not in capture.wait_for(r"device setup.*").group(0)
        assert post_via(port) == 204  # traffic only ever sent to loopback
    finally:
        log = capture.stop()
    assert "Traceback" not in log, log


def test_capture_console_prints_one_line_per_tracker_request(tmp_path, mitm_confdir):
    """`leakmap capture` is a live console: where it listens, then a line per tracker request
    with the app, the receiver and the data types, high-sensitivity ones marked."""
    port = free_port()
    capture = Capture(["--block", "--app", "Console App", "--db", str(tmp_path / "c.db"), "-o",
                       str(tmp_path / "c.html"), "--", "-p", str(port), "--set", f"confdir={mitm_confdir}"], tmp_path)
    try:
        capture.wait_for(r"listening on 127\.0\.0\.1:")
        events = b'[{"event":"Login","properties":{"token":"t1","distinct_id":"u-77","$email":"dee@example.org"}}]'
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
        with opener.open("http://api-js.mixpanel.com/track/", data=b"data=" + base64.b64encode(events),
                         timeout=30) as response:
            assert response.status == 200
        line = capture.wait_for(r"\d\d:\d\d:\d\d  Console App → Mixpanel: (.*)").group(1)
    finally:
        output = capture.stop()
    assert line.startswith("email!") and "user_id" in line, line
    assert "report in" in output and "--redact" in output


def test_wireguard_capture_prints_a_qr_code_and_the_ca(tmp_path, mitm_confdir):
    """`--lan --mode wireguard`: the device setup is a QR code the WireGuard app scans, the
    client configuration, and where the CA certificate is. No password: the keys protect it."""
    port = free_port()
    capture = Capture(["--lan", "--db", str(tmp_path / "w.db"), "-o", str(tmp_path / "w.html"), "--",
                       "--mode", f"wireguard@{port}", "--set", f"confdir={mitm_confdir}"], tmp_path)
    try:
        capture.wait_for(r"\[Interface\]")
        capture.wait_for(r"CA certificate: .*mitmproxy-ca-cert\.pem")
    finally:
        output = capture.stop()
    qr = [line for line in output.splitlines() if set(line.strip()) <= set("█▀▄ ") and len(line.strip()) > 20]
    assert len(qr) >= 10, output  # a QR code drawn in half blocks
    assert "scan this QR code with the WireGuard app" in output
    assert "password" not in output.split("device setup", 1)[1].split("\n", 1)[0]


def test_quiet_capture_prints_no_console(tmp_path, mitm_confdir):
    port = free_port()
    capture = Capture(["-q", "--block", "--db", str(tmp_path / "q.db"), "-o", str(tmp_path / "q.html"), "--",
                       "-p", str(port), "--set", f"confdir={mitm_confdir}"], tmp_path)
    try:
        capture.wait_for(r"leakmap: capturing")
        for _ in range(100):  # until mitmdump listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        events = b'[{"event":"Quiet","properties":{"token":"t1","distinct_id":"u-quiet"}}]'
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
        with opener.open("http://api-js.mixpanel.com/track/", data=b"data=" + base64.b64encode(events), timeout=30):
            pass
    finally:
        output = capture.stop()
    assert "listening on" not in output and "→ Mixpanel" not in output, output
    assert "u-quiet" in (tmp_path / "q.html").read_text()
