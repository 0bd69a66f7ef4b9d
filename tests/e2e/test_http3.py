"""HTTP/3: a browser SDK talking QUIC to mitmproxy is analysed like HTTP/1 and HTTP/2.

mitmproxy speaks HTTP/3 in reverse, local and WireGuard mode (not through an HTTP proxy,
which carries only TCP). Phones proxied in WireGuard mode send QUIC whenever an app's HTTP
stack chooses it, so leakmap must see those requests too. Here Debian's Chromium loads a
page running the real mixpanel-browser (npm) and is forced onto QUIC for the tracker's
origin; its host resolver sends that origin to a real `mitmdump --mode reverse:http3://...`
with the leakmap addon in block mode, which answers the SDK itself (nothing leaves the
machine). Chromium trusts only mitmproxy's CA, by its public-key hash.

dumpcap records the same QUIC packets: leakmap's pcap reader does not open QUIC, and must
say so, naming the host, instead of reporting an empty capture.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import io

from conftest import ADDON, MITMDUMP, ROOT, free_port
from support.cli import leakmap
from support.tls_capture import _wait_capturing

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
SDK = ROOT / "tests" / "js" / "node_modules" / "mixpanel-browser" / "dist" / "mixpanel.umd.js"
HOST = "api-js.mixpanel.com"
TOKEN = "h3honeytoken000000000000000000aa"
PAGE = """<!doctype html><html><head><script src="mixpanel.umd.js"></script></head><body><script>
mixpanel.init("%s", {api_host: "https://%s", batch_requests: false});
mixpanel.identify("h3-honey-user");
mixpanel.track("Over QUIC", {email_addr: "quic.honey@example.org"});
</script></body></html>""" % (TOKEN, HOST)


def spki_hash(ca_pem: Path) -> str:
    key = x509.load_pem_x509_certificate(ca_pem.read_bytes()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def start_http3_proxy(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    log = tmp / "mitmdump.log"
    process = subprocess.Popen(
        [str(MITMDUMP), "--mode", f"reverse:http3://{HOST}@127.0.0.1:{port}", "--set", "connection_strategy=lazy",
         "--set", f"confdir={tmp / 'conf'}", "-s", str(ADDON), "--set", "leakmap_block=true",
         "--set", f"leakmap_db={tmp / 'live.db'}", "-w", str(tmp / "live.mitm")],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while "listening at" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(log.read_text(errors="replace"))
        time.sleep(0.1)
    return process


def test_browser_sdk_over_http3_is_analysed(tmp_path: Path) -> None:
    if not CHROMIUM.is_file() or not SDK.is_file():
        pytest.skip("needs Debian's chromium and `npm ci` in tests/js")
    shutil.copyfile(SDK, tmp_path / "mixpanel.umd.js")
    (tmp_path / "index.html").write_text(PAGE)
    port = free_port()
    proxy = start_http3_proxy(tmp_path, port)
    trusted = spki_hash(tmp_path / "conf" / "mitmproxy-ca-cert.pem")
    pcap = tmp_path / "quic.pcapng"
    dumpcap = None
    if shutil.which("dumpcap"):
        dumpcap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"udp port {port}", "-w", str(pcap)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_capturing(dumpcap, pcap)
    try:
        subprocess.run(
            [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}",
             f"--host-resolver-rules=MAP {HOST}:443 127.0.0.1:{port} , MAP * ~NOTFOUND",
             f"--origin-to-force-quic-on={HOST}:443", f"--ignore-certificate-errors-spki-list={trusted}",
             "--virtual-time-budget=8000", "--dump-dom", (tmp_path / "index.html").as_uri()],
            capture_output=True, timeout=90)
        rows: set[tuple[str, str, str]] = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ("email", "quic.honey@example.org") not in {r[1:] for r in rows}:
            time.sleep(0.3)
            if (tmp_path / "live.db").exists():
                with sqlite3.connect(tmp_path / "live.db") as db:
                    rows = set(db.execute("SELECT r.endpoint, f.data_type, f.value FROM findings f "
                                          "JOIN requests r ON r.id = f.request_id WHERE r.tracker = 'mixpanel'"))
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)
        if dumpcap:
            dumpcap.send_signal(signal.SIGINT)
            dumpcap.wait(timeout=10)

    with (tmp_path / "live.mitm").open("rb") as dump:
        versions = {f.request.http_version for f in io.FlowReader(dump).stream() if f.request.pretty_host == HOST}
    assert versions == {"HTTP/3"}, versions  # the SDK really spoke HTTP/3 to the proxy
    assert {("track", "project_key", TOKEN), ("track", "user_id", "h3-honey-user"),
            ("track", "email", "quic.honey@example.org")} <= rows, sorted(rows)

    if dumpcap is None or not shutil.which("tshark"):
        return
    result = leakmap("analyze", pcap, "-o", tmp_path / "pcap.html", cwd=tmp_path)
    assert "QUIC (HTTP/3) connections not read" in result.stdout + result.stderr, result.stdout + result.stderr
    assert HOST in (result.stdout + result.stderr).split("QUIC (HTTP/3) connections not read", 1)[1]
