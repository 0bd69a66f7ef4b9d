"""What crosses between the reading process and the `--jobs` workers of one capture
(leakmap/parallel.py): requests as tuples of builtin types; prepared analyses as tuples too,
their evidence tree and fields already the JSON the store writes (`text.JsonText`); a chunk's
results as one marshal message (pickle for a value marshal does not write)."""

from __future__ import annotations

import dataclasses
import marshal
import pickle
from typing import Any

from . import text
from .model import Analysis, Finding, Problem, Request
from .pipeline import GENERIC, Analyzer, Prepared
from .replay_formats import Stream
from .text import JsonText

Item = Request | Problem


def message(results: list[Any]) -> bytes:
    """A chunk's results in one message: b"m" marshal, b"p" pickle (a value of a type marshal
    does not write; none of the bundled steps make one)."""
    try:
        return b"m" + marshal.dumps(results)
    except ValueError:
        return b"p" + pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)


def item_wire(item: Item, analyzer: Analyzer) -> tuple[Any, Any]:
    """One item of a dump's record, prepared (in a worker): ("r", request) or ("p", problem)."""
    if isinstance(item, Request):
        return ("r", request_tuple(item)), encode(analyzer.prepare(item), item)
    return ("p", (item.source, item.where, item.message)), None


def record_decoded(wire: Any, source: str) -> tuple[list[tuple[Item, Prepared]], Problem | None]:
    """A record's items with their prepared analyses, and the problem that ends the file there."""
    items, stop = wire
    pairs: list[tuple[Item, Prepared]] = []
    for (kind, fields), prepared in items:
        if kind == "r":
            request = request_of(fields)
            pairs.append((request, decoded(prepared, request)))
        else:
            pairs.append((Problem(*fields), None))
    return pairs, Problem(source, *stop) if stop is not None else None


def request_tuple(request: Request) -> tuple[Any, ...]:
    return (request.flow_id, request.source, request.timestamp, request.method, request.url, request.headers,
            request.body, request.client, request.proxy_mode, request.body_error, request.label, request.key,
            request.capture_app)


def request_of(shot: tuple[Any, ...]) -> Request:
    return Request(*shot)


def encode(prepared: Prepared, request: Request) -> Any:
    """A prepared analysis as builtin types (marshal's)."""
    if prepared is None or prepared is GENERIC:
        return prepared
    analysis, streams = prepared  # type: ignore[misc]
    # The evidence tree and the fields go as the JSON the store writes: encoding it here
    # spares this process decoding the trees and the writing process encoding them.
    return (analysis.status, analysis.tracker, analysis.company, analysis.category, analysis.endpoint,
            analysis.rule_source, analysis.match_via, analysis.matched_by, analysis.error, analysis.decode_chain,
            text.dumps(analysis.payload), text.dumps(analysis.fields) if analysis.fields else None,
            [(f.data_type, f.value, f.path, f.context, f.detector, f.detail) for f in analysis.findings],
            analysis.identity, [(s.path, s.events, s.ids) for s in streams],
            analysis.request.url if analysis.request.url != request.url else None)  # tracker keys masked


def weight(wire: Any) -> int:
    """About how many bytes a prepared analysis takes on the wire."""
    if not isinstance(wire, tuple):
        return 0
    streams = wire[14]
    return len(wire[10]) + len(wire[11] or "") + (len(marshal.dumps(streams)) if streams else 0)


def decode_message(message: bytes) -> list[Any]:
    return marshal.loads(message[1:]) if message[:1] == b"m" else pickle.loads(message[1:])  # noqa: S301 (our workers')


def decoded(wire: Any, request: Request) -> Prepared:
    """What `encode` made of *request*'s prepared analysis, as `Analyzer.finish` takes it."""
    if wire is None:
        return None
    if wire == GENERIC:
        return GENERIC
    (status, tracker, company, category, endpoint, rule_source, match_via, matched_by, error, decode_chain,
     payload, fields, findings, identity, streams, url) = wire
    if url is not None:
        request = dataclasses.replace(request, url=url)
    analysis = Analysis(request, status, tracker=tracker, company=company, category=category, endpoint=endpoint,
                        rule_source=rule_source, match_via=match_via, matched_by=matched_by, error=error,
                        decode_chain=decode_chain, payload=JsonText(payload),
                        fields=JsonText(fields) if fields is not None else [],
                        findings=[Finding(*f) for f in findings], identity=identity)
    return analysis, [Stream(path, events, ids) for path, events, ids in streams]
