"""HTTP/2 through a real mitmdump: a real grpcio client (unary calls, one gzip-compressed)
to a local grpcio server, and curl --http2 to a tracker host answered in block mode."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from conftest import free_port
from leakmap.decode import DecodeError, Limits, step_grpc

sys.path.insert(0, str(Path(__file__).parent.parent / "support"))
from tls_capture import self_signed  # noqa: E402

MIXPANEL_FORM = "data=%5B%7B%22event%22%3A%22Opened%22%2C%22properties%22%3A%7B%22token%22%3A%22tok9%22%2C%22%24email%22%3A%22h2proxy%40example.org%22%7D%7D%5D"


def protobuf_string(number: int, text: str) -> bytes:
    data = text.encode()
    return bytes([number << 3 | 2, len(data)]) + data


def grpc_server(folder: Path) -> tuple[grpc.Server, int]:
    """A TLS gRPC server whose one method takes raw bytes (no generated code needed)."""
    cert, key = self_signed(folder, ["localhost"])
    handler = grpc.method_handlers_generic_handler(
        "demo.Telemetry", {"Send": grpc.unary_unary_rpc_method_handler(lambda request, context: b"")})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = free_port()
    server.add_secure_port(f"localhost:{port}", grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())]))
    server.start()
    return server, port


def findings(db: Path) -> set[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as con:
        return set(con.execute("SELECT r.tracker, f.data_type, f.value, f.path FROM findings f "
                               "JOIN requests r ON r.id = f.request_id"))


def test_grpc_and_http2_through_mitmdump(proxy_factory, tmp_path):
    server, port = grpc_server(tmp_path)
    proxy = proxy_factory("ssl_insecure=true")
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=proxy.ca_cert.read_bytes())
        with grpc.secure_channel(f"localhost:{port}", credentials, options=[("grpc.http_proxy", proxy.url)]) as channel:
            send = channel.unary_unary("/demo.Telemetry/Send")
            send(protobuf_string(1, "grpc-user@example.org") + protobuf_string(2, "device-1"), timeout=20)
            send(protobuf_string(1, "gzip-user@example.org"), timeout=20, compression=grpc.Compression.Gzip)
        curl = subprocess.run(["curl", "-sS", "--http2", "-x", proxy.url, "--cacert", str(proxy.ca_cert), "-o",
                               "/dev/null", "-w", "%{http_version}", "--data", MIXPANEL_FORM,
                               "https://api-js.mixpanel.com/track/"], capture_output=True, text=True, timeout=30)
        assert curl.returncode == 0 and curl.stdout == "2", curl.stderr
    finally:
        log = proxy.stop()
        server.stop(None)
    found = findings(proxy.db)
    # Both gRPC bodies opened (5-byte prefix, gzip flag honoured), field 1 of message 0.
    assert ("localhost", "email", "grpc-user@example.org", "body[0].1") in found, log  # a third party without a rule
    assert ("localhost", "email", "gzip-user@example.org", "body[0].1") in found, log
    assert ("mixpanel", "email", "h2proxy@example.org") in {f[:3] for f in found}, log


def test_grpc_step_framing_and_hostile_bodies():
    body = b"\0\0\0\0\x04" + protobuf_string(1, "ab") + b"\0\0\0\0\x00"  # two messages, the second empty
    assert step_grpc(body, Limits()) == [{"1": "ab"}, {}]
    for broken, why in [(b"\0\0\0\0\x09abc", "claims 9 bytes"), (b"\x07\0\0\0\x00", "compressed flag 7"),
                        (b"\0\0\0\0\x00\0\0", "stray bytes"), (b"\x01\0\0\0\x02ab", "message 0")]:
        with pytest.raises(DecodeError, match=why):
            step_grpc(broken, Limits())
    with pytest.raises(DecodeError, match="more than 3 messages"):
        step_grpc(b"\0\0\0\0\x00" * 4, Limits(max_fields=3))
