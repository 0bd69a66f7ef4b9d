"""Leaf labels remembered by place and value, across the requests of a run (extract.py asks).

Why: every event of a batch, and every request of an SDK, repeats the same keys with mostly
the same values (the OS, the app version, the project key, the user's id, email and city);
measured on 8,468 requests of eight SDKs, 85% of the leaves repeat an earlier (place, value),
and on 8,829 ad-exchange and attribution requests 96%. A remembered leaf costs a dict lookup
instead of every detector. The golden tests check that a request analysed again with every
leaf remembered, and with no memo, gives the same fields and findings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import paths

if TYPE_CHECKING:
    from .extract import Records
    from .rules import Endpoint

Answer = tuple[str, tuple[tuple[str, str, str, str, str], ...]]  # (field label, findings of the leaf)


class LeafMemo:
    """What the detectors said about a leaf (its field label and its findings, without its
    path), by its place and its value. The place is what the labels depend on besides the
    value: the endpoint, where its records start and which record variants apply, and the
    shape of the path (`a[3].b` → `a[*].b`; the path itself where a rule names a literal
    position). Findings are replayed with the leaf's own path. Long values are not
    remembered (they seldom repeat), nor leaves of long paths, and at MAX_ENTRIES the memo
    starts afresh: values and keys are attacker-controlled. Kept by the Analyzer (its
    indicators are part of the answer) and never shared between analyzers."""

    MAX_ENTRIES = 50_000
    MAX_VALUE_CHARS = 256
    # Longer paths are not remembered either: keys are attacker-controlled, and a path may be
    # up to depth × paths.MAX_KEY_CHARS long. Bounded so, the memo holds at most about 80 MB.
    MAX_PATH_CHARS = 256

    def __init__(self) -> None:
        self.answers: dict[tuple[Any, ...], Answer] = {}
        self.shapes: dict[str, str] = {}  # concrete path → its shape (a regex substitution saved)

    def places(self, endpoint: Endpoint | None, records: Records | None) -> "_Places":
        """The memo keys of one request's leaves."""
        by_shape = endpoint is None or not any(
            m.positional for m in (endpoint.fields, endpoint.request_fields, *(v.fields for v in endpoint.variants)))
        base = (id(endpoint), records.root, records.many) if records else (id(endpoint),)
        return _Places(self, base, by_shape, records if records is not None and records.variants else None)

    def remember(self, key: tuple[Any, ...], answer: Answer) -> None:
        if len(self.answers) >= self.MAX_ENTRIES:
            self.answers.clear()
        self.answers[key] = answer

    def shape(self, path: str) -> str:
        shaped = self.shapes.get(path)
        if shaped is None:
            if len(self.shapes) >= self.MAX_ENTRIES:
                self.shapes.clear()
            shaped = self.shapes[path] = paths.shape(path)
        return shaped


class _Places:
    """Memo keys for the leaves of one request (what is the same for all of them is computed once)."""

    __slots__ = ("memo", "base", "by_shape", "records")

    def __init__(self, memo: LeafMemo, base: tuple[Any, ...], by_shape: bool, records: Records | None) -> None:
        self.memo, self.base, self.by_shape, self.records = memo, base, by_shape, records

    def key(self, path: str, value: str, is_text: bool) -> tuple[Any, ...] | None:
        if len(value) > LeafMemo.MAX_VALUE_CHARS or len(path) > LeafMemo.MAX_PATH_CHARS:
            return None
        place = self.memo.shape(path) if self.by_shape and "[" in path else path
        if self.records is None:
            return (self.base, place, value, is_text)
        relative = self.records.relative(path)
        maps = self.records.variants.get(path[: len(path) - len(relative)].rstrip("."), ()) \
            if relative is not None else ()
        return (self.base, tuple(map(id, maps)), place, value, is_text)
