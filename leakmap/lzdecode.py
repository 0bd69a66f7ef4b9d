"""LZ-string decompression with an output budget (the `lzstring` and `lzstring_uri` steps).

LZ-string (pieroxy/lz-string, used by CleverTap and PostHog's `lz64`) is an LZW variant over
a bit stream: tokens of a growing width (3 bits, +1 each time the dictionary size passes a
power of two); token 0 or 1 adds a literal 8- or 16-bit character to the dictionary, 2 ends
the stream, any other token outputs a dictionary entry and adds "previous entry + first
character of this one". Base64 flavours carry 6 bits per character (most significant first);
a token's bits are read least significant first.

Why not the `lzstring` package: it has no output limit, and LZW output grows quadratically
with the input (each token may output one character more than the dictionary's newest
entry), so 75-117 KB of base64 expand to a billion characters. Here every token's output is
counted against a budget before it is kept, the clock is checked as the stream is read, and
the whole bit stream is turned into one string of '0'/'1' so each token costs one slice and
one int() instead of a Python loop per bit.
"""

from __future__ import annotations

import math
import re
import time

BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
URI_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-$"
_SIX_BITS = {alphabet: {ch: format(i & 63, "06b") for i, ch in enumerate(alphabet)} for alphabet in (BASE64, URI_SAFE)}
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHECK_EVERY = 4096


class LZError(ValueError):
    """Not LZ-string data; the message says why."""


class LZTooLarge(LZError):
    """The output would exceed the budget."""


def _bit_string(text: str, alphabet: str) -> str:
    """The stream's bits, each token to be read reversed (least significant bit first)."""
    table = _SIX_BITS[alphabet]
    try:
        return "".join([table[ch] for ch in text])
    except KeyError as e:
        raise LZError(f"character {e.args[0]!r} is not in the LZ-string alphabet") from None


def decompress(text: str, alphabet: str, max_chars: int, deadline: float = math.inf) -> str:
    """The text compressed in *text* (characters of *alphabet*, 6 bits each). Raises LZError
    on malformed data, LZTooLarge when the output would pass *max_chars* characters.
    *deadline*: a `time.thread_time()` value after which TimeoutError is raised."""
    bits = _bit_string(text, alphabet)
    end = len(bits)
    pos = 0

    def read(width: int) -> int:
        nonlocal pos
        if pos + width > end:
            raise LZError("truncated (the stream ends inside a token)")
        value = int(bits[pos:pos + width][::-1], 2)
        pos += width
        return value

    first = read(2)
    if first == 2:
        raise LZError("empty stream")
    w = chr(read(8 if first == 0 else 16))
    dictionary: list[str] = ["", "", "", w]  # entries 0-2 are the control tokens
    out = [w]
    size = 1
    width, enlarge_in = 3, 4  # tokens start 3 bits wide; the width grows after 4 more entries
    tokens = 0
    while True:
        tokens += 1
        if tokens % _CHECK_EVERY == 0 and deadline != math.inf and time.thread_time() > deadline:
            raise TimeoutError
        if pos >= end:
            raise LZError("truncated (no end marker)")
        code = read(width)
        if code == 2:
            return _join_pairs("".join(out))
        if code < 2:
            dictionary.append(chr(read(8 if code == 0 else 16)))
            code = len(dictionary) - 1
            enlarge_in -= 1
            if enlarge_in == 0:
                enlarge_in, width = 1 << width, width + 1
        if code < len(dictionary):
            entry = dictionary[code]
        elif code == len(dictionary):
            entry = w + w[0]
        else:
            raise LZError(f"token {code} refers past the dictionary ({len(dictionary)} entries)")
        size += len(entry)
        if size > max_chars:
            raise LZTooLarge(f"expands beyond the {max_chars}-character limit")
        out.append(entry)
        dictionary.append(w + entry[0])
        w = entry
        enlarge_in -= 1
        if enlarge_in == 0:
            enlarge_in, width = 1 << width, width + 1


def _join_pairs(text: str) -> str:
    """LZ-string compresses JavaScript strings, UTF-16 code units: join surrogate pairs into
    their character; a lone surrogate stays one (see leakmap/text.py)."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
