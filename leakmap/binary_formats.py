"""Generic binary and encoding decode steps: base64, hex, gzip/zlib, LZ-string, JWT,
HTTP Basic auth, multipart, schema-less protobuf, raw UUIDs, `as_list`.
Registered with the engine through STEPS and PARAMETERISED below (see decode.py).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import uuid
from collections.abc import Callable
from typing import Any


from . import compression, lzdecode, protobuf
from .limits import LimitError, Limits
from .steps import DecodeError, StepFn, _as_bytes, _as_text, decoder_errors
from .text_formats import multidict, step_json


_B64 = re.compile(rb"^[A-Za-z0-9+/\-_]+={0,2}$")


def step_base64(value: Any, limits: Limits) -> bytes:
    """Standard or URL-safe base64, padding optional (SDKs use all four variants)."""
    raw = re.sub(rb"\s", b"", _as_bytes(value).replace(b" ", b"+"))
    if len(raw) < 4 or not _B64.match(raw):
        raise DecodeError("not base64")
    raw = raw.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as e:
        raise DecodeError(f"invalid base64: {e}") from None


def _decompress(codec: Callable[[bytes, int], bytes], value: Any, limits: Limits) -> bytes:
    try:
        return codec(_as_bytes(value), limits.max_decompressed)
    except compression.TooLarge as e:
        raise LimitError(f"{e} (what is left of the request's --max-decompressed budget)") from None
    except compression.DecompressionError as e:
        raise DecodeError(str(e)) from None


def step_gzip(value: Any, limits: Limits) -> bytes:
    return _decompress(compression.gunzip, value, limits)


def step_zlib(value: Any, limits: Limits) -> bytes:
    return _decompress(compression.inflate, value, limits)


def step_as_list(value: Any, limits: Limits) -> list[Any]:
    """A single record → a one-item batch, so fields are mapped the same way for both."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise DecodeError(f"expected an object or array, got {type(value).__name__}")


def step_basic_auth(value: Any, limits: Limits) -> dict[str, str]:
    """`Authorization: Basic base64(user:password)`, the way many SDKs send their project
    key (Mixpanel, Segment, RudderStack): → {user, password}."""
    scheme, _, credentials = _as_text(value).strip().partition(" ")
    if scheme.lower() != "basic" or not credentials:
        raise DecodeError("not HTTP Basic authorization")
    user, _, password = _as_text(step_base64(credentials.strip(), limits)).partition(":")
    return {"user": user, "password": password}


def step_hex(value: Any, limits: Limits) -> bytes:
    text = re.sub(r"\s", "", _as_text(value))
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise DecodeError("not hex") from None


def step_jwt(value: Any, limits: Limits) -> dict[str, Any]:
    """A JSON Web Token's header and claims (the signature is dropped, never verified).
    An `Authorization: Bearer <jwt>` value is accepted as it is."""
    text = _as_text(value).strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    parts = text.split(".")
    if len(parts) != 3:
        raise DecodeError("not a JWT (expected three dot-separated parts)")
    return {"header": step_json(step_base64(parts[0], limits), limits),
            "payload": step_json(step_base64(parts[1], limits), limits)}


def _lz(value: Any, limits: Limits, alphabet: str) -> str:
    text = _as_text(value).strip()
    if alphabet == lzdecode.URI_SAFE:
        text = text.replace(" ", "+")
    if not text:
        raise DecodeError("not LZ-string (empty)")
    with decoder_errors(limits, lzdecode.LZTooLarge, "LZ-string {} (--max-decompressed)",
                        (lzdecode.LZError,), "not LZ-string: {}"):
        return lzdecode.decompress(text, alphabet, limits.max_decompressed, limits.deadline)


def step_lzstring(value: Any, limits: Limits) -> str:
    """LZ-string, base64 flavour (`compressToBase64`; PostHog's `lz64`), bounded: see
    leakmap/lzdecode.py."""
    return _lz(value, limits, lzdecode.BASE64)


def step_lzstring_uri(value: Any, limits: Limits) -> str:
    """LZ-string, URI-safe flavour (`compressToEncodedURIComponent`)."""
    return _lz(value, limits, lzdecode.URI_SAFE)


def step_protobuf(value: Any, limits: Limits, raw: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Protocol Buffers without a schema (see leakmap/protobuf.py): field numbers become
    keys ("1", "14"), a repeated field a list. Rules name fields by number (`1.2.14`).
    `{protobuf: {raw: ["1.3.1", ...]}}` keeps those length-delimited fields as bytes."""
    data = _as_bytes(value)
    if not data:
        raise DecodeError("not protobuf: empty")
    with decoder_errors(limits, protobuf.ProtobufLimit, "protobuf: {}", (protobuf.ProtobufError,), "not protobuf: {}"):
        return protobuf.decode(data, keep_raw=raw, max_values=limits.max_fields * 25, deadline=limits.deadline)


def step_uuid(value: Any, limits: Limits) -> str:
    """16 raw bytes (a UUID as its two big-endian 64-bit halves, e.g. Java's
    ByteBuffer.putLong(most).putLong(least)) → canonical lowercase UUID text. Needed for SDKs
    that send identifiers such as the advertising id as bytes inside protobuf."""
    data = _as_bytes(value)
    if len(data) != 16:
        raise DecodeError(f"not a 16-byte UUID: {len(data)} bytes")
    return str(uuid.UUID(bytes=data))


def step_multipart(value: Any, limits: Limits) -> dict[str, Any]:
    """multipart/form-data: part name → text (or bytes for binary parts). The boundary is
    read from the body's first line, so the step needs no header."""
    data = _as_bytes(value)
    first = data.lstrip(b"\r\n").split(b"\r\n", 1)[0]
    if not first.startswith(b"--") or len(first) < 3:
        raise DecodeError("not multipart (no boundary line)")
    boundary = first[2:].decode("latin-1")
    from mitmproxy.net.http import multipart  # imported when used: HAR replays do not need mitmproxy

    parts = multipart.decode_multipart(f"multipart/form-data; boundary={boundary}", data)
    if not parts:
        raise DecodeError("not multipart (no parts)")
    out: list[tuple[str, Any]] = []
    for name, content in parts:
        try:
            out.append((name.decode("utf-8", "replace"), content.decode("utf-8")))
        except UnicodeDecodeError:
            out.append((name.decode("utf-8", "replace"), content))
    return multidict(out)


def _protobuf_step(params: Any) -> StepFn:
    if not (isinstance(params, dict) and set(params) == {"raw"} and isinstance(params["raw"], list) and params["raw"]
            and all(isinstance(p, str) and re.fullmatch(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*", p) for p in params["raw"])):
        raise ValueError('protobuf takes {raw: [<field-number paths such as "1.3.1">]}')
    return functools.partial(step_protobuf, raw=frozenset(params["raw"]))


STEPS: dict[str, StepFn] = {
    "base64": step_base64, "gzip": step_gzip, "zlib": step_zlib, "as_list": step_as_list,
    "basic_auth": step_basic_auth, "hex": step_hex, "jwt": step_jwt, "lzstring": step_lzstring,
    "lzstring_uri": step_lzstring_uri, "protobuf": step_protobuf, "uuid": step_uuid, "multipart": step_multipart,
}
PARAMETERISED = {"protobuf": _protobuf_step}
EXPANDING = frozenset({"gzip", "zlib", "lzstring", "lzstring_uri"})
