"""leakmap and TrackHAR side by side on the same HAR of real SDK traffic.

What is measured, and why
-------------------------
TrackHAR (tweaselORG, npm `trackhar@1.0.0`) is the peer tool that reads a HAR and extracts
what trackers received. This script times, in one run, alternating and taking the median of
several rounds (each a fresh process, so start-up counts as a user waits for it):

  trackhar     `node run-trackhar.mjs X.har`: JSON.parse of the HAR and TrackHAR's `process()`
  no-report    `leakmap analyze X.har --findings f.csv --no-report`: read, match, decode,
               extract, store, CSV export
  full         `leakmap analyze X.har --findings f.csv -o r.html`: the same plus the HTML report

and prints both ratios (no-report / trackhar, full / no-report), each run's peak RSS
(from `os.wait4`, the child's own) and the work each tool did: the entries TrackHAR's
adapters matched and the values it extracted, leakmap's findings and the entries they came
from. Read the ratio with the first of these: TrackHAR skips every request it has no
adapter for, leakmap decodes them all.

Two corpora, each recorded, not generated, through a real `mitmdump -s addons/leakmap.py` in
block mode (the proxy answers every tracker itself: nothing leaves the machine), and turned
into a HAR by mitmproxy's own export (`mitmdump -nr X.mitm --set hardump=X.har`):

  --corpus sdks    (default) the official Python SDKs of Mixpanel, Segment, PostHog,
                   RudderStack, Amplitude, Snowplow, Sentry and Bugsnag (pyproject's [test]
                   extra) send app-like events. TrackHAR has adapters mostly for ad-tech and
                   mobile endpoints: it matches only Bugsnag's notify requests here (588 of
                   8,468 entries), so this corpus times leakmap's full work against a TrackHAR
                   that skips 93% of the HAR.
  --corpus adtech  equal work: every request is one TrackHAR has an adapter for AND a leakmap
                   rule covers (trackhar_adtech.py): Prebid.js auctions in Debian's headless
                   Chromium (eleven bid adapters, ID5), the Adjust and Singular web SDKs in the
                   same browser, and the Python Bugsnag SDK's notify and session requests.
                   Only the pages' own files (50 of 8,829 entries) are covered by neither.

Recorded once per corpus and size and cached in benchmarks/out/ (`--rerecord` to do it again).

Run:  .venv/bin/python benchmarks/bench_trackhar.py [--corpus adtech] [--rounds 5] [--requests 8400] [--skip full]
      .venv/bin/python benchmarks/bench_trackhar.py --code /tmp/old --skip trackhar --skip no-report
      (--code: time another leakmap source tree, e.g. `git archive main | tar -x -C /tmp/old`)
TrackHAR is installed with `npm ci` in benchmarks/trackhar/ (done by this script when missing);
the adtech corpus needs `npm ci` in tests/js/adtech and tests/js/attribution (done too) and
Debian's chromium with Playwright for Python.
Results also go to benchmarks/out/trackhar-results-<corpus>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
TRACKHAR_DIR = Path(__file__).resolve().parent / "trackhar"
RUNNER = TRACKHAR_DIR / "run-trackhar.mjs"
FINDINGS = OUT / "trackhar-bench-findings.csv"
CORPORA = {"sdks": "sdk-traffic", "adtech": "adtech-traffic"}  # corpus: file name stem in OUT
SDKS = ("mixpanel", "segment", "posthog", "rudderstack", "amplitude", "snowplow", "sentry", "bugsnag")

# --------------------------------------------------------------------------------------------
# Recording: app-like traffic from the real SDKs, through a real mitmdump.


def app_user(rng: random.Random, n: int) -> dict[str, Any]:
    """One user of a shopping app, with what such apps put into their analytics."""
    first = rng.choice(["Jane", "Omar", "Lea", "Kenji", "Maria", "Tom", "Ana", "Ravi"])
    last = rng.choice(["Doe", "Haddad", "Meyer", "Sato", "Garcia", "Brown", "Silva", "Patel"])
    return {"id": f"u-{n:05d}-{rng.randrange(10**6):06d}", "email": f"{first}.{last}{n}@example.com".lower(),
            "name": f"{first} {last}", "phone": f"+4915{rng.randrange(10**8):08d}",
            "device": f"{rng.getrandbits(128):032x}", "city": rng.choice(["Berlin", "Lyon", "Osaka", "Austin"]),
            "ip": f"81.2.{rng.randrange(256)}.{rng.randrange(1, 255)}"}


def event_props(rng: random.Random, user: dict[str, Any], step: int) -> dict[str, Any]:
    cart = [{"sku": f"SKU-{rng.randrange(10**5)}", "price": round(rng.random() * 90, 2), "qty": rng.randint(1, 3),
             "category": rng.choice(["shoes", "books", "garden", "toys"])} for _ in range(rng.randint(1, 6))]
    return {"screen": rng.choice(["home", "search", "product", "cart", "checkout"]), "step": step,
            "email": user["email"], "phone": user["phone"], "city": user["city"], "latitude": 52.52 + rng.random() / 100,
            "longitude": 13.40 + rng.random() / 100, "app_version": "5.3.1", "os": "Android", "os_version": "14",
            "device_model": "Pixel 8", "carrier": "Vodafone", "locale": "de-DE", "timezone": "Europe/Berlin",
            "advertising_id": f"{rng.getrandbits(128):032x}", "search_query": rng.choice(["red shoes", "tent", "lego"]),
            "cart": cart, "total": round(sum(i["price"] * i["qty"] for i in cart), 2), "ab_test": rng.choice("AB")}


def drive(sdk: str, count: int, seed: int) -> None:
    """Make the official *sdk* send *count* requests (run in a child whose environment
    points at the proxy)."""
    import logging

    logging.disable(logging.INFO)  # snowplow logs every send
    rng = random.Random(seed)
    users = [app_user(rng, n) for n in range(40)]
    sends = SENDERS[sdk](rng)
    for i in range(count):
        sends(users[i % len(users)], i)
    print(f"{sdk}: sent {count}")


def _mixpanel(rng: random.Random):
    import mixpanel

    mp = mixpanel.Mixpanel("3f9c2a7e51b04d88a1c6e0f2b7d4a913")

    def send(user: dict[str, Any], i: int) -> None:
        if i % 5 == 4:
            mp.people_set(user["id"], {"$email": user["email"], "$name": user["name"], "$phone": user["phone"]})
        else:
            mp.track(user["id"], "Screen Viewed", event_props(rng, user, i))
    return send


def _segment(rng: random.Random):
    from segment.analytics import Client

    client = Client("bnchSegWriteKey9931", sync_mode=True, max_retries=1)

    def send(user: dict[str, Any], i: int) -> None:
        if i % 5 == 4:
            client.identify(user["id"], {"email": user["email"], "name": user["name"], "phone": user["phone"]},
                            anonymous_id=user["device"])
        else:
            client.track(user["id"], "Product Viewed", event_props(rng, user, i), anonymous_id=user["device"])
    return send


def _posthog(rng: random.Random):
    from posthog import Posthog

    ph = Posthog("phc_benchPostHogKey00000000000000000000001", host="https://us.i.posthog.com", sync_mode=True,
                 max_retries=1)

    def send(user: dict[str, Any], i: int) -> None:
        ph.capture("screen_view", distinct_id=user["id"],
                   properties={**event_props(rng, user, i), "$set": {"email": user["email"]}})
    return send


def _rudderstack(rng: random.Random):
    import rudderstack.analytics as ra

    ra.write_key, ra.host, ra.sync_mode = "bnchRudderWriteKey4471", "https://benchco.dataplane.rudderstack.com", True

    def send(user: dict[str, Any], i: int) -> None:
        ra.track(user["id"], "Order Completed", event_props(rng, user, i), anonymous_id=user["device"])
    return send


def _amplitude(rng: random.Random):
    from amplitude import Amplitude, BaseEvent, Config

    amp = Amplitude("bnchampkey0a1b2c3d4e5f60718293", Config(flush_max_retries=1, flush_queue_size=5))

    def send(user: dict[str, Any], i: int) -> None:
        for k in range(5):  # flush_queue_size events: one upload
            amp.track(BaseEvent("Screen Viewed", user_id=user["id"], device_id=user["device"], city=user["city"],
                                event_properties=event_props(rng, user, i * 5 + k)))
        amp.flush()
    return send


def _snowplow(rng: random.Random):
    from snowplow_tracker import Emitter, StructuredEvent, Subject, Tracker

    emitters = {m: Emitter("collector.shop.example", protocol="https", method=m, batch_size=1) for m in ("post", "get")}

    def send(user: dict[str, Any], i: int) -> None:
        method = "get" if i % 3 == 0 else "post"
        subject = Subject().set_user_id(user["id"]).set_lang("de-DE").set_timezone("Europe/Berlin")
        tracker = Tracker("bench", emitters[method], app_id="shopapp", subject=subject, encode_base64=True)
        tracker.track(StructuredEvent(category="shop", action="view", label=user["email"], property_="screen",
                                      value=float(i)))
        tracker.flush()
    return send


def _sentry(rng: random.Random):
    import sentry_sdk

    sentry_sdk.init(dsn="https://0a1b2c3d4e5f60718293a4b5c6d7e8f9@o4509.ingest.us.sentry.io/4509001",
                    release="shopapp@5.3.1", send_default_pii=True, default_integrations=False, server_name="bench")

    def send(user: dict[str, Any], i: int) -> None:
        sentry_sdk.set_user({"id": user["id"], "email": user["email"], "ip_address": user["ip"]})
        sentry_sdk.add_breadcrumb(message=f"opened order {i}", category="ui.click")
        sentry_sdk.capture_message(f"payment failed for order {i}", level="error")
        sentry_sdk.flush(timeout=20)
    return send


def _bugsnag(rng: random.Random):
    import bugsnag

    client = bugsnag.Client(api_key="f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4", app_version="5.3.1", hostname="bench",
                            asynchronous=False, auto_capture_sessions=False)

    def send(user: dict[str, Any], i: int) -> None:
        try:
            raise RuntimeError(f"checkout failed for order {i}")
        except RuntimeError as e:
            client.notify(e, user={"id": user["id"], "email": user["email"], "name": user["name"]})
    return send


def _bugsnag_app(rng: random.Random):
    """A server app with Bugsnag's session tracking (the adtech corpus): every request it
    handles starts a session; each failure is reported, and the SDK then delivers the queued
    session counts too: two requests (notify, sessions) per call."""
    import bugsnag

    client = bugsnag.Client(api_key="a1b2c3d4e5f60718293a4b5c6d7e8f90", app_version="2.8.0", hostname="ads-api-7",
                            release_stage="production", asynchronous=False, auto_capture_sessions=False)

    def send(user: dict[str, Any], i: int) -> None:
        client.session_tracker.start_session()
        try:
            raise TimeoutError(f"bid cache write timed out for auction {i}")
        except TimeoutError as e:
            client.notify(e, user={"id": user["id"], "email": user["email"]},
                          metadata={"request": {"clientIp": user["ip"], "city": user["city"]}})
    return send


SENDERS = {"mixpanel": _mixpanel, "segment": _segment, "posthog": _posthog, "rudderstack": _rudderstack,
           "amplitude": _amplitude, "snowplow": _snowplow, "sentry": _sentry, "bugsnag": _bugsnag,
           "bugsnag-app": _bugsnag_app}
# Share of the requests per SDK (amplitude sends one request per five events).
SHARE = {"mixpanel": 0.30, "segment": 0.14, "posthog": 0.12, "rudderstack": 0.10, "amplitude": 0.08,
         "snowplow": 0.12, "sentry": 0.07, "bugsnag": 0.07}


def record(requests: int, dump: Path, har: Path) -> None:
    """Record ~*requests* SDK requests through mitmdump into *dump*, then export *har*."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from record_sample import start_mitmdump

    with tempfile.TemporaryDirectory() as tmp:
        confdir = Path(tmp) / "conf"
        partial = dump.with_suffix(".partial")
        process, port = start_mitmdump(confdir, partial, Path(tmp) / "record.db")
        proxy = f"http://127.0.0.1:{port}"
        ca = str(confdir / "mitmproxy-ca-cert.pem")
        env = {**os.environ, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
               "NO_PROXY": "", "no_proxy": "", "REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}
        try:
            children = []
            for n, sdk in enumerate(SDKS):
                count = max(1, round(requests * SHARE[sdk]))
                children.append(subprocess.Popen([sys.executable, __file__, "--drive", sdk, "--count", str(count),
                                                  "--seed", str(n)], env=env))
                if len(children) == 2:  # two cores: two SDK processes at a time beside the proxy
                    _wait_all(children)
                    children = []
            _wait_all(children)
        finally:
            process.terminate()
            process.wait(timeout=60)
        partial.replace(dump)
    mitmdump = Path(sys.executable).parent / "mitmdump"
    subprocess.run([str(mitmdump), "-q", "-nr", str(dump), "--set", f"hardump={har}"], check=True)


def _wait_all(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.wait() != 0:
            raise SystemExit(f"an SDK driver failed (exit {child.returncode})")


# --------------------------------------------------------------------------------------------
# Timing


def ensure_trackhar() -> None:
    if not (TRACKHAR_DIR / "node_modules" / "trackhar").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TRACKHAR_DIR, check=True)


def timed(argv: list[str], log: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) of the child, and its output.
    On a shared machine the wall time also counts waiting for a core; the CPU time does not."""
    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed, see {log}:\n{text[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def commands(har: Path, code: Path | None) -> dict[str, list[str]]:
    """The three runs. *code*: another leakmap source tree to time (e.g. `git archive` of an
    older commit), run with this environment's Python and packages."""
    findings, report = FINDINGS, OUT / "trackhar-bench-report.html"
    # -P: no current directory on sys.path, so that PYTHONPATH=*code* wins even when this runs
    # from a checkout's root (its leakmap/ would be imported instead).
    leakmap = [sys.executable, "-P", "-c", "from leakmap.cli import entry; entry()"]
    if code is None and (Path(sys.executable).parent / "leakmap").exists():
        leakmap = [str(Path(sys.executable).parent / "leakmap")]
    return {"trackhar": ["node", str(RUNNER), str(har)],
            "no-report": leakmap + ["analyze", str(har), "--findings", str(findings), "--no-report", "-q"],
            "full": leakmap + ["analyze", str(har), "--findings", str(findings), "-o", str(report), "-q"]}


def measure(har: Path, rounds: int, code: Path | None, skip: set[str]) -> dict[str, dict[str, Any]]:
    env = {**os.environ, **({"PYTHONPATH": str(code)} if code else {})}
    # As installed (pip compiles every module): bytecode is written on the first run and read
    # after, rather than every module compiled again in every timed run (0.1 s each).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = {name: command for name, command in commands(har, code).items() if name not in skip}
    if "no-report" in argv:
        timed(argv["no-report"], OUT / "trackhar-bench-warm-up.log", env)  # writes the bytecode and rule cache
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in argv}
    details: dict[str, str] = {}
    for round_ in range(rounds):
        names = list(runs) if round_ % 2 == 0 else list(reversed(runs))  # alternate the order
        for name in names:
            wall, cpu, rss, text = timed(argv[name], OUT / f"trackhar-bench-{name}.log", env)
            runs[name].append((wall, cpu, rss))
            details[name] = text.strip().splitlines()[-1] if text.strip() else ""
            print(f"  round {round_ + 1} {name:<10} {wall:6.2f} s wall {cpu:6.2f} s CPU {rss:6.0f} MB", flush=True)
    return {name: {"median_s": statistics.median(w for w, _, _ in values),
                   "median_cpu_s": statistics.median(c for _, c, _ in values),
                   "walls_s": [round(w, 3) for w, _, _ in values], "cpus_s": [round(c, 3) for _, c, _ in values],
                   "peak_rss_mb": max(r for _, _, r in values), "last_line": details[name]}
            for name, values in runs.items()}


def record_corpus(corpus: str, requests: int, dump: Path, har: Path) -> None:
    if corpus == "sdks":
        record(requests, dump, har)
    else:
        from trackhar_adtech import record_adtech

        record_adtech(requests, dump, har, drive_bugsnag_app)


def drive_bugsnag_app(env: dict[str, str], requests: int) -> None:
    """The adtech corpus's Bugsnag traffic: ~*requests* requests, two per call."""
    subprocess.run([sys.executable, __file__, "--drive", "bugsnag-app", "--count", str(max(1, requests // 2))],
                   env=env, check=True)


def count_entries(har: Path) -> int:
    """The HAR's entries, counted in a child process: the timed children are spawned from this
    process, and Linux reports a child's peak RSS as at least this process's peak (exec records
    the memory it replaces), so this process must never hold a parsed HAR."""
    script = "import json, sys; print(len(json.load(open(sys.argv[1], 'rb'))['log']['entries']))"
    return int(subprocess.run([sys.executable, "-c", script, str(har)], capture_output=True, text=True,
                              check=True).stdout)


def work_done(har: Path, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What each tool did with the HAR: the entries TrackHAR has an adapter for and the values
    it extracted (run-trackhar.mjs's summary line; TrackHAR is run once if it was not timed),
    and leakmap's findings and the requests they came from (from the findings CSV)."""
    if "trackhar" in results:
        trackhar_line = results["trackhar"]["last_line"]
    else:
        trackhar_line = subprocess.run(["node", str(RUNNER), str(har)], capture_output=True, text=True,
                                       check=True).stdout.strip().splitlines()[-1]
    work: dict[str, Any] = {"trackhar": json.loads(trackhar_line)}
    if {"no-report", "full"} & set(results):
        csv.field_size_limit(1 << 30)
        requests: set[str] = set()
        findings = 0
        with FINDINGS.open(newline="") as f:
            for row in csv.DictReader(f):
                findings += 1
                requests.add(row["request_id"])
        work["leakmap"] = {"findings": findings, "requests_with_findings": len(requests)}
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=CORPORA, default="sdks",
                        help="sdks: analytics and crash SDKs (TrackHAR covers only Bugsnag's share); adtech: Prebid.js"
                             " auctions, Adjust, Singular and Bugsnag, every endpoint covered by both tools [sdks]")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the median is reported [5]")
    parser.add_argument("--requests", type=int, default=8400, help="requests to record [8400]")
    parser.add_argument("--rerecord", action="store_true", help="record the HAR again even if cached")
    parser.add_argument("--code", type=Path, help="time the leakmap source tree in this folder (before/after)")
    parser.add_argument("--skip", action="append", default=[], choices=["trackhar", "no-report", "full"],
                        help="leave a run out (repeatable)")
    parser.add_argument("--drive", choices=list(SENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, args.count, args.seed)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"{CORPORA[args.corpus]}-{args.requests}"
    dump, har = stem.with_suffix(".mitm"), stem.with_suffix(".har")
    if args.rerecord or not har.exists():
        start = time.perf_counter()
        record_corpus(args.corpus, args.requests, dump, har)
        print(f"recorded {dump} and exported {har} in {time.perf_counter() - start:.0f} s")
    entries = count_entries(har)
    print(f"HAR ({args.corpus} corpus): {har} ({entries:,} entries, {har.stat().st_size / 1e6:.1f} MB)")
    if shutil.which("node") is None:
        raise SystemExit("node is not installed")
    ensure_trackhar()
    results = measure(har, args.rounds, args.code, set(args.skip))
    print(f"\nmedian of {args.rounds} rounds on {entries:,} entries ({args.corpus} corpus):")
    for name, r in results.items():
        print(f"  {name:<10} {r['median_s']:7.2f} s wall {r['median_cpu_s']:7.2f} s CPU   "
              f"peak RSS {r['peak_rss_mb']:5.0f} MB   ({r['last_line'][:80]})")
    work = work_done(har, results)
    trackhar = work["trackhar"]
    print(f"  matched by TrackHAR: {trackhar['with_adapter']:,} of {entries:,} entries "
          f"({trackhar['with_adapter'] / entries:.0%}); {trackhar['values']:,} values extracted from "
          f"{trackhar.get('with_values', 0):,} of them")
    if "leakmap" in work:
        print(f"  leakmap: {work['leakmap']['findings']:,} findings from "
              f"{work['leakmap']['requests_with_findings']:,} of {entries:,} entries")
    ratios = {}
    for label, top, bottom in (("leakmap --no-report / TrackHAR", "no-report", "trackhar"),
                               ("leakmap full / --no-report", "full", "no-report")):
        if top in results and bottom in results:
            ratios[label] = {unit: results[top][key] / results[bottom][key]
                             for unit, key in (("wall", "median_s"), ("cpu", "median_cpu_s"))}
            print(f"  {label}: {ratios[label]['wall']:.2f} (wall), {ratios[label]['cpu']:.2f} (CPU)"
                  + (f"; TrackHAR matched {trackhar['with_adapter'] / entries:.0%} of the entries"
                     if bottom == "trackhar" else ""))
    (OUT / f"trackhar-results-{args.corpus}.json").write_text(json.dumps(
        {"corpus": args.corpus, "har": str(har), "entries": entries, "har_bytes": har.stat().st_size,
         "rounds": args.rounds, "code": str(args.code or ROOT), "work": work, "results": results,
         "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
