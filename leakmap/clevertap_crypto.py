"""CleverTap's encryption in transit (`clevertap_decrypt`): AES-GCM whose key travels with
the data."""

from __future__ import annotations

import base64
import binascii
from typing import Any


from .limits import Limits
from .steps import DecodeError, StepFn


def step_clevertap_decrypt(value: Any, limits: Limits) -> bytes:
    """CleverTap's encryption in transit carries its own key: the body is
    {"itp": base64(AES-256-GCM ciphertext + tag), "itk": base64(key), "itv": base64(IV)}
    (clevertap-android-sdk: EncryptedSendQueueRequestBody, AESGCMCrypt): anyone on the path can
    decrypt it."""
    if not isinstance(value, dict) or not {"itp", "itk", "itv"} <= set(value):
        raise DecodeError("not a CleverTap encrypted body (itp/itk/itv)")
    from cryptography.exceptions import InvalidTag  # imported when used: start-up stays light
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        key, iv, data = (base64.b64decode(value[name]) for name in ("itk", "itv", "itp"))
        return AESGCM(key).decrypt(iv, data, None)
    except (binascii.Error, ValueError, TypeError) as e:
        raise DecodeError(f"CleverTap envelope: {e}") from None
    except InvalidTag:
        raise DecodeError("CleverTap envelope: AES-GCM authentication failed") from None


STEPS: dict[str, StepFn] = {"clevertap_decrypt": step_clevertap_decrypt}
