"""A local upstream HTTP server and a plain HTTP client that goes through the proxy, for
tests and benchmarks of the live addon (no network here: "ordinary" traffic goes to this
server on 127.0.0.1, tracker traffic is answered by the proxy in block mode).

The server answers every request with the same odd bytes and headers, and records what it
received, so a test can check that the proxy passed both directions through unchanged.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Bytes no decoder likes (invalid UTF-8, NUL, CR/LF inside), so any re-encoding shows.
UPSTREAM_BODY = b"\x00\xff\xfe upstream \xc3\x28 \r\n=HYPERLINK(1)\x1f\x8b"
UPSTREAM_HEADERS = (("X-Upstream", "yes"), ("Set-Cookie", "sid=abc; Path=/"), ("Content-Type", "application/x-odd"))


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Upstream:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_upstream() -> Upstream:
    """A threaded HTTP server on an OS-assigned loopback port."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            received.append(Received(self.command, self.path, list(self.headers.items()), body))
            self.send_response(200)
            for name, value in UPSTREAM_HEADERS:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(UPSTREAM_BODY)))
            self.end_headers()
            self.wfile.write(UPSTREAM_BODY)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Upstream(server, received)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float  # from sending the request to the last byte of the answer


def via_proxy(proxy_port: int, method: str, host: str, target: str, body: bytes = b"",
              headers: dict[str, str] | None = None, timeout: float = 60) -> Reply:
    """One plain-HTTP request through the proxy (absolute-form target, a new connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request(method, f"http://{host}{target}", body=body or None, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, response.headers, data, time.perf_counter() - started)
    finally:
        conn.close()
