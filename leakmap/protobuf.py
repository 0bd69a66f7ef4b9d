"""Schema-less Protocol Buffers decoding, tuned for reading tracker payloads.

The wire format is small (varint, 64-bit, length-delimited, 32-bit); what a decoder
without the .proto must guess is what a length-delimited field holds. Generic decoders
(bbpb, protoc --decode_raw) prefer "nested message" and then rename fields whose guessed
type varies between records, which breaks stable rule paths such as `1.14`. Here:
  1. bytes that open with the tag of field 1 as length-delimited (0x0A, a newline) and parse
     completely are a nested message, even when every byte is printable: wrappers such as
     `Value {string string = 1}` or `{name = 1}` holding a 9-, 10-, 13- or 32-126-byte string
     encode as "\n" + a printable length byte + text, which otherwise reads as a string;
  2. printable UTF-8 text is a string (locales like "en-us" also parse as tiny messages);
  3. otherwise, bytes that parse completely as a message are a nested message;
  4. otherwise they stay bytes.
Fixed 64/32-bit values are read as a float when they look like one (finite, in a sane range,
not a small integer's bit pattern), else as an unsigned integer. Keys are field numbers as
strings; a field that occurs more than once in a message becomes a list.

A rule that knows part of the schema can name length-delimited fields to keep as raw bytes
(`raw`, dotted field-number paths from the root such as "1.3.1"): identifiers sent as 16
raw UUID bytes, or opaque server tokens, would otherwise be guessed as text or, by chance,
as a nested message, and a later step (`uuid`) could not read them back.
"""

from __future__ import annotations

import math
import struct
from typing import Any

MAX_DEPTH = 24


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint longer than 10 bytes")


def _is_text(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _fixed(raw: bytes, float_format: str, int_format: str) -> float | int:
    as_int = struct.unpack(int_format, raw)[0]
    as_float = struct.unpack(float_format, raw)[0]
    plausible = math.isfinite(as_float) and (as_float == 0 or 1e-7 < abs(as_float) < 1e15)
    return as_float if plausible and as_int > 0xFFFFFF else as_int


def _nested(raw: bytes, depth: int, keep_raw: frozenset[str], path: str) -> dict[str, Any] | None:
    if depth >= MAX_DEPTH or not raw:
        return None
    try:
        return decode_message(raw, depth + 1, keep_raw, path + "." if keep_raw else "")
    except ProtobufError:
        return None


def _length_delimited(raw: bytes, depth: int, keep_raw: frozenset[str], path: str) -> Any:
    if path in keep_raw:
        return raw
    if raw[:1] == b"\n":
        # Text rarely starts with a newline whose next byte is exactly the length of a
        # well-formed field that follows; a message whose first field is 1 (string or
        # submessage) always does. See rule 1 in the module docstring.
        nested = _nested(raw, depth, keep_raw, path)
        if nested is not None:
            return nested
    if _is_text(raw):
        return raw.decode("utf-8")
    nested = _nested(raw, depth, keep_raw, path)
    return raw if nested is None else nested


def decode_message(data: bytes, depth: int = 0, keep_raw: frozenset[str] = frozenset(),
                   prefix: str = "") -> dict[str, Any]:
    """One message: field number → value (a list when the field repeats). Length-delimited
    fields whose dotted number path (*prefix* + number) is in *keep_raw* stay bytes."""
    fields: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire_type == 0:
            value, pos = _varint(data, pos)
            value = value - (1 << 64) if value >= 1 << 63 else value
        elif wire_type == 1:
            if pos + 8 > len(data):
                raise ProtobufError("truncated 64-bit field")
            value, pos = _fixed(data[pos:pos + 8], "<d", "<Q"), pos + 8
        elif wire_type == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("length-delimited field runs past the end")
            value = _length_delimited(data[pos:pos + length], depth, keep_raw, f"{prefix}{number}")
            pos += length
        elif wire_type == 5:
            if pos + 4 > len(data):
                raise ProtobufError("truncated 32-bit field")
            value, pos = _fixed(data[pos:pos + 4], "<f", "<I"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire_type}")
        name = str(number)
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields
