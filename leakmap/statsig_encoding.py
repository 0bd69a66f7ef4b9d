"""Statsig's "statsig-encoded" request bodies: base64 of the JSON, reversed character by character.

Why its own step: the Statsig browser client (@statsig/js-client, via @statsig/client-core
NetworkCore._tryEncodeBody) sends its /v1/initialize body this way whenever the page has
`btoa` (every browser), and marks it with the query parameter `se=1`. The user object it
carries (user id, email, custom fields, stable id) is invisible to a plain base64 or JSON
step: the reversed text still looks like base64 but decodes to noise.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .limits import Limits
from .steps import DecodeError, StepFn, _as_text

_REVERSED_B64 = re.compile(r"^={0,2}[A-Za-z0-9+/]+$")


class StatsigEncodingError(ValueError):
    """The text is not a reversed base64 string."""


def decode(text: str) -> bytes:
    """The bytes of a statsig-encoded body: reverse the text, then standard base64-decode it.
    Statsig pads with `=`, so the reversed text starts with the padding."""
    text = text.strip()
    if len(text) < 4 or not _REVERSED_B64.match(text):
        raise StatsigEncodingError("not reversed base64")
    try:
        return base64.b64decode(text[::-1], validate=True)
    except binascii.Error as e:
        raise StatsigEncodingError(f"invalid base64 once reversed: {e}") from None


def step_statsig_encoded(value: Any, limits: Limits) -> bytes:
    """Decode step `statsig_encoded`: Statsig's browser body encoding (`se=1`), base64 reversed."""
    try:
        return decode(_as_text(value))
    except StatsigEncodingError as e:
        raise DecodeError(str(e)) from None


STEPS: dict[str, StepFn] = {"statsig_encoded": step_statsig_encoded}
