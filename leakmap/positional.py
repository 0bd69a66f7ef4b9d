"""Positional event arrays (Microsoft Clarity's `[time, type code, ...]`): `group_by`
groups records by the type code at an index, `pairs` names the leading items and pairs the
rest as key, value."""

from __future__ import annotations

import functools
from typing import Any

from .limits import LimitError, Limits
from .steps import DecodeError, StepFn, _as_text
from .text_formats import multidict


def _scalar_key(value: Any) -> str | None:
    """A list item usable as a dict key (text or an integer), as text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        return str(value)
    return None


def step_group_by(value: Any, limits: Limits, index: int, names: dict[str, str]) -> dict[str, list[Any]]:
    """Positional records tagged by a type code → {type name: [records]}. Some SDKs upload
    events as arrays whose meaning depends on a code at a fixed index (Clarity's
    `[time, type, ...]`); grouping them by that code gives rules a stable path per kind of
    record. Codes not in *names* keep their code as the group name."""
    if not isinstance(value, list):
        raise DecodeError(f"expected a list of records, got {type(value).__name__}")
    groups: dict[str, list[Any]] = {}
    for number, record in enumerate(value):
        code = _scalar_key(record[index]) if isinstance(record, list) and len(record) > index else None
        if code is None:
            raise DecodeError(f"record {number} has no type code at index {index}")
        groups.setdefault(names.get(code, code), []).append(record)
    return groups


def step_pairs(value: Any, limits: Limits, head: list[str], sep: str = "") -> dict[str, Any]:
    """A flat list `[h1, h2, k1, v1, k2, v2, ...]` → {h1 name: h1, h2 name: h2, k1: v1, k2: v2}:
    the leading items take the names in *head*, the rest alternate key and value. A key met
    twice (or equal to a head name) keeps all its values as a list, so nothing is lost.
    With *sep*, the list is text joined by *sep* (Yandex Metrica's `browser-info`,
    `k1:v1:k2:v2:`); a trailing separator is ignored."""
    if sep and isinstance(value, (str, bytes)):
        value = _as_text(value).split(sep, limits.max_fields)
        if len(value) > limits.max_fields:
            raise LimitError(f"pairs: more than {limits.max_fields} items")
        if len(value) % 2 != len(head) % 2 and value[-1] == "":
            value.pop()
    if not isinstance(value, list):
        raise DecodeError(f"expected a list, got {type(value).__name__}")
    rest = value[len(head):]
    if len(value) < len(head) or len(rest) % 2:
        raise DecodeError(f"not {len(head)} leading items then key, value pairs ({len(value)} items)")
    out: list[tuple[str, Any]] = list(zip(head, value[: len(head)]))
    for i in range(0, len(rest), 2):
        key = _scalar_key(rest[i])
        if key is None:
            raise DecodeError(f"item {len(head) + i} is not a key ({type(rest[i]).__name__})")
        out.append((key, rest[i + 1]))
    return multidict(out)


def _group_by_step(params: Any) -> StepFn:
    names = params.get("names", {}) if isinstance(params, dict) else None
    if not (isinstance(params, dict) and set(params) <= {"index", "names"} and isinstance(params.get("index"), int)
            and not isinstance(params["index"], bool) and params["index"] >= 0 and isinstance(names, dict)
            and all(isinstance(v, str) and v for v in names.values())):
        raise ValueError("group_by takes {index: <item position>, names: {<code>: <name>, ...}}")
    return functools.partial(step_group_by, index=params["index"], names={str(k): v for k, v in names.items()})


def _pairs_step(params: Any) -> StepFn:
    if not (isinstance(params, dict) and {"head"} <= set(params) <= {"head", "sep"} and isinstance(params["head"], list)
            and all(isinstance(n, str) and n for n in params["head"])
            and isinstance(params.get("sep", ""), str)):
        raise ValueError("pairs takes {head: [<names of the leading items>], sep: <optional separator of a text list>}")
    return functools.partial(step_pairs, head=list(params["head"]), sep=params.get("sep", ""))


PARAMETERISED = {"group_by": _group_by_step, "pairs": _pairs_step}
