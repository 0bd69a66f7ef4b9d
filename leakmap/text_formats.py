"""Generic text decode steps: JSON, forms (flat, nested, per line), lines, key/value
pairs, product tokens, URL decoding, JSON inside strings, `split` and `opaque`.
Registered with the engine through STEPS and PARAMETERISED below (see decode.py).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from .limits import LimitError, Limits
from .steps import DecodeError, StepFn, _as_text


def step_text(value: Any, limits: Limits) -> str:
    return _as_text(value)


def _big_int(digits: str) -> int | str:
    """A JSON integer; past Python's int_max_str_digits (4,300 digits) it stays its digits:
    no SDK sends such a number, and its text is all there is to show."""
    return int(digits) if len(digits) <= 4000 else digits


def loads_json(text: str) -> Any:
    """json.loads for captured text: integers too long for int() stay text instead of
    raising (the fast C parser runs first; the slower hook only when it refused)."""
    try:
        return json.loads(text)
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError) or "integer string conversion" not in str(e):
            raise
    return json.loads(text, parse_int=_big_int)


def step_json(value: Any, limits: Limits) -> Any:
    text = _as_text(value).strip()
    if not text or text[0] not in '{["':
        raise DecodeError("not JSON")
    try:
        return loads_json(text)
    except json.JSONDecodeError as e:
        raise DecodeError(f"invalid JSON: {e.msg} at character {e.pos}") from None
    except RecursionError:
        raise DecodeError("JSON nested too deep") from None


def step_ndjson(value: Any, limits: Limits) -> list[Any]:
    lines = [line for line in _as_text(value).splitlines() if line.strip()]
    if len(lines) > limits.max_fields:
        raise LimitError(f"ndjson: more than {limits.max_fields} lines")
    out = []
    for number, line in enumerate(lines, 1):
        if number % 256 == 0:
            limits.check_time()
        try:
            out.append(step_json(line, limits))
        except DecodeError as e:
            raise DecodeError(f"line {number}: {e}") from None
    return out


_FORM_SAFE = re.compile(r"^[\x20-\x7e\t\r\n\u00a0-\uffff]*$")


def step_form(value: Any, limits: Limits, sep: str = "&") -> dict[str, Any]:
    """`k=v&k=v` (percent-encoded) → dict; with *sep* `;` the matrix parameters that
    Floodlight and Quantcast put in a URL path (`;src=123;type=abc`)."""
    return multidict(step_form_pairs(value, limits, sep))


def step_form_pairs(value: Any, limits: Limits, sep: str = "&") -> list[tuple[str, str]]:
    """The (key, value) pairs of form data, in order (shared by `form` and `form_groups`)."""
    text = _as_text(value)
    text = text[1:] if text.startswith(("?", sep)) else text  # a query string kept with its `?` (Matomo bulk)
    if "=" not in text or not _FORM_SAFE.match(text):
        raise DecodeError("not form data")
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=limits.max_fields, separator=sep)
    except ValueError as e:
        raise DecodeError(f"form: {e}") from None


def step_form_groups(value: Any, limits: Limits, key: str) -> dict[str, Any]:
    """Form data made of blocks: every occurrence of *key* opens a new group, so the text
    `a=1&b=2&et=1&na=x&et=60&na=y` becomes {head: {a: 1, b: 2}, groups: [{et: 1, na: x},
    {et: 60, na: y}]}. Beacon protocols that append one block per event to a prefix of
    session data (Dynatrace OpenKit) need this: a plain `form` would merge every event's
    `na` into one list and lose which event each value belongs to."""
    head: list[tuple[str, Any]] = []
    groups: list[list[tuple[str, Any]]] = []
    for name, val in step_form_pairs(value, limits):
        if name == key:
            groups.append([])
        (groups[-1] if groups else head).append((name, val))
    return {"head": multidict(head), "groups": [multidict(g) for g in groups]}


def _form_step(params: Any) -> StepFn:
    if not (isinstance(params, dict) and set(params) == {"sep"} and isinstance(params["sep"], str)
            and len(params["sep"]) == 1 and params["sep"] not in "=%"):
        raise ValueError("form takes {sep: <one separator character, such as \";\">}")
    return functools.partial(step_form, sep=params["sep"])


def _form_groups_step(params: Any) -> StepFn:
    if not (isinstance(params, dict) and set(params) == {"key"} and isinstance(params["key"], str) and params["key"]):
        raise ValueError("form_groups takes {key: <the parameter that opens each group>}")
    return functools.partial(step_form_groups, key=params["key"])


def step_form_nested(value: Any, limits: Limits) -> dict[str, Any]:
    """Form data whose parameter order carries nesting: a bare key ending in `.` (no `=`)
    opens a level, `.name` closes it, and the keys in between nest under it, so
    `c.&a.&AppID=x&.a&k=v&.c` → {c: {a: {AppID: x}, k: v}} (Adobe context data and customer
    ids). Plain form data decodes as `form` does. Lenient like the serializers' own readers:
    a close that matches no open level stays a plain key, levels left open close at the end;
    a level opened twice is merged; a key that is both a value and a level keeps both (list)."""
    text = _as_text(value)
    text = text[1:] if text.startswith("?") else text
    if "=" not in text or not _FORM_SAFE.match(text):
        raise DecodeError("not form data")
    parts = [p for p in text.split("&") if p]
    if len(parts) > limits.max_fields:
        raise DecodeError(f"form: more than {limits.max_fields} parameters")
    root: dict[str, Any] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("", root)]
    for part in parts:
        key, sep, val = part.partition("=")
        key = unquote_plus(key)
        if not sep and len(key) > 1 and key.endswith("."):
            if len(stack) > limits.max_depth:
                raise DecodeError(f"form: nested deeper than {limits.max_depth} levels")
            stack.append((key[:-1], _nested_level(stack[-1][1], key[:-1])))
            continue
        if not sep and len(key) > 1 and key.startswith(".") and any(name == key[1:] for name, _ in stack[1:]):
            while stack.pop()[0] != key[1:]:
                pass
            continue
        _add_value(stack[-1][1], key, unquote_plus(val))
    return root


def _nested_level(container: dict[str, Any], name: str) -> dict[str, Any]:
    """The dict under *name* in *container*, created (or reused when reopened)."""
    existing = container.get(name)
    if isinstance(existing, dict):
        return existing
    if isinstance(existing, list) and existing and isinstance(existing[-1], dict):
        return existing[-1]
    level: dict[str, Any] = {}
    _add_value(container, name, level)
    return level


def _add_value(container: dict[str, Any], key: str, val: Any) -> None:
    """Set *key*, or append to its list of values when it repeats. Appends in place: a key
    repeated 100,000 times costs 100,000 appends, not 100,000 list copies."""
    existing = container.get(key)
    if existing is None:
        container[key] = val
    elif isinstance(existing, list):
        existing.append(val)
    else:
        container[key] = [existing, val]


def multidict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Pairs → dict; a repeated key keeps all its values as a list (in linear time: the
    lists are built by append). A first value that is itself a list is copied once, so it
    is never changed in place."""
    out: dict[str, Any] = {}
    built: set[str] = set()  # keys whose list this function made
    for key, val in pairs:
        if key not in out:
            out[key] = val
            continue
        if key not in built:
            prev = out[key]
            out[key] = [*prev] if isinstance(prev, list) else [prev]
            built.add(key)
        out[key].append(val)
    return out


def step_urldecode(value: Any, limits: Limits) -> str:
    """Percent-decoding of a string that was URL-encoded once more than the form needed."""
    return unquote_plus(_as_text(value))


def step_expand_json(value: Any, limits: Limits, depth: int = 0) -> Any:
    """Replace, anywhere in a tree, string values that hold a JSON object or array by the
    parsed value (JSON inside strings: Facebook `extinfo`, `custom_events`, many SDKs).
    Below *max_depth* levels the tree is left as it is (extraction does not walk deeper)."""
    if depth > limits.max_depth:
        return value
    if isinstance(value, dict):
        limits.check_time()
        return {k: step_expand_json(v, limits, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        limits.check_time()
        return [step_expand_json(v, limits, depth + 1) for v in value]
    if isinstance(value, str) and value[:1] in "[{" and value.rstrip()[-1:] in "]}":
        try:
            return step_expand_json(loads_json(value), limits, depth + 1)
        except (ValueError, RecursionError):
            return value
    return value


def step_lines(value: Any, limits: Limits) -> list[str]:
    """Non-empty lines of a text (batched GA4 / UA bodies: one hit per line)."""
    return [line for line in _as_text(value).splitlines() if line.strip()]


def step_form_lines(value: Any, limits: Limits) -> Any:
    """Form data batched one hit per line (GA4 /g/collect, UA /batch): several lines become
    a list of forms; a single line stays one form, so single hits keep plain paths."""
    lines = step_lines(value, limits)
    if len(lines) == 1:
        return step_form(lines[0], limits)
    if not lines:
        raise DecodeError("empty")
    return [step_form(line, limits) for line in lines]


def step_kv_pairs(value: Any, limits: Limits) -> dict[str, Any]:
    """Comma-separated `key:value` pairs (Datadog `ddtags`, similar tag lists) → dict."""
    pairs = [p.strip().partition(":") for p in _as_text(value).split(",") if p.strip()]
    if not pairs or not all(sep and key for key, sep, _ in pairs):
        raise DecodeError("not key:value pairs")
    return multidict([(key.strip(), val.strip()) for key, _, val in pairs])


def step_product_tokens(value: Any, limits: Limits) -> dict[str, Any]:
    """`name/version name2/version2 …` (User-Agent product tokens, Firebase heartbeat
    agents) → {name: version}; a repeated name keeps all its versions."""
    tokens = [t.partition("/") for t in _as_text(value).split()]
    if not tokens or not all(sep for _, sep, _ in tokens):
        raise DecodeError("not name/version tokens")
    return multidict([(name, version) for name, _, version in tokens])


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def step_split(value: Any, limits: Limits, sep: str, names: list[str],
               match: re.Pattern[str] | None = None) -> dict[str, Any]:
    """Text of len(names) parts joined by *sep* (the last part keeps any further *sep*) →
    {name: part}. For envelopes such as AppLovin's `1:<iv digest>:<key tail>:<payload>`.
    Bytes whose leading parts are text but whose last part is binary (a text header before
    a binary payload) keep that last part as bytes. *match*: a regex the start of the input
    must match (read as Latin-1 when binary), so that only the envelope is split, not any
    text that happens to hold the separator."""
    binary = isinstance(value, bytes) and not _is_utf8(value)
    if match is not None and not match.match(value.decode("latin-1") if binary else _as_text(value)):
        raise DecodeError(f"does not match {match.pattern!r}")
    if binary:
        raw = value.split(sep.encode(), len(names) - 1)
        if len(raw) != len(names):
            raise DecodeError(f"not {len(names)} parts separated by {sep!r}")
        return {**dict(zip(names, (_as_text(part) for part in raw[:-1]))), names[-1]: raw[-1]}
    parts = _as_text(value).split(sep, len(names) - 1)
    if len(parts) != len(names):
        raise DecodeError(f"not {len(names)} parts separated by {sep!r}")
    return dict(zip(names, parts))


def _split_step(params: Any) -> StepFn:
    usage = "split takes {sep: <text>, names: [<at least two names>], match: <optional regex for the start>}"
    if not (isinstance(params, dict) and {"sep", "names"} <= set(params) <= {"sep", "names", "match"}
            and isinstance(params["sep"], str) and params["sep"] and isinstance(params["names"], list)
            and len(params["names"]) >= 2 and all(isinstance(n, str) and n for n in params["names"])
            and isinstance(params.get("match", ""), str)):
        raise ValueError(usage)
    try:
        match = re.compile(params["match"]) if "match" in params else None
    except re.error as e:
        raise ValueError(f"{usage}: invalid regex: {e}") from None
    return functools.partial(step_split, sep=params["sep"], names=list(params["names"]), match=match)


def step_opaque(value: Any, limits: Limits, reason: str) -> Any:
    """Always fails with the rule's *reason*: for a payload the SDK encrypts or obfuscates
    (no key in the request, or a cipher not reproducible), so that the request is reported
    as "contacted, not decoded" with why, while the URL, query and headers are still read."""
    raise DecodeError(f"opaque: {reason}")


def _opaque_step(params: Any) -> StepFn:
    if not (isinstance(params, str) and params.strip()):
        raise ValueError("opaque takes the reason as text: {opaque: \"encrypted by the SDK with ...\"}")
    return functools.partial(step_opaque, reason=params.strip())


STEPS: dict[str, StepFn] = {
    "text": step_text, "json": step_json, "ndjson": step_ndjson, "form": step_form, "form_nested": step_form_nested,
    "urldecode": step_urldecode, "expand_json": step_expand_json, "lines": step_lines, "form_lines": step_form_lines,
    "kv_pairs": step_kv_pairs, "product_tokens": step_product_tokens,
}
PARAMETERISED = {"split": _split_step, "opaque": _opaque_step, "form": _form_step, "form_groups": _form_groups_step}
