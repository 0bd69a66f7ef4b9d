#!/usr/bin/env python3
"""What a large session recording costs: time and peak memory of `leakmap analyze` and
`leakmap replay` on one recording of SIZE megabytes of rrweb JSON (after decompression).

The recording is what a long session on a content-heavy page produces: a FullSnapshot with
a large node tree (tables of text, inputs), then thousands of Mutation, Input and
MouseInteraction events, uploaded as Mixpanel's recorder does (POST api-js.mixpanel.com/record/,
format=gzip, one request) and, the same events, to a self-hosted collector no rule knows.

    .venv/bin/python benchmarks/bench_replay.py [--mb 10]

Each command runs in its own process; peak RSS is that process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.replay_payloads import T0, element, event, flow, text, write_capture  # noqa: E402


def recording(megabytes: float) -> list[dict]:
    """rrweb events adding up to about *megabytes* of JSON."""
    rows = [element(1000 + i * 4, "tr", {"class": "row"},
                    element(1001 + i * 4, "td", {}, text(1002 + i * 4, f"Patient note {i}: blood pressure stable, "
                                                                       f"next visit in {i % 30} days")),
                    element(1003 + i * 4, "input", {"type": "text", "name": f"f{i}", "value": ""}))
            for i in range(20_000)]
    tree = {"type": 0, "id": 1, "childNodes": [element(2, "html", {}, element(3, "body", {},
                                                                             element(4, "table", {}, *rows)))]}
    events = [event(4, T0, {"href": "https://clinic.example/records", "width": 1280, "height": 800}),
              event(2, T0 + 1, {"node": tree, "initialOffset": {"top": 0, "left": 0}})]
    size = len(json.dumps(events))
    n = 0
    while size < megabytes * 2**20:
        n += 1
        batch = [event(3, T0 + 10 * n, {"source": 5, "id": 1003 + (n % 20_000) * 4,
                                        "text": f"typed value {n} jane{n}@example.org"}),
                 event(3, T0 + 10 * n + 1, {"source": 0, "texts": [{"id": 1002 + (n % 20_000) * 4,
                                                                    "value": f"updated note {n}"}],
                                            "attributes": [], "removes": [],
                                            "adds": [{"parentId": 4, "nextId": None,
                                                      "node": element(10**6 + n, "p", {}, text(2 * 10**6 + n,
                                                                                                 f"line {n}"))}]}),
                 event(3, T0 + 10 * n + 2, {"source": 2, "type": 2, "id": 1003 + (n % 20_000) * 4})]
        events += batch
        size += len(json.dumps(batch))
    return events


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one leakmap command in its own process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execv(sys.executable, [sys.executable, "-m", "leakmap.cli", *args])
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"leakmap {' '.join(args)} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=10.0, help="recording size in MB of JSON [10]")
    opts = parser.parse_args()
    events = recording(opts.mb)
    raw = json.dumps(events).encode()
    with tempfile.TemporaryDirectory() as tmp:
        capture = write_capture(Path(tmp) / "replay.mitm", [
            flow("POST", "https://api-js.mixpanel.com/record/?format=gzip&replay_id=bench-1&seq=0&distinct_id=u1",
                 gzip.compress(raw), {"content-type": "application/octet-stream"}),
            flow("POST", "https://rec.selfhosted.example/collect", gzip.compress(raw),
                 {"content-type": "application/json", "content-encoding": "gzip"})])
        print(f"recording: {len(events):,} events, {len(raw) / 2**20:.1f} MB of JSON "
              f"({capture.stat().st_size / 2**20:.1f} MB capture, two uploads of it)")
        for name, args in (("analyze", ["analyze", str(capture), "-o", f"{tmp}/r.html", "-q"]),
                           ("replay", ["replay", str(capture), "--format", "json"])):
            seconds, rss = measure(args)
            print(f"leakmap {name}: {seconds:.1f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
