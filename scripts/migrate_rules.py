#!/usr/bin/env python3
"""Migrate tracker rules to the one-`fields` language.

Before, an endpoint with `records` had two maps: `fields` (paths inside each record) and
`request_fields` (paths from the request: `query.k`, `header.x`); without `records` both held
paths from the request. Now there is one `fields` map and every path starts at its root:
`query`, `path`, `body`, `header`, `cookie`, or `record` (each of the endpoint's `records`).

    fields: {uid: user_id}                       fields:
    request_fields: {query.key: project_key}  →    query.key: project_key
                                                   record.uid: user_id

The file's text is edited in place at the positions the YAML composer reports, so comments,
anchors, aliases (`*x`) and merge keys (`<<:`) stay as written. Idempotent: a file without
`request_fields` whose record field paths all start at a root is left alone. A file whose
anchors make a mechanical merge ambiguous (a `fields` map shared by endpoints with different
`request_fields`) is not touched; the script says where, to be merged by hand.

Usage: python scripts/migrate_rules.py [--check] FILE_OR_DIR...
Exit: 0 done (or nothing to do); 1 `--check` and some file needs migrating; 2 a file could
not be migrated (left unchanged, reason printed).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOTS = ("query", "path", "body", "header", "cookie", "record")
MERGE_TAG = "tag:yaml.org,2002:merge"


class MigrationError(ValueError):
    """A file this script cannot migrate mechanically (line: why)."""


@dataclass
class _Edits:
    text: str
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, replacement))

    def take(self, start: int, end: int) -> str:
        """text[start:end] with the edits inside it applied; those edits are consumed."""
        inside = [e for e in self.edits if start <= e[0] and e[1] <= end]
        self.edits = [e for e in self.edits if e not in inside]
        return _Edits(self.text[start:end], [(a - start, b - start, r) for a, b, r in inside]).apply()

    def apply(self) -> str:
        out = self.text
        last = len(out) + 1
        for start, end, replacement in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            if end > last:
                raise MigrationError(f"overlapping edits near character {start}")
            out = out[:start] + replacement + out[end:]
            last = start
        return out


def _get(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | tuple[None, None]:
    for key_node, value in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key and key_node.tag != MERGE_TAG:
            return key_node, value
    return None, None


def _own_keys(mapping: yaml.MappingNode) -> list[yaml.ScalarNode]:
    return [k for k, _ in mapping.value if isinstance(k, yaml.ScalarNode) and k.tag != MERGE_TAG]


def _merged(mapping: yaml.MappingNode) -> list[yaml.MappingNode]:
    out = []
    for key, value in mapping.value:
        if key.tag == MERGE_TAG:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            out += [s for s in sources if isinstance(s, yaml.MappingNode)]
    return out


def _first_segment(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _block_end(text: str, key: yaml.Node) -> int:
    """End (exclusive, after its newline) of the entry that starts at *key*: the key line and
    every following line indented deeper, blank or a comment, without trailing blank or
    comment lines (they introduce what comes next)."""
    lines = text[key.start_mark.index:].split("\n")
    column = key.start_mark.column
    position = key.start_mark.index + len(lines[0]) + 1
    kept_end = position
    for line in lines[1:]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and not stripped.startswith("#") and indent <= column:
            break
        position += len(line) + 1
        if stripped and not stripped.startswith("#"):
            kept_end = position
    return min(kept_end, len(text))


def _value_form(text: str, key: yaml.Node) -> str:
    """How a key's value is written: `*` alias, `&` anchored, `{` flow, or `` block."""
    after = text[key.end_mark.index:]
    after = after[after.index(":") + 1:].lstrip(" ")
    return after[:1] if after[:1] in "*&{[" else ""


def _anchor_or_alias(text: str, key: yaml.Node) -> str:
    after = text[key.end_mark.index:]
    after = after[after.index(":") + 1:].lstrip(" ")
    return re.match(r"[*&][^\s,\]}]+", after).group(0)[1:]


def needs_migration(text: str) -> bool:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return bool(_endpoints(root)) and _is_old(root)


def _endpoints(root: yaml.Node | None) -> list[yaml.MappingNode]:
    if not isinstance(root, yaml.MappingNode):
        return []
    _, endpoints = _get(root, "endpoints")
    if not isinstance(endpoints, yaml.SequenceNode):
        return []
    return [e for e in endpoints.value if isinstance(e, yaml.MappingNode)]


def _record_maps(endpoint: yaml.MappingNode) -> list[yaml.MappingNode]:
    """The field maps of *endpoint* whose paths are relative to each record (old language)."""
    _, records = _get(endpoint, "records")
    maps = []
    if isinstance(records, yaml.SequenceNode) and records.value:
        _, fields = _get(endpoint, "fields")
        if isinstance(fields, yaml.MappingNode):
            maps.append(fields)
    _, variants = _get(endpoint, "record_variants")
    for variant in variants.value if isinstance(variants, yaml.SequenceNode) else []:
        if isinstance(variant, yaml.MappingNode):
            _, fields = _get(variant, "fields")
            if isinstance(fields, yaml.MappingNode):
                maps.append(fields)
    return maps


def _is_old(root: yaml.MappingNode) -> bool:
    for endpoint in _endpoints(root):
        if _get(endpoint, "request_fields")[0] is not None:
            return True
        for mapping in _record_maps(endpoint):
            if any(_first_segment(k.value) not in ROOTS for k in _own_keys(mapping)):
                return True
    return False


def migrate_text(text: str) -> str:
    """The migrated text of one rule file (the same text when there is nothing to do)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    endpoints = _endpoints(root)
    if not endpoints or not _is_old(root):
        return text
    edits = _Edits(text)
    _prefix_record_paths(endpoints, edits)
    _merge_request_fields(endpoints, edits)
    out = edits.apply()
    yaml.safe_load(out)  # still YAML, or the bug is ours: never write a broken file
    return out


def _prefix_record_paths(endpoints: list[yaml.MappingNode], edits: _Edits) -> None:
    """`uid` → `record.uid` in every map whose paths are relative to the record, once per
    map node however many endpoints share it (anchors); a map shared by an endpoint with
    records and one without cannot mean the same in both and is refused."""
    context: dict[int, str] = {}

    def claim(node: yaml.MappingNode, kind: str) -> None:
        previous = context.get(id(node))
        if previous is not None and previous != kind:
            raise MigrationError(f"line {node.start_mark.line + 1}: this field map is shared by endpoints with "
                                 "and without `records`; give each its own map")
        if previous is None:
            context[id(node)] = kind
            for merged in _merged(node):
                claim(merged, kind)

    for endpoint in endpoints:
        record_maps = _record_maps(endpoint)
        for mapping in record_maps:
            claim(mapping, "record")
        _, fields = _get(endpoint, "fields")
        if isinstance(fields, yaml.MappingNode) and fields not in record_maps:
            claim(fields, "request")
        _, request = _get(endpoint, "request_fields")
        if isinstance(request, yaml.MappingNode):
            claim(request, "request")
    nodes: dict[int, yaml.MappingNode] = {}
    for endpoint in endpoints:
        for mapping in _record_maps(endpoint):
            stack = [mapping]
            while stack:
                node = stack.pop()
                if id(node) not in nodes:
                    nodes[id(node)] = node
                    stack += _merged(node)
    for node in nodes.values():
        for key in _own_keys(node):
            start = key.start_mark.index + (1 if key.style in ('"', "'") else 0)
            edits.add(start, start, "record" if key.value.startswith("[") else "record.")


@dataclass
class _Map:
    """A field map taken apart for rewriting: what it merges (`<<:` items, each an alias
    `*x` or a block of lines with its `&anchor` line) and its own entries' lines."""

    merges: list[tuple[str, list[str]]] = field(default_factory=list)  # (alias/anchor head, item lines)
    lines: list[str] = field(default_factory=list)  # own entries, at indent 0


def _take_map(text: str, edits: _Edits, key: yaml.Node, mapping: yaml.Node) -> _Map:
    """The map written inline after *key* (block style), its inner edits applied and
    consumed (the caller replaces its text). Each entry keeps the comment lines below it."""
    start, end = _block_end_of_key_line(text, key), _block_end(text, key)
    if not isinstance(mapping, yaml.MappingNode) or mapping.flow_style or _value_form(text, key) == "{":
        raise MigrationError(f"line {key.start_mark.line + 1}: a flow-style map beside `request_fields`: "
                             "merge by hand")
    keys = [k for k, _ in mapping.value]
    if not keys or keys[0].start_mark.index < start:
        raise MigrationError(f"line {key.start_mark.line + 1}: unexpected layout: merge by hand")
    base = keys[0].start_mark.column
    bounds = [_line_start(text, k.start_mark.index) for k in keys] + [end]
    out = _Map()
    out.lines += _dedent(edits.take(start, bounds[0]), base)  # comments before the first entry
    for k, (a, b) in zip(keys, zip(bounds, bounds[1:])):
        lines = _dedent(edits.take(a, b), base)
        if k.tag != MERGE_TAG:
            out.lines += lines
            continue
        head, _, rest = lines[0].partition(":")
        value = rest.strip()
        if value.startswith("["):
            aliases = re.findall(r"\*[^\s,\]]+", value)
            out.merges += [(alias, []) for alias in aliases]
        elif value.startswith("*"):
            out.merges.append((value.split()[0], []))
        else:  # an anchored (or plain) map written in place, with its comment
            out.merges.append((value, lines[1:]))
    return out


def _dedent(text: str, base: int) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[base:] if line[:base].strip() == "" else line.lstrip(" ") for line in lines]


def _render(parts: list[_Map], indent: int) -> str:
    """One block map from *parts*: their merges (as `<<: *a`, `<<: [*a, *b]`, or a block
    list when one of them is written in place), then their own entries."""
    merges = [m for part in parts for m in part.merges]
    pad = " " * indent
    out = []
    if merges and all(not body and head.startswith("*") for head, body in merges):
        heads = [head for head, _ in merges]
        out.append(f"{pad}<<: {heads[0]}" if len(heads) == 1 else f"{pad}<<: [{', '.join(heads)}]")
    elif merges:
        out.append(f"{pad}<<:")
        for head, body in merges:
            out.append(f"{pad}  - {head}".rstrip())
            out += [f"{pad}    {line}" if line.strip() else "" for line in _dedent("\n".join(body) + "\n",
                                                                                     _min_indent(body))]
    for part in parts:
        out += [f"{pad}{line}" if line.strip() else "" for line in part.lines]
    return "".join(f"{line}\n" for line in out)


def _min_indent(lines: list[str]) -> int:
    return min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip() and not line.lstrip().startswith("#")),
               default=0)


def _merge_request_fields(endpoints: list[yaml.MappingNode], edits: _Edits) -> None:
    """Move every `request_fields` into its endpoint's `fields` (see the module docstring).

    An anchored `fields` map that every endpoint uses with the same `request_fields` takes
    them where it is defined; one used with different (or no) request fields elsewhere stays
    as it was, one level down, merged (`<<:`) into each endpoint's new map."""
    text = edits.text
    users: dict[int, set[int | None]] = {}  # fields map node id → request_fields node ids used with it
    for endpoint in endpoints:
        _, fields = _get(endpoint, "fields")
        _, request = _get(endpoint, "request_fields")
        if fields is not None:
            users.setdefault(id(fields), set()).add(id(request) if request is not None else None)
    for node in _all_maps(endpoints):  # a map merged into another is used without these fields too
        for merged in _merged(node):
            users.setdefault(id(merged), set()).add(None)
    for endpoint in endpoints:
        request_key, request = _get(endpoint, "request_fields")
        if request_key is None:
            continue
        fields_key, fields = _get(endpoint, "fields")
        if fields_key is None:
            edits.add(request_key.start_mark.index, request_key.end_mark.index, "fields")
            continue
        form = _value_form(text, fields_key)
        shared_elsewhere = users.get(id(fields), set()) != {id(request)}
        if form == "*" and not shared_elsewhere:
            edits.add(_line_start(text, request_key.start_mark.index), _block_end(text, request_key), "")
            continue  # its definition takes these request fields (below, at the definition's endpoint)
        colon = text.index(":", fields_key.end_mark.index)
        key_line_end = _block_end_of_key_line(text, fields_key)
        tail = text[colon + 1:key_line_end].rstrip("\n")  # ` *f`, ` &f  # comment`, ``
        parts = [_request_part(text, edits, request_key, request)]
        head = ":"
        if form == "*":  # `fields: *f`: a new map that merges the shared one
            parts.insert(0, _Map(merges=[(tail.split()[0], [])]))
        elif form == "&" and shared_elsewhere:  # keep the anchored map as it was, merged one level down
            taken = _take_map(text, edits, fields_key, fields)
            body = _render([taken], 0).split("\n")[:-1]
            parts.insert(0, _Map(merges=[(tail.strip(), body)]))
            edits.add(key_line_end, _block_end(text, fields_key), "")
        else:  # plain, or anchored and used with these request fields only: it takes them
            parts.insert(0, _take_map(text, edits, fields_key, fields))
            edits.add(key_line_end, _block_end(text, fields_key), "")
            head = ":" + tail
        edits.add(colon, key_line_end, head + "\n" + _render(parts, fields_key.start_mark.column + 2))
        edits.add(_line_start(text, request_key.start_mark.index), _block_end(text, request_key), "")


def _all_maps(endpoints: list[yaml.MappingNode]) -> list[yaml.MappingNode]:
    """Every field map the endpoints use (fields, request_fields, variants' fields)."""
    out = []
    for endpoint in endpoints:
        out += [v for k, v in ((k, v) for k, v in endpoint.value)
                if isinstance(k, yaml.ScalarNode) and k.value in ("fields", "request_fields")
                and isinstance(v, yaml.MappingNode)]
        out += _record_maps(endpoint)
    return out


def _request_part(text: str, edits: _Edits, key: yaml.Node, request: yaml.Node) -> _Map:
    form = _value_form(text, key)
    if form == "*":
        return _Map(merges=[("*" + _anchor_or_alias(text, key), [])])
    if form == "&" or form == "{":  # an anchored map keeps its anchor: merged in place
        colon = text.index(":", key.end_mark.index)
        tail = text[colon + 1:_block_end_of_key_line(text, key)].strip()
        if form == "{" or (isinstance(request, yaml.MappingNode) and request.flow_style):
            return _Map(merges=[(text[colon + 1:_block_end(text, key)].strip(), [])])  # `- {…}` / `- &a {…}`
        taken = _take_map(text, edits, key, request)
        return _Map(merges=[(tail, _render([taken], 0).split("\n")[:-1])])
    return _take_map(text, edits, key, request)


def _block_end_of_key_line(text: str, key: yaml.Node) -> int:
    end = text.find("\n", key.end_mark.index)
    return len(text) if end < 0 else end + 1


def _files(targets: list[str]) -> list[Path]:
    out: list[Path] = []
    for target in map(Path, targets):
        out += sorted(p for p in target.rglob("*") if p.suffix in (".yaml", ".yml")) if target.is_dir() else [target]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="exit 0 done, 1 --check found files to migrate, 2 a file failed")
    parser.add_argument("targets", nargs="+", help="rule files or directories (searched for *.yaml, *.yml)")
    parser.add_argument("--check", action="store_true", help="change nothing; list the files that need migrating")
    args = parser.parse_args(argv)
    failed = pending = 0
    for file in _files(args.targets):
        try:
            text = file.read_text(encoding="utf-8")
            migrated = migrate_text(text)
        except (MigrationError, yaml.YAMLError, OSError, UnicodeDecodeError) as e:
            print(f"{file}: not migrated: {e}", file=sys.stderr)
            failed += 1
            continue
        if migrated == text:
            continue
        pending += 1
        if args.check:
            print(f"{file}: needs migrating")
        else:
            file.write_text(migrated, encoding="utf-8")
            print(f"{file}: migrated")
    return 2 if failed else 1 if args.check and pending else 0


if __name__ == "__main__":
    sys.exit(main())
