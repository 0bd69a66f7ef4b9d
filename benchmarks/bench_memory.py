#!/usr/bin/env python3
"""Flat memory: peak RSS of `leakmap analyze` with the report and the CSV export must not grow
with the capture (issue 10, target 2).

    .venv/bin/python benchmarks/bench_memory.py                          # 1,000,000 flows
    .venv/bin/python benchmarks/bench_memory.py --flows 100000 200000 400000
    .venv/bin/python benchmarks/bench_memory.py --repeat 8000            # 8k tracker-heavy capture, 1x and 4x
    .venv/bin/python benchmarks/bench_memory.py --stores 10000 100000   # report + CSV alone, big stores
    .venv/bin/python benchmarks/bench_memory.py --stores 10000 --code /tmp/old   # the same, another checkout

Captures come from bench_analyze.py's seeded generator (mitmproxy's `tflow` flows written one
by one with `FlowWriter`, so generating never holds the capture): a realistic mix in which
about one flow in ten (`--tracker-share 0.1`) is a Mixpanel request in the real SDKs' formats,
the rest ordinary app and web traffic. They are cached under benchmarks/out/ (gitignored) and
reused by later runs.

For each capture two child processes run, each timed and measured alone (peak RSS from
`os.wait4`): `analyze` (`leakmap analyze CAPTURE -o report.html --findings findings.csv --db
DB -q`, the whole run) and `report` (`leakmap report --db DB -o report.html --findings
findings.csv`, the report and export alone, from the store the first run wrote).

`--repeat N` checks the second half of the target: a capture of N flows, nearly all tracker
requests (share 0.9, like the 8,340-entry HAR of the issue), and one four times as long from
the same generator (same mix, four times the requests; a byte-for-byte repeat would be
recognised as the same flows and stored once). Peak RSS of the 4x run must be within 10% of
the 1x run.

`--stores N...` measures the report and CSV alone on stores of N tracker requests (10
findings and 20 uploaded fields each) written directly with `Store.add` by bench_report.py's
synthetic requests: analysing a million flows takes hours on a shared 2-core machine, while
a store of the size such a capture gives is built in minutes. `--code DIR` runs the
`leakmap report` child from another checkout (PYTHONPATH=DIR), for a before/after table.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analyze import OUT, _remove_db, generate, leakmap_command, run_child  # noqa: E402

TARGET_MB = 500
REPEAT_TOLERANCE = 0.10


def capture(flows: int, share: float) -> Path:
    """The cached capture of *flows* flows, generated the first time."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"memory-{flows}-{share:g}.mitm"
    if not path.exists():
        seconds = generate(path, flows, share)
        print(f"generated {path.name}: {flows:,} flows, {path.stat().st_size / 1e6:.0f} MB in {seconds:.0f} s",
              flush=True)
    return path


def measure(path: Path) -> dict[str, Any]:
    """Both runs on *path*: wall seconds and peak RSS (MB) of each."""
    stem = path.stem
    db, html, csv = OUT / f"{stem}.db", OUT / f"{stem}.html", OUT / f"{stem}.csv"
    _remove_db(db)
    analyze = run_child(f"{stem}.analyze", leakmap_command() + [
        "analyze", str(path), "-o", str(html), "--findings", str(csv), "--db", str(db), "-q"])
    report = run_child(f"{stem}.report", leakmap_command() + [
        "report", "--db", str(db), "-o", str(html), "--findings", str(csv)])
    requests, findings, fields = _store_counts(db)
    return {"capture": path.name, "capture_mb": round(path.stat().st_size / 1e6, 1),
            "stored_requests": requests, "findings": findings, "fields": fields,
            "analyze_s": round(analyze.wall_s, 1), "analyze_peak_mb": round(analyze.peak_rss_mb, 1),
            "report_s": round(report.wall_s, 1), "report_peak_mb": round(report.peak_rss_mb, 1),
            "db_mb": round(db.stat().st_size / 1e6, 1), "html_mb": round(html.stat().st_size / 1e6, 2),
            "csv_mb": round(csv.stat().st_size / 1e6, 1)}


def synthetic_store(requests: int) -> Path:
    """The cached store of *requests* synthetic tracker requests, built the first time."""
    from bench_report import FINDINGS_PER_REQUEST, build_store

    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"memory-store-{requests}.db"
    if not db.exists():
        seconds = build_store(db, requests * FINDINGS_PER_REQUEST)
        print(f"built {db.name}: {requests:,} requests in {seconds:.0f} s", flush=True)
    return db


def measure_store(db: Path, code: Path | None) -> dict[str, Any]:
    """`leakmap report --db DB -o HTML --findings CSV` on a copy of *db*: time and peak RSS."""
    import shutil

    work = OUT / f"{db.stem}.{os.getpid()}.db"  # a copy: the report may add tables, runs may overlap
    _remove_db(work)
    shutil.copyfile(db, work)
    html, csv = OUT / f"{work.stem}.html", OUT / f"{work.stem}.csv"
    prefix = ["env", f"PYTHONPATH={code}"] if code else []
    report = run_child(f"{db.stem}.report", prefix + leakmap_command() + [
        "report", "--db", str(work), "-o", str(html), "--findings", str(csv)])
    requests, findings, fields = _store_counts(work)
    _remove_db(work)
    return {"store": db.name, "code": str(code or "this checkout"), "stored_requests": requests,
            "findings": findings, "fields": fields, "report_s": round(report.wall_s, 1),
            "report_peak_mb": round(report.peak_rss_mb, 1), "html_mb": round(html.stat().st_size / 1e6, 2),
            "csv_mb": round(csv.stat().st_size / 1e6, 1)}


def _store_counts(db: Path) -> tuple[int, int, int]:
    import sqlite3

    with sqlite3.connect(db) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("requests", "findings", "fields"))


def show(row: dict[str, Any], flows: int) -> None:
    print(f"{flows:>9,} flows {row['capture_mb']:>7} MB | stored {row['stored_requests']:>7,} requests "
          f"{row['findings']:>9,} findings {row['fields']:>10,} fields | analyze+report+CSV {row['analyze_s']:>7} s "
          f"peak {row['analyze_peak_mb']:>6} MB | report+CSV alone {row['report_s']:>6} s peak "
          f"{row['report_peak_mb']:>6} MB | html {row['html_mb']} MB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[1_000_000], help="capture sizes to measure")
    parser.add_argument("--tracker-share", type=float, default=0.1, help="share of flows that are tracker requests")
    parser.add_argument("--repeat", type=int, metavar="N", help="compare N flows with 4N (share 0.9) instead")
    parser.add_argument("--stores", type=int, nargs="+", metavar="N",
                        help="measure report + CSV alone on synthetic stores of N tracker requests")
    parser.add_argument("--code", type=Path, help="with --stores: the leakmap checkout to run the report from")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    ok = True
    if args.stores:
        for n in args.stores:
            row = measure_store(synthetic_store(n), args.code)
            print(f"{row['stored_requests']:>9,} requests {row['findings']:>10,} findings {row['fields']:>10,} fields"
                  f" | report+CSV {row['report_s']:>7} s peak {row['report_peak_mb']:>7} MB | html {row['html_mb']} MB"
                  f" csv {row['csv_mb']} MB | {row['code']}", flush=True)
            ok &= row["report_peak_mb"] < TARGET_MB
            results.append(row)
    elif args.repeat:
        one, four = (measure(capture(n, 0.9)) for n in (args.repeat, 4 * args.repeat))
        for row, n in ((one, args.repeat), (four, 4 * args.repeat)):
            show(row, n)
        for key in ("analyze_peak_mb", "report_peak_mb"):
            growth = four[key] / one[key] - 1
            print(f"{key}: 4x / 1x = {four[key] / one[key]:.3f} (target within {REPEAT_TOLERANCE:.0%})")
            ok &= growth <= REPEAT_TOLERANCE
        results = [one, four]
    else:
        for flows in args.flows:
            row = measure(capture(flows, args.tracker_share))
            show(row, flows)
            ok &= row["analyze_peak_mb"] < TARGET_MB and row["report_peak_mb"] < TARGET_MB
            results.append(row)
    (OUT / "memory.json").write_text(json.dumps(results, indent=1))
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
