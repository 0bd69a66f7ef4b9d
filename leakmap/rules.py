"""Tracker rules: load the declarative YAML files, validate them, compile them once.

A rule reads like a Sigma rule or a Nuclei template: metadata (id, name, company, category),
then `endpoints`, each with matchers (hosts, methods, path), decoding operations, and
extractors (`fields`: payload path → data type). README.md ("Writing rules") describes the format. A
malformed file is reported with its file, line and what is wrong; the other rules still load.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import datatypes, paths, rules_cache, yamldoc
from .decode import Operation, compile_steps
from .model import Problem

#: A field mapped to this value is known and kept as an uploaded field, but is not personal
#: data; naming it stops the key-name heuristics from guessing a type for it.
NOT_PERSONAL = "uploaded"

_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
_PATHS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_FIELD_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_REPLY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "if_param": {"type": "string"},  # applies when the query or form has this parameter (not "0")
        "status": {"type": "integer"},
        "body": {"type": "string"},
        "content_type": {"type": "string"},
    },
}
_SCALARS = {"type": ["string", "integer"]}
_VARIANT = {
    "type": "object",
    "required": ["when", "fields"],
    "additionalProperties": False,
    "properties": {
        # record path → the value (or one of the values) it must hold
        "when": {"type": "object", "minProperties": 1,
                 "additionalProperties": {"oneOf": [_SCALARS, {"type": "array", "items": _SCALARS, "minItems": 1}]}},
        "fields": _FIELD_MAP,
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "company", "category", "endpoints"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": _NAME},
        "name": {"type": "string", "minLength": 1},
        "company": {"type": "string", "minLength": 1},
        "category": {"type": "string", "minLength": 1},
        "website": {"type": "string"},
        "country": {"type": "string"},
        "description": {"type": "string"},
        "references": {"type": "array", "items": {"type": "string"}},
        # How far the rule is checked: drafts (`leakmap rules draft`) start `experimental`.
        "status": {"enum": ["stable", "experimental", "unverified"]},
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "hosts", "source"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _NAME},
                    "description": {"type": "string"},
                    "hosts": _PATHS,
                    "methods": {"type": "array", "items": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS"]}},
                    "path": {"type": "string"},
                    "decode": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["at", "steps"],
                            "additionalProperties": False,
                            "properties": {
                                "at": {"type": "string"},
                                "steps": {"type": "array", "minItems": 1},
                                "optional": {"type": "boolean"},
                                "if_undecoded": {"type": "boolean"},
                            },
                        },
                    },
                    "records": _PATHS,
                    "fields": _FIELD_MAP,
                    "request_fields": _FIELD_MAP,
                    "shape": {
                        "type": "object",
                        "required": ["require"],
                        "anyOf": [{"required": ["segments"]}, {"required": ["params"]}, {"required": ["headers"]}],
                        "additionalProperties": False,
                        "properties": {"segments": _PATHS, "params": _PATHS, "headers": _PATHS, "require": _PATHS},
                    },
                    "reply": {"oneOf": [_REPLY, {"type": "array", "items": _REPLY, "minItems": 1}]},
                    "source": {"oneOf": [{"type": "string"}, _PATHS]},
                    "shared_host": {"type": "boolean"},
                    "record_variants": {"type": "array", "minItems": 1, "items": _VARIANT},
                },
            },
        },
    },
}


@functools.cache
def _validator() -> Any:
    """The schema's validator, built on first use: a run whose rules all come from the
    compiled-rule cache does not import jsonschema."""
    import jsonschema

    return jsonschema.Draft202012Validator(SCHEMA)


class RuleError(yamldoc.DocumentError):
    """A rule file that cannot be used; `str()` gives file:line: what is wrong."""


@dataclass(slots=True)
class FieldMap:
    """Payload paths → data types, compiled for lookup by the shape of a concrete path."""

    exact: dict[str, str] = field(default_factory=dict)
    # Rule paths written without any `[*]` also match through arrays (`1.2.14` matches
    # `1[0].2[3].14`): protobuf fields are lists only when repeated in that message.
    unindexed: dict[str, str] = field(default_factory=dict)
    wildcards: list[tuple[re.Pattern[str], str, str]] = field(default_factory=list)
    # Answers by path shape (see paths.LookupMemo): every record repeats the same shapes.
    memo: paths.LookupMemo = field(default_factory=paths.LookupMemo, repr=False, compare=False)

    def lookup(self, relative_path: str) -> tuple[str, str] | None:
        """(data type, rule path) for a concrete path relative to the record, or None."""
        if not self.exact and not self.wildcards:
            return None
        return self.memo.get(relative_path, self._lookup, self.exact, self.wildcards)

    def _lookup(self, relative_path: str) -> tuple[str, str] | None:
        if relative_path in self.exact:  # a literal index: positional arrays (`extinfo[1]`)
            return self.exact[relative_path], relative_path
        key = paths.shape(relative_path)
        if key in self.exact:
            return self.exact[key], key
        if self.unindexed:
            bare = key.replace("[*]", "")
            if bare in self.unindexed:
                return self.unindexed[bare], bare
        for regex, data_type, text in self.wildcards:
            if regex.match(relative_path):
                return data_type, text
        return None


@dataclass(frozen=True, slots=True)
class RecordVariant:
    """Fields that apply only to records whose `when` paths hold one of the given values.

    Why: one upload can multiplex payloads whose field numbers mean different things per
    record type (a log batch whose records each name their log source, then carry that
    source's own protobuf). A field map keyed by path alone would mislabel one source's
    fields with another's meaning; a variant keyed by the record's discriminator does not."""

    when: tuple[tuple[tuple[str, ...], frozenset[str]], ...]  # (record-relative path, accepted values)
    fields: FieldMap


_ECHO = re.compile(r"\{param:([\w.-]+)\}")
_ECHO_SAFE = re.compile(r"^[\w.$-]{1,100}$")


def echo_params(body: str, params: dict[str, Any]) -> str:
    """Fill `{param:NAME}` placeholders of a block-mode reply with the request's parameter
    NAME. Some SDKs only accept an answer that echoes their request: a JSONP callback name,
    a request counter the answer must acknowledge (CleverTap web's `rn`). The answer may be
    run as script, so only short word-like values are echoed; anything else becomes ""."""
    def fill(match: re.Match[str]) -> str:
        value = params.get(match.group(1))
        return value if isinstance(value, str) and _ECHO_SAFE.match(value) else ""
    return _ECHO.sub(fill, body)


@dataclass(slots=True)
class Endpoint:
    rule: "Rule"
    id: str
    description: str
    hosts: tuple[str, ...]
    methods: frozenset[str]
    path: re.Pattern[str] | None
    operations: list[Operation]
    records: list[list[str]]
    fields: FieldMap
    request_fields: FieldMap
    shape_segments: tuple[str, ...]
    shape_require: list[list[str]]
    replies: list[dict[str, Any]]
    sources: tuple[str, ...]
    # Query parameter names that mark the format on any host (a proxy that moves the
    # intake path into a parameter: `?forward=/api/v2/track?...`).
    shape_params: tuple[str, ...] = ()
    # Request header names (lower case) that mark the format on any host and path (servers
    # the app owner runs, whose endpoints the app configures).
    shape_headers: tuple[str, ...] = ()
    variants: tuple[RecordVariant, ...] = ()  # looked up before `fields` for matching records
    # The hosts also serve other companies' or products' APIs (www.googleapis.com): only
    # requests this endpoint's path accepts belong to the tracker, the rest are not claimed.
    shared_host: bool = False
    # An operation decodes the whole query (`at: query`): the document then holds the raw
    # query text, for formats where the order of parameters carries meaning.
    parses_query: bool = False
    # The request parameters `reply` looks at (`if_param`, `{param:NAME}`): block mode picks
    # only these out of the request, in one pass, whatever its size. Computed at load.
    reply_params: frozenset[str] = frozenset()

    def reply(self, params: dict[str, Any]) -> dict[str, Any]:
        """The block-mode answer for a request with these query/form parameters: the first
        variant whose `if_param` is present (and not "0"), else the first without one.
        `{param:NAME}` in its body is filled in from the request (see echo_params)."""
        for variant in self.replies:
            name = variant.get("if_param")
            if name is None or params.get(name) not in (None, "", "0"):
                if "{param:" in variant.get("body", ""):
                    return {**variant, "body": echo_params(variant["body"], params)}
                return variant
        return {}

    def accepts(self, method: str, path: str) -> bool:
        """Method and path conditions (the host was matched by the index)."""
        if self.methods and method not in self.methods:
            return False
        return self.path is None or self.path.search(path) is not None


@dataclass(slots=True)
class Rule:
    id: str
    name: str
    company: str
    category: str
    website: str
    country: str
    file: str
    endpoints: list[Endpoint] = field(default_factory=list)


def _compile_fields(mapping: dict[str, str], where: Any, fail: Any) -> FieldMap:
    compiled = FieldMap()
    for path_text, data_type in mapping.items():
        if data_type != NOT_PERSONAL and data_type not in datatypes.DATA_TYPES:
            fail(where + [path_text], f"unknown data type {data_type!r} for field {path_text!r} "
                 f"(see leakmap/datatypes.py, or '{NOT_PERSONAL}' for a non-personal field)")
        try:
            segments = paths.parse(path_text)
        except paths.PathError as e:
            fail(where + [path_text], str(e))
        # A wildcard key, or literal indices beside `[*]` (`body[3][*][0]`: position 0 of
        # every item of the positional array at position 3), which no shape lookup can match.
        mixed = "[*]" in segments and any(s[:1] == "[" and s[1:-1].isdigit() for s in segments)
        if mixed or any("*" in segment for segment in segments if segment != "[*]"):
            compiled.wildcards.append((paths.wildcard_regex(segments), data_type, path_text))
        else:
            compiled.exact[paths.render(segments)] = data_type
            if "[*]" not in segments:
                compiled.unindexed[paths.render(segments)] = data_type
    # Most specific first, whatever the file order (YAML merge keys do not keep it):
    # `*.$email` before `properties.*` before `*.**`.
    compiled.wildcards.sort(key=lambda w: _specificity(paths.parse(w[2])))
    return compiled


def _specificity(segments: list[str]) -> tuple[int, int, bool, int]:
    """Sort key for wildcard paths: fewer `**`, fewer `*`, a literal last key (`*.email`
    before `props.*`), more literal segments, first."""
    keys = [s for s in segments if s != "[*]"]
    deep = sum(s == "**" for s in keys)
    single = sum("*" in s and s != "**" for s in keys)
    literal = sum("*" not in s for s in keys)
    return deep, single, "*" in keys[-1], -literal


def compile_rule(raw: Any, file: str) -> Rule:
    """Validate one parsed rule document and compile it. Raises RuleError."""

    def fail(where: list[Any], message: str) -> None:
        raise RuleError(file, yamldoc.line_of(raw, where), message)

    schema_error = yamldoc.first_schema_error(_validator(), raw)
    if schema_error:
        fail(*schema_error)
    data = yamldoc.plain(raw)
    rule = Rule(data["id"], data["name"], data["company"], data["category"], data.get("website", ""),
                data.get("country", ""), file)
    seen: set[str] = set()
    for index, ep in enumerate(data["endpoints"]):
        where = ["endpoints", index]
        if ep["id"] in seen:
            fail(where + ["id"], f"duplicate endpoint id {ep['id']!r}")
        seen.add(ep["id"])
        rule.endpoints.append(_compile_endpoint(rule, ep, where, fail))
    return rule


def _compile_endpoint(rule: Rule, ep: dict[str, Any], where: list[Any], fail: Any) -> Endpoint:
    try:
        path = re.compile(ep["path"]) if "path" in ep else None
    except re.error as e:
        fail(where + ["path"], f"invalid path regex: {e}")
    operations = []
    for i, op in enumerate(ep.get("decode", [])):
        try:
            operations.append(Operation(op["at"], tuple(paths.parse(op["at"])), compile_steps(op["steps"]),
                                        op.get("optional", False), op.get("if_undecoded", False)))
        except (ValueError, TypeError) as e:
            fail(where + ["decode", i, "steps"], str(e))

    def parse_list(key: str, sub: dict[str, Any]) -> list[list[str]]:
        out = []
        for i, text in enumerate(sub.get(key, [])):
            try:
                out.append(paths.parse(text))
            except paths.PathError as e:
                fail(where + [key, i], str(e))
        return out

    variants = []
    for i, variant in enumerate(ep.get("record_variants", [])):
        if not ep.get("records"):
            fail(where + ["record_variants"], "record_variants need `records` (they apply per record)")
        when = []
        for text, accepted in variant["when"].items():
            try:
                segments = tuple(paths.parse(text))
            except paths.PathError as e:
                fail(where + ["record_variants", i, "when", text], str(e))
            values = accepted if isinstance(accepted, list) else [accepted]
            when.append((segments, frozenset(str(v) for v in values)))
        variants.append(RecordVariant(tuple(when), _compile_fields(
            variant["fields"], where + ["record_variants", i, "fields"], fail)))

    shape = ep.get("shape", {})
    for host in ep["hosts"]:
        if host != host.lower() or " " in host or "/" in host:
            fail(where + ["hosts"], f"host {host!r} must be a lower-case host name (or *.domain)")
    sources = (ep["source"],) if isinstance(ep["source"], str) else tuple(ep["source"])
    replies = ep["reply"] if isinstance(ep.get("reply"), list) else [ep.get("reply", {})]
    return Endpoint(
        rule=rule,
        id=ep["id"],
        description=ep.get("description", ""),
        hosts=tuple(ep["hosts"]),
        methods=frozenset(ep.get("methods", [])),
        path=path,
        operations=operations,
        records=parse_list("records", ep),
        fields=_compile_fields(ep.get("fields", {}), where + ["fields"], fail),
        request_fields=_compile_fields(ep.get("request_fields", {}), where + ["request_fields"], fail),
        shape_segments=tuple(shape.get("segments", [])),
        shape_require=parse_list("require", shape),
        shape_params=tuple(shape.get("params", [])),
        shape_headers=tuple(h.lower() for h in shape.get("headers", [])),
        replies=replies,
        sources=sources,
        shared_host=bool(ep.get("shared_host", False)),
        variants=tuple(variants),
        parses_query=any(op.segments == ("query",) for op in operations),
        reply_params=_reply_params(replies),
    )


def _reply_params(replies: list[dict[str, Any]]) -> frozenset[str]:
    return frozenset(name for variant in replies
                     for name in (variant.get("if_param"), *_ECHO.findall(variant.get("body", ""))) if name)


def bundled_rules_dir() -> Path:
    """The rules shipped with leakmap: inside the installed package, or the checkout's
    top-level tracker_rules/ when running from a clone."""
    packaged = Path(str(resources.files("leakmap"))) / "tracker_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "tracker_rules"


def rule_files(locations: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for location in locations:
        if location.is_dir():
            files.extend(sorted(p for p in location.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(location)
    return files


def load_file(file: Path) -> Rule:
    """Parse, validate and compile one rule file, or take it from the compiled-rule cache
    (rules_cache.py) when neither the file nor leakmap changed. Raises RuleError with
    file:line (see yamldoc.load: libyaml first, ruamel for the line numbers only when
    something is wrong)."""
    return rules_cache.load(file, _compile_file)


def _compile_file(file: Path) -> Rule:
    return yamldoc.load(file, compile_rule, RuleError,
                        "a rule file must be a mapping with id, name, company, category, endpoints")


def load_rules(extra: Iterable[Path] = (), bundled: bool = True) -> tuple[list[Rule], list[Problem]]:
    """All usable rules plus one Problem per unusable file. A rule id defined twice keeps
    the later file, so a user's rule directory can override a bundled rule."""
    locations = ([bundled_rules_dir()] if bundled else []) + [Path(p) for p in extra]
    by_id: dict[str, Rule] = {}
    problems: list[Problem] = []
    for file in rule_files(locations):
        if not file.exists():
            problems.append(Problem(str(file), "", "no such rule file or directory"))
            continue
        try:
            rule = load_file(file)
        except RuleError as e:
            problems.append(Problem(e.file, f"line {e.line}", e.message))
            continue
        by_id[rule.id] = rule
    return list(by_id.values()), problems
