"""Long fuzz run of the pipeline with hostile requests (the CI version is
tests/test_hostile_pipeline.py::test_fuzz_endpoint, a few thousand examples).

Drives Session.feed (Analyzer with the bundled rules, then the Store) with requests generated
by the same hypothesis strategies, spread over the 13 tracker endpoints of
tests/support/hostile.py, each followed by a good request whose finding must survive.
Prints, per endpoint and in total: examples, exceptions that escaped, statuses, the worst
CPU time and resident memory of one request, and how many hit a limit or the time budget.

    .venv/bin/python scripts/fuzz_pipeline.py                   # 100,000 examples
    .venv/bin/python scripts/fuzz_pipeline.py --examples 5000 --seed 7
"""

from __future__ import annotations

import argparse
import collections
import gc
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from leakmap.limits import Limits  # noqa: E402
from leakmap.model import Request  # noqa: E402
from leakmap.session import Session  # noqa: E402
from leakmap.store import Store  # noqa: E402
from support.hostile import ENDPOINTS, PeakMemory, good_request, hostile_wire  # noqa: E402

GOOD = ("email", "good.user@example.com")


class Tally:
    def __init__(self) -> None:
        self.examples = 0
        self.escaped: list[str] = []
        self.good_lost = 0
        self.statuses: collections.Counter[str] = collections.Counter()
        self.worst_cpu = 0.0
        self.worst_memory = 0
        self.cpu_total = 0.0

    def line(self, name: str) -> str:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        mean = self.cpu_total / max(1, self.examples)
        return (f"{name:<34} {self.examples:>7} examples  escaped {len(self.escaped)}  good lost {self.good_lost}  "
                f"worst CPU {self.worst_cpu * 1000:6.0f} ms  mean {mean * 1000:4.1f} ms  "
                f"worst memory {self.worst_memory / 1e6:5.0f} MB  [{statuses}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000, help="total, spread evenly over the endpoints")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--max-seconds", type=float, default=Limits().max_seconds)
    parser.add_argument("--only", default="", help="only the endpoints whose name contains this")
    args = parser.parse_args()
    limits = Limits(max_seconds=args.max_seconds)
    per_endpoint = max(1, args.examples // len(ENDPOINTS))
    memory = PeakMemory()
    totals = Tally()
    started = time.monotonic()
    print(f"seed {args.seed}, {per_endpoint} examples per endpoint, max_seconds {limits.max_seconds}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(Store(Path(tmp) / "fuzz.db"), limits=limits)
        gc.freeze()  # a collection must not rescan the rules and hypothesis' state inside a request's time
        for endpoint in ENDPOINTS:
            if args.only not in endpoint.name:
                continue
            tally = Tally()

            @seed(args.seed)
            @settings(max_examples=per_endpoint, deadline=None, database=None, derandomize=False,
                      suppress_health_check=list(HealthCheck))
            @given(wire=hostile_wire(endpoint))
            def run(wire) -> None:
                method, url, headers, body = wire
                tally.examples += 1
                memory.reset()
                cpu = time.thread_time()
                try:
                    analysis = session.feed(Request(f"fuzz-{tally.examples}", "fuzz", 0.0, method, url, headers, body))
                    tally.statuses[(analysis.error.split(":", 1)[0] if analysis and analysis.error.startswith(
                        ("limit:", "took too long:", "internal:")) else analysis.status if analysis else "none")] += 1
                except Exception:
                    tally.escaped.append(traceback.format_exc(limit=3))
                cpu = time.thread_time() - cpu
                tally.cpu_total += cpu
                tally.worst_cpu = max(tally.worst_cpu, cpu)
                tally.worst_memory = max(tally.worst_memory, memory.peak())
                good = session.feed(Request("good", "fuzz", 0.0, *good_request()))
                if good is None or GOOD not in {(f.data_type, f.value) for f in good.findings}:
                    tally.good_lost += 1
                if tally.examples % 500 == 0:
                    session.store.commit()

            run()
            print(tally.line(endpoint.name), flush=True)
            for escaped in tally.escaped[:3]:
                print(escaped)
            totals.examples += tally.examples
            totals.escaped += tally.escaped
            totals.good_lost += tally.good_lost
            totals.statuses.update(tally.statuses)
            totals.worst_cpu = max(totals.worst_cpu, tally.worst_cpu)
            totals.worst_memory = max(totals.worst_memory, tally.worst_memory)
            totals.cpu_total += tally.cpu_total
    print(totals.line("TOTAL"))
    print(f"wall {time.monotonic() - started:.0f} s")
    sys.exit(1 if totals.escaped or totals.good_lost else 0)


if __name__ == "__main__":
    main()
