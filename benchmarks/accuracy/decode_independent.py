"""A small decoder of captured tracker requests, independent of leakmap.

The ground truth must not inherit leakmap's mistakes, so nothing here imports leakmap: the
standard library (json, gzip, zlib, base64, urllib) opens what the SDKs send, and every
scalar comes out as (path, value), the path being the key names from the root. Formats
covered are the ones these SDKs use: JSON, NDJSON (Datadog, Sentry envelopes), form bodies
and query strings whose values may themselves be JSON, base64 JSON (Mixpanel, Snowplow's
`cx`/`ue_px`), base64 zlib JSON (Pendo) or LZ-string JSON (CleverTap, read with the
reference `lzstring` port), gzip/deflate bodies. Anything else (protobuf, Clarity's packed
arrays) yields no leaves, which only makes the truth smaller, never wrong.

Captures are attacker-controlled in general; here they are the benchmark's own recordings,
but the decoder still caps depth and size so a strange body cannot stall a run.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_DEPTH = 24
MAX_BODY = 8 << 20
Leaf = tuple[str, str]  # (path, value as text)


def leaves_of_request(url: str, body: bytes) -> list[Leaf]:
    """Every scalar a request uploads in its query string and body."""
    out: list[Leaf] = []
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        out.extend(_leaves_of_text(value, f"query.{key}", 0))
    if body:
        out.extend(_leaves_of_bytes(body[:MAX_BODY], "body", 0))
    return out


def _leaves_of_bytes(data: bytes, path: str, depth: int) -> list[Leaf]:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)[:MAX_BODY]
        except (OSError, EOFError, zlib.error):
            return []
    elif data[:1] == b"\x78":
        try:
            data = zlib.decompress(data)[:MAX_BODY]
        except zlib.error:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return _leaves_of_text(text, path, depth, whole_body=True)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _leaves_of_text(text: str, path: str, depth: int, whole_body: bool = False) -> list[Leaf]:
    """A text that may hold structure: JSON, NDJSON, a form, base64 JSON; else the text itself."""
    stripped = text.strip()
    if depth > MAX_DEPTH or not stripped:
        return []
    if stripped[:1] in "[{":
        parsed = _json(stripped)
        if parsed is not None:
            return list(_walk(parsed, path, depth + 1))
        if "\n" in stripped:  # NDJSON / Sentry envelope: one JSON document a line
            out: list[Leaf] = []
            for n, line in enumerate(stripped.splitlines()):
                parsed = _json(line)
                if isinstance(parsed, (dict, list)):
                    out.extend(_walk(parsed, f"{path}.{n}", depth + 1))
            if out:
                return out
    if whole_body and "=" in stripped and " " not in stripped[:200]:
        pairs = parse_qsl(stripped, keep_blank_values=False)
        if pairs:
            out = []
            for key, value in pairs:
                out.extend(_leaves_of_text(value, f"{path}.{key}", depth + 1))
            return out
    decoded = _base64_json(stripped)
    if decoded is not None:
        return list(_walk(decoded, path, depth + 1))
    return [] if whole_body and len(stripped) > 2000 else [(path, stripped)]


def _base64_json(text: str) -> Any:
    """JSON wrapped in (URL-safe) base64, as Mixpanel's `data=` and Snowplow's `cx` carry it;
    zlib inside the base64 (Pendo's `jzb`); LZ-string's base64 form (CleverTap's `d`)."""
    if len(text) < 8 or any(c in text for c in " {}\":,"):
        return None
    if text.startswith("N4I"):  # LZ-string's base64 output of a text starting with `{"`
        return _lz_json(text)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
    except (binascii.Error, ValueError):
        return None
    if raw[:1] == b"\x78":
        try:
            raw = zlib.decompressobj().decompress(raw, MAX_BODY)
        except zlib.error:
            return None
    try:
        decoded = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return _json(decoded) if decoded[:1] in "[{" else None


def _lz_json(text: str) -> Any:
    """LZ-string (the reference `lzstring` port, a test dependency, not leakmap's decoder)."""
    try:
        import lzstring
        decoded = lzstring.LZString().decompressFromBase64(text[:MAX_BODY // 8])
    except Exception:  # the reference port raises on malformed input; no truth then
        return None
    return _json(decoded) if isinstance(decoded, str) and decoded[:1] in "[{" else None


def _walk(node: Any, path: str, depth: int) -> Iterator[Leaf]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}", depth + 1)
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _walk(value, f"{path}.{n}", depth + 1)
    elif isinstance(node, str):
        yield from _leaves_of_text(node, path, depth + 1)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, (int, float)):
        yield path, _number(node)


def _number(value: int | float) -> str:
    """Numbers as text the way JSON wrote them (an integral float as an integer)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def last_key(path: str) -> str:
    """The leaf's own key name: the last path segment that is not a list index."""
    for segment in reversed(path.split(".")):
        if not segment.isdigit():
            return segment
    return ""
