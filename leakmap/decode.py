"""Decode stage: the steps a rule chains to turn raw request parts into a payload tree.

A rule endpoint declares operations `{at: PATH, steps: [...]}`. Each operation finds the
nodes at PATH in the request document (`query`, `body`, `header`, `cookie`) and replaces
each one by the result of its steps, in order. `{any: [[...], [...]]}` tries alternatives and
keeps the first that works, which is how one endpoint serves several SDK formats. A step that
fails leaves the node as it was and records why: the request stays visible as "not decoded".
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from . import compression, grpc_frames, lzdecode, paths, protobuf, querypack, statsig_encoding
from .text import is_clean, original_bytes
from .limits import DEFAULT_MAX_BODY, DEFAULT_MAX_DECOMPRESSED, Budget, LimitError, Limits, TookTooLong

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_DECOMPRESSED", "Budget", "DecodeError", "LimitError", "Limits",
           "TookTooLong", "compile_steps", "multidict", "run_operations"]


class DecodeError(ValueError):
    """One step could not decode its input; the message says why. *recognised*: the step
    recognised its format (an envelope it knows) and failed after that, so its reason is the
    one that matters: an `any` reports it alone instead of every alternative's."""

    def __init__(self, message: str, recognised: bool = False) -> None:
        super().__init__(message)
        self.recognised = recognised


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # surrogates back to the bytes they stand for (leakmap/text.py)
        return value.encode("utf-8") if is_clean(value) else original_bytes(value)
    raise DecodeError(f"expected text or bytes, got {type(value).__name__}")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"not UTF-8 text (byte {e.start})") from None
    raise DecodeError(f"expected text or bytes, got {type(value).__name__}")


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


def step_form(value: Any, limits: Limits) -> dict[str, Any]:
    text = _as_text(value)
    text = text[1:] if text.startswith("?") else text  # a query string kept with its `?` (Matomo bulk)
    if "=" not in text or not _FORM_SAFE.match(text):
        raise DecodeError("not form data")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=limits.max_fields)
    except ValueError as e:
        raise DecodeError(f"form: {e}") from None
    return multidict(pairs)


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


def step_urldecode(value: Any, limits: Limits) -> str:
    """Percent-decoding of a string that was URL-encoded once more than the form needed."""
    return unquote_plus(_as_text(value))


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


def _lz(value: Any, limits: Limits, alphabet: str) -> str:
    text = _as_text(value).strip()
    if alphabet == lzdecode.URI_SAFE:
        text = text.replace(" ", "+")
    if not text:
        raise DecodeError("not LZ-string (empty)")
    try:
        return lzdecode.decompress(text, alphabet, limits.max_decompressed, limits.deadline)
    except lzdecode.LZTooLarge as e:
        raise LimitError(f"LZ-string {e} (--max-decompressed)") from None
    except lzdecode.LZError as e:
        raise DecodeError(f"not LZ-string: {e}") from None
    except TimeoutError:
        raise TookTooLong(limits.max_seconds) from None


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
    try:
        return protobuf.decode(data, keep_raw=raw, max_values=limits.max_fields * 25, deadline=limits.deadline)
    except protobuf.ProtobufLimit as e:
        raise LimitError(f"protobuf: {e}") from None
    except protobuf.ProtobufError as e:
        raise DecodeError(f"not protobuf: {e}") from None
    except TimeoutError:
        raise TookTooLong(limits.max_seconds) from None


def step_uuid(value: Any, limits: Limits) -> str:
    """16 raw bytes (a UUID as its two big-endian 64-bit halves, e.g. Java's
    ByteBuffer.putLong(most).putLong(least)) → canonical lowercase UUID text. Needed for SDKs
    that send identifiers such as the advertising id as bytes inside protobuf."""
    data = _as_bytes(value)
    if len(data) != 16:
        raise DecodeError(f"not a 16-byte UUID: {len(data)} bytes")
    return str(uuid.UUID(bytes=data))


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


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


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


def step_clevertap_decrypt(value: Any, limits: Limits) -> bytes:
    """CleverTap's encryption in transit carries its own key: the body is
    {"itp": base64(AES-256-GCM ciphertext + tag), "itk": base64(key), "itv": base64(IV)}
    (clevertap-android-sdk: EncryptedSendQueueRequestBody, AESGCMCrypt): anyone on the path can
    decrypt it."""
    if not isinstance(value, dict) or not {"itp", "itk", "itv"} <= set(value):
        raise DecodeError("not a CleverTap encrypted body (itp/itk/itv)")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        key, iv, data = (base64.b64decode(value[name]) for name in ("itk", "itv", "itp"))
        return AESGCM(key).decrypt(iv, data, None)
    except (binascii.Error, ValueError, TypeError) as e:
        raise DecodeError(f"CleverTap envelope: {e}") from None
    except InvalidTag:
        raise DecodeError("CleverTap envelope: AES-GCM authentication failed") from None


def step_nr_querypack(value: Any, limits: Limits) -> dict[str, Any]:
    """New Relic's querypack (`bel.7;…`, `bel.6;…`): the browser agent's `/events` harvests of
    interactions, AJAX requests and page-view timings, in its own compact text rather than
    JSON (see leakmap/querypack.py) → {schema, nodes: [{type, fields…, attributes{}, children[]}]}."""
    text = _as_text(value)
    if not text.startswith("bel."):
        raise DecodeError("not a New Relic querypack (no bel.<version>; header)")
    try:
        return querypack.decode(text, max_nodes=limits.max_fields, max_depth=limits.max_depth)
    except querypack.QueryPackError as e:
        raise DecodeError(f"querypack: {e}") from None


def step_statsig_encoded(value: Any, limits: Limits) -> bytes:
    """Statsig's browser body encoding (`se=1`): base64 reversed (leakmap/statsig_encoding.py)."""
    try:
        return statsig_encoding.decode(_as_text(value))
    except statsig_encoding.StatsigEncodingError as e:
        raise DecodeError(str(e)) from None


def step_grpc(value: Any, limits: Limits) -> list[Any]:
    """gRPC's length-prefixed messages (see leakmap/grpc_frames.py) → [message, …], each as
    protobuf (as step `protobuf`) or, when it is not protobuf, bytes. gzip-compressed
    messages are inflated."""
    try:
        return grpc_frames.open_messages(_as_bytes(value), limits.max_fields, limits.max_decompressed,
                                         deadline=limits.deadline)
    except grpc_frames.GrpcError as e:
        raise DecodeError(str(e)) from None
    except protobuf.ProtobufLimit as e:
        raise LimitError(f"gRPC protobuf: {e}") from None
    except TimeoutError:
        raise TookTooLong(limits.max_seconds) from None


StepFn = Callable[[Any, Limits], Any]
STEPS: dict[str, StepFn] = {
    "text": step_text,
    "json": step_json,
    "ndjson": step_ndjson,
    "form": step_form,
    "form_nested": step_form_nested,
    "base64": step_base64,
    "gzip": step_gzip,
    "zlib": step_zlib,
    "as_list": step_as_list,
    "basic_auth": step_basic_auth,
    "urldecode": step_urldecode,
    "hex": step_hex,
    "jwt": step_jwt,
    "expand_json": step_expand_json,
    "lzstring": step_lzstring,
    "lzstring_uri": step_lzstring_uri,
    "protobuf": step_protobuf,
    "lines": step_lines,
    "form_lines": step_form_lines,
    "product_tokens": step_product_tokens,
    "kv_pairs": step_kv_pairs,
    "multipart": step_multipart,
    "sentry_envelope": step_sentry_envelope,
    "auth_params": step_auth_params,
    "clevertap_decrypt": step_clevertap_decrypt,
    "nr_querypack": step_nr_querypack,
    "uuid": step_uuid,
    "statsig_encoded": step_statsig_encoded,
    "grpc": step_grpc,
}


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


def _protobuf_step(params: Any) -> StepFn:
    if not (isinstance(params, dict) and set(params) == {"raw"} and isinstance(params["raw"], list) and params["raw"]
            and all(isinstance(p, str) and re.fullmatch(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*", p) for p in params["raw"])):
        raise ValueError('protobuf takes {raw: [<field-number paths such as "1.3.1">]}')
    return functools.partial(step_protobuf, raw=frozenset(params["raw"]))


def step_aes_cbc(value: Any, limits: Limits, key: bytes, iv: bytes) -> bytes:
    """AES-CBC decryption with PKCS#7 padding, under a key the rule declares. For SDKs that
    encrypt with a constant key shipped inside every copy of the SDK (a fixed key is not a
    secret of the user's); anything else stays `opaque`."""
    data = _as_bytes(value)
    if not data or len(data) % 16:
        raise DecodeError(f"not AES-CBC: {len(data)} bytes is not a whole number of blocks")
    from cryptography.hazmat.primitives import padding as crypto_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = crypto_padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        raise DecodeError("AES-CBC: wrong key or not this cipher (bad padding)") from None


def _aes_cbc_step(params: Any) -> StepFn:
    usage = 'aes_cbc takes {key: <16, 24 or 32 characters>, iv: zero | <32 hex digits>}'
    if not (isinstance(params, dict) and set(params) == {"key", "iv"} and isinstance(params["key"], str)
            and isinstance(params["iv"], str)):
        raise ValueError(usage)
    key = params["key"].encode("utf-8")
    if len(key) not in (16, 24, 32):
        raise ValueError(usage)
    try:
        iv = bytes(16) if params["iv"] == "zero" else bytes.fromhex(params["iv"])
    except ValueError:
        raise ValueError(usage) from None
    if len(iv) != 16:
        raise ValueError(usage)
    return functools.partial(step_aes_cbc, key=key, iv=iv)


def step_opaque(value: Any, limits: Limits, reason: str) -> Any:
    """Always fails with the rule's *reason*: for a payload the SDK encrypts or obfuscates
    (no key in the request, or a cipher not reproducible), so that the request is reported
    as "contacted, not decoded" with why, while the URL, query and headers are still read."""
    raise DecodeError(f"opaque: {reason}")


def _opaque_step(params: Any) -> StepFn:
    if not (isinstance(params, str) and params.strip()):
        raise ValueError("opaque takes the reason as text: {opaque: \"encrypted by the SDK with ...\"}")
    return functools.partial(step_opaque, reason=params.strip())


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


def step_pairs(value: Any, limits: Limits, head: list[str]) -> dict[str, Any]:
    """A flat list `[h1, h2, k1, v1, k2, v2, ...]` → {h1 name: h1, h2 name: h2, k1: v1, k2: v2}:
    the leading items take the names in *head*, the rest alternate key and value. A key met
    twice (or equal to a head name) keeps all its values as a list, so nothing is lost."""
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
    if not (isinstance(params, dict) and set(params) == {"head"} and isinstance(params["head"], list)
            and all(isinstance(n, str) and n for n in params["head"])):
        raise ValueError("pairs takes {head: [<names of the leading items>]}")
    return functools.partial(step_pairs, head=list(params["head"]))


# --- Keys the user supplies (--tracker-key NAME=KEY, addon option leakmap_keys) -----------
# Some SDKs obfuscate their payloads with a key that is public inside the app (it ships in
# the app's manifest or code) but not in the request: whoever audits the app knows it.
# A step that needs one is a KeyedStep; the pipeline hands it the user's keys at run time.


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A rule's reference to a key the user supplies: `key: {user_key: NAME, what: TEXT}`."""

    name: str
    what: str

    def missing(self) -> DecodeError:
        return DecodeError(f"needs {self.what}: pass --tracker-key {self.name}=KEY (addon option leakmap_keys)",
                           recognised=True)


def _key_ref(params: Any, step: str) -> KeyRef:
    spec = params.get("key") if isinstance(params, dict) else None
    if not (isinstance(spec, dict) and set(spec) == {"user_key", "what"} and isinstance(spec["user_key"], str)
            and re.fullmatch(r"[a-z0-9_]+", spec["user_key"]) and isinstance(spec["what"], str)
            and spec["what"].strip()):
        raise ValueError(f"{step} takes key: {{user_key: <name, a-z 0-9 _>, what: <what the key is, for messages>}}")
    return KeyRef(spec["user_key"], spec["what"].strip())


@dataclass(frozen=True, slots=True)
class KeyedStep:
    """A step that needs a key the user supplies: called with the value, the limits and the
    key's value (None when the user gave none; the step then says which key it needs)."""

    ref: KeyRef
    function: Callable[[Any, Limits, str | None], Any]

    def __call__(self, value: Any, limits: Limits, keys: Mapping[str, str]) -> Any:
        return self.function(value, limits, keys.get(self.ref.name))


_MASK64 = (1 << 64) - 1
_MIX_MUL1, _MIX_MUL2 = 0xC2B2AE3D27D4EB4F, 0x85EBCA77C2B2AE63
_ENVELOPE = re.compile(rb"^([0-9]{1,3}):([0-9a-f]{40}):([^:]*):")
_JAVA_TRIM = "".join(chr(c) for c in range(33))  # String.trim(): every char <= U+0020


def _mix64(x: int, arithmetic: bool) -> int:
    """x ^= x >> 33; x *= 0xC2B2AE3D27D4EB4F; x ^= x >> 29; x *= 0x85EBCA77C2B2AE63;
    x ^= x >> 32 on 64 bits, with arithmetic (sign-extending) or logical shifts."""
    def shr(v: int, n: int) -> int:
        return ((v - (1 << 64)) >> n) & _MASK64 if arithmetic and v >> 63 else v >> n

    x &= _MASK64
    x = ((x ^ shr(x, 33)) * _MIX_MUL1) & _MASK64
    x = ((x ^ shr(x, 29)) * _MIX_MUL2) & _MASK64
    return x ^ shr(x, 32)


def _xor_stream(data: bytes, seed: int, key: bytes, arithmetic: bool, limits: Limits) -> bytes:
    """data XOR (mix64(seed + i) for each 8-byte block i, little-endian) XOR key repeated."""
    blocks = []
    for i in range(0, len(data), 8):
        if i % (8 * 65536) == 0:
            limits.check_time()
        blocks.append(_mix64(seed + i, arithmetic).to_bytes(8, "little"))
    stream = b"".join(blocks)
    repeated = (key * (len(data) // len(key) + 1))[: len(data)]
    n = len(data)
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little") ^ int.from_bytes(repeated, "little")
    return mixed.to_bytes(n, "little")


def _obfuscated_base64(data: bytes, what: str, limits: Limits) -> bytes:
    """URL-safe base64 with `*` for the padding `=`."""
    try:
        return step_base64(data.replace(b"*", b"="), limits)
    except DecodeError:
        raise DecodeError(f"{what} is not base64 (with - _ * for + / =)", recognised=True) from None


def _utf8_or_wrong_key(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("wrong key? the decoded bytes are not UTF-8 text", recognised=True) from None


def step_keyed_xor(value: Any, limits: Limits, key: str | None, ref: KeyRef, ivs: dict[str, tuple[bytes, ...]],
                   key_split: int, hash_name: str) -> str:
    """The seeded XOR envelope `<format>:<SHA-1 hex of an IV>:<key after key_split chars>:<data>`
    (AppLovin's Android SDK). The mask is H(IV + the key's first *key_split* characters)
    repeated, XORed with a stream of 64-bit mixes (see _mix64) of a seed plus the byte offset
    of each 8-byte block. The rule lists the IVs per format; the envelope names its IV by
    SHA-1. Format 1: data in base64 (- _ * for + / =): 8 bytes of seed XOR the mask's first 8
    bytes, then the text, zero-padded to whole blocks, masked with arithmetic shifts in the
    mix; trimmed as Java's String.trim. Format 2: a 16-byte header (text length, seed XOR the
    mask's first 8 bytes, both little-endian 64-bit) then the gzipped text masked with
    logical shifts, as bytes (request bodies) or as base64 of the header then base64 of the
    rest (query parameters). Returns the text. The key is never put in a message."""
    data = _as_bytes(value).strip() if isinstance(value, str) else _as_bytes(value)
    found = _ENVELOPE.match(data)
    if not found:
        raise DecodeError("not a keyed XOR envelope (<format>:<40 hex digits>:<key tail>:<data>)")
    version, digest, tail = (part.decode("ascii", "replace") for part in found.groups())
    payload = data[found.end():]
    if version not in ivs:
        raise DecodeError(f"envelope format {version} is not one the rule knows ({', '.join(sorted(ivs))})",
                          recognised=True)
    iv = next((iv for iv in ivs[version] if hashlib.sha1(iv).hexdigest() == digest), None)
    if iv is None:
        raise DecodeError(f"format {version}: IV digest {digest} is not the SHA-1 of any IV the rule knows "
                          "(an SDK build with another IV?)", recognised=True)
    if key is None:
        raise ref.missing()
    if len(key) <= key_split:
        raise DecodeError(f"the {ref.name} key given is too short (it has more than {key_split} characters)",
                          recognised=True)
    if key[key_split:] != tail:
        raise DecodeError(f"the {ref.name} key given is not the one this request was made with "
                          "(the key's end, sent in the envelope, differs)", recognised=True)
    mask = hashlib.new(hash_name, iv + key[:key_split].encode("utf-8")).digest()
    if version == "1":
        raw = _obfuscated_base64(payload, "format 1 data", limits)
        if len(raw) < 8:
            raise DecodeError("format 1: shorter than its 8-byte seed", recognised=True)
        seed = int.from_bytes(bytes(a ^ b for a, b in zip(raw[:8], mask)), "little")
        return _utf8_or_wrong_key(_xor_stream(raw[8:], seed, mask, True, limits)).strip(_JAVA_TRIM)
    if len(payload) >= 24 and payload[22:24] == b"**" and re.fullmatch(rb"[A-Za-z0-9_*-]+", payload):
        header = _obfuscated_base64(payload[:24], "format 2 header", limits)
        masked = _obfuscated_base64(payload[24:], "format 2 data", limits)
    else:
        header, masked = payload[:16], payload[16:]
    if len(header) < 16:
        raise DecodeError("format 2: shorter than its 16-byte header", recognised=True)
    length = int.from_bytes(header[:8], "little")
    seed = int.from_bytes(header[8:16], "little") ^ int.from_bytes(mask[:8], "little")
    plain = _xor_stream(masked, seed, mask, False, limits)
    if plain[:2] == b"\x1f\x8b":
        try:
            plain = compression.gunzip(plain, limits.max_decompressed)
        except compression.DecompressionError as e:
            raise DecodeError(f"wrong key? {e}", recognised=True) from None
    if len(plain) != length:
        raise DecodeError(f"wrong key? the decoded text has {len(plain)} bytes, the header announces {length}",
                          recognised=True)
    return _utf8_or_wrong_key(plain)


def _keyed_xor_step(params: Any) -> KeyedStep:
    usage = ("keyed_xor takes {key: {user_key: NAME, what: TEXT}, key_split: <characters>, hash: <hashlib name>, "
             "ivs: {<format 1 or 2>: [<IV as hex>, ...]}}")
    if not (isinstance(params, dict) and set(params) == {"key", "key_split", "hash", "ivs"}):
        raise ValueError(usage)
    ref = _key_ref(params, "keyed_xor")
    split, hash_name, ivs = params["key_split"], params["hash"], params["ivs"]
    if not (isinstance(split, int) and not isinstance(split, bool) and split > 0
            and hash_name in hashlib.algorithms_guaranteed and isinstance(ivs, dict) and ivs
            and set(map(str, ivs)) <= {"1", "2"}
            and all(isinstance(v, list) and v and all(isinstance(h, str) for h in v) for v in ivs.values())):
        raise ValueError(usage)
    try:
        compiled = {str(k): tuple(bytes.fromhex(h) for h in v) for k, v in ivs.items()}
    except ValueError:
        raise ValueError(usage + " (an IV is not hex)") from None
    if hashlib.new(hash_name).digest_size < 8:
        raise ValueError(usage + " (the hash must give at least 8 bytes)")
    return KeyedStep(ref, functools.partial(step_keyed_xor, ref=ref, ivs=compiled, key_split=split,
                                            hash_name=hash_name))


# Steps that take parameters: `{split: {sep: ":", names: [a, b]}}` in a rule.
PARAMETERISED: dict[str, Callable[[Any], StepFn | KeyedStep]] = {
    "split": _split_step, "protobuf": _protobuf_step, "opaque": _opaque_step, "aes_cbc": _aes_cbc_step,
    "group_by": _group_by_step, "pairs": _pairs_step, "keyed_xor": _keyed_xor_step,
}


NO_KEYS: Mapping[str, str] = {}
# Steps whose output can be larger than their input: charged to the request's budget.
EXPANDING = frozenset({"gzip", "zlib", "lzstring", "lzstring_uri", "keyed_xor"})


@dataclass(frozen=True, slots=True)
class Chain:
    """A compiled list of steps, each (display name, function); an `any` step has no
    function and tries `alternatives` instead."""

    steps: tuple[tuple[str, StepFn | KeyedStep | None], ...]
    alternatives: tuple["Chain", ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.steps)

    @property
    def key_refs(self) -> tuple[KeyRef, ...]:
        """The user-supplied keys this chain's steps (alternatives included) can use."""
        own = tuple(f.ref for _, f in self.steps if isinstance(f, KeyedStep))
        return own + tuple(ref for alt in self.alternatives for ref in alt.key_refs)

    def run(self, value: Any, limits: Limits, keys: Mapping[str, str] = NO_KEYS,
            budget: Budget | None = None) -> tuple[Any, str]:
        """Apply the steps; return the value and the chain text actually used. *keys*: the
        keys the user supplied, by name, for steps that need one. *budget*: the request's
        running budget (the pipeline passes one): each step then gets the remaining
        decompressed budget and the deadline, and what expanding steps produce is charged."""
        used: list[str] = []
        for name, function in self.steps:
            if budget is not None:
                budget.check_time()
                limits = budget.step_limits()
            if function is None:
                value, text = self._first(value, limits, keys, budget)
                used.append(text)
                continue
            if isinstance(function, KeyedStep):
                value = function(value, limits, keys)
            else:
                value = function(value, limits)
            used.append(name)
            if budget is not None and name in EXPANDING and isinstance(value, (str, bytes)):
                budget.charge(len(value), name)
        return value, " → ".join(used)

    def _first(self, value: Any, limits: Limits, keys: Mapping[str, str],
               budget: Budget | None) -> tuple[Any, str]:
        reasons = []
        for alternative in self.alternatives:
            names = " → ".join(alternative.names)
            try:
                return alternative.run(value, limits, keys, budget)
            except LimitError as e:  # a bomb: the other alternatives would meet it too
                raise LimitError(f"[{names}] {e}") from None
            except DecodeError as e:
                if e.recognised:  # this alternative knew the format: its reason is the one
                    raise DecodeError(f"[{names}] {e}", recognised=True) from None
                reasons.append(f"[{names}] {e}")
        raise DecodeError("no alternative decoded: " + "; ".join(reasons))


def compile_steps(spec: list[Any]) -> Chain:
    """Rule step list → Chain. Raises ValueError naming an unknown step (the rule loader
    turns it into a rule error with file and line)."""
    steps: list[tuple[str, StepFn | KeyedStep | None]] = []
    alternatives: tuple[Chain, ...] = ()
    for step in spec:
        if isinstance(step, str):
            if step not in STEPS:
                known = ", ".join(sorted([*STEPS, *PARAMETERISED, "any"]))
                raise ValueError(f"unknown decode step {step!r} (known: {known})")
            steps.append((step, STEPS[step]))
        elif isinstance(step, dict) and set(step) == {"any"}:
            if alternatives:
                raise ValueError("only one 'any' step per chain; nest the rest inside it")
            alternatives = tuple(compile_steps(list(alt)) for alt in step["any"])
            steps.append(("any", None))
        elif isinstance(step, dict) and len(step) == 1 and next(iter(step)) in PARAMETERISED:
            name, params = next(iter(step.items()))
            steps.append((name, PARAMETERISED[name](params)))
        else:
            raise ValueError(f"a decode step is a name, {{any: [[...], ...]}} or {{NAME: {{...}}}} with NAME one of "
                             f"{', '.join(sorted(PARAMETERISED))}; not {step!r}")
    return Chain(tuple(steps), alternatives)


@dataclass(frozen=True, slots=True)
class Operation:
    """Decode the nodes at `at` with `chain`."""

    at: str
    segments: tuple[str, ...]
    chain: Chain
    optional: bool = False  # failure is noted in the chain log, not an error
    # Only for nodes an earlier operation left undecoded (still text or bytes): a fallback
    # that shows what can be read of a payload that could not be decoded (an envelope's
    # clear fields when the key to open it is missing).
    if_undecoded: bool = False


def run_operations(doc: dict[str, Any], operations: list[Operation], limits: Limits,
                   keys: Mapping[str, str] = NO_KEYS, budget: Budget | None = None) -> tuple[list[str], list[str]]:
    """Apply operations in order to *doc*, in place. Returns (chain log, errors). *keys*:
    the keys the user supplied, for steps that need one (KeyedStep). *budget*: the
    request's running budget, shared by every operation (see Chain.run). An error caused by
    a limit starts with "limit: ", so the pipeline can tell it from a format it could not
    read. TookTooLong is not caught: it ends the whole request."""
    log: list[str] = []
    errors: list[str] = []
    for op in operations:
        for container, key, concrete in list(paths.slots(doc, list(op.segments))):
            value = container[key]
            if value in (b"", "", None) or (op.if_undecoded and not isinstance(value, (str, bytes))):
                continue
            try:
                container[key], used = op.chain.run(value, limits, keys, budget)
                log.append(f"{concrete}: {used}")
            except LimitError as e:
                errors.append(f"limit: {concrete}: {e}")
            except DecodeError as e:
                if op.optional:
                    log.append(f"{concrete}: left as is ({e})")
                else:
                    errors.append(f"{concrete}: {e}")
    return log, errors
