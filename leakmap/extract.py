"""Extract stage: every uploaded field of a decoded request, labelled with a data type.

Three detectors label a field, strongest first, and each finding says which decided:
- ``rule``: the tracker rule maps this path to a type (or marks it as not personal);
- ``key_name``: the key itself names a type (`user_email`, `phoneNumber`, `lat`...), and the
  value passes that type's sanity check (an email key needs an `@`, a latitude a number);
- ``pattern``: the value has an unmistakable shape (an email address, an E.164 phone number);
- ``indicator``: a honey value the user planted, found plain, URL-, base64-, hex-encoded or hashed;
- ``credential``: an API key, token or session cookie recognised by its format (credentials.py).
Key names, value checks and patterns live in value_types.py, not in any rule, so every tracker gets them.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from . import credentials, paths, special
from .limits import CHECK_EVERY, TookTooLong, clock
from .model import Finding
from .rules import NOT_PERSONAL, Endpoint, FieldMap
from .guess import catch_all_shape
from .leaf_memo import Answer, LeafMemo
from .value_types import LONGEST_NOT_A_VALUE, NOT_A_VALUE, classify_key, contradicts, plausible_type, value_shapes

IDENTITY_TYPES = ("app_id", "app_name", "project_key")
def scalar_text(value: Any) -> str | None:
    """A leaf as the text a finding stores; None for values that carry nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return None
    if isinstance(value, (dict, list)):  # deeper than the depth limit
        return preview(value)
    return str(value)


class _Full(Exception):
    pass


def preview(value: Any, limit: int = 200) -> str:
    """The start of a container's text, like str() but built only as far as *limit*
    characters and 32 levels: str() of a hostile container would build all of it, and
    recurse through all its levels."""
    out: list[str] = []
    room = limit

    def write(text: str) -> None:
        nonlocal room
        out.append(text[:room])
        room -= len(text)
        if room <= 0:
            raise _Full

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, (dict, list)) and depth >= 32:
            write("…")
        elif isinstance(node, dict):
            write("{")
            for i, (key, child) in enumerate(node.items()):
                write(", " if i else "")
                write(f"{str(key)[:limit]!r}: ")
                walk(child, depth + 1)
            write("}")
        elif isinstance(node, list):
            write("[")
            for i, child in enumerate(node):
                write(", " if i else "")
                walk(child, depth + 1)
            write("]")
        else:
            write(repr(node[:limit] if isinstance(node, (str, bytes)) else node))

    try:
        walk(value, 0)
    except _Full:
        pass
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Indicator:
    """A honey value: something the tester typed into the app, to be found however encoded."""

    data_type: str
    value: str
    forms: tuple[tuple[str, str], ...]  # (form name, text to look for)

    @classmethod
    def make(cls, data_type: str, value: str) -> "Indicator":
        forms: dict[str, str] = {}
        for variant in dict.fromkeys([value, value.strip().lower()]):
            raw = variant.encode()
            forms.setdefault(variant, "plain" if variant == value else "lowercase")
            forms.setdefault(quote(variant, safe=""), "url-encoded")
            forms.setdefault(quote_plus(variant), "url-encoded")
            forms.setdefault(base64.b64encode(raw).decode().rstrip("="), "base64")
            forms.setdefault(base64.urlsafe_b64encode(raw).decode().rstrip("="), "base64url")
            forms.setdefault(raw.hex(), "hex")
            for algorithm in ("md5", "sha1", "sha256"):
                forms.setdefault(hashlib.new(algorithm, raw).hexdigest(), algorithm)
        # Very short base64 forms would match by chance inside unrelated tokens.
        kept = tuple((name, text) for text, name in forms.items() if len(text) >= 4)
        return cls(data_type, value, kept)

    def find(self, text: str) -> str:
        """Name of the first form of this value inside *text*, or ""."""
        lowered = text.lower()
        for name, form in self.forms:
            if form in text or (name in ("hex", "md5", "sha1", "sha256") and form in lowered):
                return name
        return ""


def _context(path: str) -> str:
    root = path.split(".", 1)[0].split("[", 1)[0]
    return root if root in ("query", "body", "header", "cookie", "path") else "body"


class Extraction:
    """Collects fields and findings for one request, one finding per (data type, value).
    `stopped`: why extraction ended early ("" when every leaf was read); what was found up
    to then is kept. Findings past *max_findings* are counted in `dropped_findings`."""

    def __init__(self, max_findings: int = 20_000) -> None:
        self.fields: list[tuple[str, str, str]] = []
        self.findings: list[Finding] = []
        self.identity: dict[str, str] = {}
        self.stopped = ""
        self.dropped_findings = 0
        self._max_findings = max_findings
        self._seen: set[tuple[str, str]] = set()

    def add(self, data_type: str, value: str, path: str, detector: str, detail: str, context: str = "") -> None:
        """One finding at *path* (its *context* derived from the path unless given)."""
        if (data_type, value) in self._seen:
            return
        if len(self.findings) >= self._max_findings:
            self.dropped_findings += 1
            return
        self._seen.add((data_type, value))
        self.findings.append(Finding(data_type, value, path, context or _context(path), detector, detail))
        if data_type in IDENTITY_TYPES and data_type not in self.identity:
            self.identity[data_type] = value
            self.identity[f"{data_type}_path"] = path

    def replay(self, found: tuple[tuple[str, str, str, str, str], ...], path: str) -> None:
        """Add a leaf's remembered findings (leaf_memo.LeafMemo) under its *path*."""
        for data_type, value, context, detector, detail in found:
            self.add(data_type, value, path, detector, detail, context)


@dataclass(frozen=True, slots=True)
class Records:
    """Where an endpoint's records (events) sit: one object at `root`, or the items of the
    array at `root` (`many`). Finding a leaf's record is then string work, not a scan.
    `variants` holds, per record path, the field maps of the rule's record_variants whose
    `when` that record satisfies."""

    root: str
    many: bool
    variants: dict[str, tuple[FieldMap, ...]] = field(default_factory=dict, compare=False, hash=False)

    def relative(self, path: str) -> str | None:
        """*path* relative to the record that holds it, or None when outside every record."""
        if not path.startswith(self.root) or len(path) == len(self.root):
            return None
        rest = path[len(self.root):]
        if self.many:
            if not rest.startswith("["):
                return None
            close = rest.find("]")
            if close < 2 or not rest[1:close].isdigit():
                return None
            rest = rest[close + 1:]
            if not rest:
                return None
        return rest[1:] if rest[0] == "." else rest if rest[0] == "[" else None


def _records(doc: Any, endpoint: Endpoint) -> Records | None:
    """The first of the endpoint's `records` paths that holds an object or an array of objects."""
    for segments in endpoint.records:
        for path, node in paths.resolve(doc, segments):
            if isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
                items = [(paths.item(path, i), record) for i, record in enumerate(node)]
                return Records(path, True, _variants(endpoint, items))
            if isinstance(node, dict):
                return Records(path, False, _variants(endpoint, [(path, node)]))
    return None


def _variants(endpoint: Endpoint, records: list[tuple[str, dict[str, Any]]]) -> dict[str, tuple[FieldMap, ...]]:
    """Record path → field maps of the endpoint's record variants that this record matches."""
    if not endpoint.variants:
        return {}
    out: dict[str, tuple[FieldMap, ...]] = {}
    for path, record in records:
        maps = tuple(v.fields for v in endpoint.variants
                     if all(any(scalar_text(value) in accepted for _, value in paths.resolve(record, list(segments)))
                            for segments, accepted in v.when))
        if maps:
            out[path] = maps
    return out


OpenValue = Callable[[str, str], Any]  # (text, path) → the tree or text it decodes to (generic.Opener.open_text)
# Values that may hold encoded values: percent-escapes, JSON text, a base64 run (alone or a word of a longer text).
_ENCODED_HINT = re.compile(r"%[0-9A-Fa-f]{2}|^\s*[\[{]|(?:^|\s)[A-Za-z0-9+/_-]{16,}={0,2}(?:\s|$)")
_BASE64_WORD = re.compile(r"(?:^|(?<=\s))[A-Za-z0-9+/_-]{16,}={0,2}(?=\s|$)")
_NOT_OPENED = frozenset({"session_replay", "error_report", "user_agent", "page_url", "referrer", "url"})
MAX_OPENED = 65_536  # longer values are not opened (a recording, a blob): their own steps do that


def extract(doc: dict[str, Any], endpoint: Endpoint | None, indicators: Iterable[Indicator], max_depth: int,
            max_fields: int = 20_000, deadline: float = math.inf, open_value: OpenValue | None = None,
            memo: LeafMemo | None = None) -> Extraction:
    """Walk every leaf of the decoded document and label it. Every leaf is checked by the
    detectors, but past *max_fields* only fields with a specific label are kept as uploaded
    fields (a session-replay batch can hold hundreds of thousands of leaves), and past twice
    that, none; at most 5 × *max_fields* findings are kept (a real request has a few dozen).
    Once `time.thread_time()` passes *deadline* the walk stops with `stopped` set, keeping
    what it found. *open_value* opens values encoded inside values (percent-encoding, JSON
    text, base64) for the pattern and key-name detectors; the leaf stays as sent. *memo*
    (kept by the caller across requests) remembers each leaf's labels by place and value."""
    out = Extraction(5 * max_fields)
    indicators = list(indicators)
    records = _records(doc, endpoint) if endpoint else None
    places = (memo or LeafMemo()).places(endpoint, records)
    dropped = number = 0
    try:
        for number, (path, raw) in enumerate(paths.leaves(doc, max_depth=max_depth, deadline=deadline)):
            if number % CHECK_EVERY == CHECK_EVERY - 1 and deadline != math.inf and clock() > deadline:
                raise TookTooLong(deadline)
            if raw.__class__ is str:
                value, is_text = raw, True
            else:
                value, is_text = scalar_text(raw), False
                if value is None:
                    if isinstance(raw, bytes) and not path.startswith("header"):
                        out.fields.append((path, f"<{len(raw)} bytes not decoded>", ""))
                    continue
            key = places.key(path, value, is_text) if memo is not None else None
            answer = memo.answers.get(key) if key is not None else None  # type: ignore[union-attr]
            if answer is None:
                answer = _detect(path, value, is_text, endpoint, records, indicators, open_value)
                if key is not None:
                    memo.remember(key, answer)  # type: ignore[union-attr]
            labelled, found = answer
            if found:
                out.replay(found, path)
            if labelled or not path.startswith("header"):
                if len(out.fields) < max_fields or \
                        (labelled not in ("", "custom_property") and len(out.fields) < 2 * max_fields):
                    out.fields.append((path, value, labelled))
                else:
                    dropped += 1
    except TookTooLong:
        out.stopped = f"stopped after {number} fields"
    if dropped:
        out.fields.append(("…", f"{dropped} more fields not listed (limit {max_fields})", ""))
    return out


def _detect(path: str, value: str, is_text: bool, endpoint: Endpoint | None, records: Records | None,
            indicators: list[Indicator], open_value: OpenValue | None) -> Answer:
    """What every detector says about one leaf: its field label and its findings (without
    its path, so that the answer can be remembered for the same place and value)."""
    tape = _Tape()
    labelled = _label(tape, path, value, endpoint, records)
    if open_value is not None and is_text:
        inside_value(tape, path, value, labelled, open_value)
    for indicator in indicators:
        form = indicator.find(value)
        if form:
            tape.add(indicator.data_type, indicator.value, path, "indicator", form)
            labelled = labelled or indicator.data_type
    return labelled, tuple(tape)


class _Tape(list[tuple[str, str, str, str, str]]):
    """The findings of one leaf, recorded without its path (data type, value, context,
    detector, detail), so that they can be remembered and replayed onto any leaf of the same
    place and value. The detectors write into it as into an Extraction."""

    def add(self, data_type: str, value: str, path: str, detector: str, detail: str) -> None:
        self.append((data_type, value, _context(path), detector, detail))


Sink = Extraction | _Tape  # where the detectors write a leaf's findings
@lru_cache(maxsize=4096)
def _is_catch_all(rule_path: str) -> bool:
    """A catch-all (`properties.*`, `*.*[*]`, `**`) yields to key names and patterns;
    `*.$email` does not. Rule paths are few, so this is computed once per path."""
    return paths.INDEX_SUFFIX.sub("", rule_path).endswith("*")


def _label(out: Sink, path: str, value: str, endpoint: Endpoint | None, records: Records | None) -> str:
    """Apply rule, key-name and pattern detectors to one leaf; return its main data type."""
    rule_hit = None
    if endpoint is not None:
        # With `records` declared, `fields` apply inside records only (none present: none apply).
        relative = (records.relative(path) if records else None) if endpoint.records else path
        if relative is not None and records is not None and records.variants:
            record = path[: len(path) - len(relative)].rstrip(".")
            for fields in records.variants.get(record, ()):
                rule_hit = fields.lookup(relative)
                if rule_hit is not None:
                    break
        if relative is not None and rule_hit is None:
            rule_hit = endpoint.fields.lookup(relative)
        if rule_hit is None:
            rule_hit = endpoint.request_fields.lookup(path)
    main = ""
    if rule_hit is not None and contradicts(rule_hit[0], value):
        rule_hit = None  # the field holds something else here: key names and patterns decide
    is_catch_all = rule_hit is not None and _is_catch_all(rule_hit[1])
    if len(value) <= LONGEST_NOT_A_VALUE and value.lower() in NOT_A_VALUE:
        # Empty values carry nothing; true/false do when a rule names the field
        # (consent given, device rooted, on Wi-Fi), not when only a catch-all saw them.
        if rule_hit and not is_catch_all and rule_hit[0] != NOT_PERSONAL and value in ("true", "false"):
            data_type, detail = plausible_type(rule_hit[0], value, rule_hit[1])
            out.add(data_type, value, path, "rule", detail)
            return data_type
        return rule_hit[0] if rule_hit and rule_hit[0] != NOT_PERSONAL else ""
    if rule_hit and not is_catch_all:
        if rule_hit[0] == NOT_PERSONAL:
            return ""
        main, detail = plausible_type(rule_hit[0], value, rule_hit[1])
        out.add(main, value, path, "rule", detail)
    else:
        if endpoint is not None and not path.startswith("header"):
            key = paths.last_key(path)
            main = classify_key(key, value)
            if main:
                out.add(main, value, path, "key_name", key)
            elif rule_hit and rule_hit[0] == "custom_property":
                main = _shape_of_custom(out, path, key, value)
        if not main and rule_hit and rule_hit[0] != NOT_PERSONAL:
            main = rule_hit[0]
            out.add(main, value, path, "rule", rule_hit[1])
    for found in value_shapes(value):
        if found[0] != main:
            out.add(found[0], found[1], path, "pattern", found[2])
            main = main or found[0]
    if (not (rule_hit and not is_catch_all) or main in ("page_url", "referrer")) and \
            (endpoint is not None or not path.startswith(("header", "cookie"))):
        # No rule names this field (a rule's own label, such as an SDK's session token, keeps
        # its type), or it is a page URL: a credential recognised by its format or place.
        for secret in credentials.in_field(path, value):
            detail = f"{secret.kind}: {secret.evidence}" if secret.evidence else secret.kind
            out.add(secret.data_type, secret.value, path, "credential", detail)
            main = main or secret.data_type
    add_special(out, path, value, main)
    return main


def inside_value(out: Sink, path: str, value: str, main: str, open_value: OpenValue) -> None:
    """Findings inside a value that encodes other values: an email in a percent-encoded URL
    inside JSON, JSON inside a string, base64 (the whole value or one word of a text). The
    inner values are typed by their key names and shapes and searched for special-category
    terms; the finding keeps the leaf's path and says in `detail` that it came from inside."""
    if main in _NOT_OPENED or len(value) > MAX_OPENED or not _ENCODED_HINT.search(value[:4096]):
        return
    candidates = [value] + ([m.group(0) for m in _BASE64_WORD.finditer(value[:4096])][:8] if " " in value else [])
    for text in candidates:
        opened = open_value(text, path)
        if opened == text:
            continue
        for inner_path, raw in paths.leaves(opened, max_depth=16):
            inner = scalar_text(raw)
            if not inner or inner.lower() in NOT_A_VALUE:
                continue
            key = paths.last_key(inner_path) if inner_path else ""
            by_key = classify_key(key, inner) if key else ""
            where = f" (key {key!r} inside the value)" if key else " (decoded from the value)"
            if by_key and by_key != main:
                out.add(by_key, inner, path, "key_name", f"{key}{where}")
            for data_type, matched, name in value_shapes(inner):
                out.add(data_type, matched, path, "pattern", f"{name}{where}")
            hit = special.in_field(key, inner, by_key)
            if hit is not None:
                out.add(hit[0].data_type, inner, path, "special", special.detail(*hit) + where)


def add_special(out: Sink, path: str, value: str, main: str) -> None:
    """A finding of a special category (GDPR Art. 9, financial) when the field's key name or
    value holds one of its terms (leakmap/special.py); headers and cookies are the client's,
    not the person's."""
    if path.startswith(("header", "cookie")):
        return
    hit = special.in_field(paths.last_key(path), value, main)
    if hit is not None:
        out.add(hit[0].data_type, value, path, "special", special.detail(*hit))


def _shape_of_custom(out: Sink, path: str, key: str, value: str) -> str:
    """A catch-all's custom property whose value's shape says more (a user agent, a locale,
    coordinates): that type, found by pattern; "" when the shape says nothing."""
    shaped = catch_all_shape(key, value)
    if shaped is None:
        return ""
    out.add(shaped.data_type, shaped.value, path, "pattern", shaped.reason)
    return shaped.data_type


def value_patterns(value: str) -> list[tuple[str, str, str]]:
    """(data type, matched text, what matched) for values whose shape alone says their type:
    emails, phone numbers and credentials. Used for text that has no key (a replay's page text)."""
    return value_shapes(value) + [(s.data_type, s.value, s.kind) for s in credentials.in_value(value)]
