"""`{aes_cbc: {key, iv}}`: AES-CBC under a constant key that every copy of an SDK carries
(ironSource's init query). A fixed key shipped in the SDK is not a secret of the user's."""

from __future__ import annotations

import functools
from typing import Any


from .limits import Limits
from .steps import DecodeError, StepFn, _as_bytes


def step_aes_cbc(value: Any, limits: Limits, key: bytes, iv: bytes) -> bytes:
    """AES-CBC decryption with PKCS#7 padding, under a key the rule declares. For SDKs that
    encrypt with a constant key shipped inside every copy of the SDK (a fixed key is not a
    secret of the user's); anything else stays `opaque`."""
    data = _as_bytes(value)
    if not data or len(data) % 16:
        raise DecodeError(f"not AES-CBC: {len(data)} bytes is not a whole number of blocks")
    from cryptography.hazmat.primitives import padding as crypto_padding  # imported when used
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


PARAMETERISED = {"aes_cbc": _aes_cbc_step}
