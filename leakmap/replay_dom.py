"""The page a session-replay recording shows, rebuilt from rrweb's serialized DOM.

rrweb (and the recorders built on it: PostHog, Mixpanel, Amplitude, Sentry, Datadog V1,
Highlight) sends a FullSnapshot holding the page's node tree, then Mutation events that add,
remove and change nodes (rrweb-io/rrweb:packages/types/src/index.ts@c382034c, NodeType,
IncrementalSource; replay/index.ts@c382034c applies them in the order removes, adds, texts,
attributes). `Mirror` keeps `id → node` like rrweb's player, but only what leakmap needs:
tags, attributes and text, so visible text, typed values and clicked labels can be read, and
`render_xhtml` draws a still of the page that can never run or load anything.

Everything here is bounded: nodes per recording, nesting depth, and the retry queue of adds
whose parent has not arrived yet (attacker-controlled input can chain them forever).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

# Text under these is not shown to the user (rrweb replaces script text by SCRIPT_PLACEHOLDER).
_HIDDEN_TEXT = frozenset({"script", "style", "head", "title", "noscript", "template", "meta", "link"})
# The still keeps layout and text; everything that could act, navigate or load is dropped.
_DROPPED_TAGS = frozenset({"script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                           "meta", "link", "template", "portal", "audio", "video", "source", "track", "canvas",
                           "svg", "math", "form"})
_VOID_TAGS = frozenset({"area", "br", "col", "hr", "img", "input", "wbr"})
_SAFE_TAG = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_KEPT_ATTRIBUTES = frozenset({"class", "id", "type", "value", "placeholder", "name", "style", "alt", "title", "width",
                              "height", "colspan", "rowspan", "checked", "disabled", "selected", "for", "role",
                              "aria-label", "lang", "dir"})
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:image/)[^)]*\)", re.I)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.I)
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif);base64,[A-Za-z0-9+/=\s]+$", re.I)


@dataclass(slots=True)
class Node:
    """One serialized node: `kind` is rrweb's NodeType (0 document, 2 element, 3 text...)."""

    id: int
    kind: int
    tag: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    parent: int | None = None
    children: list[int] = field(default_factory=list)


class MirrorFull(Exception):
    """The recording holds more nodes or deeper nesting than the limits allow."""


class Mirror:
    """`id → Node` for the page currently shown, reset by every FullSnapshot."""

    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.nodes: dict[int, Node] = {}
        self.root: int | None = None
        self.problems: list[str] = []
        self._labels: dict[str, int] | None = None  # <label for=…> → label node, built when first asked

    def reset(self, tree: Any) -> None:
        """Replace the page by the serialized tree of a FullSnapshot."""
        self.nodes = {}
        self.root = None
        self._labels = None
        if isinstance(tree, dict):
            self.root = self._add_tree(tree, None)

    def _add_tree(self, tree: dict[str, Any], parent: int | None) -> int | None:
        """Register *tree* and its descendants iteratively (hostile nesting cannot recurse)."""
        first: int | None = None
        stack: list[tuple[Any, int | None, int]] = [(tree, parent, 0)]
        while stack:
            raw, parent_id, depth = stack.pop()
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
                continue
            if depth > self.max_depth:
                self._problem(f"node tree deeper than {self.max_depth} levels: the rest is not read")
                continue
            if len(self.nodes) >= self.max_nodes and raw["id"] not in self.nodes:
                self._problem(f"more than {self.max_nodes} nodes: the rest is not read")
                continue
            node = _node(raw, parent_id)
            self._forget(node.id)
            self.nodes[node.id] = node
            if parent_id is not None and parent_id in self.nodes:
                self.nodes[parent_id].children.append(node.id)
            first = node.id if first is None else first
            kids = raw.get("childNodes")
            if isinstance(kids, list):
                stack.extend((kid, node.id, depth + 1) for kid in reversed(kids))
        return first

    def _problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def _forget(self, node_id: int) -> None:
        """Remove *node_id* and its subtree (a re-added id replaces the old node)."""
        old = self.nodes.get(node_id)
        if old is None:
            return
        parent = self.nodes.get(old.parent) if old.parent is not None else None
        if parent is not None and node_id in parent.children:
            parent.children.remove(node_id)
        stack = [node_id]
        while stack:
            gone = self.nodes.pop(stack.pop(), None)
            if gone is not None:
                stack.extend(gone.children)

    def mutate(self, data: dict[str, Any]) -> None:
        """Apply one Mutation in rrweb's player order: removes, adds, texts, attributes."""
        self._labels = None
        for remove in _dicts(data.get("removes")):
            if isinstance(remove.get("id"), int):
                self._forget(remove["id"])
        pending = [a for a in _dicts(data.get("adds")) if isinstance(a.get("node"), dict)]
        for _ in range(3):  # adds are not sorted; a parent may come later in the same batch
            waiting = []
            for add in pending:
                parent = add.get("parentId")
                if parent in self.nodes or parent is None:
                    node_id = self._add_tree(add["node"], parent if parent in self.nodes else None)
                    next_id = add.get("nextId")
                    if node_id is not None and parent in self.nodes and next_id in self.nodes:
                        kids = self.nodes[parent].children
                        kids.remove(node_id)
                        kids.insert(kids.index(next_id) if next_id in kids else len(kids), node_id)
                else:
                    waiting.append(add)
            if not waiting or len(waiting) == len(pending):
                break
            pending = waiting
        for change in _dicts(data.get("texts")):
            node = self.nodes.get(change.get("id"))  # type: ignore[arg-type]
            if node is not None and isinstance(change.get("value"), str):
                node.text = change["value"]
        for change in _dicts(data.get("attributes")):
            node = self.nodes.get(change.get("id"))  # type: ignore[arg-type]
            if node is not None and isinstance(change.get("attributes"), dict):
                for name, value in change["attributes"].items():
                    if value is None:
                        node.attrs.pop(name, None)
                    elif isinstance(value, (str, int, float, bool)):
                        node.attrs[str(name)] = value

    # --- reading the page ------------------------------------------------------------------------

    def shown(self, node_id: int) -> bool:
        """Whether text under *node_id* is visible (not under script, style, head, title);
        looks 64 ancestors up at most, so a hostile chain costs little per text change."""
        seen = 0
        node = self.nodes.get(node_id)
        while node is not None and seen < 64:
            if node.tag in _HIDDEN_TEXT:
                return False
            node = self.nodes.get(node.parent) if node.parent is not None else None
            seen += 1
        return True

    def texts(self) -> list[tuple[int, str]]:
        """(node id, text) of every visible, non-blank text node, in page order (one walk
        from the root, carrying whether an ancestor hides its text)."""
        out: list[tuple[int, str]] = []
        stack: list[tuple[int, bool]] = [(self.root, False)] if self.root is not None else []
        while stack:
            node_id, hidden = stack.pop()
            node = self.nodes.get(node_id)
            if node is None:
                continue
            hidden = hidden or node.tag in _HIDDEN_TEXT
            if node.kind == 3 and not hidden and node.text.strip():
                out.append((node.id, node.text.strip()))
            stack.extend((kid, hidden) for kid in reversed(node.children))
        return out

    def text_under(self, node_id: int, limit: int = 200) -> str:
        """The text a user reads on an element (a clicked button's label)."""
        out: list[str] = []
        stack = [node_id]
        size = 0
        while stack and size < limit:
            node = self.nodes.get(stack.pop())
            if node is None:
                continue
            if node.kind == 3 and node.text.strip():
                out.append(node.text.strip())
                size += len(node.text)
            elif node.tag == "input" and node.attrs.get("type") in ("button", "submit"):
                out.append(str(node.attrs.get("value", "")))
            stack.extend(reversed(node.children))
        return " ".join(out)[:limit]

    def label_of(self, node: Node) -> str:
        """What names a form field for the user: aria-label, a <label for>, a wrapping
        <label>, else the placeholder."""
        if node.attrs.get("aria-label"):
            return str(node.attrs["aria-label"])
        field_id = node.attrs.get("id")
        if field_id:
            if self._labels is None:
                self._labels = {str(n.attrs["for"]): n.id for n in self.nodes.values()
                                if n.tag == "label" and "for" in n.attrs}
            if str(field_id) in self._labels:
                return self.text_under(self._labels[str(field_id)], 100)
        parent = self.nodes.get(node.parent) if node.parent is not None else None
        for _ in range(3):
            if parent is None:
                break
            if parent.tag == "label":
                return self.text_under(parent.id, 100)
            parent = self.nodes.get(parent.parent) if parent.parent is not None else None
        return str(node.attrs.get("placeholder", ""))


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _node(raw: dict[str, Any], parent: int | None) -> Node:
    kind = raw.get("type") if isinstance(raw.get("type"), int) else -1
    attrs = raw.get("attributes")
    tag = raw.get("tagName")
    return Node(raw["id"], kind, tag.lower()[:40] if isinstance(tag, str) else "",
                {str(k): v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))}
                if isinstance(attrs, dict) else {},
                raw.get("textContent") if isinstance(raw.get("textContent"), str) else "", parent)


def selector(node: Node) -> str:
    """A CSS-like name for a field: `input#email`, `input[name=pw]`, `textarea`."""
    if node.attrs.get("id"):
        return f"{node.tag}#{node.attrs['id']}"
    if node.attrs.get("name"):
        return f"{node.tag}[name={node.attrs['name']}]"
    return node.tag or "?"


# --- the still: the page as inert XHTML, drawn as an image ---------------------------------------------

def _css(text: str) -> str:
    """Captured CSS without anything that could fetch (url() other than data: images, @import)."""
    return _CSS_IMPORT.sub("", _CSS_URL.sub("none", text))


def render_xhtml(mirror: Mirror, mask: Callable[[Node, str], str], max_chars: int) -> str:
    """The current page as well-formed XHTML for an SVG <foreignObject>: only layout tags,
    harmless attributes, CSS without url(), and data: images. Shown inside an <img>, the
    browser runs no script and fetches nothing from it; *mask* hides secret field values."""
    out: list[str] = []
    size = 0
    body = next((n for n in mirror.nodes.values() if n.tag == "body"), None)
    styles = [n for n in mirror.nodes.values() if n.tag == "style" or (n.tag == "link" and "_cssText" in n.attrs)]
    for node in styles:
        css = str(node.attrs.get("_cssText", "")) or "".join(mirror.nodes[k].text for k in node.children
                                                              if k in mirror.nodes)
        out.append(f"<style>{escape(_css(css), quote=False)}</style>")
        size += len(out[-1])
    stack: list[tuple[int, bool]] = [(body.id, False)] if body else [(mirror.root, False)] if mirror.root else []
    depth = 0
    while stack and size < max_chars:
        node_id, closing = stack.pop()
        node = mirror.nodes.get(node_id)
        if node is None:
            continue
        if closing:
            out.append(f"</{_shown_tag(node.tag)}>")
            depth -= 1
            continue
        if node.kind == 3:
            if mirror.shown(node.id):
                out.append(escape(node.text, quote=False))
        elif node.kind in (0, 11) or (node.kind == 2 and node.tag in ("html",)):
            stack.extend((k, False) for k in reversed(node.children))
        elif node.kind == 2 and node.tag not in _DROPPED_TAGS and node.tag not in _HIDDEN_TEXT \
                and _SAFE_TAG.match(node.tag) and depth < mirror.max_depth:
            out.append(f"<{_shown_tag(node.tag)}{_attributes(node, mask)}" + ("/>" if node.tag in _VOID_TAGS else ">"))
            if node.tag not in _VOID_TAGS:
                depth += 1
                stack.append((node.id, True))
                stack.extend((k, False) for k in reversed(node.children))
        size += len(out[-1]) if out else 0
    return "".join(out)


def _shown_tag(tag: str) -> str:
    """The page's <body> is drawn as a <div> inside the picture's own document."""
    return "div" if tag == "body" else tag


def _attributes(node: Node, mask: Callable[[Node, str], str]) -> str:
    parts = []
    for name, value in node.attrs.items():
        name = name.lower()
        if name == "src" and isinstance(value, str) and DATA_IMAGE.match(value):
            parts.append(f' src="{escape(value)}"')
        elif name == "rr_dataurl" and isinstance(value, str) and DATA_IMAGE.match(value):
            parts.append(f' src="{escape(value)}"')
        elif name in ("rr_width", "rr_height"):
            parts.append(f' style="display:inline-block;background:#ccc;{name[3:]}:{escape(str(value))}"')
        elif name in _KEPT_ATTRIBUTES:
            text = "checked" if value is True else str(value)
            if name == "value":
                text = mask(node, text)
            elif name == "style":
                text = _css(text)
            parts.append(f' {name}="{escape(text)}"')
    return "".join(dict.fromkeys(parts))

