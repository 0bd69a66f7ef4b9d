#!/usr/bin/env python3
"""Does one heavy tracker request stall the live proxy? A real `mitmdump -s addons/leakmap.py`
in block mode gets tracker requests with many query parameters while ordinary requests to a
local upstream server are sent every 50 ms; the script prints how long the tracker answers
took and the latency of the ordinary requests meanwhile (median and worst).

    python benchmarks/bench_live.py [--params 2000] [--heavy 1] [--seconds 20]
    python benchmarks/bench_live.py --checkout /path/to/other/leakmap   # e.g. an older version

--checkout runs another leakmap source tree's addon (its package first on PYTHONPATH), to
compare before and after a change on the same machine. Ordinary requests that are still
unanswered after --seconds count as that long.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import conftest  # noqa: E402  (the tests' mitmdump launcher)
from support.upstream import start_upstream, via_proxy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=int, default=2000, help="query parameters per tracker request")
    parser.add_argument("--heavy", type=int, default=1, help="tracker requests sent at once")
    parser.add_argument("--seconds", type=float, default=20.0, help="give up waiting after this long")
    parser.add_argument("--checkout", type=Path, help="run this leakmap source tree's addon instead")
    args = parser.parse_args()
    if args.checkout:
        conftest.ADDON = args.checkout.resolve() / "addons" / "leakmap.py"
        os.environ["PYTHONPATH"] = str(args.checkout.resolve())
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    upstream = start_upstream()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "conf").mkdir()
        os.chdir(tmp_path)  # mitmdump's cwd is tmp; keep ours off the checkout (import order)
        proxy = conftest.start_proxy(tmp_path, tmp_path / "conf")
        try:
            run(proxy.port, upstream.authority, args)
        finally:
            proxy.process.kill()  # no report on exit: only the traffic is measured
            proxy.process.wait()
            upstream.close()


def run(port: int, upstream: str, args: argparse.Namespace) -> None:
    target = "/track/?verbose=1&" + "&".join(f"p{i}=value{i}" for i in range(args.params))
    baseline = [via_proxy(port, "GET", upstream, "/ping").seconds for _ in range(5)]
    answered: list[float] = []

    def heavy() -> None:
        try:
            answered.append(via_proxy(port, "GET", "api.mixpanel.com", target, timeout=args.seconds).seconds)
        except OSError:
            pass

    threads = [threading.Thread(target=heavy, daemon=True) for _ in range(args.heavy)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    during: list[float] = []
    while any(t.is_alive() for t in threads) and time.perf_counter() - started < args.seconds:
        try:
            during.append(via_proxy(port, "GET", upstream, "/ping", timeout=args.seconds).seconds)
        except OSError:
            during.append(args.seconds)
        time.sleep(0.05)
    print(f"{args.heavy} tracker request(s) x {args.params} query parameters: "
          f"answered {len(answered)}/{args.heavy}, slowest answer "
          f"{max(answered) if answered else float('nan'):.2f}s "
          f"(gave up after {args.seconds:g}s)" if len(answered) < args.heavy else
          f"{args.heavy} tracker request(s) x {args.params} query parameters: slowest answer {max(answered):.2f}s")
    print(f"ordinary requests meanwhile: {len(during)}, median {statistics.median(during) * 1000:.0f} ms, "
          f"worst {max(during) * 1000:.0f} ms (before: median {statistics.median(baseline) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
