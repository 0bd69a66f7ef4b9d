"""Field paths: how rules name a place in a decoded payload, and how findings cite it.

A rule path is dot-separated keys, with `[*]` for "every array item" and `*` for "every key":
`properties.$os`, `batch[*].context.device.id`, `$set.*`. Keys may start with `$`; a key that
holds a dot or bracket is written `["a.b"]`. A concrete path (`body.data[3].properties.$os`)
is what a finding stores as evidence. Matching a concrete path against rule paths is a dict
lookup on its *shape* (indices replaced by `[*]`), so it costs the same for any number of rules.

Payload keys are attacker-controlled: a key longer than MAX_KEY_CHARS is shortened in
concrete paths (its start, its length and a digest), so that a path costs at most
depth × MAX_KEY_CHARS characters however long the keys, and building the paths of every
leaf stays linear in the payload size.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from functools import lru_cache
from collections.abc import Callable, Iterator
from typing import Any

from .limits import TookTooLong, clock

_TOKEN = re.compile(r'\[\*\]|\[\d+\]|\["((?:[^"\\]|\\.)*)"\]|([^.\[\]]+)|\.')
_INDEX = re.compile(r"\[\d+\]")
INDEX_SUFFIX = re.compile(r"(?:\[(?:\d+|\*)\])+$")  # trailing `[3]` / `[*]` segments
_PLAIN_KEY = re.compile(r"^[^.\[\]\"\s]+$")
MAX_KEY_CHARS = 200


class PathError(ValueError):
    """A rule path that cannot be parsed."""


def parse(path: str) -> list[str]:
    """Split a rule path into segments: keys, `[*]`, or `*`."""
    segments: list[str] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match or match.end() == pos:
            raise PathError(f"cannot parse field path {path!r} at character {pos + 1}")
        token = match.group(0)
        if token != ".":
            if match.group(1) is not None:
                segments.append(json.loads(f'"{match.group(1)}"'))
            elif token.startswith("[") and token != "[*]":
                segments.append(token)
            else:
                segments.append(token)
        pos = match.end()
    if not segments:
        raise PathError("empty field path")
    return segments


def shape(concrete: str) -> str:
    """The rule-path shape of a concrete path: `a[3].b` → `a[*].b`."""
    return _INDEX.sub("[*]", concrete)


POSITION = re.compile(r"\[\d")  # a rule path naming a literal position (`extinfo[1]`)


class LookupMemo:
    """Memoised answers of a field map (rules.FieldMap.lookup). A miss tries every wildcard
    regex of the map, and a payload repeats the same few shapes in every record and request,
    so the answer is kept per shape of the concrete path (`a[3].b` → `a[*].b`), which decides
    it, unless a rule path names a literal position (*by_shape* false); then per concrete
    path. At most MAX_ENTRIES answers, then it starts afresh: payload keys are
    attacker-controlled. A memo pickles empty (the compiled-rule cache stores rules, not
    answers)."""

    __slots__ = ("_answers",)
    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._answers: dict[str, Any] = {}

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return LookupMemo, ()

    def get(self, concrete: str, compute: Callable[[str], Any], by_shape: bool) -> Any:
        """The answer for *concrete*: remembered, or `compute(concrete)` remembered."""
        key = _INDEX.sub("[*]", concrete) if by_shape and "[" in concrete else concrete
        try:
            return self._answers[key]
        except KeyError:
            pass
        if len(self._answers) >= self.MAX_ENTRIES:
            self._answers.clear()
        answer = self._answers[key] = compute(concrete)
        return answer


def _shorten(key: str) -> str:
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{key[:120]}…({len(key)} characters, sha1 {digest})"


def _key_part(key: str) -> str:
    """How *key* is written in a concrete path: as it is, or quoted in brackets."""
    if len(key) > MAX_KEY_CHARS:
        key = _shorten(key)
    return key if _PLAIN_KEY.match(key) else json.dumps(key, ensure_ascii=False).join("[]")


# Payloads repeat the same keys in every record: their path parts are remembered (only keys of
# a bounded length, so a hostile payload cannot make the cache hold megabytes).
_cached_key_part = lru_cache(maxsize=16384)(_key_part)


def child(prefix: str, key: Any) -> str:
    """Concrete path of dict item *key* under *prefix*."""
    key = key if type(key) is str else str(key)
    part = _cached_key_part(key) if len(key) <= MAX_KEY_CHARS else _key_part(key)
    if not prefix:
        return part
    return prefix + part if part[0] == "[" else f"{prefix}.{part}"


def item(prefix: str, index: int) -> str:
    """Concrete path of list item *index* under *prefix*."""
    return f"{prefix}[{index}]"


def resolve(doc: Any, segments: list[str], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (concrete path, value) that *segments* reach in *doc*."""
    if not segments:
        yield prefix, doc
        return
    head, rest = segments[0], segments[1:]
    if head == "[*]":
        if isinstance(doc, list):
            for i, value in enumerate(doc):
                yield from resolve(value, rest, item(prefix, i))
    elif head.startswith("[") and head.endswith("]") and head[1:-1].isdigit():
        index = int(head[1:-1])
        if isinstance(doc, list) and index < len(doc):
            yield from resolve(doc[index], rest, item(prefix, index))
    elif head == "*":
        if isinstance(doc, dict):
            for key, value in doc.items():
                yield from resolve(value, rest, child(prefix, key))
    elif isinstance(doc, dict) and head in doc:
        yield from resolve(doc[head], rest, child(prefix, head))


def leaves(doc: Any, prefix: str = "", max_depth: int = 32, deadline: float = math.inf) -> Iterator[tuple[str, Any]]:
    """Every scalar in *doc* with its concrete path, depth first in document order;
    containers deeper than *max_depth* are yielded whole (as one leaf) rather than walked, so
    hostile nesting cannot blow the stack. Only the paths of the current branch exist at a
    time: a list of a million items does not hold a million paths. Raises TookTooLong once
    `time.thread_time()` passes *deadline* (checked as nodes are visited: a million empty
    lists yield nothing but still take time)."""
    if not isinstance(doc, (dict, list)) or max_depth <= 0:
        yield prefix, doc
        return
    stack: list[tuple[str, Iterator[tuple[Any, Any]], bool]] = [(prefix, _items(doc), isinstance(doc, list))]
    visited = 0
    timed = deadline != math.inf
    while stack:
        path, items, is_list = stack[-1]
        for key, value in items:  # resumes the container's iterator where it stopped
            visited += 1
            if timed and visited % 4096 == 0 and clock() > deadline:
                raise TookTooLong(deadline)
            here = f"{path}[{key}]" if is_list else child(path, key)
            if isinstance(value, (dict, list)) and len(stack) < max_depth:
                stack.append((here, _items(value), isinstance(value, list)))
                break
            yield here, value
        else:
            visited += 1
            if timed and visited % 4096 == 0 and clock() > deadline:
                raise TookTooLong(deadline)
            stack.pop()


def _items(container: dict[str, Any] | list[Any]) -> Iterator[tuple[Any, Any]]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def last_key(concrete: str) -> str:
    """The last dict key named in a concrete path (`a[2].$email` → `$email`), or "".
    String operations only: it runs for every uploaded field."""
    path = INDEX_SUFFIX.sub("", concrete) if concrete.endswith("]") else concrete
    if path.endswith('"]'):
        opening = _opening_quote(path, len(path) - 2)
        if opening > 0:
            return json.loads(path[opening:-1])
    return path.rsplit(".", 1)[-1].rsplit("]", 1)[-1]


def _opening_quote(path: str, closing: int) -> int:
    """Position of the `"` that opens the JSON string closed at *closing*: the nearest `"`
    before it that no backslash escapes (a key may itself hold `["` or `\\"`)."""
    position = closing
    while True:
        position = path.rfind('"', 0, position)
        if position < 0:
            return -1
        backslashes = 0
        while position - 1 - backslashes >= 0 and path[position - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return position


def slots(doc: Any, segments: list[str], prefix: str = "") -> Iterator[tuple[Any, Any, str]]:
    """Like `resolve`, but yields (container, key or index, concrete path) so a decode step
    can replace the value in place."""
    head, rest = segments[0], segments[1:]
    if head == "[*]" and isinstance(doc, list):
        keys: list[Any] = list(range(len(doc)))
    elif head == "*" and isinstance(doc, dict):
        keys = list(doc)
    elif "*" in head and isinstance(doc, dict):  # `eid_*`: the keys a field map's glob matches too
        keys = [k for k in doc if isinstance(k, str) and fnmatch.fnmatchcase(k, head)]
    elif head.startswith("[") and head[1:-1].isdigit() and isinstance(doc, list):
        keys = [int(head[1:-1])] if int(head[1:-1]) < len(doc) else []
    elif isinstance(doc, dict) and head in doc:
        keys = [head]
    else:
        keys = []
    for key in keys:
        path = item(prefix, key) if isinstance(key, int) else child(prefix, key)
        if rest:
            yield from slots(doc[key], rest, path)
        else:
            yield doc, key, path


def render(segments: list[str]) -> str:
    """Canonical text of a parsed rule path, in the same form `child`/`item` produce, so a
    rule path and the shape of a concrete path compare equal."""
    out = ""
    for segment in segments:
        out = f"{out}{segment}" if segment.startswith("[") else child(out, segment)
    return out


_PLAIN = r'[^.\[\]"]+'
_QUOTED = r'\["(?:[^"\\]|\\.)*"\]'
_INDEXED = r"\[\d+\]"


class LazyPattern:
    """A regex compiled when first used. The bundled rules hold about a thousand wildcard
    paths and 323 endpoint path regexes, and a run uses the few of the endpoints its traffic
    reaches: compiling them all at load was most of the rules' load time, and a pickled rule
    (the compiled-rule cache) would compile them all again when read (reading the bundled
    rules from the cache: 95 ms with the endpoint paths compiled, 55 ms lazy)."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return LazyPattern, (self.pattern,)

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled().match(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled().search(text)


def wildcard_regex(segments: list[str]) -> LazyPattern:
    """Regex over concrete paths for a rule path with `*` (any one key) or `**` (any keys and
    indices, at any depth: `properties.**` covers `properties.cart.items[2].sku`). Built
    from escaped segments, so it is always valid; compiled when first used.

    A path that names no index goes through arrays as an exact path does (`props.*` covers
    `props.tags[1]` as `props.tags` would): whether a value is a list is the sender's choice
    (a repeated protobuf field, a one-item array), not a different field. A path that names
    an index (`[*]`, `[0]`) says exactly where arrays are, and matches only there."""
    through_arrays = not any(segment.startswith("[") for segment in segments)
    items = f"(?:{_INDEXED})*" if through_arrays else ""
    out = ""
    for segment in segments:
        dot = r"\." if out else ""
        if segment == "[*]":
            out += _INDEXED
        elif segment.startswith("["):
            out += re.escape(segment)
        elif segment == "*":
            out += f"(?:{dot}{_PLAIN}|{_QUOTED})" + items
        elif segment == "**":
            out += f"(?:{dot}{_PLAIN}|{_QUOTED}|{_INDEXED})(?:\\.{_PLAIN}|{_QUOTED}|{_INDEXED})*"
        elif "*" in segment:  # a glob inside one key: `["ep.*"]`, `$el_attr__*`
            plain, quoted = (re.escape(part) for part in (segment, segment))
            plain = plain.replace(r"\*", r'[^.\[\]"\s]*')
            quoted = quoted.replace(r"\*", r'(?:[^"\\]|\\.)*')
            out += f'(?:{dot}{plain}|\\["{quoted}"\\])' + items
        else:
            text = child("", segment)
            out += (re.escape(text) if text.startswith("[") else dot + re.escape(text)) + items
    return LazyPattern(out + "$")
