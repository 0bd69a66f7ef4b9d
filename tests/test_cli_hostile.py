"""`leakmap analyze` on captures that hold hostile requests (issue 8): the run goes on, the
report and exports are written, each request that hit a limit, its time budget or a bug
gets one line naming the flow and the reason, and the exit code is 0 as README says
("problems with some inputs are listed but do not fail the run")."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from mitmproxy import http
from mitmproxy.test import tflow

import leakmap.pipeline
from leakmap.cli import main
from support.hostile import CRAFTED, ENDPOINTS, Wire, deep_json, good_request
from test_bad_input import write_flows

GOOD_EMAIL = "good.user@example.com"
HEAVY = {"1 MB key above 700,000 leaves", "2,700,000 empty lists (8 MB JSON)"}  # the time budget's cases: below


def flow_of(wire: Wire, raw_headers: dict[bytes, bytes] | None = None) -> http.HTTPFlow:
    method, url, headers, body = wire
    flow = tflow.tflow()
    flow.request = http.Request.make(method, url, body, dict(headers))
    for name, value in (raw_headers or {}).items():
        flow.request.headers[name] = value  # raw bytes, as a capture can hold them
    return flow


def analyze(tmp_path: Path, dump: Path, *options: str):
    result = CliRunner().invoke(main, ["analyze", str(dump), "-o", str(tmp_path / "report.html"), "-q",
                                       "--findings", str(tmp_path / "findings.csv"), "--db", str(tmp_path / "s.db"),
                                       *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output + result.stderr
    return result


def good_findings(tmp_path: Path) -> int:
    with (tmp_path / "findings.csv").open(newline="") as f:
        return sum(row["value"] == GOOD_EMAIL for row in csv.DictReader(f))


def problem_lines(stderr: str) -> dict[int, str]:
    """Flow number → its problem line (`leakmap: <file>: flow N (METHOD host): not decoded: ...`)."""
    return {int(m.group(1)): m.group(0) for m in re.finditer(r"^leakmap: .*?: flow (\d+) \(.*$", stderr, re.M)}


def test_every_hostile_class_is_one_line_and_the_run_goes_on(tmp_path: Path):
    classes = [c for c in CRAFTED if c.name not in HEAVY]
    latin1 = flow_of(ENDPOINTS[0].wrap(b'[{"event":"x","properties":{"token":"t"}}]'),
                     {b"User-Agent": "Gerät/1.0".encode("latin-1"), b"Referer": b"http://[broken"})
    flows = [flow_of(good_request()), latin1, *(flow_of(c.wire()) for c in classes), flow_of(good_request())]
    result = analyze(tmp_path, write_flows(tmp_path / "hostile.mitm", flows))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "report.html").stat().st_size > 0
    assert good_findings(tmp_path) == 2  # the good request before and after every hostile one

    lines = problem_lines(result.stderr)
    for number, crafted in enumerate(classes, 3):
        if crafted.reason:  # the classes that hit a limit name their flow and the reason
            assert f"not decoded: {crafted.reason}" in lines.get(number, ""), (crafted.name, result.stderr)
    lz = next(n for n, c in enumerate(classes, 3) if c.name.startswith("LZ-string bomb"))
    assert "(GET eu1.clevertap-prod.com): not decoded: limit: query.d: LZ-string expands beyond" in lines[lz]
    assert f"{len(flows)} flows read, 0 skipped" in result.stdout
    assert re.search(r"not decoded \d+: limit", result.stdout)

    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == len(flows)
    (agent,) = db.execute("SELECT payload FROM requests WHERE flow_id = ?", (latin1.id,)).fetchone()
    assert '"user-agent": "Ger\\\\xe4t/1.0"' in agent  # shown safely; the original is in not_unicode
    problems = [m for (m,) in db.execute("SELECT message FROM problems")]
    assert sum(m.startswith("not decoded: limit") for m in problems) == sum(bool(c.reason) for c in classes)


def test_request_over_its_time_budget_is_one_line(tmp_path: Path):
    slow = flow_of(ENDPOINTS[1].wrap(("[" + "[{}]," * 1_000_000 + "[]]").encode()))
    dump = write_flows(tmp_path / "slow.mitm", [slow, flow_of(good_request())])
    result = analyze(tmp_path, dump, "--max-seconds", "0.2")
    assert result.exit_code == 0
    lines = problem_lines(result.stderr)
    assert "flow 1 (POST api.segment.io): not decoded: took too long: stopped after 0.2 s of CPU time " \
           "(--max-seconds)" in lines[1]
    assert good_findings(tmp_path) == 1
    assert "not decoded 1: took too long" in result.stdout


def test_a_bug_hit_by_one_request_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Whatever a request triggers inside the pipeline (here a bug planted in extraction for
    one payload) ends that request only: exit 0, not 70."""
    real_extract = leakmap.pipeline.extract

    def extract(doc, *args, **kwargs):
        if "trigger-bug" in repr(doc):
            raise RuntimeError("planted bug")
        return real_extract(doc, *args, **kwargs)

    monkeypatch.setattr(leakmap.pipeline, "extract", extract)
    bad = flow_of(ENDPOINTS[1].wrap(b'[{"event":"trigger-bug"}]'))
    deep = flow_of(ENDPOINTS[1].wrap(deep_json(50_000).encode()))
    result = analyze(tmp_path, write_flows(tmp_path / "bug.mitm", [bad, deep, flow_of(good_request())]))
    assert result.exit_code == 0, result.stderr
    assert "flow 1 (POST api.segment.io): not decoded: internal: RuntimeError: planted bug" in result.stderr
    assert "not decoded 1: internal" in result.stdout
    assert good_findings(tmp_path) == 1
