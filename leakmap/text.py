"""Text that is not valid Unicode: one policy for every stage.

Captured text is not always Unicode. A header or URL with Latin-1 bytes (`User-Agent:
Gerät/1.0`) reaches leakmap through mitmproxy as a `str` holding *surrogate escapes*
(U+DC80-U+DCFF, one per byte that is not UTF-8: Python's and mitmproxy's `surrogateescape`);
JSON and LZ-string (UTF-16 inside) can carry *lone surrogates* (`"\\ud83d"`, what JavaScript
writes when an SDK cuts a string in the middle of an emoji). The policy:

- **inside the pipeline** (read, decode, extract, attribute) such text stays a `str` with its
  surrogates: nothing is lost, and the same bytes always give the same text. Steps that must
  guess whether bytes are text at all (protobuf strings, `any` alternatives) still ask for
  valid UTF-8;
- **at the store boundary** (`Store.add`, and problem lines) every string is written in its
  *display form*: each surrogate escape becomes `\\xNN` (the byte), each other lone surrogate
  `\\uXXXX`, so SQLite, the report, the exports and the terminal only ever see valid UTF-8;
- **the exact original** is kept as evidence: the payload gets a `not_unicode` object that
  maps the concrete path of every such value (and `url` for the URL) to the base64 of its
  original bytes (surrogate escapes back to their byte, lone surrogates as WTF-8).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean(text: str) -> bool:
    """True when *text* is valid Unicode (no surrogate code point): the common case, checked
    without a regex for ASCII."""
    return text.isascii() or _SURROGATE.search(text) is None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def display(text: str) -> str:
    """*text* with every surrogate shown as an escape (see the module docstring)."""
    return text if is_clean(text) else _SURROGATE.sub(_escape, text)


def original_bytes(text: str) -> bytes:
    """The bytes *text* was read from: surrogate escapes back to their byte, lone UTF-16
    surrogates encoded as WTF-8 (UTF-8 that allows them)."""
    out = bytearray()
    last = 0
    for match in _SURROGATE.finditer(text):
        out += text[last:match.start()].encode("utf-8")
        code = ord(match.group(0))
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else match.group(0).encode("utf-8", "surrogatepass")
        last = match.end()
    out += text[last:].encode("utf-8")
    return bytes(out)


def evidence(text: str) -> str:
    """Base64 of `original_bytes`: how the exact original travels in the evidence."""
    return base64.b64encode(original_bytes(text)).decode("ascii")


class JsonText(str):
    """JSON that `dumps` made already (in a --jobs worker, leakmap/parallel.py): `dumps`
    returns it as it is."""


def dumps(value: Any) -> str:
    """JSON text of *value* in which every string is in display form. Clean values (the
    common case) cost one json.dumps and one scan."""
    if value.__class__ is JsonText:
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    if is_clean(text):
        return text
    # Surrogates can only sit inside JSON strings: their display escape needs its backslash
    # escaped for JSON (`\\xe4` in the JSON text reads back as the 4 characters `\xe4`).
    return _SURROGATE.sub(lambda m: "\\" + _escape(m), text)
