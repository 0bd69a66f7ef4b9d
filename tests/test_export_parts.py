"""Exports on every core (leakmap/export_parts.py): a CSV export written in parts by forked
processes is byte for byte the one a single process writes (hostile cells, redaction and
masked secrets included), the export written beside the report too, and a part that fails
is the export's error, not a silent gap."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from mitmproxy import io
from support.cli import leakmap
from support.replay_payloads import flow

from leakmap import export_parts
from leakmap.export import export_findings, requests_with_findings
from leakmap.store import Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_analyze import generate  # noqa: E402

OPENAI_KEY = "sk-proj-" + "Ab3dE6fG9hJ2kL5mN8pQ1rS4tU7vW0xY3zA6bC9dE2fG5hJ8kL1mN4pQ7rS0" + "T3BlbkFJ" + "x" * 20


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mixpanel and app traffic (bench_analyze's generator), then uploads whose values start
    like formulas, hold quotes and line breaks, or are a secret key (masked in every export)."""
    folder = tmp_path_factory.mktemp("parts")
    generate(folder / "base.mitm", 500, 0.3, seed=77)
    hostile = [flow("POST", "https://collect.thirdparty.example/v1/events", json.dumps({
        "email": f"u{n}@example.org", "api_key": OPENAI_KEY}).encode()) for n in range(40)]
    hostile += [flow("POST", "https://api-js.mixpanel.com/track/?ip=1", b"data=" + quote(json.dumps([{  # mixpanel-js's form
        "event": f'=HYPERLINK("https://evil.example/{n}")', "properties": {
            "token": "partstoken", "distinct_id": f'say "hi"\r\nline {n}'}}])).encode(),
        {"content-type": "application/x-www-form-urlencoded"}) for n in range(40)]
    with (folder / "hostile.mitm").open("wb") as out:
        writer = io.FlowWriter(out)
        for f in hostile:
            writer.add(f)
    capture = folder / "app.mitm"
    capture.write_bytes((folder / "base.mitm").read_bytes() + (folder / "hostile.mitm").read_bytes())
    return capture


@pytest.fixture(scope="module")
def store_path(capture: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "s.db"
    result = leakmap("analyze", capture, "--db", db, "--no-report", "--jobs", "1", cwd=db.parent)
    assert result.returncode == 0, result.stderr
    return db


@pytest.mark.parametrize("redact", [False, True])
def test_a_csv_written_in_parts_is_the_one_a_single_process_writes(store_path: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, redact: bool):
    store = Store(store_path)
    try:
        assert requests_with_findings(store) > 100
        one = export_findings(store, tmp_path / "one.csv", "csv", redact)
        monkeypatch.setattr(export_parts, "MIN_PART_REQUESTS", 10)
        parts = export_parts.export_csv_in_parts(store, tmp_path / "parts.csv", redact, False, 3)
    finally:
        store.close()
    written = (tmp_path / "parts.csv").read_bytes()
    assert parts == one and written == (tmp_path / "one.csv").read_bytes()
    assert b"'=HYPERLINK" in written and OPENAI_KEY.encode() not in written  # defused, masked
    assert (tmp_path / "parts.csv").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "parts.csv"]  # no part left behind


def test_the_export_beside_the_report_is_the_one_written_after_it(capture: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    after = leakmap("analyze", capture, "--jobs", "1", "--no-report", "--findings", tmp_path / "after.json",
                    cwd=tmp_path)
    monkeypatch.setattr(export_parts, "MIN_PART_REQUESTS", 10)
    beside = leakmap("analyze", capture, "--jobs", "1", "-o", tmp_path / "r.html", "--findings",
                     tmp_path / "beside.json", cwd=tmp_path)
    assert after.returncode == beside.returncode == 0, beside.stderr
    assert (tmp_path / "beside.json").read_bytes() == (tmp_path / "after.json").read_bytes()
    lines = beside.stdout.splitlines()
    assert lines[-2].startswith("report: ") and lines[-1].startswith("findings: ")  # the order of one process


def _failing_export(*args, **kwargs):
    raise OSError("disk full")


def test_a_part_that_fails_fails_the_export(store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = Store(store_path)
    monkeypatch.setattr(export_parts, "MIN_PART_REQUESTS", 10)
    real = export_parts.export_findings
    # The part written here succeeds; the forked children inherit the failing writer.
    monkeypatch.setattr(export_parts, "export_findings",
                        lambda s, path, *a, **k: (_failing_export if ".part" in path.name else real)(s, path, *a, **k))
    try:
        with pytest.raises(Exception, match="findings export: OSError: disk full"):
            export_parts.export_csv_in_parts(store, tmp_path / "f.csv", False, False, 2)
    finally:
        store.close()
    assert not any(".part" in p.name for p in tmp_path.iterdir())
