"""`keyed_xor`: AppLovin's Android SDK envelope `<format>:<SHA-1 of the IV>:<key tail>:<data>`,
XORed with a stream seeded from the SDK key, which the user supplies (--tracker-key)."""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

from . import compression
from .binary_formats import step_base64
from .limits import Limits
from .steps import DecodeError, KeyedStep, KeyRef, _as_bytes, _key_ref


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


PARAMETERISED = {"keyed_xor": _keyed_xor_step}
EXPANDING = frozenset({"keyed_xor"})
