"""AppLovin Android SDK request obfuscation, rebuilt for tests the way the SDK builds it.

Written from the decompiled SDK (facts, not its code): solors/aaa@4e4987da
com/applovin/impl/AbstractC5702vi.java (SDK 13.0.1) and Elkalubi1/DLS-25-@c1a8f57b
smali/com/applovin/impl/i4.smali, a7.smali, m0.smali (SDK 13.3.1). Deliberately written
apart from leakmap/decode.py (Java's signed longs, byte by byte), so the two must agree.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import struct
from urllib.parse import quote

# The IVs built into both SDK builds: format 1 (`f11493a`, i4.a) and format 2 (`f11494b`,
# i4.b: 21 bytes copied into a 32-byte array, the rest zero).
IV1 = bytes(b & 0xFF for b in (-83, -98, -53, -112, -29, -118, 55, 117, 59, 8, -12, -15, 73, 110, -67, 57, 117, 4,
                               -26, 97, 66, -12, 125, 91, -119, -103, -30, 114, 123, 54, 51, -77))
IV2 = bytes((18, 12, 28, 20, 17, 23, 26, 9, 21, 3, 14, 29, 4, 0, 2, 7, 10, 29, 6, 20, 1)) + bytes(11)
SEED = 1_718_000_000_123  # a7.a(k): the server-adjusted System.currentTimeMillis()


def _long(x: int) -> int:
    """Java long overflow: wrap to a signed 64-bit value."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >> 63 else x


def _mix(j: int, unsigned: bool) -> int:
    """Format 1 uses `>>` (shr-long), format 2 `>>>` (ushr-long)."""
    def shift(v: int, n: int) -> int:
        return (v & ((1 << 64) - 1)) >> n if unsigned else v >> n

    j = _long(j)
    j2 = _long((j ^ shift(j, 33)) * -4417276706812531889)
    j3 = _long((j2 ^ shift(j2, 29)) * -8796714831421723037)
    return j3 ^ shift(j3, 32)


def _mask(iv: bytes, sdk_key: str) -> bytes:
    return hashlib.sha256(iv + sdk_key[:32].encode()).digest()


def _b64(data: bytes) -> str:
    """Base64 NO_WRAP with - _ * for + / = (AbstractC5702vi.m93885a)."""
    return base64.b64encode(data).decode().replace("+", "-").replace("/", "_").replace("=", "*")


def encode_v1(text: str, sdk_key: str, seed: int = SEED) -> str:
    """Format 1 (m93889a / i4.a(String, long, String, k)): the text as a `1:` envelope."""
    data, a = text.encode("utf-8"), _mask(IV1, sdk_key)
    out = bytearray(((seed >> (8 * k)) & 0xFF) ^ a[k] for k in range(8))
    for i in range(0, len(data), 8):
        j5 = _mix(seed + i, unsigned=False)
        for k in range(8):
            byte = data[i + k] if i + k < len(data) else 0
            out.append((byte ^ a[(i + k) % len(a)] ^ ((j5 >> (8 * k)) & 0xFF)) & 0xFF)
    return f"1:{hashlib.sha1(IV1).hexdigest()}:{sdk_key[32:]}:{_b64(bytes(out))}"


def encode_v2(text: str, sdk_key: str, as_text: bool, seed: int = SEED) -> bytes:
    """Format 2 (m93888a): `2:<sha1>:<key tail>:` + 16-byte little-endian header (text
    length, first 8 mask bytes as a long XOR seed) + the gzipped text masked by m93883a; the
    header and the rest as raw bytes (request bodies) or each in base64 (`as_text`: the `p`
    parameter)."""
    data, a = text.encode("utf-8"), _mask(IV2, sdk_key)
    header = struct.pack("<qq", len(data), _long(int.from_bytes(a[:8], "little") ^ seed))
    packed = bytearray(gzip.compress(data, mtime=0))
    j2 = 0
    for i in range(len(packed)):
        if i % 8 == 0:
            j2 = _mix(seed + i, unsigned=True)
        packed[i] = (packed[i] ^ (((j2 >> (8 * (i % 8))) & 0xFF) ^ a[i % len(a)])) & 0xFF
    prefix = f"2:{hashlib.sha1(IV2).hexdigest()}:{sdk_key[32:]}:".encode()
    if as_text:
        return prefix + _b64(header).encode() + _b64(bytes(packed)).encode()
    return prefix + header + bytes(packed)


def query_text(params: dict[str, str]) -> str:
    """a7.a(Map, boolean): `k=v` joined by `&`, only `&` inside values escaped (%26)."""
    return "&".join(f"{k}={v.replace('&', '%26')}" for k, v in params.items())


def p_parameter(envelope: str | bytes) -> str:
    """The `p` query parameter as StringUtils.appendQueryParameter (Uri.Builder) encodes it."""
    text = envelope.decode() if isinstance(envelope, bytes) else envelope
    return "p=" + quote(text, safe="-_.!~*'()")
