#!/usr/bin/env python3
"""What the generic path (third parties without a rule) costs.

Times `Session.replay` on two captures, each with the generic path on and off (off: the
behaviour before it existed, where a request no rule covers was only searched for honey
values and email addresses), and reports analysis time and store size (requests and fields
rows) for both:

- the performance benchmark's capture (bench_analyze.py's generator, --flows flows);
- a capture dominated by ordinary third-party traffic: CDN scripts and styles, web fonts,
  images, CORS preflights, plus a few beacons to vendors without a rule.

Run:  .venv/bin/python benchmarks/bench_generic.py [--flows 10000] [--cdn-flows 20000]
Each measurement runs in a fresh child process; the best of --repeat runs is kept.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def cdn_capture(path: Path, flows: int, seed: int = 7) -> None:
    """Mostly static third-party assets; 2% beacons with a JSON body to unknown vendors."""
    from mitmproxy import io
    from mitmproxy.test import tflow

    rng = random.Random(seed)
    assets = [("cdnjs.cloudflare.com", "/ajax/libs/jquery/3.7.1/jquery.min.js"),
              ("fonts.gstatic.com", "/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2"),
              ("fonts.googleapis.com", "/css2?family=Roboto"),  # a query that is more than a cache buster
              ("cdn.jsdelivr.net", "/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css?v=5"),
              ("images.unsplash.com", "/photo-1500530855697-b586d89ba3ee.jpg"),
              ("static.cdn-vendor.example", "/img/banner.webp?_=1714550400")]
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for n in range(flows):
            flow = tflow.tflow(resp=True)
            flow.client_conn.peername = (f"10.0.0.{n % 20 + 2}", 50000)
            r = rng.random()
            if r < 0.02:
                host, path_ = f"collect.vendor{rng.randrange(5)}.example", "/v1/e"
                flow.request.method = "POST"
                flow.request.content = json.dumps({"uid": f"u-{rng.randrange(10**6)}", "page": "https://site.example/",
                                                   "screen": "1920x1080", "events": [{"n": "view", "t": n}]}).encode()
                flow.request.headers["content-type"] = "application/json"
            elif r < 0.06:
                host, path_ = "collect.vendor1.example", "/v1/e"
                flow.request.method, flow.request.content = "OPTIONS", b""
            else:
                host, path_ = rng.choice(assets)
                flow.request.method, flow.request.content = "GET", b""
                if host == "fonts.googleapis.com":
                    flow.request.headers["sec-fetch-dest"] = "style"  # as a browser sends it
            flow.request.url = f"https://{host}{path_}"
            del flow.request.headers["header"]
            flow.request.headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"
            writer.add(flow)


def before_generic(analyzer, request):
    """The pre-generic-path rule for requests no rule covers (for the "off" measurement)."""
    from leakmap.model import Analysis

    if not analyzer.indicators and "@" not in request.url and b"@" not in request.body:
        return None
    analysis = Analysis(request, "no_rule")
    analyzer._decode(analysis, None)
    analysis.status = "no_rule"
    return analysis if analysis.findings else None


def worker(capture: Path, db: Path, generic: bool) -> dict[str, float]:
    from leakmap.decode import Limits
    from leakmap.pipeline import Analyzer
    from leakmap.session import Session
    from leakmap.store import Store

    if not generic:
        Analyzer._generic = before_generic  # type: ignore[method-assign]
    db.unlink(missing_ok=True)
    store = Store(db)
    session = Session(store)
    start = time.perf_counter()
    stats = session.replay(capture, Limits())
    elapsed = time.perf_counter() - start
    rows = store.db.execute("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM fields)").fetchone()
    store.close()
    return {"seconds": elapsed, "flows": stats.flows_read, "requests_rows": rows[0], "fields_rows": rows[1],
            "generic_skipped": dict(stats.generic_skipped), "generic_decoded": stats.other_requests_with_findings}


def measure(capture: Path, generic: bool, repeat: int) -> dict[str, float]:
    best = None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--worker", str(capture), "--generic" if generic else "--off"],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        best = result if best is None or result["seconds"] < best["seconds"] else best
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--cdn-flows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.worker.with_suffix(".generic.db" if args.generic else ".off.db"),
                                args.generic)))
        return
    import bench_analyze

    OUT.mkdir(exist_ok=True)
    bench = OUT / f"generic-bench-{args.flows}.mitm"
    if not bench.exists():
        bench_analyze.generate(bench, args.flows, 0.12)
    cdn = OUT / f"generic-cdn-{args.cdn_flows}.mitm"
    if not cdn.exists():
        cdn_capture(cdn, args.cdn_flows)
    results = {}
    for name, capture in (("benchmark", bench), ("cdn", cdn)):
        off, on = measure(capture, False, args.repeat), measure(capture, True, args.repeat)
        results[name] = {"off": off, "on": on, "overhead": on["seconds"] / off["seconds"] - 1}
        print(f"{name}: {on['flows']} flows; generic off {off['seconds']:.2f}s, on {on['seconds']:.2f}s "
              f"({results[name]['overhead']:+.1%}); store rows requests {off['requests_rows']} → {on['requests_rows']}, "
              f"fields {off['fields_rows']} → {on['fields_rows']}; not decoded: {on['generic_skipped']}; "
              f"decoded generically: {on['generic_decoded']}")
    (OUT / "generic-results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
