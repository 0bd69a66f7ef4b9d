"""Worst-case cost of the crafted bodies of issue 8, one per hostile class.

Each class runs in its own child process (a bomb in old code must not take the benchmark
down): one request through `Session.feed` (analyze + store) with the bundled rules, timed
(wall and CPU), with the resident memory it added at its peak (Linux VmHWM). The
child's address space is capped (--max-memory) and it is killed after --timeout seconds, so
"before" figures of a bomb read as "> 2 GB" or "> 60 s" instead of swapping the machine.

    .venv/bin/python benchmarks/bench_hostile.py                      # this checkout
    .venv/bin/python benchmarks/bench_hostile.py --code /path/to/old  # another checkout's leakmap/
    .venv/bin/python benchmarks/bench_hostile.py --only "LZ-string"

The crafted bodies come from tests/support/hostile.py (CRAFTED).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(name: str, max_memory: int) -> dict[str, object]:
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    sys.path[:0] = [str(ROOT / "tests")]
    from support.hostile import CRAFTED, PeakMemory  # noqa: PLC0415 (after sys.path)

    from leakmap.model import Request
    from leakmap.session import Session
    from leakmap.store import Store

    crafted = next(c for c in CRAFTED if c.name == name)
    method, url, headers, body = crafted.wire()
    size = len(body) + len(url) + sum(len(k) + len(v) for k, v in headers)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(Store(Path(tmp) / "s.db"))

        def feed(flow_id: str) -> str:
            request = Request(flow_id, "bench", 0.0, method, url, headers, body)
            try:
                analysis = session.feed(request)
            except MemoryError:
                return "MemoryError"
            except Exception as e:
                return f"raises {type(e).__name__}"
            if analysis is None:
                return "not stored"
            return f"{analysis.status}: {analysis.error[:70]}" if analysis.error else analysis.status

        memory = PeakMemory()
        memory.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = feed("timed")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = memory.peak()
    return {"name": name, "bytes": size, "wall": wall, "cpu": cpu, "peak_mb": peak / 1e6, "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose leakmap/ package to measure")
    parser.add_argument("--only", default="", help="only the classes whose name contains this")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--max-memory", type=int, default=2 * 1024**3, help="address-space cap per class (bytes)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.max_memory)))
        return
    sys.path[:0] = [str(ROOT / "tests")]
    from support.hostile import CRAFTED  # noqa: PLC0415

    env = {**os.environ, "PYTHONPATH": str(args.code.resolve())}
    print(f"leakmap from {args.code.resolve()}\n")
    print("| hostile class | request bytes | wall s | CPU s | peak MB (RSS) | outcome |")
    print("|---|---|---|---|---|---|")
    for crafted in CRAFTED:
        if args.only not in crafted.name:
            continue
        command = [sys.executable, __file__, "--one", crafted.name, "--max-memory", str(args.max_memory)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, env=env, cwd=ROOT)
            lines = done.stdout.strip().splitlines()
            row = json.loads(lines[-1]) if done.returncode == 0 and lines else None
            if row is None:
                error = (done.stderr.strip().splitlines() or ["?"])[-1]
                row = {"name": crafted.name, "bytes": 0, "wall": float("nan"), "cpu": float("nan"),
                       "peak_mb": float("nan"), "outcome": f"child failed: {error[:80]}"}
        except subprocess.TimeoutExpired:
            row = {"name": crafted.name, "bytes": 0, "wall": float("nan"), "cpu": float("nan"),
                   "peak_mb": float("nan"), "outcome": f"> {args.timeout:g} s (killed)"}
        print(f"| {row['name']} | {row['bytes']:,} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['peak_mb']:.0f} "
              f"| {row['outcome']} |", flush=True)


if __name__ == "__main__":
    main()
