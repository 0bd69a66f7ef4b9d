"""The payload evidence (pipeline.evidence) of hostile documents."""

from __future__ import annotations

import base64

from leakmap import text
from leakmap.pipeline import evidence


def test_a_key_that_is_not_valid_unicode_keeps_its_evidence():
    """The path of such a key under `not_unicode` is not valid Unicode either: the walk used
    to meet it again in the very dict it was filling, and the request lost its whole
    evidence to an internal error ("dictionary changed size during iteration")."""
    shown = evidence({"a\udcff": {"b": "c\udcfe"}})
    assert list(shown["not_unicode"]) == ["a\udcff (key)", "a\udcff.b"]
    assert base64.b64decode(shown["not_unicode"]["a\udcff.b"]) == b"c\xfe"
    assert '"a\\\\xff (key)"' in text.dumps(shown)  # stored in its display form
