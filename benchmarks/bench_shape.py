#!/usr/bin/env python3
"""What recognition by shape costs as hostless endpoints are added.

Loads the bundled rules plus N synthetic hostless endpoints (each with its own path
segment, path prefix and header name, like real ones), then times `Analyzer.analyze` over a
fixed mix of requests to hosts no rule names: ordinary first-party API calls, tracker SDKs
behind proxies (PostHog, Segment, Mixpanel, Adobe CNAME), static files. Reports per request
the microseconds spent, the shape candidates the index returned, and the candidates decoded
to confirm (`Analyzer.shape_checks`). With hash lookups both counts stay the same for any N;
only the time to build the index grows.

Run:  .venv/bin/python benchmarks/bench_shape.py [--counts 0 100 1000 10000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import time

import yaml

from leakmap.model import Request
from leakmap.pipeline import Analyzer
from leakmap.rules import compile_rule, load_rules


def synthetic(count: int) -> list:
    endpoints = [{"id": f"e{n}", "path": f"^/c{n}/v1/seg{n}$", "source": "benchmark",
                  "shape": {"segments": [f"seg{n}"], "headers": [f"x-bench-{n}"], "path_prefix": [f"/c{n}/v1/"],
                            "require": [f"body.k{n}"]},
                  "decode": [{"at": "body", "steps": ["json"]}]} for n in range(count)]
    if not endpoints:
        return []
    return [compile_rule({"id": "bench", "name": "Bench", "company": "Bench", "category": "analytics",
                          "endpoints": endpoints}, "bench.yaml")]


def requests() -> list[Request]:
    def post(url: str, body: object, headers: list[tuple[str, str]] | None = None) -> Request:
        return Request("b", "bench", 0.0, "POST", url, headers or [("content-type", "application/json")],
                       json.dumps(body).encode())

    return [
        post("https://api.shop.example/v1/batch", {"batch": [{"sku": "A-1", "qty": 2}]}),
        post("https://api.shop.example/orders/track", {"orderId": "o-1", "event": "shipped"}),
        post("https://shop.example/graphql", {"query": "{ me { id } }"}),
        post("https://t.shop.example/ingest/batch/", {"api_key": "phc_x", "batch": [
            {"event": "e", "distinct_id": "u", "properties": {"$lib": "posthog-python"}}]}),
        post("https://seg.shop.example/v1/batch", {"batch": [{"type": "track", "event": "e", "userId": "u",
                                                              "messageId": "m", "timestamp": "t"}], "writeKey": "k"}),
        Request("b", "bench", 0.0, "GET", "https://metrics.shop.example/b/ss/suite/1/JS-2.23.0/s1?AQB=1&ndh=1&pageName=x&AQE=1",
                [], b""),
        Request("b", "bench", 0.0, "GET", "https://cdn.shop.example/static/app.js", [], b""),
        post("https://shop.example/c7/v1/seg7", {"k7": "v"}),  # one synthetic endpoint's own request
    ]


def measure(count: int, rounds: int) -> dict[str, float]:
    bundled, _ = load_rules()
    started = time.perf_counter()
    analyzer = Analyzer(bundled + synthetic(count))
    build = time.perf_counter() - started
    batch = requests()
    candidates = sum(len(analyzer.index.shape_candidates(r)) for r in batch) / len(batch)
    for request in batch:  # warm caches (registrable domains, regexes) before timing
        analyzer.analyze(request)
    analyzer.shape_checks = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for request in batch:
            analyzer.analyze(request)
    elapsed = time.perf_counter() - started
    total = rounds * len(batch)
    return {"hostless_endpoints": count, "index_build_s": round(build, 3), "us_per_request": round(1e6 * elapsed / total, 1),
            "candidates_per_request": round(candidates, 3), "checks_per_request": round(analyzer.shape_checks / total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[0, 100, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for count in args.counts:
        print(yaml.safe_dump(measure(count, args.rounds), default_flow_style=True, sort_keys=False).strip())


if __name__ == "__main__":
    main()
