"""Shared fixtures: a real mitmdump process running addons/leakmap.py.

There is no network here, so the proxy runs in leakmap's block mode: it answers tracker
requests itself (connection_strategy=lazy, nothing goes upstream). Extra addon scripts
(e.g. tests/support/serve_pages.py, which serves test web pages) can be loaded beside it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addons" / "leakmap.py"
MITMDUMP = Path(sys.executable).parent / "mitmdump"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proxy:
    """A running `mitmdump -s addons/leakmap.py` and the files it writes."""

    port: int
    confdir: Path
    db: Path
    report: Path
    dump: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client_env(self) -> dict[str, str]:
        """Environment for a client process (Python requests, Node) to use the proxy."""
        return {**os.environ, "HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "https_proxy": self.url,
                "http_proxy": self.url, "NO_PROXY": "", "no_proxy": "", "REQUESTS_CA_BUNDLE": str(self.ca_cert),
                "SSL_CERT_FILE": str(self.ca_cert), "NODE_EXTRA_CA_CERTS": str(self.ca_cert)}

    def stop(self) -> str:
        """Stop mitmdump the way a user does (Ctrl-C) and return its log."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace")


def start_proxy(tmp: Path, confdir: Path, *options: str, scripts: tuple[Path, ...] = (), block: bool = True) -> Proxy:
    """*block*=False: forward tracker requests (leakmap_block cannot be given again as an option:
    mitmdump silently skips a script whose option is set twice)."""
    port = free_port()
    proxy = Proxy(port, confdir, tmp / "live.db", tmp / "live.html", tmp / "live.mitm", tmp / "mitmdump.log")
    args = [str(MITMDUMP), "--listen-host", "127.0.0.1", "-p", str(port), "--set", f"confdir={confdir}",
            "-s", str(ADDON), "--set", f"leakmap_db={proxy.db}", "--set", f"leakmap_report={proxy.report}",
            "--set", f"leakmap_block={str(block).lower()}", "-w", str(proxy.dump)]
    for script in scripts:
        args += ["-s", str(script)]
    for option in options:
        args += ["--set", option]
    proxy.process = subprocess.Popen(args, stdout=proxy.log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(f"mitmdump exited early:\n{proxy.log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if proxy.ca_cert.exists():
                return proxy
        except OSError:
            pass
        time.sleep(0.1)
    proxy.stop()
    raise RuntimeError("mitmdump did not start listening within 30 s")


@pytest.fixture(scope="session")
def mitm_confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for the whole test session (generating it takes a moment)."""
    return tmp_path_factory.mktemp("mitmproxy-conf")


@pytest.fixture
def proxy_factory(tmp_path: Path, mitm_confdir: Path) -> Iterator:
    started: list[Proxy] = []

    def make(*options: str, scripts: tuple[Path, ...] = (), block: bool = True) -> Proxy:
        proxy = start_proxy(tmp_path, mitm_confdir, *options, scripts=scripts, block=block)
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
