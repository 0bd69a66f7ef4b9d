"""Sentry's formats: the envelope (`sentry_envelope`: a header line, then items each with
their own header line) and the `X-Sentry-Auth` header's parameters (`auth_params`, which
reads any RFC 7235 auth-params header).
"""

from __future__ import annotations

import re
from typing import Any

from .limits import LimitError, Limits
from .steps import DecodeError, StepFn, _as_bytes, _as_text
from .text_formats import _is_utf8, step_json


def step_sentry_envelope(value: Any, limits: Limits) -> dict[str, Any]:
    """A Sentry envelope: a JSON header line, then items, each a JSON item header line and a
    payload (of `length` bytes when the item header says so, else up to the next newline).
    JSON payloads are parsed; others stay text or bytes."""
    data = _as_bytes(value)
    line_end, pos = _line(data, 0)
    envelope: dict[str, Any] = {"header": step_json(data[:line_end], limits), "items": []}
    lines = 0
    while pos < len(data):  # positions, never slices of the rest: linear in the body size
        lines += 1
        if lines % 256 == 0:
            limits.check_time()
        start = pos
        line_end, pos = _line(data, start)
        item_line = data[start:line_end]
        if not item_line.strip():
            continue
        if len(envelope["items"]) >= limits.max_fields:
            raise LimitError(f"sentry envelope: more than {limits.max_fields} items")
        item_header = step_json(item_line, limits)
        length = item_header.get("length") if isinstance(item_header, dict) else None
        if isinstance(length, int) and not isinstance(length, bool) and length >= 0:
            payload = data[pos:pos + length]
            pos = min(len(data), pos + length)
            pos += 1 if data[pos:pos + 1] == b"\n" else 0
        else:
            line_end, next_pos = _line(data, pos)
            payload, pos = data[pos:line_end], next_pos
        try:
            parsed: Any = step_json(payload, limits)
        except DecodeError:
            parsed = payload.decode("utf-8") if _is_utf8(payload) else payload
        envelope["items"].append({"header": item_header, "payload": parsed})
    return envelope


def _line(data: bytes, start: int) -> tuple[int, int]:
    """(end of the line that starts at *start*, start of the next line)."""
    newline = data.find(b"\n", start)
    return (len(data), len(data)) if newline < 0 else (newline, newline + 1)


_AUTH_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def step_auth_params(value: Any, limits: Limits) -> dict[str, str]:
    """An authorization header with parameters (RFC 7235 auth-params), e.g.
    `Sentry sentry_key=abc, sentry_version=7` → {scheme: Sentry, sentry_key: abc, ...}."""
    scheme, _, rest = _as_text(value).strip().partition(" ")
    params = {"scheme": scheme}
    pos = 0
    while pos < len(rest):
        match = _AUTH_PARAM.match(rest, pos)
        if not match or match.end() == pos:
            raise DecodeError(f"not auth parameters at character {pos + 1}")
        params[match.group(1)] = match.group(2).strip('"')
        pos = match.end()
    if len(params) == 1:
        raise DecodeError("no auth parameters")
    return params


STEPS: dict[str, StepFn] = {"sentry_envelope": step_sentry_envelope, "auth_params": step_auth_params}
