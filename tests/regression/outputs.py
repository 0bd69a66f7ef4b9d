"""The outputs the regression test pins: report, findings exports and evidence HAR of three
stores, each plain and redacted, normalised so that only content can differ.

    .venv/bin/python tests/regression/outputs.py --write   # regenerate tests/regression/expected/

Stores: the bundled real capture (samples/mixpanel-sample.mitm), a deterministic mixed capture
(200 flows from benchmarks/bench_analyze.py's seeded generator, 20% Mixpanel, the rest
ordinary and third-party traffic; generated, not committed: it would be 1.2 MB). Expected outputs are stored gzipped
(`<case>/<file>.gz`): as text they would be 8 MB. and the hostile store of
tests/test_report.py (every captured string an XSS vector). Outputs are made through the CLI
(`leakmap report --db ... --findings ... --evidence-har ...`), the interface users rely on, so the
test holds whatever the modules behind it become.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXPECTED = HERE / "expected"
MIXED_FLOWS, MIXED_TRACKER_SHARE = 200, 0.2
SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
STORES = ("sample", "mixed", "hostile")
_GENERATED = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def build_store(name: str, db: Path) -> Path:
    """The findings store *name*, written to *db*."""
    from leakmap.decode import Limits
    from leakmap.session import Session
    from leakmap.store import Store

    if name == "hostile":
        sys.path.insert(0, str(ROOT / "tests"))
        from test_report import hostile_store
        hostile_store(db).close()
        return db
    capture = SAMPLE
    if name == "mixed":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_analyze import generate
        capture = db.with_suffix(".mitm")
        generate(capture, MIXED_FLOWS, MIXED_TRACKER_SHARE)
    store = Store(db)
    Session(store).replay(capture, Limits())
    store.close()
    return db


def produce(db: Path, out: Path, redact: bool) -> dict[str, str]:
    """Every output of `leakmap report` for *db*, as normalised text by file name."""
    from click.testing import CliRunner

    from leakmap.cli import main
    from leakmap.cli_common import export_outputs
    from leakmap.store import Store

    out.mkdir(parents=True, exist_ok=True)
    flags = ["--redact"] if redact else []
    texts: dict[str, str] = {}
    args = ["report", "--db", str(db), "-o", str(out / "report.html"), "--findings", str(out / "findings.csv"),
            "--evidence-har", str(out / "evidence.har"), *flags]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    store = Store(db)
    for fmt in ("json", "parquet"):  # the CLI's export step alone (a report per format would only cost time)
        export_outputs(store, out / f"findings.{fmt}", None, redact)
    store.close()
    texts["report.html"] = (out / "report.html").read_text(encoding="utf-8")
    texts["findings.csv"] = (out / "findings.csv").read_text(encoding="utf-8")
    texts["findings.json"] = (out / "findings.json").read_text(encoding="utf-8")
    texts["findings.parquet.json"] = _parquet_text(out / "findings.parquet")
    texts["evidence.har"] = (out / "evidence.har").read_text(encoding="utf-8")
    return {name: normalise(text, db.parent) for name, text in texts.items()}


def _parquet_text(path: Path) -> str:
    """Schema (column names and types) and rows of a Parquet file, as JSON text."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    schema = [f"{f.name}: {f.type}" for f in table.schema]
    return json.dumps({"schema": schema, "rows": table.to_pylist()}, ensure_ascii=False, indent=1, default=str)


def normalise(text: str, work: Path) -> str:
    """Drop what differs between runs and checkouts: the report's build time and the
    absolute paths of the checkout and the work folder (in the captures' source names)."""
    return _GENERATED.sub("Generated <time>", text).replace(str(ROOT), "<root>").replace(str(work), "<work>")


def cases() -> Iterator[tuple[str, bool]]:
    for name in STORES:
        for redact in (False, True):
            yield name, redact


def case_dir(name: str, redact: bool) -> Path:
    return EXPECTED / f"{name}{'-redacted' if redact else ''}"


def expected(name: str, redact: bool) -> dict[str, str]:
    """The committed outputs of one case, by file name."""
    return {path.name[:-3]: gzip.decompress(path.read_bytes()).decode("utf-8")
            for path in sorted(case_dir(name, redact).glob("*.gz"))}


def write_expected(work: Path) -> None:
    for name in STORES:
        db = build_store(name, work / f"{name}.db")
        for redact in (False, True):
            target = case_dir(name, redact)
            target.mkdir(parents=True, exist_ok=True)
            for file, text in produce(db, work / f"{name}-{redact}", redact).items():
                (target / f"{file}.gz").write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
            print(f"wrote {target}")


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        write_expected(Path(tmp))
