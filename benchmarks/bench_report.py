#!/usr/bin/env python3
"""How the HTML report scales: a synthetic findings store (default 100,000 findings) is
rendered, then loaded in Debian's headless Chromium.

    python benchmarks/bench_report.py [--findings 100000] [--evidence-limit 1000] [--keep DIR]

Prints (and writes to benchmarks/out/report.json) the store build time, the report render
time (SQL aggregation + Jinja2), the HTML size, and Chromium's times: navigation to
DOMContentLoaded and to the load event (Navigation Timing), until the report's script has
wired filters and pagination (`html[data-ready]`), and for one filter change.

The store is built through `Store.add` with `Analysis` records shaped like real tracker
requests: 10 apps, 12 companies, 10 findings and 20 uploaded fields per request.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leakmap.model import Analysis, Finding, Request  # noqa: E402
from leakmap.report import write_report  # noqa: E402
from leakmap.store import Store  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FINDINGS_PER_REQUEST = 10
APPS = [f"App {n}" for n in "ABCDEFGHIJ"]
COMPANIES = [(f"tracker{i}", f"Tracker {i} Inc.", cat) for i, cat in
             enumerate(["analytics", "advertising", "attribution", "crash", "analytics", "advertising"] * 2)]
TYPES = ["advertising_id", "email", "latitude", "longitude", "user_id", "session_id", "os_name", "os_version",
         "device_model", "event_name", "screen_name", "app_version", "language", "custom_property"]


def synthetic_analysis(i: int, rng: random.Random) -> Analysis:
    """One decoded tracker request with 10 findings and 20 fields."""
    tracker, company, category = COMPANIES[i % len(COMPANIES)]
    app = APPS[rng.randrange(len(APPS))]
    props = {f"prop_{k}": f"value-{rng.randrange(1000)}" for k in range(10)}
    event = {"event": f"event_{rng.randrange(40)}", "properties": {
        "distinct_id": f"user-{rng.randrange(5000)}", "$os": "Android", "$os_version": "14", "$model": "Pixel 8",
        "email": f"user{rng.randrange(5000)}@example.com", "lat": 52.5 + rng.random(), "lng": 13.4 + rng.random(),
        "ad_id": f"{rng.getrandbits(64):016x}", **props}}
    request = Request(f"flow-{i}", "synthetic.mitm", 1_700_000_000 + i * 0.5, "POST",
                      f"https://api.{tracker}.example/v1/track?i={i}", [("user-agent", "okhttp/4.12")],
                      client="10.0.0.2")
    base = "body.data"
    labelled = [("event_name", "event"), ("user_id", "properties.distinct_id"), ("os_name", "properties.$os"),
                ("os_version", "properties.$os_version"), ("device_model", "properties.$model"),
                ("email", "properties.email"), ("latitude", "properties.lat"), ("longitude", "properties.lng"),
                ("advertising_id", "properties.ad_id"), ("custom_property", "properties.prop_0")]
    findings = []
    for data_type, rel in labelled[:FINDINGS_PER_REQUEST]:
        node = event
        for key in rel.split("."):
            node = node[key]
        findings.append(Finding(data_type, str(node), f"{base}.{rel}", "body", "rule", rel))
    found = {f.path: f.data_type for f in findings}
    fields = [(f"{base}.{k}" if k == "event" else f"{base}.properties.{k}", str(v),
               found.get(f"{base}.properties.{k}", "")) for k, v in
              [("event", event["event"]), *event["properties"].items()]][:20]
    return Analysis(request, "decoded", tracker, company, category, "track",
                    rule_source=f"https://github.com/{tracker}/sdk/blob/main/Track.java", match_via="host",
                    decode_chain=["body: form", "body.data: base64", "body.data: json"],
                    payload={"body": {"data": event}, "header": {"user-agent": "okhttp/4.12"}},
                    fields=fields, findings=findings, app=app, app_signal="header",
                    app_evidence=f"X-Requested-With: com.example.{app[-1].lower()}")


def build_store(path: Path, n_findings: int) -> float:
    started = time.perf_counter()
    store = Store(path)
    rng = random.Random(7)
    for i in range(n_findings // FINDINGS_PER_REQUEST):
        store.add(synthetic_analysis(i, rng), commit=False)
    store.commit()
    store.close()
    return time.perf_counter() - started


def chromium_times(html: Path) -> dict[str, float]:
    """Navigation Timing of a file:// load, the time until the report's script is ready,
    and one filter change, in milliseconds."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        started = time.perf_counter()
        page.goto(html.resolve().as_uri(), timeout=300_000)
        page.wait_for_selector("html[data-ready]", timeout=300_000)
        ready_wall = (time.perf_counter() - started) * 1000
        timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
            return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }""")
        paint = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0")
        started = time.perf_counter()
        page.select_option("#f-app", APPS[0])
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        filter_ms = (time.perf_counter() - started) * 1000
        browser.close()
    if errors:
        raise SystemExit(f"console errors: {errors}")
    return {"dom_content_loaded_ms": round(timing["dom"]), "load_event_ms": round(timing["load"]),
            "first_contentful_paint_ms": round(paint), "ready_wall_ms": round(ready_wall),
            "filter_change_ms": round(filter_ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--evidence-limit", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep the store and the report in this directory")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakmap-bench-") as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        db, html = out_dir / "bench.db", out_dir / "bench.html"
        db.unlink(missing_ok=True)
        results: dict[str, float | int] = {"findings": args.findings,
                                           "build_store_s": round(build_store(db, args.findings), 2)}
        store = Store(db)
        started = time.perf_counter()
        kwargs = {"evidence_limit": args.evidence_limit} if args.evidence_limit is not None else {}
        write_report(store, html, **kwargs)
        results["render_s"] = round(time.perf_counter() - started, 2)
        results["requests"] = store.db.execute("SELECT count(*) FROM requests").fetchone()[0]
        store.close()
        results["html_bytes"] = html.stat().st_size
        results["html_mib"] = round(html.stat().st_size / 2**20, 1)
        if not args.no_browser:
            results.update(chromium_times(html))
    for key, value in results.items():
        print(f"{key:>28}: {value}")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
