"""WebSocket messages as requests: session replay and some analytics SDKs stream over a socket.

Each message the client sends becomes a `Request` carrying the handshake's URL and headers
with the message as its body, so tracker rules match it by host and path like any HTTP
request (e.g. a rule's endpoint for a recording socket) and decode the message as a body.
The flow id gets `#ws<N>` (N: the message's index in the connection) so findings name the
message. Server-to-client messages are not uploads from the device and are skipped.

`WebSocketLeakmap` is the live side: a separate mitmproxy addon that hands each client
message to the Leakmap addon's session, found by name, so the two stay decoupled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from mitmproxy import ctx, http

from .decode import Limits
from .model import LIVE_SOURCE, Request

log = logging.getLogger(__name__)
WS_METHOD = "WS"  # the Request.method of a WebSocket message (the handshake itself is a GET)


def request_from_message(flow: http.HTTPFlow, index: int, source: str, limits: Limits, label: str = "") -> Request:
    """One client→server message of *flow*'s WebSocket as a request to the handshake URL."""
    from .read import request_from_flow  # read imports this module: import late

    message = flow.websocket.messages[index]  # type: ignore[union-attr]
    request = request_from_flow(flow, source, limits, label)
    request.flow_id = f"{flow.id}#ws{index}"
    request.key = f"flow:{request.flow_id}"  # stored once, apart from the handshake's own flow
    request.method = WS_METHOD
    request.timestamp = message.timestamp or request.timestamp
    request.headers = [(k, v) for k, v in request.headers if k.lower() not in ("content-length", "content-encoding")]
    request.headers.append(("x-leakmap-websocket", "text" if message.is_text else "binary"))
    request.body, request.body_error = message.content, ""
    return request


def requests_from_websocket(flow: http.HTTPFlow, source: str, limits: Limits, label: str = "") -> Iterator[Request]:
    """Every client→server message of a recorded WebSocket flow (from a dump)."""
    if flow.websocket is None:
        return
    for index, message in enumerate(flow.websocket.messages):
        if message.from_client:
            yield request_from_message(flow, index, source, limits, label)


class WebSocketLeakmap:
    """mitmproxy addon: analyse each client WebSocket message live, in the Leakmap addon's session."""

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None or not flow.websocket.messages or not flow.websocket.messages[-1].from_client:
            return
        leakmap = ctx.master.addons.get("leakmap")
        if not getattr(leakmap, "active", False):
            return
        index = len(flow.websocket.messages) - 1
        try:  # queued for the Leakmap addon's analysis process, which owns the session and its store
            leakmap.submit(request_from_message(flow, index, LIVE_SOURCE, leakmap.limits))
        except Exception as e:  # hostile content must never end the proxy
            log.warning(f"leakmap: WebSocket message {flow.id}#ws{index} not analysed: {type(e).__name__}: {e}")
