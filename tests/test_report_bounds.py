"""What keeps the report and exports flat in memory (issue 10): the live addon never
imports pandas, the report lists and proves a bounded number of requests and says so, the
exports stream row by row. Outputs themselves are pinned by test_outputs_unchanged.py;
benchmarks/bench_memory.py measures peak RSS on large captures."""

from __future__ import annotations

import json
import subprocess
import sys

from leakmap import export, report
from leakmap.export import export_findings, finding_rows
from leakmap.report import build_context, render
from test_report import sample_store


def test_the_live_addon_imports_neither_pandas_nor_pyarrow():
    code = "import sys, leakmap.addon; print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_report_caps_evidence_and_the_request_list_and_says_so(tmp_path, monkeypatch):
    store = sample_store(tmp_path / "s.db")  # 5 stored requests
    monkeypatch.setattr(report, "REQUEST_INDEX_LIMIT", 3)
    context = build_context(store, evidence_limit=2)
    assert len(context["evidence"]) == 2 and len(context["requests_index"]) == 3 and context["requests_total"] == 5
    page = render(context)
    assert "2 of 5 requests are shown in full here (at most 2" in page
    assert "The first 3 of 5 in time order are listed here" in page
    assert page.count('<details class="req"') == 2


def test_exports_stream_in_chunks(tmp_path, monkeypatch):
    store = sample_store(tmp_path / "s.db")  # 43 findings (3 of them the heart rate: health)
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)  # several fetches and Parquet row groups
    rows = finding_rows(store, redact=False)
    assert next(rows)[10] and not isinstance(rows, list)  # data_type
    assert export_findings(store, tmp_path / "f.json", "json") == 43
    assert len(json.loads((tmp_path / "f.json").read_text())) == 43
    assert export_findings(store, tmp_path / "f.parquet", "parquet") == 43
    import pyarrow.parquet as pq
    parquet = pq.ParquetFile(tmp_path / "f.parquet")
    assert parquet.metadata.num_rows == 43 and parquet.metadata.num_row_groups == 7
