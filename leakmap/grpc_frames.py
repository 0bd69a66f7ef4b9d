"""gRPC request bodies: length-prefixed messages, opened so rules and detectors see inside.

A gRPC body (HTTP/2, `content-type: application/grpc`, `application/grpc+proto`, and gRPC-Web's
`application/grpc-web+proto`) is a sequence of messages, each prefixed by 5 bytes: a
compressed flag (0 or 1) and the message length as a big-endian uint32 (grpc/grpc
doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message"). Compressed messages use the call's
`grpc-encoding` (gzip when it is not known). Each message is then decoded as schema-less
protobuf when it parses as one. Used by the decode step `grpc` and, for requests no rule
decodes, automatically by content type.
"""

from __future__ import annotations

import math

import struct
from typing import Any

from . import compression, protobuf
from .limits import Limits
from .model import Request
from .steps import StepFn, _as_bytes, decoder_errors

PREFIX = 5


class GrpcError(ValueError):
    """Broken length-prefixed framing."""


def is_grpc(request: Request) -> bool:
    """True for gRPC and binary gRPC-Web calls; gRPC-Web text (base64) is left to rules."""
    kind = request.header("content-type").split(";", 1)[0].strip().lower()
    return kind.startswith("application/grpc") and not kind.startswith("application/grpc-web-text")


def split_messages(body: bytes, max_messages: int, max_decompressed: int, encoding: str = "gzip") -> list[bytes]:
    """The messages of a length-prefixed body, decompressed where flagged."""
    messages, offset = [], 0
    while offset < len(body):
        if len(body) - offset < PREFIX:
            raise GrpcError(f"gRPC: {len(body) - offset} stray bytes after message {len(messages)}")
        flag, length = struct.unpack_from(">BI", body, offset)
        if flag not in (0, 1):
            raise GrpcError(f"gRPC: message {len(messages)} has compressed flag {flag}, not 0 or 1")
        start, offset = offset + PREFIX, offset + PREFIX + length
        if offset > len(body):
            raise GrpcError(f"gRPC: message {len(messages)} claims {length} bytes, {len(body) - start} left")
        if len(messages) >= max_messages:
            raise GrpcError(f"gRPC: more than {max_messages} messages")
        message = body[start:offset]
        if flag:
            try:
                message = compression.decode_content(message, encoding or "gzip", max_decompressed)
            except compression.DecompressionError as e:
                raise GrpcError(f"gRPC: message {len(messages)}: {e}") from None
        messages.append(message)
    return messages


def open_messages(body: bytes, max_messages: int, max_decompressed: int, encoding: str = "gzip",
                  deadline: float = math.inf) -> list[Any]:
    """[message, …]: each as protobuf (field numbers as keys) or, when it is not protobuf, bytes.
    A protobuf limit (ProtobufLimit) or the request's *deadline* (TimeoutError) stops it."""
    opened: list[Any] = []
    for message in split_messages(body, max_messages, max_decompressed, encoding):
        try:
            opened.append(protobuf.decode(message, max_values=max_messages * 25, deadline=deadline) if message else {})
        except protobuf.ProtobufLimit:
            raise
        except protobuf.ProtobufError:
            opened.append(message)
    return opened


def open_body(request: Request, body: bytes, limits: Limits) -> Any:
    """For a gRPC request no rule decodes: its opened messages, or the body as it was when
    the framing is broken (the generic detectors still look at it). The request's budget
    (*limits*, with its deadline) applies."""
    encoding = request.header("grpc-encoding").strip().lower() or "gzip"
    try:
        with decoder_errors(limits, protobuf.ProtobufLimit, "gRPC protobuf: {}"):
            return open_messages(body, limits.max_fields, limits.max_decompressed, encoding, limits.deadline)
    except GrpcError:
        return body


def step_grpc(value: Any, limits: Limits) -> list[Any]:
    """Decode step `grpc`: gRPC's length-prefixed messages → [message, …], each as protobuf
    (as step `protobuf`) or, when it is not protobuf, bytes. gzip-compressed messages are
    inflated."""
    with decoder_errors(limits, protobuf.ProtobufLimit, "gRPC protobuf: {}", (GrpcError,)):
        return open_messages(_as_bytes(value), limits.max_fields, limits.max_decompressed, deadline=limits.deadline)


STEPS: dict[str, StepFn] = {"grpc": step_grpc}
