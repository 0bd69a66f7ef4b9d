"""Recognising session recordings in a decoded request: rrweb event lists, wherever they sit.

A list of `{type, timestamp, data}` events with rrweb's shape (a FullSnapshot with a node
tree or mobile wireframes, a Meta with a page, incremental events naming their source),
plain, as JSON strings (Amplitude), rrweb-packed or as gzip "binary strings" (posthog-js),
or inside zlib/gzip bytes (Sentry's `replay_recording` item). Sources: rrweb-io/rrweb@c382034c
packages/types/src/index.ts and packages/packer; PostHog/posthog-js@9b2a1b18d
lazy-loaded-session-recorder.ts; getsentry/sentry-javascript@f7a6cc0c createReplayEnvelope.ts;
amplitude/Amplitude-TypeScript@6deb0623b events/event-compressor.ts. Nothing here keeps state:
`replay.ReplayBook` does, across requests.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from . import paths

FULL_SNAPSHOT, INCREMENTAL, META = 2, 3, 4
_ID_KEYS = ("replay_id", "$session_id", "session_secure_id", "sessionId", "session_id", "$window_id", "device_id")


class Budget:
    """Decompressed bytes still allowed for one request's recordings."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, n: int) -> bool:
        self.left -= n
        return self.left >= 0


# --- recognising a recording -------------------------------------------------------------------------

def _inflate_any(data: bytes, limit: int) -> bytes | None:
    """gzip or zlib (rrweb packer, Sentry, Datadog) bytes, decompressed within *limit*; None
    when they are neither or expand past it. A stream cut short still gives what it holds
    (a multipart parser that strips a trailing CR/LF takes the checksum's last byte with it)."""
    if data[:2] == b"\x1f\x8b":
        wbits = 16 + zlib.MAX_WBITS
    elif data[:1] == b"\x78":
        wbits = zlib.MAX_WBITS
    else:
        return None
    try:
        out = zlib.decompressobj(wbits).decompress(data, limit + 1)
    except zlib.error:
        return None
    return out if len(out) <= limit else None


def _binary_string(text: str) -> bytes | None:
    """fflate's `strFromU8(bytes, true)`: one code point per byte (reference A.0.2)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def loads(raw: bytes | str, budget: Budget) -> Any:
    """JSON from text or (compressed) bytes; None when it is not, or the budget is spent."""
    if isinstance(raw, str):
        if raw[:1] in ("{", "["):
            if not budget.take(len(raw)):
                return None
            try:
                return json.loads(raw)
            except (ValueError, RecursionError):
                return None
        data = _binary_string(raw)
        if data is None:
            return None
        raw = data
    if raw[:1] in (b"{", b"[") and raw[:14] == b'{"segment_id":':  # Sentry: header line, then the data
        _, _, raw = raw.partition(b"\n")
    if raw[:1] not in (b"{", b"["):
        raw = _inflate_any(raw, max(budget.left, 0)) or b""
    if not raw or not budget.take(len(raw)):
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _is_event(item: Any) -> bool:
    return (isinstance(item, dict) and isinstance(item.get("type"), int) and not isinstance(item["type"], bool)
            and isinstance(item.get("timestamp"), (int, float)) and "data" in item)


def _looks_like_replay(events: list[dict[str, Any]]) -> bool:
    """rrweb's shape, not only `{type, timestamp, data}`: a snapshot, a Meta with a page,
    or incremental events naming their source."""
    for event in events:
        data = event["data"]
        if event["type"] == FULL_SNAPSHOT and (isinstance(data, str) or (isinstance(data, dict) and (
                "node" in data or "wireframes" in data))):
            return True
        if event["type"] == META and isinstance(data, dict) and ("href" in data or "width" in data):
            return True
        if event["type"] == INCREMENTAL and isinstance(data, dict) and isinstance(data.get("source"), int):
            return True
    return False


def as_events(items: list[Any], budget: Budget) -> list[dict[str, Any]] | None:
    """*items* as rrweb events when they are a recording (plain, JSON strings, packed)."""
    if not items:
        return None
    probe = items[0]
    if isinstance(probe, str) and not _is_event(loads(probe, Budget(min(budget.left, 2**20)))):
        return None
    if not isinstance(probe, (dict, str)):
        return None
    events = []
    for item in items:
        if isinstance(item, str):
            item = loads(item, budget)
        if _is_event(item):
            events.append(item)
    if len(events) * 2 < len(items) or not _looks_like_replay(events):
        return None
    return events


@dataclass(slots=True)
class Stream:
    """One list of recording events found in a request, with the ids around it."""

    path: str
    events: list[dict[str, Any]]
    ids: dict[str, str]
    holder: Any = None  # the dict or list holding the event list in the document (None: inside a blob)
    key: Any = None


# Where a node sits: () for the document, else (where its container sits, key or index,
# whether it is a list index).
# Its path text is built only for a node that holds a recording: this walk visits every node
# of every request, and almost none holds one.
_Where = tuple[Any, ...]


def _path_of(where: _Where) -> str:
    steps = []
    while where:
        where, step, is_index = where
        steps.append((step, is_index))
    path = ""
    for step, is_index in reversed(steps):
        path = paths.item(path, step) if is_index else paths.child(path, step)
    return path


_ID_KEY_SET = frozenset((*_ID_KEYS, "session"))


def _ids_in(node: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    """*ids* plus the session and replay ids *node* names (a copy only when it names one)."""
    if node.keys().isdisjoint(_ID_KEY_SET):  # most objects name none: one set operation
        return ids
    here = ids
    for name in _ID_KEYS:
        value = node.get(name)
        if name not in here and isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            here = dict(here) if here is ids else here
            here[name] = str(value)
    session = node.get("session")
    if "session_id" not in here and isinstance(session, dict) and isinstance(session.get("id"), str):
        here = dict(here) if here is ids else here
        here["session_id"] = session["id"]
    return here


# The first character of text or bytes _may_hold_events can accept: gzip, zlib, JSON.
_EVENTS_START = frozenset("\x1fx{[")
_EVENTS_START_BYTES = frozenset(b"\x1fx{[")


def _may_hold_streams(doc: Any) -> bool:
    """False when no node of *doc* can be (or hold) a recording: no object names a
    `timestamp` (every rrweb event does), no list starts with JSON text (events sent as
    strings), no long text or bytes may hold events. A lean walk (no paths, no ids) that
    spares almost every request the full search below."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if node.__class__ is dict:
            if "timestamp" in node:
                return True
            values: Any = node.values()
        elif node.__class__ is list:
            if node and node[0].__class__ is str and node[0][:1] == "{":
                return True
            values = node
        else:
            continue
        for value in values:
            kind = value.__class__
            if kind is dict or kind is list:
                stack.append(value)
            elif kind is str:
                if len(value) > 40 and value[0] in _EVENTS_START and _may_hold_events(value):
                    return True
            elif kind is bytes:
                if len(value) > 40 and value[0] in _EVENTS_START_BYTES and _may_hold_events(value):
                    return True
            elif isinstance(value, (dict, list, str, bytes)):  # subclasses: the full search decides
                return True
    return False


def find_streams(doc: Any, budget: Budget, max_depth: int = 40) -> list[Stream]:
    """Every recording event list in the decoded document (bounded walk, no recursion)."""
    found: list[Stream] = []
    if not _may_hold_streams(doc):
        return found
    global_ids = _global_ids(doc)
    stack: list[tuple[_Where, Any, int, dict[str, str], Any, Any]] = [((), doc, 0, {}, None, None)]
    while stack:
        where, node, depth, ids, holder, key = stack.pop()
        if depth > max_depth:
            continue
        # Scalars other than long text or bytes cannot hold a recording: never stacked (most nodes are).
        if isinstance(node, dict):
            here = _ids_in(node, ids)
            stack.extend(((where, k, False), v, depth + 1, here, node, k) for k, v in node.items()
                         if isinstance(v, (dict, list)) or (isinstance(v, (str, bytes)) and len(v) > 40))
        elif isinstance(node, list):
            events = as_events(node, budget) if node and isinstance(node[0], (dict, str)) else None
            if events:
                found.append(Stream(_path_of(where), events, {**global_ids, **ids}, holder, key))
            else:
                stack.extend(((where, i, True), v, depth + 1, ids, node, i) for i, v in enumerate(node[:100_000])
                             if isinstance(v, (dict, list)) or (isinstance(v, (str, bytes)) and len(v) > 40))
        elif isinstance(node, (bytes, str)) and len(node) > 40 and _may_hold_events(node):
            inner = loads(node, budget)
            if isinstance(inner, (list, dict)):
                stack.append((where, inner, depth + 1, ids, None, None))
    found.reverse()
    return found


KEPT_LEAVES = 5_000  # leaves of a recording kept in the request's own fields and payload tree


def _leaves_within(node: Any, limit: int) -> int:
    """Leaves under *node*, counting stops past *limit* (the cost stays bounded)."""
    count, stack = 0, [node]
    while stack and count <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            count += 1
    return count


def trimmed(streams: list[Stream]) -> list[tuple[Any, Any, Any]]:
    """Shorten each recording in the document to its first KEPT_LEAVES leaves, for the
    per-field detectors and the evidence tree: the rest is read, with context, by the replay
    reader (a 10 MB recording is hundreds of thousands of leaves). Returns what `restore` needs."""
    undo = []
    for stream in streams:
        original = stream.holder[stream.key] if stream.holder is not None else None
        if not isinstance(original, list):
            continue
        kept, left = [], KEPT_LEAVES
        for item in original:
            size = _leaves_within(item, left)
            if size > left:
                break
            kept.append(item)
            left -= size
        if len(kept) < len(original):
            stream.holder[stream.key] = kept + [
                f"… {len(original) - len(kept)} more recording events: see Session replays"]
            undo.append((stream.holder, stream.key, original))
    return undo


def restore(undo: list[tuple[Any, Any, Any]]) -> None:
    for holder, key, original in undo:
        holder[key] = original


def _may_hold_events(raw: bytes | str) -> bool:
    head = raw[:16] if isinstance(raw, bytes) else raw[:16].encode("latin-1", "replace")
    return head[:2] == b"\x1f\x8b" or head[:1] == b"\x78" or head.startswith(b'{"segment_id"') or \
        (head[:2] in (b'[{', b'{"') and (b'"timestamp"' in (raw[:4096] if isinstance(raw, bytes)
                                                             else raw[:4096].encode("utf-8", "replace"))))


def may_hold_recording(body: bytes) -> bool:
    """Cheap test, for requests to hosts no rule covers, of whether the body could be a
    recording (rrweb JSON, or compressed bytes sent without Content-Encoding)."""
    if body[:2] == b"\x1f\x8b" or body[:2] in (b"\x78\x9c", b"\x78\xda", b"\x78\x01", b"\x78\x5e"):
        return True
    head = body[:65536]
    return b'"timestamp"' in head and b'"type"' in head and b'"data"' in head


def _global_ids(doc: Any) -> dict[str, str]:
    """Ids the whole request carries: query parameters and Sentry's `replay_event` item."""
    ids: dict[str, str] = {}
    query = doc.get("query") if isinstance(doc, dict) else None
    if isinstance(query, dict):
        for key in _ID_KEYS:
            if isinstance(query.get(key), str):
                ids[key] = query[key]
    body = doc.get("body") if isinstance(doc, dict) else None
    items = body.get("items") if isinstance(body, dict) else None
    if isinstance(items, list):
        for item in items[:50]:
            payload = item.get("payload") if isinstance(item, dict) else None
            if isinstance(payload, dict) and isinstance(payload.get("replay_id"), str):
                ids.setdefault("replay_id", payload["replay_id"])
    return ids


def recording_id(ids: dict[str, str]) -> str:
    for key in ("replay_id", "session_secure_id", "$session_id", "sessionId", "session_id"):
        if ids.get(key):
            return ids[key] + (f"/{ids['$window_id']}" if key == "$session_id" and ids.get("$window_id") else "")
    return ""
