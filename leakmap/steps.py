"""What every decode step shares: the error a step raises, the input coercions, and the
key references of steps that need a key the user supplies. The engine (decode.py) and every
step module (text_formats.py, binary_formats.py and one module per vendor format) import
this; nothing here imports them, so the step modules never import each other or the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .limits import LimitError, Limits, TookTooLong
from .text import is_clean, original_bytes


class DecodeError(ValueError):
    """One step could not decode its input; the message says why. *recognised*: the step
    recognised its format (an envelope it knows) and failed after that, so its reason is the
    one that matters: an `any` reports it alone instead of every alternative's."""

    def __init__(self, message: str, recognised: bool = False) -> None:
        super().__init__(message)
        self.recognised = recognised


@contextmanager
def decoder_errors(limits: Limits, too_large: type[Exception], limit_text: str,
                   invalid: tuple[type[Exception], ...] = (), invalid_text: str = "{}") -> Iterator[None]:
    """A bounded decoder's own exceptions as the engine's: its size limit (*too_large*) →
    LimitError, malformed input (*invalid*) → DecodeError, its deadline (TimeoutError) →
    TookTooLong for the request. The texts format the decoder's message (`{}`)."""
    try:
        yield
    except too_large as e:
        raise LimitError(limit_text.format(e)) from None
    except invalid as e:
        raise DecodeError(invalid_text.format(e)) from None
    except TimeoutError:
        raise TookTooLong(limits.max_seconds) from None


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


StepFn = Callable[[Any, Limits], Any]


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
