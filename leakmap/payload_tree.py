"""The evidence's payload tree: a decoded request as nested HTML lists, every key and value
escaped with `markupsafe.escape` (captured text is hostile), the nodes whose path is a
finding highlighted and given an id the finding links to. Built by hand, not by Jinja2:
a template call per node made trees the slowest part of the report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from . import paths
from .report_format import sensitivity

TREE_MAX_NODES = 4000
LONG_VALUE = 300


@dataclass(slots=True)
class _Tree:
    """State of one payload-tree rendering: where each labelled path's node is."""

    request_id: int
    labels: Mapping[str, str]
    hits: set[str]
    ids: dict[str, str] = field(default_factory=dict)
    nodes: int = 0
    out: list[str] = field(default_factory=list)


def payload_tree(payload: Any, request_id: int, labels: Mapping[str, str],
                 hits: set[str]) -> tuple[Markup, dict[str, str]]:
    """The decoded payload as nested lists; returns the markup and {path: node id}."""
    tree = _Tree(request_id, labels, hits)
    _node(tree, payload, "", 0)
    if tree.nodes > TREE_MAX_NODES:
        tree.out.append(f'<p class="note">Only the first {TREE_MAX_NODES} nodes are shown; '
                        "the JSON export and the evidence HAR hold the whole request.</p>")
    return Markup("".join(tree.out)), tree.ids


def _node(tree: _Tree, node: Any, path: str, depth: int) -> None:
    if isinstance(node, dict) or isinstance(node, list):
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        tree.out.append('<ul class="tree">')
        for key, value in items:
            tree.nodes += 1
            if tree.nodes > TREE_MAX_NODES or depth > 40:
                break
            child = paths.child(path, key) if isinstance(node, dict) else paths.item(path, key)
            _entry(tree, key if isinstance(node, dict) else f"[{key}]", value, child, depth)
        tree.out.append("</ul>")
    else:
        tree.out.append(_scalar(node))


def _entry(tree: _Tree, key: Any, value: Any, path: str, depth: int) -> None:
    data_type = tree.labels.get(path, "")
    attrs = ""
    if data_type:
        node_id = f"r{tree.request_id}-n{len(tree.ids)}"
        tree.ids[path] = node_id
        hit = " hit s-" + sensitivity(data_type) if path in tree.hits else " known"
        attrs = f' id="{node_id}" class="{hit.strip()}"'
    tree.out.append(f'<li{attrs}><span class="k">{escape(str(key))}</span>')
    if data_type:
        tree.out.append(f' <span class="dt">{escape(data_type)}</span>')
    tree.out.append(": " if not isinstance(value, (dict, list)) else "")
    _node(tree, value, path, depth + 1)
    tree.out.append("</li>")


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return f'<span class="v lit">{json.dumps(value)}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="v num">{escape(str(value))}</span>'
    text = str(value)
    if len(text) > LONG_VALUE:
        return (f'<details class="long"><summary><span class="v">{escape(text[:120])}</span>… '
                f"({len(text)} characters)</summary><span class=\"v\">{escape(text)}</span></details>")
    return f'<span class="v">{escape(text)}</span>'
