"""Record a real pcapng of TLS traffic on loopback, with the client's TLS key log.

Used by the pcap reader's tests: a hypercorn server (HTTP/1.1 and HTTP/2 over TLS, with a
self-signed certificate made here), dumpcap on `lo`, and curl writing SSLKEYLOGFILE, so
tshark has real encrypted traffic and real keys to decrypt it with. Everything binds to
127.0.0.1; tracker host names reach it through curl's --resolve.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HYPERCORN = Path(sys.executable).parent / "hypercorn"
TOOLS = ("dumpcap", "tshark", "editcap", "curl")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if not shutil.which(tool)] + ([] if HYPERCORN.exists() else ["hypercorn"])


def self_signed(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A throwaway certificate for *hosts* (curl is run with -k, so no CA is needed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Capture:
    pcap: Path
    keylog: Path
    port: int


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def record(folder: Path, port: int, requests: list[list[str]]) -> Capture:
    """Serve TLS on *port*, capture loopback while curl sends each of *requests* (extra curl
    arguments; URLs use host names resolved to 127.0.0.1), and return the pcapng and key log."""
    cert, key = self_signed(folder, ["api-js.mixpanel.com", "api.segment.io", "localhost"])
    app_dir = Path(__file__).resolve().parent
    server = subprocess.Popen([str(HYPERCORN), "--certfile", str(cert), "--keyfile", str(key), "--bind",
                               f"127.0.0.1:{port}", "--workers", "1", "asgi_echo:app"], cwd=app_dir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pcap, keylog = folder / "cap.pcapng", folder / "keys.log"
    dumpcap = None
    try:
        _wait_listening(port)
        dumpcap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {port}", "-w", str(pcap)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_capturing(dumpcap, pcap)
        env = {**os.environ, "SSLKEYLOGFILE": str(keylog)}
        for extra in requests:
            subprocess.run(["curl", "-sS", "-k", "-o", "/dev/null", "--max-time", "10", *extra], env=env,
                           check=True, timeout=20)
        time.sleep(0.5)  # let the last packets reach the capture file
    finally:
        if dumpcap:
            dumpcap.send_signal(signal.SIGINT)
            dumpcap.wait(timeout=10)
        server.terminate()
        server.wait(timeout=10)
    return Capture(pcap, keylog, port)


def _wait_capturing(dumpcap: subprocess.Popen[bytes], pcap: Path, timeout: float = 15.0) -> None:
    """dumpcap writes the pcapng header once the interface is open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dumpcap.poll() is not None:
            raise RuntimeError(f"dumpcap exited: {dumpcap.stderr.read().decode(errors='replace') if dumpcap.stderr else ''}")
        if pcap.exists() and pcap.stat().st_size > 0:
            time.sleep(0.3)
            return
        time.sleep(0.1)
    raise TimeoutError("dumpcap did not start capturing")


def pcapdroid_export(capture: Capture, app: str, uid: int, out: Path) -> Path:
    """Rewrite *capture* the way PCAPdroid exports with its trailer enabled: Ethernet frames
    each followed by a 32-byte trailer (magic 0x01072021, uid, app name char[20], fcs;
    emanuele-f/PCAPdroid app/src/main/jni/core/pcap_dump.h), and the key log embedded as a
    pcapng Decryption Secrets Block (PCAPdroid's pcapng export with TLS decryption)."""
    classic = out.with_suffix(".classic.pcap")
    subprocess.run(["editcap", "-F", "pcap", str(capture.pcap), str(classic)], check=True, capture_output=True)
    data = classic.read_bytes()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    trailer = struct.pack(">Ii20sI", 0x01072021, uid, app.encode()[:20], 0)
    parts, offset = [data[:24]], 24
    while offset + 16 <= len(data):
        seconds, fraction, included, original = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + included]
        parts.append(struct.pack(endian + "IIII", seconds, fraction, included + 32, original + 32) + frame + trailer)
        offset += 16 + included
    with_trailer = out.with_suffix(".trailer.pcap")
    with_trailer.write_bytes(b"".join(parts))
    subprocess.run(["editcap", "--inject-secrets", f"tls,{capture.keylog}", str(with_trailer), str(out)],
                   check=True, capture_output=True)
    return out
