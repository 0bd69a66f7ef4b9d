"""One session recording rebuilt from its events: pages, visible text, typed values, clicks,
images and stills (rrweb-io/rrweb@c382034c packages/types/src/index.ts for the event and
source codes; PostHog/posthog-android@1042d253 internal/replay/*.kt for mobile wireframes).

`Recording.apply` takes one request's events; what was shown and typed is returned for the
detectors (replay.ReplayBook runs them). Every list is capped by `ReplayLimits`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .replay_dom import DATA_IMAGE, Mirror, Node, render_xhtml, selector
from .replay_formats import FULL_SNAPSHOT, INCREMENTAL, META, Budget, Stream, loads

CUSTOM = 5
MUTATION, MOUSE_INTERACTION, INPUT = 0, 2, 5
CLICK = 2
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
            return loads(data, budget)
        if isinstance(data, dict) and event.get("cv") and event["type"] == INCREMENTAL:
            data = dict(data)
            for key in ("texts", "attributes", "removes", "adds"):
                if isinstance(data.get(key), str):
                    data[key] = loads(data[key], budget) or []
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
