"""Policy gate: check the findings of a store against what a policy file allows.

A policy says, per app (a glob; `*` for every app), which receivers the app may contact and
which data it may or may not send (README, "Policy checks in CI"). It is validated like a
tracker rule: JSON Schema (shipped as data/policy.schema.json, printed by
`leakmap check --print-schema`) plus name checks, each error as file:line. The check streams
the store's requests with their findings once, so its memory is the violations found, not
the capture. Violations are grouped by (policy entry, app, receiver, data type): one line
per group with its first evidence, and a stable fingerprint for SARIF.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema

from . import labels, yamldoc
from .match import registrable_domain
from .report import redact_url, redact_value
from .store import Store, receiver_name

DENIED = "leakmap.policy.denied"
NOT_ALLOWED = "leakmap.policy.not-allowed"
RECEIVER_NOT_ALLOWED = "leakmap.policy.receiver-not-allowed"
RULE_HELP = {
    DENIED: "The app sent data (or contacted a receiver) that a `deny` entry of the policy forbids.",
    NOT_ALLOWED: "The app sent data that no `allow` entry of the policy allows.",
    RECEIVER_NOT_ALLOWED: "The app contacted a receiver that the policy's `allow_receivers` (or `allow`) "
                          "does not list.",
}


class PolicyError(yamldoc.DocumentError):
    """A policy that cannot be used; `str()` gives file:line: what is wrong."""


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(labels.data_file("policy.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One allow/deny entry, its names resolved at load time."""

    where: str  # apps["*"].deny[0], for messages
    line: int
    receivers: tuple[str, ...]  # case-folded globs; () = any receiver
    data_types: frozenset[str] | None  # None = any data (a receiver-only entry)
    note: str = ""

    def matches_receiver(self, names: Iterable[str]) -> bool:
        return not self.receivers or _any_glob(names, self.receivers)

    def matches(self, names: Iterable[str], data_type: str) -> bool:
        return self.matches_receiver(names) and (self.data_types is None or data_type in self.data_types)

    def describe(self) -> str:
        return f"{self.where}" + (f" ({self.note})" if self.note else "")


@dataclass(slots=True)
class Section:
    pattern: str  # app glob, case-folded
    where: str
    line: int
    allow_receivers: tuple[str, ...] | None = None
    allow_receivers_line: int = 0
    allow: list[Entry] | None = None
    allow_line: int = 0
    deny: list[Entry] = field(default_factory=list)
    first_party: tuple[str, ...] = ()


@dataclass(slots=True)
class Policy:
    file: str
    sections: list[Section]

    def sections_for(self, app: str) -> list[Section]:
        name = app.casefold()
        return [s for s in self.sections if fnmatch.fnmatchcase(name, s.pattern)]


def _any_glob(names: Iterable[str], globs: Iterable[str]) -> bool:
    names = [n.casefold() for n in names if n]
    return any(fnmatch.fnmatchcase(n, g) for g in globs for n in names)


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def compile_policy(raw: Any, file: str) -> Policy:
    """Validate one parsed policy document and resolve its names. Raises PolicyError."""

    def fail(where: list[Any], message: str) -> None:
        raise PolicyError(file, yamldoc.line_of(raw, where), message)

    schema_error = yamldoc.first_schema_error(_validator(), raw)
    if schema_error:
        fail(*schema_error)
    data = yamldoc.plain(raw)
    sections = []
    for app, body in data["apps"].items():
        at = ["apps", app]
        name = f"apps[{json.dumps(app, ensure_ascii=False)}]"
        section = Section(app.casefold(), name, yamldoc.line_of(raw, at))
        if "allow_receivers" in body:
            section.allow_receivers = tuple(r.casefold() for r in body["allow_receivers"])
            section.allow_receivers_line = yamldoc.line_of(raw, at + ["allow_receivers"])
        if "allow" in body:
            section.allow = [_entry(raw, at + ["allow", i], f"{name}.allow[{i}]", e, fail)
                             for i, e in enumerate(body["allow"])]
            section.allow_line = yamldoc.line_of(raw, at + ["allow"])
        section.deny = [_entry(raw, at + ["deny", i], f"{name}.deny[{i}]", e, fail) for i, e in enumerate(body.get("deny", []))]
        section.first_party = tuple(h.casefold() for h in body.get("first_party", []))
        sections.append(section)
    return Policy(file, sections)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _entry(raw: Any, at: list[Any], where: str, body: dict[str, Any], fail: Any) -> Entry:
    types: frozenset[str] | None = None
    for field_name, resolve in (("data_type", labels.data_types_for), ("category", labels.category_types)):
        if field_name not in body:
            continue
        names = _as_list(body[field_name])
        resolved: set[str] = set()
        for i, text in enumerate(names):
            try:
                resolved |= resolve(text)
            except ValueError as e:
                fail(at + [field_name] + ([i] if isinstance(body[field_name], list) else []), str(e))
        types = frozenset(resolved) if types is None else types & resolved
    receivers = tuple(r.casefold() for r in _as_list(body.get("receiver", [])))
    return Entry(where, yamldoc.line_of(raw, at), receivers, types, body.get("note", ""))


def load_policy(file: Path) -> Policy:
    """Parse and validate a policy file. Raises PolicyError with file:line."""
    return yamldoc.load(file, compile_policy, PolicyError, "a policy must be a mapping with `apps:`", lines=True)


# --- checking ---------------------------------------------------------------------------------------

@dataclass(slots=True)
class Violation:
    """One group of findings (or requests) that break one policy entry."""

    rule_id: str
    line: int  # in the policy file: where the broken entry is
    where: str
    app: str
    receiver: str
    company: str
    data_type: str  # "" for a receiver-level violation
    message: str
    requests: int = 0
    method: str = ""
    url: str = ""
    path: str = ""
    value: str = ""

    def fingerprint_key(self) -> str:
        """What makes this violation the same one in the next CI run: not the values or URLs."""
        return "\x1f".join((self.rule_id, self.where, self.app, self.receiver, self.data_type))


@dataclass(slots=True)
class Outcome:
    policy: Policy
    violations: list[Violation]
    pairs: dict[tuple[str, str], int]  # (app, receiver) checked → requests


@dataclass(slots=True)
class _Request:
    id: int
    app: str
    receiver: str
    company: str
    names: tuple[str, ...]
    host: str
    method: str
    url: str
    findings: list[tuple[str, str, str]]  # (data_type, value, path)


def _requests(store: Store) -> Iterator[_Request]:
    """Every stored request with its findings, streamed in id order."""
    trackers = store.trackers()
    rows = store.db.execute(
        "SELECT r.id, r.app, r.tracker, r.company, r.host, r.method, r.url, f.data_type, f.value, f.path"
        " FROM requests r LEFT JOIN findings f ON f.request_id = r.id ORDER BY r.id, f.id")
    for request_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        first, *rest = list(group)
        _, app, tracker, company, host, method, url = first[:7]
        receiver = receiver_name(tracker, company, host, trackers)
        names = (tracker, receiver, company) if tracker else (host, registrable_domain(host))
        found = [(row[7], row[8], row[9]) for row in (first, *rest) if row[7] is not None]
        yield _Request(request_id, app or "unattributed", receiver, company or "", tuple(n for n in names if n),
                       host or "", method, url, found)


def check(store: Store, policy: Policy, show_values: bool = False) -> Outcome:
    """Every violation of *policy* in *store*, grouped; values and URLs redacted unless
    *show_values*."""
    groups: dict[tuple[str, ...], Violation] = {}
    last_request: dict[tuple[str, ...], int] = {}  # rows come per request: count each request once
    pairs: dict[tuple[str, str], int] = {}
    for request in _requests(store):
        sections = [s for s in policy.sections_for(request.app)
                    if not (s.first_party and _any_glob([request.host], s.first_party))]
        if not sections:
            continue
        pairs[(request.app, request.receiver)] = pairs.get((request.app, request.receiver), 0) + 1
        for hit in _violations(request, sections):
            key = (hit.rule_id, hit.where, request.app, request.receiver, hit.data_type)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Violation(
                    hit.rule_id, hit.line, hit.where, request.app, request.receiver, request.company, hit.data_type,
                    hit.message, method=request.method, path=hit.path,
                    url=request.url if show_values else redact_url(request.url),
                    value=hit.value if show_values or not hit.value else redact_value(hit.value))
            if last_request.get(key) != request.id:
                group.requests += 1
                last_request[key] = request.id
    violations = sorted(groups.values(), key=lambda v: (v.app, v.receiver, v.line, v.data_type))
    return Outcome(policy, violations, pairs)


class _Hit(NamedTuple):
    """One way one request breaks one section."""

    rule_id: str
    line: int  # of the broken entry in the policy
    where: str
    data_type: str  # "" when the request itself (its receiver) is the violation
    message: str
    value: str = ""
    path: str = ""


def _violations(request: _Request, sections: list[Section]) -> Iterator[_Hit]:
    who = f"{request.app} → {request.receiver}"
    for section in sections:
        if section.allow_receivers is not None and not _any_glob(request.names, section.allow_receivers):
            yield _Hit(RECEIVER_NOT_ALLOWED, section.allow_receivers_line, f"{section.where}.allow_receivers", "",
                       f"{who}: receiver not in {section.where}.allow_receivers")
        if section.allow is not None and not any(e.matches_receiver(request.names) for e in section.allow):
            yield _Hit(RECEIVER_NOT_ALLOWED, section.allow_line, f"{section.where}.allow", "",
                       f"{who}: no entry of {section.where}.allow allows this receiver")
        for entry in section.deny:
            if entry.data_types is None and entry.matches_receiver(request.names):
                yield _Hit(DENIED, entry.line, entry.where, "", f"{who}: receiver denied by {entry.describe()}")
        for data_type, value, path in request.findings:
            for entry in section.deny:
                if entry.data_types is not None and entry.matches(request.names, data_type):
                    yield _Hit(DENIED, entry.line, entry.where, data_type,
                               f"{who}: {data_type} denied by {entry.describe()}", value, path)
            if section.allow is not None and not any(e.matches(request.names, data_type) for e in section.allow):
                yield _Hit(NOT_ALLOWED, section.allow_line, f"{section.where}.allow", data_type,
                           f"{who}: {data_type} not allowed by {section.where}.allow", value, path)


def describe(violation: Violation, file: str) -> str:
    """One line: where in the policy, what, and the first evidence."""
    evidence = f"{violation.method} {violation.url}"
    if violation.path:
        evidence += f" {violation.path}" + (f" = {violation.value}" if violation.value else "")
    times = "1 request" if violation.requests == 1 else f"{violation.requests} requests"
    return f"{file}:{violation.line}: {violation.message} ({times}; first: {evidence})"
