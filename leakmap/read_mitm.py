"""Reading mitmproxy dumps (.mitm, .flow): flows streamed with mitmproxy's FlowReader, and
the record framing that lets `--jobs` workers parse a dump's flows (leakmap/parallel.py)
while one process only cuts it into records."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from .limits import Limits
from .model import Problem
from .read import Item, Progress, request_from_flow


def read_mitm(path: Path, limits: Limits, label: str = "", progress: Progress = None, start: int = 0,
              first: int = 0) -> Iterator[Item]:
    """Stream HTTP flows from a mitmproxy dump; a truncated or corrupt tail is one Problem.
    *start*, *first*: begin at that byte, after that many flows (parallel.py reads on from
    where its own framing stopped)."""
    from mitmproxy import io
    from mitmproxy.exceptions import FlowReadException

    source = str(path)
    with path.open("rb") as f:
        f.seek(start)
        index = first
        try:
            for index, flow in enumerate(io.FlowReader(f).stream(), first + 1):
                if progress and index % 256 == 0:
                    progress(f.tell())
                yield from items_of_flow(flow, index, source, limits, label)
        except FlowReadException as e:
            yield Problem(source, f"after flow {index} (byte {f.tell()})", f"corrupt or truncated dump: {e}")
        except Exception as e:  # mitmproxy's deserializer raises assorted errors on garbage
            yield Problem(source, f"after flow {index} (byte {f.tell()})", f"unreadable flow data: {type(e).__name__}: {e}")


def items_of_flow(flow: Any, index: int, source: str, limits: Limits, label: str) -> Iterator[Item]:
    """The requests of one flow of a dump (an HTTP request, its WebSocket messages), or why
    it has none."""
    from mitmproxy import http

    from .websocket import requests_from_websocket

    if isinstance(flow, http.HTTPFlow):
        yield request_from_flow(flow, source, limits, label)
        if flow.websocket is not None:
            yield from requests_from_websocket(flow, source, limits, label)
    else:
        yield Problem(source, f"flow {index}", f"skipped: {type(flow).__name__} is not an HTTP flow")


def mitm_records(f: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, bytes) of each record of a mitmproxy dump: tnetstring framing only
    (`<length>:<data><type>`), no parsing. Stops at the end of the file, and at anything
    that is not a whole record (the caller reads on with FlowReader from that record's start,
    so a damaged dump gets the very problem line one process would give)."""
    while True:
        start = f.tell()
        head = f.read(1)
        if not head:
            return
        length = b""
        while head.isdigit() and len(length) <= 12:
            length += head
            head = f.read(1)
        if head != b":" or not length:
            f.seek(start)
            return
        body = f.read(int(length) + 1)
        if len(body) != int(length) + 1:
            f.seek(start)
            return
        yield start, f.tell(), head.join((length, body))


def items_of_record(record: bytes, index: int, end: int, source: str, limits: Limits,
                    label: str) -> tuple[list[Item], Problem | None]:
    """One record of a dump (mitm_records) read as read_mitm reads it: its items, or the
    problem that ends the file there."""
    from mitmproxy import io
    from mitmproxy.exceptions import FlowReadException

    try:
        flows = list(io.FlowReader(BytesIO(record)).stream())
    except FlowReadException as e:
        return [], Problem(source, f"after flow {index - 1} (byte {end})", f"corrupt or truncated dump: {e}")
    except Exception as e:
        return [], Problem(source, f"after flow {index - 1} (byte {end})",
                           f"unreadable flow data: {type(e).__name__}: {e}")
    return [item for flow in flows for item in items_of_flow(flow, index, source, limits, label)], None
