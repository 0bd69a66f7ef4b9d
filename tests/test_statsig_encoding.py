"""Unit tests for the `statsig_encoded` decode step (leakmap/statsig_encoding.py), in the style
of tests/test_stages.py: small inputs built by hand."""

from __future__ import annotations

import base64
import json

import pytest

from leakmap import decode

LIMITS = decode.Limits()


def encode(data: bytes) -> str:
    """What @statsig/client-core NetworkCore._tryEncodeBody sends: btoa(body), reversed."""
    return base64.b64encode(data).decode()[::-1]


@pytest.mark.parametrize("body", [b'{"user":{"userID":"u-1"}}', b'{"a":1}', b'{"ab":1}', "{\"é\":\"ü\"}".encode()])
def test_statsig_encoded_round_trip_with_and_without_padding(body):
    assert decode.step_statsig_encoded(encode(body), LIMITS) == body


def test_statsig_encoded_then_json_in_a_chain():
    chain = decode.compile_steps(["statsig_encoded", "json"])
    payload = {"user": {"userID": "u-1", "email": "a@example.org"}, "hash": "djb2"}
    assert chain.run(encode(json.dumps(payload).encode()), LIMITS) == (payload, "statsig_encoded → json")


@pytest.mark.parametrize("text", ["", "abc", '{"user": 1}', "eyJhIjoxfQ==", "!!!!", "a=b="])
def test_statsig_encoded_rejects_what_is_not_reversed_base64(text):
    with pytest.raises(decode.DecodeError):
        decode.step_statsig_encoded(text, LIMITS)


def test_statsig_encoded_rejects_bytes_that_are_not_text():
    with pytest.raises(decode.DecodeError):
        decode.step_statsig_encoded(b"\xff\xfe==", LIMITS)
