#!/usr/bin/env python3
"""`leakmap analyze --jobs N` against `--jobs 1` on several captures: wall time, alternating
runs, median; the speed-up and whether the findings are the same.

The captures come from bench_analyze.py's generator (realistic mitmproxy dumps, one seed per
capture, so each is a different "phone"). Each run is the real command line, end to end (rules,
analysis, merge, report, CSV export):

    .venv/bin/python benchmarks/bench_jobs.py                          # 4 captures x 3,000 flows, jobs 1 vs 2
    .venv/bin/python benchmarks/bench_jobs.py --captures 8 --flows 2000 --jobs 4 --runs 3

Speed-up is bounded by the cores that are really free: the script prints the load average
before and after and the CPU seconds of each run (all processes), so a busy machine shows in
the figures. On Linux with autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled), all
processes of one terminal session share one slice of a busy machine: more processes then get
no more CPU, and only an idle machine shows the speed-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analyze import generate  # noqa: E402

LEAKMAP = Path(sys.executable).parent / "leakmap"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(captures: list[Path], jobs: int, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(LEAKMAP), "analyze", *map(str, captures), "--jobs", str(jobs), "-q", "--db", str(out / "s.db"),
                    "-o", str(out / "r.html"), "--findings", str(out / "f.csv")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=4)
    parser.add_argument("--flows", type=int, default=3000, help="flows per capture")
    parser.add_argument("--jobs", type=int, default=2, help="compared with --jobs 1")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        folder = Path(tmp)
        captures = [folder / f"phone{n}.mitm" for n in range(args.captures)]
        for n, path in enumerate(captures):
            generate(path, args.flows, 0.12, seed=700 + n)
        print(f"{args.captures} captures x {args.flows} flows ({sum(p.stat().st_size for p in captures) / 1e6:.0f} MB), "
              f"{os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.1f}", flush=True)
        times: dict[int, list[float]] = {1: [], args.jobs: []}
        for n in range(args.runs):
            for jobs in (1, args.jobs) if n % 2 == 0 else (args.jobs, 1):
                out = folder / f"out-{jobs}-{n}"
                out.mkdir()
                cpu = cpu_seconds()
                times[jobs].append(run(captures, jobs, out))
                print(f"run {n + 1}, --jobs {jobs}: {times[jobs][-1]:.1f} s wall, {cpu_seconds() - cpu:.1f} s CPU",
                      flush=True)
        same = all((folder / f"out-{args.jobs}-{n}" / "f.csv").read_bytes() == (folder / f"out-1-{n}" / "f.csv").read_bytes()
                   for n in range(args.runs))
        one, many = statistics.median(times[1]), statistics.median(times[args.jobs])
        print(f"median: --jobs 1 {one:.1f} s, --jobs {args.jobs} {many:.1f} s: speed-up {one / many:.2f}x; "
              f"same findings: {same}; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
