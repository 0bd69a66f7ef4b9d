"""Throughput and memory benchmark for `leakmap analyze` on a large mitmproxy dump.

What is measured, and why
-------------------------
A synthetic but realistic capture is generated with mitmproxy's own APIs
(`mitmproxy.test.tflow` / `tutils` build the flows, `mitmproxy.io.FlowWriter` writes them),
so the file is byte-for-byte what `mitmdump -w` would produce for such traffic. Most flows
are ordinary app/web traffic (API JSON, images, HTML, CDN assets, some gzip request bodies);
a share (default 12%) are Mixpanel requests in the formats the real SDKs send (Android
base64 form, JS URL-encoded JSON form, iOS raw JSON arrays, some gzipped, /engage profile
updates). The seed is fixed, so the same options always give the same file.

Each phase runs in its own child process, so wall time includes interpreter start-up and
imports (what a user waits for) and the peak RSS (from `os.wait4`) belongs to that phase
alone:

  read      mitmproxy's FlowReader streaming every flow: the floor any analysis sits on.
  stage     leakmap's read stage (`read_any`: FlowReader + normalisation + body gunzip).
  analyze   `Session(store).replay(path, Limits())` in-process: read + match + decode +
            extract + SQLite store, no report.
  cli       `leakmap analyze FILE -o out.html --db out.db -q`: end to end, with the report.

Memory should not grow with the capture size (every reader streams), so by default the
same phases also run on a 10,000-flow file for comparison (`--compare-flows 0` to skip).
What may grow is whatever is proportional to the findings (the SQLite store, the report).

Run:  /tmp/venv/bin/python benchmarks/bench_analyze.py [--flows 50000] [--tracker-share 0.12]
      [--keep] [--compare-flows 10000] [--profile]
Outputs go to benchmarks/out/ (gitignored); figures also to benchmarks/out/results.json.
"""

from __future__ import annotations

import argparse
import base64
import gzip as _gzip
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

from mitmproxy import http, io
from mitmproxy.test import tflow, tutils

OUT = Path(__file__).resolve().parent / "out"
SEED = 20240501
START_TIME = 1_714_550_400.0  # 2024-05-01, so timestamps are reproducible too

# --------------------------------------------------------------------------------------------
# Devices: who sends the traffic. Each tracker request uses the SDK format of its platform.


@dataclass
class Device:
    ip: str
    platform: str  # android | ios | web
    user_agent: str
    sdk_ua: str  # the User-Agent of the HTTP stack the Mixpanel SDK uses
    app: str  # first-party domain of the app / site
    token: str
    distinct_id: str
    device_id: str
    email: str
    name: str
    base_props: dict[str, Any] = field(default_factory=dict)


ANDROID_MODELS = [("samsung", "SM-S918B", 1080, 2340, 480), ("Google", "Pixel 8", 1080, 2400, 420),
                  ("Xiaomi", "2201117TG", 1080, 2400, 440), ("OnePlus", "CPH2449", 1240, 2772, 450)]
IOS_MODELS = [("iPhone15,2", 393, 852), ("iPhone14,5", 390, 844), ("iPhone16,1", 393, 852), ("iPad13,18", 820, 1180)]
APPS = ["shopfast.com", "notely.app", "fitrun.io", "newsdaily.net"]
FIRST_NAMES = ["Jane", "Omar", "Lea", "Kenji", "Maria", "Tom", "Ana", "Ravi"]
LAST_NAMES = ["Doe", "Haddad", "Meyer", "Sato", "Garcia", "Brown", "Silva", "Patel"]


def gzip_fixed(data: bytes, level: int = 6) -> bytes:
    """gzip with a fixed header time, so the capture is byte-for-byte reproducible."""
    return _gzip.compress(data, level, mtime=0)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_devices(rng: random.Random, count: int = 24) -> list[Device]:
    devices = []
    for i in range(count):
        kind = ("android", "ios", "web")[i % 3]
        app = APPS[i % len(APPS)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        device = Device(ip=f"10.0.{i // 200}.{i % 200 + 10}", platform=kind, user_agent="", sdk_ua="", app=app,
                        token=_hex(random.Random(app), 32), distinct_id=f"u-{rng.randrange(10**6):06d}",
                        device_id=_uuid(rng), email=f"{first}.{last}{i}@example.com".lower(), name=f"{first} {last}")
        BASE_PROPS[kind](rng, device)
        devices.append(device)
    return devices


def _android_props(rng: random.Random, d: Device) -> None:
    brand, model, width, height, dpi = rng.choice(ANDROID_MODELS)
    os_version = rng.choice(["12", "13", "14"])
    d.user_agent = "okhttp/4.12.0"
    d.sdk_ua = f"Dalvik/2.1.0 (Linux; U; Android {os_version}; {model} Build/UP1A.231005.007)"
    d.base_props = {
        "mp_lib": "android", "$lib_version": "7.5.2", "$os": "Android", "$os_version": os_version,
        "$manufacturer": brand, "$brand": brand, "$model": model, "$google_play_services": "available",
        "$screen_dpi": dpi, "$screen_height": height, "$screen_width": width, "$app_version": "3.12.0",
        "$app_version_string": "3.12.0", "$app_release": 31200, "$app_build_number": 31200, "$has_nfc": True,
        "$has_telephone": True, "$carrier": rng.choice(["Vodafone", "T-Mobile", "Orange"]), "$wifi": True,
        "$bluetooth_enabled": False, "$bluetooth_version": "ble", "token": d.token, "distinct_id": d.distinct_id,
        "$device_id": d.device_id, "$user_id": d.distinct_id, "$had_persisted_distinct_id": True,
    }


def _ios_props(rng: random.Random, d: Device) -> None:
    model, width, height = rng.choice(IOS_MODELS)
    os_version = rng.choice(["16.7.8", "17.4.1", "17.5"])
    d.user_agent = f"{d.app.split('.')[0].title()}/3.12.0 (iPhone; iOS {os_version}; Scale/3.00)"
    d.sdk_ua = f"{d.app.split('.')[0].title()}/31200 CFNetwork/1494.0.7 Darwin/23.4.0"
    d.base_props = {
        "mp_lib": "swift", "$lib_version": "4.3.0", "$os": "iOS", "$os_version": os_version, "$manufacturer": "Apple",
        "$model": model, "mp_device_model": model, "$screen_width": width, "$screen_height": height,
        "$app_version_string": "3.12.0", "$app_build_number": "31200", "$radio": rng.choice(["5G", "LTE", "None"]),
        "$wifi": rng.random() < 0.6, "token": d.token, "distinct_id": d.distinct_id, "$device_id": d.device_id,
        "$user_id": d.distinct_id, "$had_persisted_distinct_id": True, "$ios_app_version": "31200",
    }


def _web_props(rng: random.Random, d: Device) -> None:
    chrome = rng.choice(["123", "124", "125"])
    d.user_agent = (f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                    f"Chrome/{chrome}.0.0.0 Safari/537.36")
    d.sdk_ua = d.user_agent
    d.base_props = {
        "$os": "Mac OS X", "$browser": "Chrome", "$browser_version": int(chrome), "$screen_height": 1117,
        "$screen_width": 1728, "mp_lib": "web", "$lib_version": "2.55.1", "mp_sent_by_lib_version": "2.55.1",
        "$initial_referrer": "https://www.google.com/", "$initial_referring_domain": "www.google.com",
        "$search_engine": "google", "token": d.token, "distinct_id": d.distinct_id, "$device_id": d.device_id,
        "$user_id": d.distinct_id, "current_domain": f"www.{d.app}", "current_url_protocol": "https:",
        "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring_sale",
    }


BASE_PROPS: dict[str, Callable[[random.Random, Device], None]] = {
    "android": _android_props, "ios": _ios_props, "web": _web_props}

# --------------------------------------------------------------------------------------------
# Request/response builders. Bodies that leakmap never decodes (responses, images) come from
# small pre-built pools: realistic sizes without spending generation time on them.


class Pools:
    def __init__(self, rng: random.Random) -> None:
        self.images = [rng.randbytes(rng.randint(2_000, 30_000)) for _ in range(48)]
        text = ("<div class=\"card\"><a href=\"/p/{n}\">Item {n}</a><span>{n} EUR</span></div>\n" * 400)
        self.html = [gzip_fixed(("<!doctype html><html><body>" + text.format(n=i) * rng.randint(1, 4)
                                    + "</body></html>").encode(), 6) for i in range(16)]
        js = "function f{n}(a,b){{return a.map(function(x){{return x*{n}+b}})}};\n" * 600
        self.assets = [gzip_fixed(js.format(n=i).encode() * rng.randint(1, 3), 6) for i in range(16)]
        self.json = [gzip_fixed(json.dumps({"items": [{"id": rng.randrange(10**9), "title": f"Item {k}",
                                                         "price": round(rng.random() * 100, 2), "tags": ["a", "b"]}
                                                        for k in range(rng.randint(5, 60))]}).encode(), 6)
                     for _ in range(32)]


def _headers(pairs: list[tuple[str, str]]) -> http.Headers:
    return http.Headers([(k.encode(), v.encode()) for k, v in pairs])


@dataclass
class Exchange:
    method: str
    host: str
    path: str  # with query
    headers: list[tuple[str, str]]
    body: bytes = b""
    status: int = 200
    resp_type: str = "application/json"
    resp_body: bytes = b""
    resp_gzip: bool = False


class TrafficGenerator:
    """Builds one HTTPFlow at a time, deterministically from the seed."""

    def __init__(self, seed: int, tracker_share: float) -> None:
        self.rng = random.Random(seed)
        self.tracker_share = tracker_share
        self.devices = make_devices(self.rng)
        self.pools = Pools(self.rng)
        self.now = START_TIME
        self.session_seq: dict[str, int] = {}

    def flow(self) -> http.HTTPFlow:
        rng = self.rng
        self.now += rng.expovariate(5.0)  # ~5 requests per second across all devices
        device = rng.choice(self.devices)
        exchange = self._tracker(device) if rng.random() < self.tracker_share else self._first_party(device)
        return self._to_flow(device, exchange)

    # --- first-party and other non-tracker traffic ---------------------------------------

    def _first_party(self, d: Device) -> Exchange:
        rng, r = self.rng, self.rng.random()
        common = [("User-Agent", d.user_agent), ("Accept-Encoding", "gzip, deflate, br"),
                  ("Accept-Language", "en-US,en;q=0.9")]
        auth = [("Authorization", f"Bearer {_hex(rng, 40)}")]
        if r < 0.33:
            path = f"/v2/{rng.choice(['feed', 'products', 'notes', 'articles'])}?page={rng.randint(1, 40)}&limit=20"
            return Exchange("GET", f"api.{d.app}", path, common + auth + [("Accept", "application/json")],
                            resp_body=rng.choice(self.pools.json), resp_gzip=True)
        if r < 0.48:
            return self._api_post(d, common + auth)
        if r < 0.72:
            ext, width = rng.choice(["jpg", "webp", "png"]), rng.choice([320, 640, 1080])
            path = f"/img/{_hex(rng, 2)}/{_hex(rng, 16)}.{ext}?w={width}"
            return Exchange("GET", f"images.{d.app}", path, common + [("Accept", "image/avif,image/webp,*/*")],
                            resp_type="image/jpeg", resp_body=rng.choice(self.pools.images))
        if r < 0.80:
            path = rng.choice(["/", "/sale", "/account", f"/p/{rng.randrange(10**6)}", "/search?q=running+shoes"])
            cookie = [("Cookie", f"sid={_hex(rng, 32)}; consent=1; ab=b")]
            return Exchange("GET", f"www.{d.app}", path, common + cookie + [("Accept", "text/html")],
                            resp_type="text/html; charset=utf-8", resp_body=rng.choice(self.pools.html), resp_gzip=True)
        if r < 0.94:
            path = f"/static/{rng.choice(['js', 'css'])}/{rng.choice(['main', 'vendor', 'chunk'])}.{_hex(rng, 8)}.js"
            return Exchange("GET", f"cdn.{d.app}", path, common + [("Accept", "*/*")],
                            resp_type="application/javascript", resp_body=rng.choice(self.pools.assets), resp_gzip=True)
        host, path = rng.choice([("fonts.gstatic.com", "/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2"),
                                 ("tile.openstreetmap.org", f"/14/{rng.randrange(16384)}/{rng.randrange(16384)}.png"),
                                 ("www.gstatic.com", "/generate_204")])
        return Exchange("GET", host, path, common, resp_type="application/octet-stream",
                        resp_body=rng.choice(self.pools.images)[:rng.randint(0, 20_000)])

    def _api_post(self, d: Device, headers: list[tuple[str, str]]) -> Exchange:
        rng = self.rng
        if rng.random() < 0.03:  # a login/profile call: legitimately carries the user's email
            body: Any = {"email": d.email, "password_hash": _hex(rng, 64), "device_id": d.device_id}
        else:
            body = {"events": [{"type": rng.choice(["view", "click", "scroll"]), "item": rng.randrange(10**6),
                                "ts": int(self.now * 1000) - k} for k in range(rng.randint(1, 25))],
                    "session": _hex(rng, 16), "app_version": "3.12.0"}
        raw = json.dumps(body).encode()
        headers = headers + [("Content-Type", "application/json")]
        if rng.random() < 0.2:  # batch uploads are often gzipped by the app
            raw = gzip_fixed(raw, 6)
            headers.append(("Content-Encoding", "gzip"))
        return Exchange("POST", f"api.{d.app}", rng.choice(["/v2/events", "/v2/sync", "/v1/session"]), headers,
                        body=raw, resp_body=b'{"ok":true}')

    # --- Mixpanel, in the shapes of the real SDKs -----------------------------------------

    def _tracker(self, d: Device) -> Exchange:
        records = self._engage(d) if self.rng.random() < 0.15 else self._events(d)
        endpoint = "/engage/" if "$token" in records[0] else "/track/"
        return {"android": self._android, "ios": self._ios, "web": self._web}[d.platform](d, endpoint, records)

    def _events(self, d: Device) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choice([1, 1, 1, 2, 3, 5, 8, 12]) if d.platform != "web" else 1
        return [self._event(d) for _ in range(count)]

    def _event(self, d: Device) -> dict[str, Any]:
        rng = self.rng
        seq = self.session_seq[d.device_id] = self.session_seq.get(d.device_id, 0) + 1
        props = dict(d.base_props)
        props["time"] = int(self.now * 1000) if d.platform != "ios" else round(self.now, 3)
        props["$insert_id"] = _hex(rng, 16)
        name = rng.choice(["App Open", "Screen View", "Item Viewed", "Add To Cart", "Search", "Purchase"])
        props.update({"screen": rng.choice(["home", "detail", "cart", "search"]), "item_id": rng.randrange(10**6),
                      "price": round(rng.random() * 200, 2), "ab_variant": rng.choice(["a", "b"]),
                      "session_length": rng.randint(1, 900)})
        if d.platform == "web":
            page = rng.choice(["/", "/sale", f"/p/{rng.randrange(10**6)}"])
            props.update({"$current_url": f"https://www.{d.app}{page}", "current_url_path": page,
                          "current_page_title": f"{d.app} – {page}", "$referrer": "https://www.google.com/",
                          "$referring_domain": "www.google.com", "current_url_search": ""})
        event = {"event": name, "properties": props}
        if d.platform == "android":
            event["$mp_metadata"] = {"$mp_event_id": _hex(rng, 16), "$mp_session_id": d.device_id[:16],
                                     "$mp_session_seq_id": seq, "$mp_session_start_sec": int(START_TIME)}
        return event

    def _engage(self, d: Device) -> list[dict[str, Any]]:
        profile: dict[str, Any] = {"$email": d.email, "$name": d.name, "plan": self.rng.choice(["free", "premium"])}
        if d.platform == "android":
            profile.update({"$android_os": "Android", "$android_model": d.base_props["$model"]})
        return [{"$token": d.token, "$distinct_id": d.distinct_id, "$time": int(self.now * 1000),
                 "$set": profile}]

    def _android(self, d: Device, endpoint: str, records: list[dict[str, Any]]) -> Exchange:
        data = base64.b64encode(json.dumps(records).encode()).decode()
        body = urlencode({"data": data}).encode()
        headers = [("User-Agent", d.sdk_ua), ("Content-Type", "application/x-www-form-urlencoded"),
                   ("Accept-Encoding", "gzip")]
        if self.rng.random() < 0.1:  # GzipRequestPayload
            body = gzip_fixed(body, 6)
            headers.append(("Content-Encoding", "gzip"))
        return Exchange("POST", "api.mixpanel.com", f"{endpoint}?ip=1", headers, body=body, resp_body=b"1",
                        resp_type="text/plain")

    def _ios(self, d: Device, endpoint: str, records: list[dict[str, Any]]) -> Exchange:
        body = json.dumps(records, separators=(",", ":")).encode()
        headers = [("User-Agent", d.sdk_ua), ("Content-Type", "application/json"), ("Accept-Encoding", "gzip")]
        if self.rng.random() < 0.4:  # useGzipCompression
            body = gzip_fixed(body, 6)
            headers.append(("Content-Encoding", "gzip"))
        return Exchange("POST", "api.mixpanel.com", f"{endpoint.rstrip('/')}?ip=1", headers, body=body,
                        resp_body=b"1", resp_type="text/plain")

    def _web(self, d: Device, endpoint: str, records: list[dict[str, Any]]) -> Exchange:
        payload: Any = records[0] if len(records) == 1 and endpoint == "/engage/" else records
        body = ("data=" + quote(json.dumps(payload, separators=(",", ":")), safe="")).encode()
        headers = [("User-Agent", d.user_agent), ("Content-Type", "application/x-www-form-urlencoded"),
                   ("Origin", f"https://www.{d.app}"), ("Referer", f"https://www.{d.app}/"), ("Accept", "*/*")]
        path = f"{endpoint}?verbose=1&ip=1&_={int(self.now * 1000)}"
        return Exchange("POST", "api-js.mixpanel.com", path, headers, body=body,
                        resp_body=b'{"status":1,"error":null}')

    # --- assembling the mitmproxy flow -------------------------------------------------------

    def _to_flow(self, d: Device, x: Exchange) -> http.HTTPFlow:
        rng, t = self.rng, self.now
        headers = [("Host", x.host)] + x.headers
        if x.body:
            headers.append(("Content-Length", str(len(x.body))))
        req = tutils.treq(host=x.host, port=443, method=x.method.encode(), scheme=b"https", authority=b"",
                          path=x.path.encode(), http_version=b"HTTP/1.1", headers=_headers(headers),
                          content=x.body, timestamp_start=t, timestamp_end=t + 0.001)
        resp_headers = [("Content-Type", x.resp_type), ("Content-Length", str(len(x.resp_body))),
                        ("Date", "Wed, 01 May 2024 08:00:00 GMT"), ("Server", "nginx")]
        if x.resp_gzip:
            resp_headers.append(("Content-Encoding", "gzip"))
        latency = rng.uniform(0.02, 0.4)
        resp = tutils.tresp(status_code=x.status, reason=b"OK", headers=_headers(resp_headers), content=x.resp_body,
                            timestamp_start=t + latency, timestamp_end=t + latency + 0.01)
        flow = tflow.tflow(client_conn=self._client(d, x.host, t), server_conn=self._server(x.host, t), req=req,
                           resp=resp, live=False)
        flow.id = _uuid(rng)
        return flow

    def _client(self, d: Device, host: str, t: float) -> Any:
        c = tflow.tclient_conn()
        c.id, c.peername, c.sockname = _uuid(self.rng), (d.ip, self.rng.randint(40000, 65000)), ("10.0.0.1", 8080)
        c.sni, c.tls, c.tls_version = host, True, "TLSv1.3"
        c.timestamp_start, c.timestamp_tls_setup, c.timestamp_end = t - 0.05, t - 0.02, t + 1.0
        return c

    def _server(self, host: str, t: float) -> Any:
        s = tflow.tserver_conn()
        s.id, s.address, s.sni, s.tls, s.tls_version = _uuid(self.rng), (host, 443), host, True, "TLSv1.3"
        s.peername = (f"203.0.113.{sum(map(ord, host)) % 250 + 1}", 443)
        s.timestamp_start, s.timestamp_tcp_setup, s.timestamp_tls_setup = t - 0.04, t - 0.03, t - 0.02
        s.timestamp_end = t + 1.0
        return s


def generate(path: Path, flows: int, tracker_share: float, seed: int = SEED) -> float:
    """Write *flows* flows to *path*; returns the seconds it took."""
    start = time.perf_counter()
    gen = TrafficGenerator(seed, tracker_share)
    tmp = path.with_suffix(".partial")
    with tmp.open("wb") as f:
        writer = io.FlowWriter(f)
        for _ in range(flows):
            writer.add(gen.flow())
    tmp.replace(path)
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# Workers: each phase runs in a child process (`--worker`) and prints its figures as JSON.


def worker_read(path: Path) -> dict[str, Any]:
    start, count = time.perf_counter(), 0
    with path.open("rb") as f:
        for _ in io.FlowReader(f).stream():
            count += 1
    return {"flows": count, "loop_s": time.perf_counter() - start}


def worker_stage(path: Path) -> dict[str, Any]:
    from leakmap.decode import Limits
    from leakmap.read import read_any

    start, count = time.perf_counter(), 0
    for _ in read_any(path, Limits()):
        count += 1
    return {"flows": count, "loop_s": time.perf_counter() - start}


def worker_analyze(path: Path, db: Path, mixpanel_only: bool = False) -> dict[str, Any]:
    """Analysis into the store, with all bundled rules, or with the Mixpanel rule alone (to
    show that matching cost does not grow with the number of rules)."""
    from leakmap.decode import Limits
    from leakmap.rules import bundled_rules_dir
    from leakmap.session import Session
    from leakmap.store import Store

    store = Store(db)
    if mixpanel_only:
        session = Session(store, [bundled_rules_dir() / "mixpanel.yaml"], bundled_rules=False)
    else:
        session = Session(store)
    rules = len(session.analyzer.rules)
    start = time.perf_counter()
    stats = session.replay(path, Limits())
    elapsed = time.perf_counter() - start
    store.close()
    return {"flows": stats.flows_read, "loop_s": elapsed, "rules": rules, "tracker_requests": stats.tracker_requests,
            "decoded": stats.decoded, "not_decoded": dict(stats.not_decoded), "findings": stats.findings,
            "other_requests_with_findings": stats.other_requests_with_findings}


def profile_analyze(path: Path, db: Path, top: int = 25) -> None:
    """cProfile the in-process analysis; prints the top functions, saves out/profile.pstats."""
    import cProfile
    import pstats

    from leakmap.decode import Limits
    from leakmap.session import Session
    from leakmap.store import Store

    _remove_db(db)
    store = Store(db)
    session = Session(store)
    profiler = cProfile.Profile()
    profiler.runcall(session.replay, path, Limits())
    store.close()
    profiler.dump_stats(OUT / "profile.pstats")
    stats = pstats.Stats(profiler).strip_dirs()
    print(f"\n== cProfile of the analysis phase (saved to {OUT / 'profile.pstats'}) ==")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


# --------------------------------------------------------------------------------------------
# Parent: run each phase as a child, time it, take its peak RSS.


@dataclass
class Phase:
    name: str
    wall_s: float
    peak_rss_mb: float
    detail: dict[str, Any]


def run_child(name: str, argv: list[str]) -> Phase:
    """Run *argv*, wait for it with wait4 to get that child's own peak RSS."""
    log = OUT / f"{name}.log"
    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}), see {log}:\n{text[-2000:]}")
    last = text.strip().splitlines()[-1] if text.strip() else ""
    detail = json.loads(last) if last.startswith("{") else {}
    return Phase(name, wall, usage.ru_maxrss / 1024, detail)  # ru_maxrss is in KiB on Linux


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def leakmap_command() -> list[str]:
    script = Path(sys.executable).parent / "leakmap"
    return [str(script)] if script.exists() else [sys.executable, "-m", "leakmap.cli"]


def measure(path: Path) -> list[Phase]:
    me = [sys.executable, str(Path(__file__).resolve())]
    db, cli_db, html = OUT / f"{path.stem}.analyze.db", OUT / f"{path.stem}.cli.db", OUT / f"{path.stem}.html"
    mixpanel_db = OUT / f"{path.stem}.mixpanel.db"
    for stale in (db, cli_db, mixpanel_db):
        _remove_db(stale)
    phases = [run_child("read", me + ["--worker", "read", "--file", str(path)]),
              run_child("stage", me + ["--worker", "stage", "--file", str(path)]),
              run_child("analyze", me + ["--worker", "analyze", "--file", str(path), "--db", str(db)]),
              run_child("mixpanel", me + ["--worker", "analyze_mixpanel", "--file", str(path), "--db", str(mixpanel_db)]),
              run_child("cli", leakmap_command() + ["analyze", str(path), "-o", str(html), "--db", str(cli_db), "-q"])]
    phases[-1].detail["db_bytes"] = cli_db.stat().st_size
    phases[-1].detail["report_bytes"] = html.stat().st_size
    return phases


def print_table(flows: int, size: int, phases: list[Phase]) -> None:
    read = phases[0]
    print(f"\n{flows:,} flows, {size / 1e6:.1f} MB ({size / flows / 1024:.1f} KiB/flow)")
    print(f"{'phase':<9}{'wall s':>9}{'flows/s':>10}{'loop s':>9}{'loop flows/s':>14}{'x read':>8}{'peak RSS':>11}")
    for p in phases:
        loop = p.detail.get("loop_s")
        loop_cols = f"{loop:>9.2f}{flows / loop:>14,.0f}" if loop else f"{'-':>9}{'-':>14}"
        print(f"{p.name:<9}{p.wall_s:>9.2f}{flows / p.wall_s:>10,.0f}{loop_cols}{p.wall_s / read.wall_s:>8.2f}"
              f"{p.peak_rss_mb:>8.0f} MB")
    analyze = phases[2].detail
    print(f"analysis with {analyze.get('rules')} rules (mixpanel row: {phases[3].detail.get('rules')} rule): "
          f"{analyze.get('tracker_requests')} tracker requests ({analyze.get('decoded')} decoded, "
          f"not decoded: {analyze.get('not_decoded')}), {analyze.get('findings')} findings, "
          f"{analyze.get('other_requests_with_findings')} other requests with findings")


def machine() -> dict[str, Any]:
    import mitmproxy.version

    import leakmap

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "mitmproxy": mitmproxy.version.VERSION,
            "leakmap": leakmap.__version__}


def bench_size(flows: int, share: float, keep: bool) -> dict[str, Any]:
    path = OUT / f"capture-{flows}-{round(share * 100)}.mitm"
    gen_s = None
    if not (keep and path.exists()):
        gen_s = generate(path, flows, share)
        print(f"generated {path} in {gen_s:.1f}s")
    else:
        print(f"reusing {path}")
    size = path.stat().st_size
    phases = measure(path)
    print_table(flows, size, phases)
    return {"flows": flows, "tracker_share": share, "file": str(path), "file_bytes": size, "generate_s": gen_s,
            "phases": {p.name: {"wall_s": round(p.wall_s, 3), "flows_per_s": round(flows / p.wall_s),
                                "ratio_to_read": round(p.wall_s / phases[0].wall_s, 2),
                                "peak_rss_mb": round(p.peak_rss_mb, 1), **p.detail} for p in phases}}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=50_000, help="flows in the main capture [50000]")
    parser.add_argument("--tracker-share", type=float, default=0.12, help="share of Mixpanel requests [0.12]")
    parser.add_argument("--keep", action="store_true", help="reuse generated captures if present")
    parser.add_argument("--compare-flows", type=int, default=10_000,
                        help="also measure a capture this size, to compare memory (0: skip) [10000]")
    parser.add_argument("--profile", action="store_true", help="cProfile the analysis phase of the main capture")
    parser.add_argument("--worker", choices=["read", "stage", "analyze", "analyze_mixpanel"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        result = {"read": lambda: worker_read(args.file), "stage": lambda: worker_stage(args.file),
                  "analyze": lambda: worker_analyze(args.file, args.db),
                  "analyze_mixpanel": lambda: worker_analyze(args.file, args.db, mixpanel_only=True)}[args.worker]()
        print(json.dumps(result))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [args.flows] + ([args.compare_flows] if 0 < args.compare_flows != args.flows else [])
    results = {"machine": machine(), "runs": [bench_size(n, args.tracker_share, args.keep) for n in sizes]}
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nresults: {OUT / 'results.json'}")
    if args.profile:
        profile_analyze(OUT / f"capture-{args.flows}-{round(args.tracker_share * 100)}.mitm", OUT / "profile.db")


if __name__ == "__main__":
    main()
