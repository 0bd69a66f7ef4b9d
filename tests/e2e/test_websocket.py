"""WebSocket messages: a real `websockets` client talks through a real mitmdump to a local
`websockets` server; client messages are analysed live, and again from the dump mitmdump
wrote. A rule endpoint with `methods: [WS]` matches messages by the handshake's URL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from mitmproxy import io
from mitmproxy.test import tflow
from mitmproxy.websocket import WebSocketMessage
from websockets.asyncio.server import serve
from websockets.sync.client import connect
from wsproto.frame_protocol import Opcode

from conftest import free_port

LEAKMAP = Path(sys.executable).parent / "leakmap"
CLIENT_MESSAGES = [json.dumps({"type": "hello"}), json.dumps({"type": "identify", "email": "ws-user@example.org"})]
WS_RULE = """
id: wsdemo
name: WS Demo
company: Demo Inc.
category: session_replay
endpoints:
  - id: stream
    hosts: [ws.wsdemo.test]
    methods: [WS]
    path: ^/stream
    source: test rule for WebSocket messages
    decode:
      - at: body
        steps: [json]
    fields:
      body.user.mail: email
      body.user.id: user_id
"""


class EchoServer:
    """A local WebSocket server in a thread; answers every message with `ok`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready, self.stop = threading.Event(), None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _main(self) -> None:
        async def answer(socket) -> None:  # noqa: ANN001
            async for _ in socket:
                await socket.send("ok")

        self.stop = asyncio.Event()
        async with serve(answer, "127.0.0.1", self.port):
            self.ready.set()
            await self.stop.wait()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def rows(db: Path) -> set[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as con:
        return set(con.execute("SELECT r.flow_id, r.method, f.data_type, f.value FROM findings f "
                               "JOIN requests r ON r.id = f.request_id"))


def test_client_messages_analysed_live_and_from_the_dump(proxy_factory, tmp_path):
    server = EchoServer()
    proxy = proxy_factory()
    try:
        with connect(f"ws://127.0.0.1:{server.port}/live?site=1", proxy=proxy.url, open_timeout=10) as socket:
            for message in CLIENT_MESSAGES:
                socket.send(message)
                assert socket.recv(timeout=10) == "ok"
    finally:
        log = proxy.stop()
        server.close()
    live = {(flow_id.split("#")[-1], method, kind, value) for flow_id, method, kind, value in rows(proxy.db)}
    # Messages are numbered in the connection's order: hello (ws0), ok (ws1), identify (ws2), ok (ws3).
    assert ("ws2", "WS", "email", "ws-user@example.org") in live, log
    # Server answers (ws1, ws3) are not uploads. The hello message and the handshake's query go to
    # a third party without a rule, so the generic path shows them too.
    assert {index for index, *_ in live if index.startswith("ws")} == {"ws0", "ws2"}
    result = subprocess.run([str(LEAKMAP), "analyze", str(proxy.dump), "-o", "r.html", "--findings", "f.json"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    found = {(r["flow_id"].split("#")[-1], r["data_type"], r["value"]) for r in json.loads((tmp_path / "f.json").read_text())}
    assert ("ws2", "email", "ws-user@example.org") in found


def test_rule_matches_websocket_messages_by_handshake_url(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "wsdemo.yaml").write_text(WS_RULE)
    flow = tflow.twebsocketflow(messages=False)
    flow.request.host, flow.request.path = "ws.wsdemo.test", "/stream?v=3"
    flow.websocket.messages = [
        WebSocketMessage(Opcode.TEXT, True, json.dumps({"user": {"mail": "rule@example.org", "id": "u-7"}}).encode()),
        WebSocketMessage(Opcode.TEXT, False, json.dumps({"user": {"mail": "server@example.org"}}).encode()),
    ]
    dump = tmp_path / "ws.mitm"
    with dump.open("wb") as f:
        io.FlowWriter(f).add(flow)
    result = subprocess.run([str(LEAKMAP), "analyze", str(dump), "--rules", str(rules), "-o", "r.html",
                             "--findings", "f.json"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    found = {(r["tracker"], r["flow_id"].split("#")[-1], r["data_type"], r["value"], r["detector"])
             for r in json.loads((tmp_path / "f.json").read_text())}
    assert ("wsdemo", "ws0", "email", "rule@example.org", "rule") in found
    assert ("wsdemo", "ws0", "user_id", "u-7", "rule") in found
    assert not any(value == "server@example.org" for *_, value, _ in found)  # server→client is skipped
