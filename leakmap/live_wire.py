"""What crosses the pipe between the proxy and the analysis process (live.py, live_worker.py):
requests as compact snapshots, and frames of marshalled builtin types (a 4-byte length, then
the frame; never pickle). Both ends import this module and nothing else of each other's.
"""

from __future__ import annotations

import marshal
import os
import struct
from collections.abc import Iterator
from typing import Any

from .model import Request

READ_SIZE = 1 << 20
_HEADER = struct.Struct("<I")
# A result for one request, as sent by the child: None (nothing of interest, not stored),
# ("failed", reason) or ("found", tracker, endpoint, status, comment).
Outcome = tuple | None
# A request as it crosses the pipe: flow id, timestamp, method, URL, header fields as bytes
# pairs, body, client, proxy mode, body still Content-Encoded.
Snapshot = tuple


def printable(text: str, limit: int = 200) -> str:
    """Captured text made safe for a log line: no control characters, bounded length."""
    return text[:limit].encode("ascii", "backslashreplace").decode("ascii").replace("\n", "\\n")


def failed(reason: str) -> Outcome:
    return ("failed", reason)


def snapshot(flow: Any) -> Snapshot:
    """The cheap copy of a mitmproxy flow's request the event loop takes: no decoding, no
    header parsing (the raw header bytes are shared, not copied)."""
    req = flow.request
    conn = flow.client_conn
    client = str(conn.peername[0]) if conn and conn.peername else ""
    mode = conn.proxy_mode.full_spec if conn and conn.proxy_mode else ""
    return (flow.id, req.timestamp_start or 0.0, req.method, req.pretty_url, req.headers.fields,
            req.raw_content or b"", client, mode, True)


def snapshot_of(request: Request) -> Snapshot:
    """A Request built elsewhere (a WebSocket message) in the same form; its body is decoded."""
    fields = tuple((k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
                   for k, v in request.headers)
    return (request.flow_id, request.timestamp, request.method, request.url, fields, request.body,
            request.client, request.proxy_mode, False)


def request_of(shot: Snapshot, source: str) -> Request:
    """The Request a snapshot stands for (as `read.request_from_flow(decode=False)` makes it)."""
    flow_id, timestamp, method, url, fields, body, client, mode, _ = shot
    headers = [(k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, v in fields]
    return Request(flow_id=flow_id, source=source, timestamp=timestamp, method=method, url=url, headers=headers,
                   body=body, client=client, proxy_mode=mode, key=f"flow:{flow_id}")


# --- frames: a 4-byte length, then a marshalled list of messages ---------------------------------

def encode_frame(messages: list) -> bytes:
    payload = marshal.dumps(messages)
    return _HEADER.pack(len(payload)) + payload


class FrameReader:
    """Collects bytes from a pipe and hands out whole frames."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        self._start = 0

    def feed(self) -> bool:
        """Read what the pipe holds (blocking if it is empty); False at end of file."""
        data = os.read(self.fd, READ_SIZE)
        if not data:
            return False
        if self._start:
            del self._buffer[:self._start]
            self._start = 0
        self._buffer += data
        return True

    def frames(self) -> Iterator[list]:
        while len(self._buffer) - self._start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer, self._start)
            end = self._start + _HEADER.size + size
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[self._start + _HEADER.size:end])
            self._start = end
            yield marshal.loads(payload)

    def has_frame(self) -> bool:
        if len(self._buffer) - self._start < _HEADER.size:
            return False
        (size,) = _HEADER.unpack_from(self._buffer, self._start)
        return len(self._buffer) - self._start - _HEADER.size >= size
