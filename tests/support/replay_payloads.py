"""Session-replay payloads built to the recorders' published formats, for tests and benchmarks.

- `rrweb_page`: rrweb events (rrweb-io/rrweb@c382034c packages/types/src/index.ts: EventType
  Meta 4, FullSnapshot 2 with a serialized node tree, IncrementalSnapshot 3 with Input 5,
  MouseInteraction 2 and Mutation 0 sources) for a login page.
- `posthog_compressed`: posthog-js's `cv: "2024-10"` event compression (FullSnapshot data and
  Mutation fields as latin1 strings of gzip(JSON), lazy-loaded-session-recorder.ts@9b2a1b18d).
- `posthog_mobile`: PostHog Android's `$snapshot` batch (posthog-android@1042d253
  internal/replay/*.kt and test resource session-replay-request.json): rrweb-shaped events
  whose FullSnapshot carries `wireframes`, a screenshot wireframe holding a data: PNG.
- `write_capture`: flows into a .mitm dump with mitmproxy's own FlowWriter.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from mitmproxy import http, io
from mitmproxy.test import tflow

T0 = 1_765_000_000_000  # ms


def event(kind: int, ts: int, data: Any) -> dict[str, Any]:
    return {"type": kind, "data": data, "timestamp": ts}


def element(node_id: int, tag: str, attrs: dict[str, Any] | None = None, *kids: dict[str, Any]) -> dict[str, Any]:
    return {"type": 2, "id": node_id, "tagName": tag, "attributes": attrs or {}, "childNodes": list(kids)}


def text(node_id: int, content: str) -> dict[str, Any]:
    return {"type": 3, "id": node_id, "textContent": content}


def login_tree(heading: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A document: heading, an email field (type text), a password field, a button."""
    body = element(4, "body", {}, element(5, "h1", {}, text(6, heading)),
                   element(7, "label", {"for": "user"}, text(8, "Email")),
                   element(9, "input", {"id": "user", "type": "text", "value": ""}),
                   element(10, "input", {"id": "pw", "type": "password", "value": ""}),
                   element(11, "button", {"onclick": "alert(1)"}, text(12, "Sign in")),
                   element(13, "script", {}, text(14, "SCRIPT_PLACEHOLDER")), *(extra or []))
    head = element(3, "head", {}, element(15, "style", {"_cssText": "h1{color:#036}"}))
    return {"type": 0, "id": 1, "childNodes": [element(2, "html", {}, head, body)]}


def rrweb_page(email: str, password_shown: str, heading: str = "Diabetes clinic",
               url: str = "https://clinic.example/login") -> tuple[list[dict], list[dict]]:
    """Two requests' worth of events: the page (Meta + FullSnapshot), then typing and a click."""
    first = [event(4, T0, {"href": url, "width": 800, "height": 500}),
             event(2, T0 + 10, {"node": login_tree(heading), "initialOffset": {"top": 0, "left": 0}})]
    second = [event(3, T0 + 1000, {"source": 5, "id": 9, "text": email[:4], "isChecked": False}),
              event(3, T0 + 1500, {"source": 5, "id": 9, "text": email, "isChecked": False}),
              event(3, T0 + 2000, {"source": 5, "id": 10, "text": password_shown, "isChecked": False}),
              event(3, T0 + 2500, {"source": 2, "type": 2, "id": 11}),
              event(3, T0 + 2600, {"source": 0, "texts": [], "attributes": [], "removes": [],
                                   "adds": [{"parentId": 4, "nextId": None,
                                             "node": element(20, "p", {}, text(21, "Welcome back"))}]})]
    return first, second


def binary_string(data: bytes) -> str:
    """fflate strFromU8(bytes, true): one code point per byte."""
    return data.decode("latin-1")


def posthog_compressed(events: list[dict]) -> list[dict]:
    """posthog-js `compress_events`: FullSnapshot data and Mutation fields gzipped."""
    out = []
    for e in events:
        if e["type"] == 2:
            e = {**e, "data": binary_string(gzip.compress(json.dumps(e["data"]).encode())), "cv": "2024-10"}
        elif e["type"] == 3 and e["data"].get("source") == 0:
            e = {**e, "data": {**e["data"], **{k: binary_string(gzip.compress(json.dumps(e["data"][k]).encode()))
                                               for k in ("texts", "attributes", "removes", "adds")}},
                 "cv": "2024-10"}
        out.append(e)
    return out


def posthog_batch(events: list[dict], session: str = "0190c1a2-0000-7000-8000-000000000001") -> bytes:
    """posthog-js's /s/ body: {api_key, batch: [$snapshot events], sent_at}, gzip-js."""
    body = {"api_key": "phc_testkey0123456789", "sent_at": "2026-12-07T10:00:00Z", "batch": [{
        "event": "$snapshot", "properties": {"$snapshot_data": events, "$session_id": session,
                                             "$window_id": "0190c1a2-0000-7000-8000-0000000000ff",
                                             "distinct_id": "user-1", "$snapshot_bytes": 100}}]}
    return gzip.compress(json.dumps(body).encode())


def png(width: int, height: int, rows: list[tuple[int, int, int]] | None = None) -> bytes:
    """A real PNG (RGB, no filter): one colour per horizontal band."""
    bands = rows or [(30, 80, 160), (240, 240, 240), (200, 60, 60)]
    raw = b"".join(b"\x00" + bytes(bands[min(y * len(bands) // height, len(bands) - 1)]) * width
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def posthog_mobile(email: str, health: str) -> bytes:
    """PostHog Android's /s/ body: a JSON array of `$snapshot` events (gzip Content-Encoding
    in the SDK; here the plain array) with wireframes and a PNG screenshot."""
    shot = "data:image/png;base64," + base64.b64encode(png(90, 160)).decode()
    wireframes = [{"id": 1, "x": 0, "y": 0, "width": 360, "height": 640, "type": "div", "childWireframes": [
        {"id": 2, "x": 10, "y": 10, "width": 340, "height": 40, "type": "text", "text": health},
        {"id": 3, "x": 10, "y": 60, "width": 340, "height": 40, "type": "input", "inputType": "email",
         "value": email, "label": "Email"},
        {"id": 4, "x": 10, "y": 110, "width": 340, "height": 40, "type": "input", "inputType": "password",
         "value": "********"},
        {"id": 5, "x": 10, "y": 170, "width": 180, "height": 320, "type": "screenshot", "base64": shot}]}]
    events = [event(4, T0, {"href": "MainActivity", "width": 360, "height": 640}),
              event(2, T0 + 5, {"wireframes": wireframes, "initialOffset": {"top": 0, "left": 0}})]
    return json.dumps([{"event": "$snapshot", "api_key": "phc_mobilekey0123456789", "distinct_id": "u-7",
                        "uuid": "0190c1a2-0000-7000-8000-00000000abcd", "timestamp": "2026-12-07T10:00:00Z",
                        "properties": {"$snapshot_data": events, "$session_id": "0190c1a2-mobile-session",
                                       "$window_id": "0190c1a2-mobile-window", "$snapshot_source": "mobile"}}]).encode()


def flow(method: str, url: str, body: bytes, headers: dict[str, str] | None = None,
         timestamp: float = 1_765_000_000.0) -> http.HTTPFlow:
    f = tflow.tflow(resp=True)
    f.request = http.Request.make(method, url, b"", headers or {"content-type": "application/json"})
    f.request.raw_content = body
    f.request.timestamp_start = timestamp
    return f


def write_capture(path: Path, flows: list[http.HTTPFlow]) -> Path:
    with path.open("wb") as out:
        writer = io.FlowWriter(out)
        for f in flows:
            writer.add(f)
    return path
