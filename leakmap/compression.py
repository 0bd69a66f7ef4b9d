"""Bounded decompression shared by the readers (Content-Encoding) and the decode steps.

Every decompressor stops at `limit` output bytes: a small hostile body must not expand into
gigabytes (a "zip bomb") inside a proxy that watches live traffic.
"""

from __future__ import annotations

import zlib

import brotli
import zstandard


class DecompressionError(ValueError):
    """The data is not valid for the codec, truncated, or expands beyond the limit."""


class TooLarge(DecompressionError):
    """The data expands beyond the limit (a bomb, or a limit set too low)."""


def _zlib(data: bytes, wbits: int, limit: int, name: str) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as e:
        raise DecompressionError(f"{name}: {e}") from None
    if len(out) > limit:
        raise TooLarge(f"{name}: expands beyond the {limit}-byte limit")
    if not decoder.eof:
        raise DecompressionError(f"{name}: truncated data ({len(data)} bytes in, stream not finished)")
    return out


def gunzip(data: bytes, limit: int) -> bytes:
    return _zlib(data, 16 + zlib.MAX_WBITS, limit, "gzip")


def inflate(data: bytes, limit: int) -> bytes:
    """zlib-wrapped deflate, or raw deflate when there is no zlib header (both are used)."""
    has_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return _zlib(data, zlib.MAX_WBITS if has_header else -zlib.MAX_WBITS, limit, "deflate")


def unbrotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(data, output_buffer_limit=limit + 1)
    except brotli.error as e:
        raise DecompressionError(f"br: {e}") from None
    if len(out) > limit:
        raise TooLarge(f"br: expands beyond the {limit}-byte limit")
    if not decoder.is_finished():
        raise DecompressionError("br: truncated data")
    return out


def unzstd(data: bytes, limit: int) -> bytes:
    try:
        with zstandard.ZstdDecompressor().stream_reader(data) as reader:
            out = reader.read(limit + 1)
    except zstandard.ZstdError as e:
        raise DecompressionError(f"zstd: {e}") from None
    if len(out) > limit:
        raise TooLarge(f"zstd: expands beyond the {limit}-byte limit")
    return out


CODECS = {"gzip": gunzip, "x-gzip": gunzip, "deflate": inflate, "br": unbrotli, "zstd": unzstd}


def decode_content(data: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo a Content-Encoding header value (possibly a comma list, applied in order)."""
    for name in reversed([p.strip().lower() for p in content_encoding.split(",") if p.strip()]):
        if name == "identity":
            continue
        codec = CODECS.get(name)
        if codec is None:
            raise DecompressionError(f"unknown content-encoding {name!r}")
        data = codec(data, limit)
    return data
