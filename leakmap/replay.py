"""Session replays revealed: what a recording showed and what the user typed into it.

Runs inside the extract stage on a request's decoded document. Recordings are recognised by
content, not by host: a list of rrweb events (`{type, timestamp, data}`, a FullSnapshot with a
node tree or mobile wireframes, Mutation/Input/Meta events) anywhere in the document, plain,
as JSON strings (Amplitude), rrweb-packed or gzip "binary strings" (PostHog's `cv: 2024-10`
compression, @rrweb/packer), or zlib/gzip bytes (Sentry's `replay_recording` item). See
docs: /work/shared reference A.0-A.10, verified in rrweb-io/rrweb@c382034c
(packages/types/src/index.ts), PostHog/posthog-js@9b2a1b18d (lazy-loaded-session-recorder.ts,
compression), PostHog/posthog-android@1042d253 (internal/replay/*.kt wireframes),
getsentry/sentry-javascript@f7a6cc0c (createReplayEnvelope.ts).

A recording spans many requests: `ReplayBook` keeps one `Recording` per (receiver, replay or
session id) across the run, so the page rebuilt from the first request's FullSnapshot is the
page that later requests' inputs and clicks act on. Everything is capped per recording
(`ReplayLimits`); past a cap, what was read is kept and a problem line says why the rest is not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import paths
from .compression import gunzip, inflate
from .credentials import SECRET_TYPES
from .extract import Indicator, classify_key, value_patterns
from .replay_dom import DATA_IMAGE, Mirror, Node, render_xhtml, selector

FULL_SNAPSHOT, INCREMENTAL, META, CUSTOM = 2, 3, 4, 5
MUTATION, MOUSE_INTERACTION, INPUT = 0, 2, 5
CLICK = 2
_ID_KEYS = ("replay_id", "$session_id", "session_secure_id", "sessionId", "session_id", "$window_id", "device_id")
LATEST_STILL_NODES = 20_000
_MASK_CHARS = frozenset("*•x ") | frozenset("\u2022")


@dataclass(frozen=True, slots=True)
class ReplayLimits:
    """Per-recording ceilings for hostile recordings (all counts linear in the input)."""

    max_events: int = 300_000
    max_nodes: int = 300_000
    max_depth: int = 500
    max_bytes: int = 100 * 2**20  # decompressed bytes of one recording's events
    max_recordings: int = 256  # open at once; the oldest is closed past this
    max_items: int = 3_000  # texts, inputs and clicks kept per recording
    max_images: int = 40
    max_stills: int = 8
    max_still_chars: int = 1_500_000


@dataclass(slots=True)
class ReplayFinding:
    """A personal value found inside a recording, with where in it and when."""

    data_type: str
    value: str
    path: str
    detail: str
    masked: bool = False


class Budget:
    """Decompressed bytes still allowed for one request's recordings."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, n: int) -> bool:
        self.left -= n
        return self.left >= 0


# --- recognising a recording -------------------------------------------------------------------------

def _inflate_any(data: bytes, limit: int) -> bytes | None:
    """gzip or zlib (rrweb packer, Sentry) bytes, decompressed within *limit*; else None."""
    try:
        if data[:2] == b"\x1f\x8b":
            return gunzip(data, limit)
        if data[:1] == b"\x78":
            return inflate(data, limit)
    except (ValueError, OSError, zlib.error, EOFError):
        return None
    return None


def _binary_string(text: str) -> bytes | None:
    """fflate's `strFromU8(bytes, true)`: one code point per byte (reference A.0.2)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _loads(raw: bytes | str, budget: Budget) -> Any:
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
    if isinstance(probe, str) and not _is_event(_loads(probe, Budget(min(budget.left, 2**20)))):
        return None
    if not isinstance(probe, (dict, str)):
        return None
    events = []
    for item in items:
        if isinstance(item, str):
            item = _loads(item, budget)
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


def find_streams(doc: Any, budget: Budget, max_depth: int = 40) -> list[Stream]:
    """Every recording event list in the decoded document (bounded walk, no recursion)."""
    found: list[Stream] = []
    global_ids = _global_ids(doc)
    stack: list[tuple[str, Any, int, dict[str, str], Any, Any]] = [("", doc, 0, {}, None, None)]
    while stack:
        path, node, depth, ids, holder, key = stack.pop()
        if depth > max_depth:
            continue
        if isinstance(node, dict):
            here = dict(ids)
            for name in _ID_KEYS:
                value = node.get(name)
                if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                    here.setdefault(name, str(value))
            session = node.get("session")
            if isinstance(session, dict) and isinstance(session.get("id"), str):
                here.setdefault("session_id", session["id"])
            stack.extend((paths.child(path, k), v, depth + 1, here, node, k) for k, v in node.items())
        elif isinstance(node, list):
            events = as_events(node, budget) if node and isinstance(node[0], (dict, str)) else None
            if events:
                found.append(Stream(path, events, {**global_ids, **ids}, holder, key))
            else:
                stack.extend((paths.item(path, i), v, depth + 1, ids, node, i) for i, v in enumerate(node[:100_000]))
        elif isinstance(node, (bytes, str)) and len(node) > 40 and _may_hold_events(node):
            inner = _loads(node, budget)
            if isinstance(inner, (list, dict)):
                stack.append((path, inner, depth + 1, ids, None, None))
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


# --- one recording ----------------------------------------------------------------------------------

def _when(ms: Any) -> str:
    if not isinstance(ms, (int, float)) or not 0 < ms < 1e14:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{int(ms) % 1000:03d}Z"


def is_masked(value: str) -> bool:
    """Whether a recorder masked *value*: `*` runs (rrweb family), `•` (Clarity), `***` or
    `x` runs (Datadog), or only blanks."""
    return bool(value) and (set(value) <= _MASK_CHARS) and ("x" not in value or set(value.strip()) == {"x"})


def _image_info(data_url: str) -> dict[str, Any]:
    """Type, size in bytes and pixel size of a data: image (read from its header only)."""
    head, _, b64 = data_url.partition(",")
    try:
        raw = base64.b64decode(b64[:64_000_000], validate=False)
    except ValueError:
        raw = b""
    width = height = 0
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 24:
        width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    elif raw[:4] == b"RIFF" and raw[8:12] == b"WEBP" and len(raw) > 30:
        if raw[12:16] == b"VP8 ":
            width, height = int.from_bytes(raw[26:28], "little") & 0x3FFF, int.from_bytes(raw[28:30], "little") & 0x3FFF
        elif raw[12:16] == b"VP8L":
            bits = int.from_bytes(raw[21:25], "little")
            width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif raw[12:16] == b"VP8X":
            width, height = int.from_bytes(raw[24:27], "little") + 1, int.from_bytes(raw[27:30], "little") + 1
    elif raw[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(raw):
            if raw[pos] != 0xFF:
                break
            marker, size = raw[pos + 1], int.from_bytes(raw[pos + 2:pos + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = int.from_bytes(raw[pos + 5:pos + 7], "big"), int.from_bytes(raw[pos + 7:pos + 9], "big")
                break
            pos += 2 + size
    mime = head[5:].split(";", 1)[0]
    return {"type": mime, "bytes": len(raw), "width": width, "height": height}


@dataclass(slots=True)
class Recording:
    """Everything read so far from one recording, across its requests."""

    key: str
    receiver: str
    tracker: str
    replay_id: str
    limits: ReplayLimits
    app: str = ""
    first: float = 0.0
    last: float = 0.0
    requests: int = 0
    events: int = 0
    mirror: Mirror | None = None
    pages: list[dict[str, Any]] = field(default_factory=list)
    texts: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[Any, dict[str, Any]] = field(default_factory=dict)
    clicks: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    stills: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problems_reported: int = 0
    viewport: tuple[int, int] = (1024, 768)
    _image_hashes: set[str] = field(default_factory=set)
    _finding_keys: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.mirror = Mirror(self.limits.max_nodes, self.limits.max_depth)

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    # --- applying events --------------------------------------------------------------------------

    def apply(self, stream: Stream, budget: Budget) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """Apply one stream's events; returns what to check for personal values:
        (kind, value, path, when, field) for every text shown and value typed."""
        self.requests += 1
        checks: list[tuple[str, str, str, str, dict[str, Any]]] = []
        touched: dict[Any, str] = {}
        for index, event in enumerate(stream.events):
            if self.events >= self.limits.max_events:
                self.problem(f"more than {self.limits.max_events} events: the rest is not read")
                break
            self.events += 1
            ts = event["timestamp"]
            if isinstance(ts, (int, float)) and 1e11 < ts < 1e14:
                self.first = min(self.first or ts / 1000, ts / 1000)
                self.last = max(self.last, ts / 1000)
            where = f"{stream.path}[{index}]"
            data = self._data(event, budget)
            if not isinstance(data, dict):
                if event["type"] in (FULL_SNAPSHOT, INCREMENTAL):
                    self.problem(f"{where}: event data could not be read (damaged or over the byte limit)")
                continue
            try:
                self._event(event["type"], data, ts, where, checks, touched)
            except (TypeError, ValueError, AttributeError, KeyError) as e:
                self.problem(f"{where}: malformed event ({type(e).__name__})")
        for node_id, where in touched.items():
            entry = self.inputs.get(node_id)
            if entry and entry["value"] and not entry["masked"]:
                checks.append(("input", entry["value"], where, entry["time"], entry))
        for message in self.mirror.problems:
            self.problem(message)
        return checks

    def _data(self, event: dict[str, Any], budget: Budget) -> Any:
        """The event's data, opened when PostHog compressed it (reference A.2, `cv`)."""
        data = event["data"]
        if isinstance(data, str):
            return _loads(data, budget)
        if isinstance(data, dict) and event.get("cv") and event["type"] == INCREMENTAL:
            data = dict(data)
            for key in ("texts", "attributes", "removes", "adds"):
                if isinstance(data.get(key), str):
                    data[key] = _loads(data[key], budget) or []
        return data

    def _event(self, kind: int, data: dict[str, Any], ts: Any, where: str, checks: list, touched: dict) -> None:
        when = _when(ts)
        if kind == META and isinstance(data.get("width"), int) and isinstance(data.get("height"), int):
            self.viewport = (max(50, min(data["width"], 4000)), max(50, min(data["height"], 8000)))
        if kind == META and isinstance(data.get("href"), str):
            if not self.pages or self.pages[-1]["url"] != data["href"]:
                self._keep(self.pages, {"url": data["href"][:2000], "time": when})
        elif kind == FULL_SNAPSHOT:
            if "wireframes" in data:
                self._wireframes(data.get("wireframes"), ts, f"{where}.data.wireframes", checks, touched)
                return
            self.mirror.reset(data.get("node"))
            self._read_page(ts, f"{where}.data.node", checks, touched)
            self._still(when)
        elif kind == INCREMENTAL:
            source = data.get("source")
            if source == MUTATION:
                if any(isinstance(data.get(k), list) and data[k] and isinstance(data[k][0], dict) and
                       "wireframe" in data[k][0] for k in ("adds", "updates")):
                    for k in ("adds", "updates"):
                        self._wireframes([a.get("wireframe") for a in data.get(k) or [] if isinstance(a, dict)],
                                         ts, f"{where}.data.{k}", checks, touched)
                    return
                self.mirror.mutate(data)
                for change in data.get("texts") or []:
                    if isinstance(change, dict) and isinstance(change.get("value"), str) and \
                            self.mirror.shown(change.get("id")):
                        self._text(change["value"], when, f"{where}.data.texts", checks)
                for add in data.get("adds") or []:
                    if isinstance(add, dict) and isinstance(add.get("node"), dict):
                        self._read_subtree(add["node"].get("id"), ts, f"{where}.data.adds", checks, touched)
                for change in data.get("attributes") or []:
                    if isinstance(change, dict) and isinstance(change.get("attributes"), dict):
                        self._images_in(change["attributes"], when)
                        if "value" in change["attributes"]:
                            self._input_from_node(change.get("id"), ts, f"{where}.data.attributes", touched)
            elif source == INPUT and "text" in data:
                self._input(data.get("id"), data.get("text"), data.get("isChecked"), ts, f"{where}.data.text",
                            touched)
            elif source == MOUSE_INTERACTION and data.get("type") == CLICK:
                node = self.mirror.nodes.get(data.get("id"))
                self._keep(self.clicks, {"time": when, "target": selector(node) if node else f"node {data.get('id')}",
                                         "text": self.mirror.text_under(node.id) if node else ""})
        elif kind == CUSTOM and isinstance(data.get("payload"), dict):
            payload = data["payload"]
            inner = payload.get("payload") if isinstance(payload.get("payload"), dict) else payload
            to = (inner.get("data") or {}).get("to") if isinstance(inner.get("data"), dict) else None
            if isinstance(to, str) and inner.get("category") == "navigation":
                self._keep(self.pages, {"url": to[:2000], "time": when})

    def _keep(self, items: list, item: dict[str, Any]) -> None:
        if len(items) < self.limits.max_items:
            items.append(item)

    def _text(self, text: str, when: str, where: str, checks: list) -> None:
        text = " ".join(text.split())
        if not text or is_masked(text.replace(" ", "")):
            return
        if text not in self.texts and len(self.texts) < self.limits.max_items:
            self.texts[text[:1000]] = {"text": text[:1000], "time": when, "path": where}
            checks.append(("text", text[:1000], where, when, {}))

    def _read_page(self, ts: Any, where: str, checks: list, touched: dict) -> None:
        when = _when(ts)
        for _, text in self.mirror.texts():
            self._text(text, when, where, checks)
        for node in list(self.mirror.nodes.values()):
            if node.kind == 2:
                self._images_in(node.attrs, when)
                if node.tag in ("input", "textarea", "select") and "value" in node.attrs:
                    self._input_from_node(node.id, ts, where, touched)

    def _read_subtree(self, node_id: Any, ts: Any, where: str, checks: list, touched: dict) -> None:
        when = _when(ts)
        stack = [node_id]
        seen = 0
        while stack and seen < self.limits.max_nodes:
            node = self.mirror.nodes.get(stack.pop())
            seen += 1
            if node is None:
                continue
            if node.kind == 3 and self.mirror.shown(node.id):
                self._text(node.text, when, where, checks)
            elif node.kind == 2:
                self._images_in(node.attrs, when)
                if node.tag in ("input", "textarea", "select") and "value" in node.attrs:
                    self._input_from_node(node.id, ts, where, touched)
            stack.extend(node.children)

    def _input_from_node(self, node_id: Any, ts: Any, where: str, touched: dict) -> None:
        node = self.mirror.nodes.get(node_id)
        if node is not None and node.attrs.get("type") not in ("submit", "button", "hidden", "checkbox", "radio"):
            self._input(node_id, node.attrs.get("value"), None, ts, where, touched)

    def _input(self, node_id: Any, value: Any, checked: Any, ts: Any, where: str, touched: dict) -> None:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return
        node = self.mirror.nodes.get(node_id)
        text = str(value)[:5000]
        if not text.strip() and not checked:
            return
        entry = self.inputs.get(node_id)
        if entry is None:
            if len(self.inputs) >= self.limits.max_items:
                return
            entry = self.inputs[node_id] = self._field(node, node_id)
        entry.update(value=text, masked=is_masked(text), time=_when(ts), changes=entry.get("changes", 0) + 1,
                     path=where)
        if node is not None:  # the page as drawn later shows what was typed
            node.attrs["value"] = text
        if checked is not None and entry["type"] in ("checkbox", "radio"):
            entry["checked"] = bool(checked)
        touched[node_id] = where

    def _field(self, node: Node | None, node_id: Any) -> dict[str, Any]:
        if node is None:
            return {"selector": f"node {node_id}", "type": "", "label": "", "password": False}
        field_type = str(node.attrs.get("type", node.tag if node.tag != "input" else "text")).lower()
        password = field_type == "password" or "data-rr-is-password" in node.attrs or \
            str(node.attrs.get("autocomplete", "")).endswith("-password")
        return {"selector": selector(node), "type": field_type, "name": str(node.attrs.get("name", "")),
                "autocomplete": str(node.attrs.get("autocomplete", "")), "label": self.mirror.label_of(node)[:200],
                "placeholder": str(node.attrs.get("placeholder", ""))[:200], "password": password}

    def _images_in(self, attrs: dict[str, Any], when: str) -> None:
        for name in ("src", "rr_dataURL", "base64"):
            value = attrs.get(name)
            if isinstance(value, str) and value.startswith("data:image/") and DATA_IMAGE.match(value[:200]):
                self._image(value, when)

    def _image(self, data_url: str, when: str) -> None:
        digest = hashlib.sha256(data_url.encode("latin-1", "replace")).hexdigest()[:16]
        if digest in self._image_hashes or len(self.images) >= self.limits.max_images:
            return
        self._image_hashes.add(digest)
        info = _image_info(data_url)
        keep = len(data_url) <= self.limits.max_still_chars and info["type"] in ("image/png", "image/jpeg",
                                                                                  "image/webp", "image/gif")
        self.images.append({**info, "time": when, "data_url": data_url if keep else ""})

    def _still(self, when: str) -> None:
        if len(self.stills) >= self.limits.max_stills:
            return
        xhtml = render_xhtml(self.mirror, self._shown_value, self.limits.max_still_chars)
        if xhtml.strip():
            self.stills.append({"time": when, "page": self.pages[-1]["url"] if self.pages else "", "xhtml": xhtml,
                                "width": self.viewport[0], "height": self.viewport[1]})

    def _latest_still(self) -> list[dict[str, Any]]:
        """The page as it stood at the recording's last event (typed values filled in), for
        pages small enough to redraw at every request (LATEST_STILL_NODES)."""
        if not self.stills or not self.inputs or not 0 < len(self.mirror.nodes) <= LATEST_STILL_NODES:
            return []
        xhtml = render_xhtml(self.mirror, self._shown_value, self.limits.max_still_chars)
        return [{"time": _when(self.last * 1000), "page": self.pages[-1]["url"] if self.pages else "",
                 "xhtml": xhtml, "width": self.viewport[0], "height": self.viewport[1], "latest": True}]

    def _shown_value(self, node: Node, value: str) -> str:
        """Field values drawn in a still: a password the recorder did not mask is hidden
        there like everywhere else (the finding carries its mask)."""
        return "•" * min(len(value), 12) if self._field(node, node.id)["password"] and not is_masked(value) else value

    # --- mobile wireframes (PostHog Android/iOS: reference A.3) ----------------------------------------

    def _wireframes(self, frames: Any, ts: Any, where: str, checks: list, touched: dict) -> None:
        when = _when(ts)
        stack = [(w, f"{where}[{i}]", 0) for i, w in enumerate(frames or []) if isinstance(w, dict)]
        boxes: list[str] = []
        seen = 0
        while stack and seen < self.limits.max_nodes:
            frame, path, depth = stack.pop()
            seen += 1
            kind = frame.get("type")
            if isinstance(frame.get("base64"), str):
                self._image(frame["base64"], when)
            text = frame.get("text") if isinstance(frame.get("text"), str) else ""
            if kind == "input":
                value = frame.get("value") if frame.get("value") is not None else text
                wid = ("wireframe", frame.get("id"))
                if wid not in self.inputs and len(self.inputs) < self.limits.max_items and isinstance(value, str):
                    input_type = str(frame.get("inputType", "text"))
                    self.inputs[wid] = {"selector": f"wireframe {frame.get('id')}", "type": input_type,
                                        "label": str(frame.get("label") or "")[:200], "name": "", "autocomplete": "",
                                        "placeholder": "", "password": input_type == "password"}
                if isinstance(value, str) and wid in self.inputs:
                    self.inputs[wid].update(value=value[:5000], masked=is_masked(value), time=when, path=path)
                    touched[wid] = path
            elif text:
                self._text(text, when, path, checks)
            boxes.append(_wireframe_box(frame, self._shown_text))
            kids = frame.get("childWireframes")
            if isinstance(kids, list) and depth < self.limits.max_depth:
                stack.extend((k, f"{path}.childWireframes[{i}]", depth + 1) for i, k in enumerate(kids)
                             if isinstance(k, dict))
        if boxes and len(self.stills) < self.limits.max_stills:
            self.stills.append({"time": when, "page": self.pages[-1]["url"] if self.pages else "",
                                "xhtml": "<div style=\"position:relative\">" + "".join(reversed(boxes)) + "</div>",
                                "width": self.viewport[0], "height": self.viewport[1]})

    def _shown_text(self, frame: dict[str, Any], text: str) -> str:
        return "•" * min(len(text), 12) if frame.get("inputType") == "password" and not is_masked(text) else text

    # --- summary ---------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The recording as `leakmap replay --format json` prints it (and the report shows)."""
        inputs = [dict(entry) for entry in self.inputs.values() if "value" in entry]
        media_left = 4 * self.limits.max_still_chars  # what a stored summary may carry as pictures
        images = []
        for image in self.images:
            media_left -= len(image["data_url"])
            images.append(image if media_left >= 0 else {**image, "data_url": ""})
        return {
            "receiver": self.receiver, "tracker": self.tracker, "app": self.app, "replay_id": self.replay_id,
            "first": _when(self.first * 1000), "last": _when(self.last * 1000), "requests": self.requests,
            "events": self.events, "pages": self.pages, "inputs": inputs,
            "text": [t["text"] for t in self.texts.values()], "text_items": list(self.texts.values()),
            "clicks": self.clicks,
            "images": {"count": len(self.images),
                       "sizes": [{k: i[k] for k in ("type", "bytes", "width", "height")} for i in self.images],
                       "items": images},
            "stills": self.stills + self._latest_still(), "findings": self.findings, "problems": self.problems,
        }


def _wireframe_box(frame: dict[str, Any], shown: Any) -> str:
    """One wireframe as an absolutely placed box (drawn inert, like the web stills)."""
    from html import escape

    def number(key: str) -> int:
        value = frame.get(key)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    style = (f"position:absolute;left:{number('x')}px;top:{number('y')}px;width:{number('width')}px;"
             f"height:{number('height')}px;overflow:hidden;font:12px sans-serif")
    inner = ""
    if isinstance(frame.get("base64"), str) and DATA_IMAGE.match(frame["base64"][:200]) and \
            DATA_IMAGE.match(frame["base64"]):
        inner = f'<img src="{escape(frame["base64"])}" style="width:100%;height:100%"/>'
    else:
        text = frame.get("value") if frame.get("type") == "input" and isinstance(frame.get("value"), str) else \
            frame.get("text")
        if isinstance(text, str):
            inner = escape(shown(frame, text[:500]), quote=False)
        style += ";border:1px solid #bbb" if frame.get("type") in ("input", "rectangle") else ""
    return f'<div style="{style}">{inner}</div>'


# --- the run's recordings ---------------------------------------------------------------------------

class ReplayBook:
    """The open recordings of one run, keyed by receiver and recording id; the oldest is
    closed (kept in `closed` as a summary) when more than `max_recordings` are open."""

    def __init__(self, limits: ReplayLimits | None = None, indicators: list[Indicator] | None = None) -> None:
        self.limits = limits or ReplayLimits()
        self.indicators = indicators or []
        self.open: OrderedDict[str, Recording] = OrderedDict()
        self.closed: list[dict[str, Any]] = []

    def find(self, doc: Any) -> list[Stream]:
        """The recordings in one request's document (reads nothing into the book yet)."""
        return find_streams(doc, Budget(self.limits.max_bytes))

    def read(self, streams: list[Stream], receiver: str, tracker: str,
             client: str) -> tuple[list[Recording], list[ReplayFinding]]:
        """Add one request's recording streams to their recordings; returns the recordings
        touched and the personal values found in what they showed and what was typed."""
        budget = Budget(self.limits.max_bytes)
        touched: list[Recording] = []
        found: list[ReplayFinding] = []
        for stream in streams:
            rid = recording_id(stream.ids)
            key = f"{receiver}\x00{rid or client}"
            recording = self.open.get(key)
            if recording is None:
                recording = Recording(key, receiver, tracker, rid or f"(no id; client {client or '?'})", self.limits)
                self.open[key] = recording
                if len(self.open) > self.limits.max_recordings:
                    _, oldest = self.open.popitem(last=False)
                    self.closed.append(oldest.summary())
            self.open.move_to_end(key)
            checks = recording.apply(stream, budget)
            found.extend(self._check(recording, checks))
            if budget.left < 0:
                recording.problem(f"more than {self.limits.max_bytes} bytes of events in one request: "
                                  "the rest is not read")
            if recording not in touched:
                touched.append(recording)
        return touched, found

    def _check(self, recording: Recording, checks: list) -> list[ReplayFinding]:
        """Run the detectors on what the recording showed and what was typed into it."""
        out = []
        for kind, value, where, when, entry in checks:
            hits: list[tuple[str, str, str]] = []
            if kind == "input":
                how = f"typed into {entry['selector']} ({entry['type'] or 'field'}" + \
                      (f", “{entry['label']}”" if entry.get("label") else "") + "), sent unmasked"
                if entry.get("password"):
                    hits.append(("password", value, how))
                elif entry["type"] == "email" and "@" in value:
                    hits.append(("email", value.strip(), how))
                for key in (entry.get("name"), entry.get("autocomplete"), entry["selector"].split("#")[-1]):
                    data_type = classify_key(key, value) if key else ""
                    if data_type:
                        hits.append((data_type, value, how))
                hits.extend((t, v, f"{how}; {name}") for t, v, name in value_patterns(value))
            else:
                how = "text shown on the page"
                hits.extend((t, v, f"{how}; {name}") for t, v, name in value_patterns(value))
            for indicator in self.indicators:
                form = indicator.find(value)
                if form:
                    hits.append((indicator.data_type, indicator.value, f"{how}; honey value ({form})"))
            for data_type, found_value, detail in hits:
                if (data_type, found_value) in recording._finding_keys:
                    continue
                recording._finding_keys.add((data_type, found_value))
                finding = ReplayFinding(data_type, found_value, where, f"session replay: {detail}, at {when}")
                out.append(finding)
                recording.findings.append({"data_type": data_type, "value": found_value, "masked": False,
                                           "secret": data_type in SECRET_TYPES, "path": where, "time": when,
                                           "how": detail})
        return out

    def summaries(self) -> list[dict[str, Any]]:
        return self.closed + [r.summary() for r in self.open.values()]
