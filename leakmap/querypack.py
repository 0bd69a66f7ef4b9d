"""New Relic's "querypack": the compact text the browser agent harvests to `/events`.

Why its own parser: the agent sends its page-view timings (`bel.6;…`), its AJAX requests and
its soft-navigation interactions (`bel.7;…`) in this format, not JSON, and those carry the page
URLs, route changes, the text of clicked elements and every custom attribute (`enduser.id`
from setUserId included). The format is specified by newrelic/nr-querypack (schemas/bel/*.qpschema,
lib/parser/querypack.pegjs, lib/decoder.js); the agent writes it in
src/common/serialize/bel-serializer.js and the features' serializers.

The text: `bel.<version>;` then nodes separated by `;`. A node is `<type id, base 36>,<fields>`
with the fields its schema lists, in order, separated by `,`. A field is a string (`'text`,
where `\\` escapes `,` `;` `\\`; the first time a string is written it enters the string table,
and later the same string is written as its table index in base 36), a base-36 integer, a
decimal number (`12.`, `0.5`), `T`/`F`, `!` (null: written without a following comma) or
nothing (the schema's default). A `nodeList` field holds the number of child nodes that follow
(depth first); a `node` field (an interaction's navTiming) takes the next node, where an empty
node (`;;`) is null.

Output: {"schema": "bel.7", "nodes": [...]}, each node {"type": <schema type name>, <field>:
<value>, ...} holding the fields that were sent (empty ones are left out, except enums, which
are named, default included); `!` gives None. Attribute child nodes become one `attributes`
object {key: value} (a repeated key keeps every value in a list), APM attributes
`apmAttributes`, other child nodes `children`; fields past the schema's are kept in `extra`.
Timestamps stay as uploaded (relative to the first or previous one, not re-based).

String tables: the querypack encoder keeps one table per payload, as old agents and the
agent's AJAX and timing serializers do. The soft-navigation serializer (since 2024) starts a
fresh table for each interaction and for each AJAX node inside one, so its strings repeat. A
payload that writes the same string twice cannot come from one table; it is read again with a
table per interaction and per nested AJAX node.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from .limits import Limits
from .steps import DecodeError, StepFn, _as_text

STR, NUM, ENUM, LIST, NODE = "string", "number", "enum", "list", "node"
Field = tuple[str, str, tuple[str, ...]]  # (name, kind, enum values)

_CATEGORY = ("Initial page load", "Route change", "Custom")
_REQUESTED_WITH = ("XMLHttpRequest", "fetch", "JSONP")
_NAV_TIMING = ("unloadEventStart redirectStart unloadEventEnd redirectEnd fetchStart domainLookupStart "
               "domainLookupEnd connectStart secureConnectionStart connectEnd requestStart responseStart "
               "responseEnd domLoading domInteractive domContentLoadedEventStart domContentLoadedEventEnd "
               "domComplete loadEventStart loadEventEnd").split()
ATTRIBUTES = {5: "stringAttribute", 6: "doubleAttribute", 7: "trueAttribute", 8: "falseAttribute",
              9: "nullAttribute"}
MAX_FIELDS = 256  # per node; the schemas have at most 21
SUPPORTED = range(3, 8)  # bel.1 and bel.2 (before 2016) number their node types differently

_INT = re.compile(r"-?[0-9a-z]{1,64}")
_DOUBLE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\.?")
_WHOLE = re.compile(r"-?\d{1,63}\.")
_NOT_FINITE = {"NaN", "NaN.", "Infinity", "Infinity.", "-Infinity", "-Infinity."}
_BARE = re.compile(r"[^,;]*")
_STRING = re.compile(r"(?:[^,;\\]|\\[\s\S])*\\?")
_ESCAPE = re.compile(r"\\([\s\S]|$)")


class QueryPackError(ValueError):
    """Malformed querypack; the message says where (1-based character position)."""


class _Rescan(Exception):
    """A string written twice: the payload has more than one string table."""


def _fields(*spec: str) -> tuple[Field, ...]:
    out = []
    for item in spec:
        name, _, kind = item.partition(":")
        values = {"category": _CATEGORY, "requestedWith": _REQUESTED_WITH}.get(name, ())
        out.append((name, ENUM if values else kind or NUM, values))
    return tuple(out)


@lru_cache(maxsize=8)
def schema(version: int) -> dict[int, tuple[str, tuple[Field, ...]]]:
    """Type id → (type name, fields) of schemas/bel/<version>.qpschema, inherited fields first."""
    timed = ("children:list", "start", "end", "callbackEnd", "callbackDuration")
    node_id = ("nodeId:string",) if version >= 4 else ()
    interaction = (*timed, "trigger:string", "initialPageURL:string", "oldURL:string", "newURL:string",
                   "customName:string", "category", "navTiming:node", "queueTime", "appTime",
                   "previousRouteName:string", "targetRouteName:string",
                   *(("id:string",) if version >= 4 else ()), *node_id,
                   *(("firstPaint", "firstContentfulPaint") if version >= 5 else ()))
    ajax = (*timed, "method:string", "status", "domain:string", "path:string", "requestBodySize",
            "responseBodySize", "requestedWith", *node_id,
            *(("guid:string", "traceId:string", "timestamp") if version >= 7 else ()))
    types = {
        1: ("interaction", _fields(*interaction)),
        2: ("ajax", _fields(*ajax)),
        3: ("customEnd", _fields("time")),
        4: ("customTracer", _fields(*timed, "name:string", "tracedCallbackDuration", *node_id)),
        5: ("stringAttribute", _fields("key:string", "value:string")),
        6: ("doubleAttribute", _fields("key:string", "value")),
        7: ("trueAttribute", _fields("key:string")),
        8: ("falseAttribute", _fields("key:string")),
        9: ("nullAttribute", _fields("key:string")),
        10: ("apmAttributes", _fields("obfuscatedAttributes:string")),
        11: ("navTiming", _fields(*_NAV_TIMING)),
        12: ("baseNode", ()),
        13: ("timedNode", _fields(*timed)),
    }
    if version >= 6:
        types[14] = ("timing", _fields("name:string", "value", "attributes:list"))
    return types


_NULL, _EMPTY = object(), object()
_Token = tuple[int, str, Any]  # (position, "string" | "value", value); value may be _NULL or _EMPTY


class _Reader:
    """Reads one node at a time from the text (nothing is tokenised ahead)."""

    def __init__(self, text: str, start: int) -> None:
        self.text, self.pos = text, start

    def more(self) -> bool:
        return self.pos < len(self.text)

    def node(self) -> tuple[int, int, list[_Token]] | None:
        """(position, type id, fields), or None for an empty (null) node."""
        text, start = self.text, self.pos
        if text[start] == ";":
            self.pos += 1
            return None
        type_text = _BARE.match(text, start).group(0)
        if not _INT.fullmatch(type_text) or text[start + len(type_text):start + len(type_text) + 1] != ",":
            raise QueryPackError(f"expected a node type id and a comma at character {start + 1}")
        self.pos = start + len(type_text) + 1
        fields: list[_Token] = []
        while True:
            pos = self.pos
            if len(fields) >= MAX_FIELDS:
                raise QueryPackError(f"more than {MAX_FIELDS} fields in the node at character {start + 1}")
            if pos < len(text) and text[pos] == "!":  # null: no comma follows
                fields.append((pos, "value", _NULL))
                self.pos += 1
                if self.pos >= len(text):
                    break
                if text[self.pos] == ";":
                    self.pos += 1
                    break
                continue
            fields.append(self._string() if pos < len(text) and text[pos] == "'" else self._value())
            if self.pos >= len(text):
                break
            self.pos += 1  # the `,` or `;` that ended the field
            if text[self.pos - 1] == ";":
                break
        return start, int(type_text, 36), fields

    def _string(self) -> _Token:
        start = self.pos
        raw = _STRING.match(self.text, start + 1).group(0)
        for escape in _ESCAPE.finditer(raw):
            if escape.group(1) not in (",", ";", "\\"):
                raise QueryPackError(f"bad escape at character {start + 2 + escape.start()}")
        self.pos = start + 1 + len(raw)
        return start, "string", _ESCAPE.sub(r"\1", raw)

    def _value(self) -> _Token:
        start = self.pos
        token = _BARE.match(self.text, start).group(0)
        self.pos = start + len(token)
        if not token:
            return start, "value", _EMPTY
        if token in ("T", "F"):
            return start, "value", token == "T"
        if _INT.fullmatch(token):
            return start, "value", int(token, 36)
        if len(token) <= 64 and _DOUBLE.fullmatch(token):
            if _WHOLE.fullmatch(token):
                return start, "value", int(token[:-1])
            return start, "value", float(token.rstrip("."))
        if token in _NOT_FINITE:  # the agent writes NaN and Infinity as JavaScript prints them
            return start, "value", token.rstrip(".")
        raise QueryPackError(f"not a querypack value at character {start + 1}: {token[:20]!r}")


class _Builder:
    """Turns the node sequence into a tree, resolving strings and checking the schema."""

    def __init__(self, text: str, start: int, version: int, scoped: bool, max_nodes: int, max_depth: int) -> None:
        self.reader = _Reader(text, start)
        self.types = schema(version)
        self.scoped, self.max_nodes, self.max_depth = scoped, max_nodes, max_depth
        self.tables: list[list[str]] = [[]]
        self.written: set[str] = set()  # every string written out, to notice one written twice
        self.nodes = 0

    def roots(self) -> list[Any]:
        out = []
        while self.reader.more():
            node = self.node(0)
            if node is not None:
                out.append(node)
        return out

    def node(self, depth: int) -> dict[str, Any] | None:
        if depth > self.max_depth:
            raise QueryPackError(f"nodes nested deeper than {self.max_depth} at character {self.reader.pos + 1}")
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise QueryPackError(f"more than {self.max_nodes} nodes")
        raw = self.reader.node()
        if raw is None:
            return None
        position, type_id, tokens = raw
        if type_id not in self.types:
            raise QueryPackError(f"unknown node type {type_id} at character {position + 1}")
        name, fields = self.types[type_id]
        own_table = self.scoped and (type_id == 1 or (type_id == 2 and depth > 0))
        if own_table:
            self.tables.append([])
        out: dict[str, Any] = {"type": name}
        slots: list[tuple[str, int]] = []  # (field, child count) in field order; -1: one optional node
        used = 0
        for field, kind, values in fields:
            if kind == NODE:
                slots.append((field, -1))
                continue
            token = tokens[used] if used < len(tokens) else (position, "value", _EMPTY)
            used += 1
            value = self._field(kind, values, token)
            if kind == LIST:
                slots.append((field, value if isinstance(value, int) and not isinstance(value, bool) else 0))
            elif value is not _EMPTY:
                out[field] = value
        extra = [None if t[2] is _NULL else t[2] for t in tokens[used:] if t[2] is not _EMPTY]
        if extra:
            out["extra"] = extra
        for field, count in slots:
            if count == -1:
                if self.reader.more():
                    child = self.node(depth + 1)
                    if child is not None and child["type"] != field:
                        raise QueryPackError(f"{name} {field} is a {child['type']} node (node at character "
                                             f"{position + 1})")
                    if child is not None:
                        out[field] = child
                continue
            for _ in range(count):
                if not self.reader.more():
                    raise QueryPackError(f"{name} at character {position + 1} announces {count} child nodes; "
                                         "the text ends first")
                child = self.node(depth + 1)
                if child is None:
                    raise QueryPackError(f"empty child node of the {name} at character {position + 1}")
                self._adopt(out, child)
        if own_table:
            self.tables.pop()
        return out

    def _field(self, kind: str, values: tuple[str, ...], token: _Token) -> Any:
        position, form, value = token
        if value is _NULL:
            return None
        if kind == STR and form == "string":
            if not self.scoped and value in self.written:
                raise _Rescan
            self.written.add(value)
            self.tables[-1].append(value)
            return value
        if kind == STR and isinstance(value, int) and not isinstance(value, bool):
            table = self.tables[-1]
            if not 0 <= value < len(table):
                raise QueryPackError(f"string reference {value} at character {position + 1} is not in the table "
                                     f"({len(table)} strings)")
            return table[value]
        if kind == ENUM:
            if value is _EMPTY:
                return values[0]
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(values):
                return values[value]
            raise QueryPackError(f"enum value {value!r} out of range at character {position + 1}")
        return value

    @staticmethod
    def _adopt(parent: dict[str, Any], child: dict[str, Any]) -> None:
        """Attribute nodes join `attributes`; APM attributes `apmAttributes`; others `children`."""
        kind = child["type"]
        if kind in ATTRIBUTES.values():
            value = {"trueAttribute": True, "falseAttribute": False, "nullAttribute": None}.get(
                kind, child.get("value", "" if kind == "stringAttribute" else 0))
            attributes = parent.setdefault("attributes", {})
            key = str(child.get("key", ""))
            if key in attributes:
                previous = attributes[key]  # attribute values are scalars: a list is one built here
                if isinstance(previous, list):
                    previous.append(value)  # in place: a key repeated n times costs n appends
                else:
                    attributes[key] = [previous, value]
            else:
                attributes[key] = value
        elif kind == "apmAttributes":
            parent["apmAttributes"] = child.get("obfuscatedAttributes", "")
        else:
            parent.setdefault("children", []).append(child)


_HEADER = re.compile(r"([a-z]+)\.([1-9][0-9]{0,3});?")


def decode(text: str, max_nodes: int = 20_000, max_depth: int = 32) -> dict[str, Any]:
    """Parse a querypack text (`bel.<version>;…`) into {"schema", "nodes"}. Raises
    QueryPackError, with the position, on anything malformed or over the limits."""
    header = _HEADER.match(text)
    if not header:
        raise QueryPackError("not a querypack (no `<schema>.<version>;` header)")
    name, version = header.group(1), int(header.group(2))
    if name != "bel" or version not in SUPPORTED:
        raise QueryPackError(f"querypack schema {name}.{version} is not supported (bel.3 to bel.7 are)")
    try:
        nodes = _Builder(text, header.end(), version, False, max_nodes, max_depth).roots()
    except _Rescan:
        nodes = _Builder(text, header.end(), version, True, max_nodes, max_depth).roots()
    return {"schema": f"{name}.{version}", "nodes": nodes}


def step_nr_querypack(value: Any, limits: Limits) -> dict[str, Any]:
    """Decode step `nr_querypack`: New Relic's querypack (`bel.7;…`, `bel.6;…`), the browser
    agent's `/events` harvests of interactions, AJAX requests and page-view timings, in its
    own compact text rather than JSON → {schema, nodes: [{type, fields…, attributes{}, children[]}]}."""
    text = _as_text(value)
    if not text.startswith("bel."):
        raise DecodeError("not a New Relic querypack (no bel.<version>; header)")
    try:
        return decode(text, max_nodes=limits.max_fields, max_depth=limits.max_depth)
    except QueryPackError as e:
        raise DecodeError(f"querypack: {e}") from None


STEPS: dict[str, StepFn] = {"nr_querypack": step_nr_querypack}
