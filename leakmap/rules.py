"""Tracker rules: load the declarative YAML files, validate them, compile them once.

A rule reads like a Sigma rule or a Nuclei template: metadata (id, name, company, category),
then `endpoints`, each with matchers (hosts, methods, path, or `shape` for endpoints with no
host), decoding operations, and extractors (`fields`: path → data type, every path starting at
its root: `query`, `path`, `body`, `header`, `cookie`, or `record`, each of the endpoint's
`records`). docs/rules.md is the reference. A malformed file is reported with every error it
holds, each with its file, line and what is wrong; the other rules still load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import datatypes, paths, rule_blocks, rules_cache, yamldoc
from .rule_schema import (MIGRATE_HINT, NOT_PERSONAL, RECORD_ROOT, REQUEST_ROOTS, STATUSES, schema_message,
                          unknown_type, validator)
from .decode import Operation, compile_steps
from .model import Problem


class RuleError(yamldoc.DocumentError):
    """A rule file that cannot be used; `str()` gives file:line: what is wrong (the first
    error). `errors` holds every error found in the file, in document order, so that
    `leakmap rules check` can list them all at once."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(file, line, message)
        self.errors: list[RuleError] = [self]

    @classmethod
    def of(cls, errors: list["RuleError"]) -> "RuleError":
        """One exception for all of *errors* (the first names the file's first problem)."""
        errors = sorted(errors, key=lambda e: e.line)
        first = errors[0]
        more = f" (and {len(errors) - 1} more: leakmap rules check {first.file})" if len(errors) > 1 else ""
        combined = cls(first.file, first.line, first.message + more)
        combined.errors = errors
        return combined


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
    # A rule path names a literal array position (`extinfo[1]`): two concrete paths of one
    # shape may then have different types, so answers are kept per concrete path.
    positional: bool = False

    def add(self, segments: list[str], data_type: str) -> None:
        """Map the rule path *segments* (relative to where this map applies) to *data_type*."""
        text = paths.render(segments)
        self.positional = self.positional or paths.POSITION.search(text) is not None
        # A wildcard key, or literal indices beside `[*]` (`body[3][*][0]`: position 0 of
        # every item of the positional array at position 3), which no shape lookup can match.
        mixed = "[*]" in segments and any(s[:1] == "[" and s[1:-1].isdigit() for s in segments)
        if mixed or any("*" in segment for segment in segments if segment != "[*]"):
            self.wildcards.append((paths.wildcard_regex(segments), data_type, text))
        else:
            self.exact[text] = data_type
            if "[*]" not in segments:
                self.unindexed[text] = data_type

    def sort(self) -> None:
        """Most specific wildcard first, whatever the file order (YAML merge keys do not
        keep it): `*.$email` before `properties.*` before `*.**`."""
        self.wildcards.sort(key=lambda w: _specificity(paths.parse(w[2])))

    def lookup(self, relative_path: str) -> tuple[str, str] | None:
        """(data type, rule path) for a concrete path relative to the record, or None."""
        if not self.exact and not self.wildcards:
            return None
        return self.memo.get(relative_path, self._lookup, not self.positional)

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
    hosts: tuple[str, ...]  # empty: recognised on any host by its shape alone
    methods: frozenset[str]
    path: paths.LazyPattern | None  # compiled when a request first needs it
    operations: list[Operation]
    records: list[list[str]]
    # The rule's one `fields` map, split at load time by root: with `records`, the `record.`
    # paths (stored relative to the record) and the request paths; without, all request paths.
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
    # Path prefixes (`/b/ss/`) that mark the format on any host, for formats whose last path
    # segment varies (Adobe's `/b/ss/<suite>/1/<version>/s<random>`).
    shape_prefixes: tuple[str, ...] = ()
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
    status: str = "stable"  # stable | experimental | unverified (the rule's, unless the endpoint says)

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

    def shape_accepts(self, method: str, path: str) -> bool:
        """Method and, for an endpoint with no host, path conditions of a request on a host
        no rule names (with hosts, a proxy may have rewritten the path)."""
        if self.methods and method not in self.methods:
            return False
        return bool(self.hosts) or self.path is None or self.path.search(path) is not None

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
    status: str = "stable"
    endpoints: list[Endpoint] = field(default_factory=list)


def _compile_fields(mapping: dict[str, str], where: list[Any], fail: Any, has_records: bool,
                    record_only: bool = False) -> tuple[FieldMap, FieldMap]:
    """One `fields` map → (record fields relative to the record, request fields from the
    document root). Every path starts at its root; a path that does not is an error that
    names the migration script (rules written for the two-map language)."""
    record, request = FieldMap(), FieldMap()
    unrooted: list[str] = []
    for path_text, data_type in mapping.items():
        here = where + [path_text]
        if not isinstance(data_type, str) or (data_type != NOT_PERSONAL and data_type not in datatypes.DATA_TYPES):
            fail(here, unknown_type(path_text, data_type))
            continue
        try:
            segments = paths.parse(path_text)
        except paths.PathError as e:
            fail(here, str(e))
            continue
        root = segments[0]
        if root == RECORD_ROOT and has_records and len(segments) > 1:
            record.add(segments[1:], data_type)
        elif root in REQUEST_ROOTS and not record_only:
            request.add(segments, data_type)
        elif root == RECORD_ROOT:
            fail(here, f"field {path_text!r}: `record.` paths need the endpoint's `records` (where its records are)"
                 if not has_records else f"field {path_text!r}: name a key inside the record (`record.KEY`)")
        else:
            unrooted.append(path_text)
    if unrooted:  # one error per map: an old file has hundreds of them
        allowed = "`record.`" if record_only else \
            ", ".join(f"`{r}`" for r in REQUEST_ROOTS + ((RECORD_ROOT,) if has_records else ()))
        more = f" (and {len(unrooted) - 1} more paths of this map)" if len(unrooted) > 1 else ""
        fail(where + [unrooted[0]], f"field {unrooted[0]!r}{more} must start at its root: {allowed} "
                                    f"(for example `record.{unrooted[0]}`); {MIGRATE_HINT}")
    record.sort()
    request.sort()
    return record, request


def _specificity(segments: list[str]) -> tuple[int, int, bool, int]:
    """Sort key for wildcard paths: fewer `**`, fewer `*`, a literal last key (`*.email`
    before `props.*`), more literal segments, first."""
    keys = [s for s in segments if s != "[*]"] or [""]
    deep = sum(s == "**" for s in keys)
    single = sum("*" in s and s != "**" for s in keys)
    literal = sum("*" not in s for s in keys)
    return deep, single, "*" in keys[-1], -literal


def compile_rule(raw: Any, file: str) -> Rule:
    """Validate one parsed rule document and compile it. Raises RuleError holding every
    error found (schema, old spelling, data types, paths, regexes), each with its line."""
    errors: list[RuleError] = []

    def fail(where: list[Any], message: str) -> None:
        errors.append(RuleError(file, yamldoc.line_of(raw, where), message))

    data = yamldoc.plain(raw)
    _old_spelling(data, fail)
    for where, message in yamldoc.schema_errors(validator(), raw, schema_message):
        if "'request_fields'" not in message:  # said above, with how to migrate
            fail(where, message)
    schema_failed = bool(errors)
    rule = None
    try:
        rule = _compile_rule(data, file, fail)
    except (KeyError, TypeError, AttributeError, ValueError):
        if not schema_failed:  # the schema let it through: a bug, not a rule error
            raise
    if errors or rule is None:
        # A map shared through anchors repeats its errors at every use: say each once.
        raise RuleError.of(list({e.message: e for e in reversed(errors)}.values()))
    return rule


def _old_spelling(data: Any, fail: Any) -> None:
    """`request_fields` is the two-map spelling: say how to migrate, not just "unexpected"."""
    for index, ep in enumerate(data.get("endpoints", []) if isinstance(data, dict) else []):
        if isinstance(ep, dict) and "request_fields" in ep:
            fail(["endpoints", index, "request_fields"],
                 f"`request_fields` is gone: every path now goes in one `fields` map ({MIGRATE_HINT})")


def _compile_rule(data: dict[str, Any], file: str, fail: Any) -> Rule | None:
    status = data.get("status", "stable")
    rule = Rule(data["id"], data["name"], data["company"], data["category"], data.get("website", ""),
                data.get("country", ""), file, status if status in STATUSES else "stable")
    seen: set[str] = set()
    for index, ep in enumerate(data["endpoints"]):
        where = ["endpoints", index]
        if ep["id"] in seen:
            fail(where + ["id"], f"duplicate endpoint id {ep['id']!r}")
        seen.add(ep["id"])
        endpoint = _compile_endpoint(rule, ep, where, fail)
        if endpoint is not None:
            rule.endpoints.append(endpoint)
    return rule


def _compile_endpoint(rule: Rule, ep: dict[str, Any], where: list[Any], fail: Any) -> Endpoint | None:
    path = None
    try:
        if "path" in ep:
            re.compile(ep["path"])  # checked now; compiled for use when a request first needs it
            path = paths.LazyPattern(ep["path"])
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

    has_records = bool(ep.get("records"))
    variants = []
    for i, variant in enumerate(ep.get("record_variants", [])):
        if not has_records:
            fail(where + ["record_variants"], "record_variants need `records` (they apply per record)")
            break
        when = []
        for text, accepted in variant["when"].items():
            try:
                segments = tuple(paths.parse(text))
            except paths.PathError as e:
                fail(where + ["record_variants", i, "when", text], str(e))
                continue
            values = accepted if isinstance(accepted, list) else [accepted]
            # As extract's scalar_text writes leaves: YAML `false` matches JSON false ("false").
            when.append((segments, frozenset(str(v).lower() if isinstance(v, bool) else str(v) for v in values)))
        variant_fields, _ = _compile_fields(variant["fields"], where + ["record_variants", i, "fields"], fail,
                                            has_records, record_only=True)
        variants.append(RecordVariant(tuple(when), variant_fields))

    fields = ep.get("fields", {})
    if ep.get("use"):
        try:  # the blocks' fields first; the endpoint's own win where both name a path
            fields = {**rule_blocks.fields_of(ep["use"], rule.file), **fields}
        except rule_blocks.BlockError as e:
            fail(where + ["use"], str(e))
    record_fields, request_fields = _compile_fields(fields, where + ["fields"], fail, has_records)
    if not has_records:  # no records: the whole request is the one record, and every path is rooted
        record_fields, request_fields = request_fields, FieldMap()
    shape = ep.get("shape", {})
    for host in ep.get("hosts", []):
        if host != host.lower() or " " in host or "/" in host:
            fail(where + ["hosts"], f"host {host!r} must be a lower-case host name (or *.domain)")
    sources = (ep["source"],) if isinstance(ep["source"], str) else tuple(ep["source"])
    replies = ep["reply"] if isinstance(ep.get("reply"), list) else [ep.get("reply", {})]
    return Endpoint(
        rule=rule,
        id=ep["id"],
        description=ep.get("description", ""),
        hosts=tuple(ep.get("hosts", [])),
        methods=frozenset(ep.get("methods", [])),
        path=path,
        operations=operations,
        records=parse_list("records", ep),
        fields=record_fields,
        request_fields=request_fields,
        shape_segments=tuple(shape.get("segments", [])),
        shape_require=parse_list("require", shape),
        shape_params=tuple(shape.get("params", [])),
        shape_headers=tuple(h.lower() for h in shape.get("headers", [])),
        shape_prefixes=tuple(shape.get("path_prefix", [])),
        replies=replies,
        sources=sources,
        shared_host=bool(ep.get("shared_host", False)),
        variants=tuple(variants),
        parses_query=any(op.segments == ("query",) for op in operations),
        reply_params=_reply_params(replies),
        status=ep.get("status", rule.status),
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
    return rules_cache.load(file, _compile_file, lambda: rule_blocks.blocks_key(file))


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
