"""Shared helpers for the golden tests: run a request through the analyzer and assert
precise findings, with a readable dump of the analysis when an assertion fails."""

from __future__ import annotations

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer


def analyze(analyzer: Analyzer, request: Request) -> Analysis:
    a = analyzer.analyze(request)
    assert a is not None, f"{request.method} {request.url} not recognised"
    return a


def summary(a: Analysis) -> str:
    lines = [f"status={a.status} endpoint={a.endpoint} error={a.error!r} chain={a.decode_chain}"]
    lines += [f"  {f.data_type} {f.value!r} @ {f.path} [{f.detector}: {f.detail}]" for f in a.findings]
    return "\n".join(lines)


def assert_finding(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) in\n{summary(a)}"
    assert (hits[0].path, hits[0].detector) == (path, detector), summary(a)
