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

Cost: a guess that fails must not be retried. Each length-delimited field is parsed as a
message at most once, so a body is read at most once per nesting level (at most MAX_DEPTH
levels): linear in its size, where trying "message?" twice per level (before and after the
text test) doubled the work per level (20 levels of a 62-byte body took seconds). Repeated
fields are appended to a list in place, and the number of values one body may produce is
capped (`max_values`): 8 MB of tiny nested messages would otherwise hold gigabytes of dicts.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any

MAX_DEPTH = 24
_CHECK_EVERY = 1024


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class ProtobufLimit(ProtobufError):
    """The message is well-formed so far but produces more values than allowed."""


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
    return text.isprintable() or all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _fixed(raw: bytes, float_format: str, int_format: str) -> float | int:
    as_int = struct.unpack(int_format, raw)[0]
    as_float = struct.unpack(float_format, raw)[0]
    plausible = math.isfinite(as_float) and (as_float == 0 or 1e-7 < abs(as_float) < 1e15)
    return as_float if plausible and as_int > 0xFFFFFF else as_int


class _Decoder:
    """One body's decoding: the value count and the clock are shared by every nesting level."""

    def __init__(self, keep_raw: frozenset[str], max_values: int, deadline: float) -> None:
        self.keep_raw, self.max_values, self.deadline = keep_raw, max_values, deadline
        self.values = 0

    def _count(self) -> None:
        self.values += 1
        if self.values > self.max_values:
            raise ProtobufLimit(f"more than {self.max_values} values")
        if self.values % _CHECK_EVERY == 0 and self.deadline != math.inf and time.thread_time() > self.deadline:
            raise TimeoutError

    def _nested(self, raw: bytes, depth: int, path: str) -> dict[str, Any] | None:
        if depth >= MAX_DEPTH or not raw:
            return None
        try:
            return self.message(raw, depth + 1, path + "." if self.keep_raw else "")
        except ProtobufLimit:
            raise
        except ProtobufError:
            return None

    def _length_delimited(self, raw: bytes, depth: int, path: str) -> Any:
        if path in self.keep_raw:
            return raw
        if raw[:1] == b"\n":
            # Text rarely starts with a newline whose next byte is exactly the length of a
            # well-formed field that follows; a message whose first field is 1 (string or
            # submessage) always does. See rule 1 in the module docstring. Tried once: a
            # failed parse is not repeated after the text test.
            nested = self._nested(raw, depth, path)
            if nested is not None:
                return nested
            return raw.decode("utf-8") if _is_text(raw) else raw
        if _is_text(raw):
            return raw.decode("utf-8")
        nested = self._nested(raw, depth, path)
        return raw if nested is None else nested

    def message(self, data: bytes, depth: int = 0, prefix: str = "") -> dict[str, Any]:
        """One message: field number → value (a list when the field repeats). Length-delimited
        fields whose dotted number path (*prefix* + number) is in keep_raw stay bytes."""
        fields: dict[str, Any] = {}
        repeated: set[str] = set()  # fields whose list this message built (appended in place)
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
                value = self._length_delimited(data[pos:pos + length], depth, f"{prefix}{number}")
                pos += length
            elif wire_type == 5:
                if pos + 4 > len(data):
                    raise ProtobufError("truncated 32-bit field")
                value, pos = _fixed(data[pos:pos + 4], "<f", "<I"), pos + 4
            else:
                raise ProtobufError(f"unsupported wire type {wire_type}")
            self._count()
            name = str(number)
            if name in repeated:
                fields[name].append(value)
            elif name in fields:
                fields[name] = [fields[name], value]
                repeated.add(name)
            else:
                fields[name] = value
        return fields


def decode(data: bytes, keep_raw: frozenset[str] = frozenset(), max_values: int = 500_000,
           deadline: float = math.inf) -> dict[str, Any]:
    """The message in *data*. Raises ProtobufError when it is not one, ProtobufLimit past
    *max_values* values (every nesting level counted), TimeoutError once
    `time.thread_time()` passes *deadline*."""
    return _Decoder(keep_raw, max_values, deadline).message(data)
