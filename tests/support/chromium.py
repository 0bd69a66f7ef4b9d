"""Debian's headless Chromium, confined to the test proxy, for the browser end-to-end tests.

Chromium resolves no host name itself (`--host-resolver-rules`), so its own background
requests fail inside it instead of leaving the machine. A PAC script sends only the hosts
a test names to the proxy, and only mitmproxy's CA is trusted, by its public key hash, as a
user would install it.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = Path("/usr/bin/chromium")
CONFINED = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def confined_args(proxy, hosts: Iterable[str], extra: Iterable[str] = ()) -> list[str]:  # type: ignore[no-untyped-def]
    """Chromium arguments: only *hosts* go to *proxy*; the proxy's CA (and nothing else) is trusted."""
    address = proxy.url.removeprefix("http://")
    condition = " || ".join(f'host == "{h}"' for h in hosts)
    pac = f'function FindProxyForURL(url, host) {{ return ({condition}) ? "PROXY {address}" : "DIRECT"; }}'
    ca = x509.load_pem_x509_certificate(proxy.ca_cert.read_bytes())
    spki = ca.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [*CONFINED, *extra,
            "--proxy-pac-url=data:application/x-ns-proxy-autoconfig;base64," + base64.b64encode(pac.encode()).decode(),
            "--ignore-certificate-errors-spki-list=" + base64.b64encode(hashlib.sha256(spki).digest()).decode()]


def findings(db: Path) -> list[dict]:
    """Every stored finding with its request's tracker, endpoint, host and attribution."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT f.data_type, f.value, f.path, f.detector, r.tracker, r.endpoint, r.host, r.app, r.app_signal"
            " FROM findings f JOIN requests r ON r.id = f.request_id").fetchall()
    return [dict(row) for row in rows]
