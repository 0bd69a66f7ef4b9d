"""How the report orders and names data types and times: sensitivity, rank, category, the
order types are listed in (credentials first, then by sensitivity and category), and the
time format. Shared by the report's aggregation, charts, payload tree and rendering."""

from __future__ import annotations

import time
from collections.abc import Iterable

from .credentials import SECRET_TYPES
from .datatypes import CATEGORIES, DATA_TYPES, HIGH, SENSITIVITY_RANK

NO_RULE = " (no rule)"


def sensitivity(data_type: str) -> str:
    return DATA_TYPES[data_type].sensitivity if data_type in DATA_TYPES else "low"


def rank(data_type: str) -> int:
    return SENSITIVITY_RANK[sensitivity(data_type)]


def category(data_type: str) -> str:
    return DATA_TYPES[data_type].category if data_type in DATA_TYPES else "other"


def type_order(data_type: str) -> tuple[int, int, str]:
    t = DATA_TYPES.get(data_type)
    if t is None:
        return (9, 9, data_type)
    if data_type in SECRET_TYPES:  # credentials first among high: what a reader most needs to act on
        return (-SENSITIVITY_RANK[HIGH], -1, data_type)
    return (-SENSITIVITY_RANK[t.sensitivity], CATEGORIES.index(t.category), data_type)


def level(types: Iterable[str]) -> str:
    ranked = sorted(types, key=type_order)
    return sensitivity(ranked[0]) if ranked else "low"


def when(ts: float | None) -> str:
    if ts is None or ts != ts:  # NaN
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts))) + " UTC"
