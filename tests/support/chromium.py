"""Debian's headless Chromium, confined to the test proxy, for the browser end-to-end tests.

Chromium resolves no host name itself (`--host-resolver-rules`), so its own background
requests fail inside it instead of leaving the machine. A PAC script sends only the hosts
a test names to the proxy, and only mitmproxy's CA is trusted, by its public key hash, as a
user would install it.

The scaffolding every browser test shares lives here too; a test keeps its page, its SDK
calls, what it waits for and what it asserts:

    require_browser(SDK_FILES.values(), "tests/js/browser")      # or skip
    site = build_site(tmp_path, {"index.html": PAGE}, SDK_FILES)  # the served directory
    proxy = serve_site(proxy_factory, site)                       # https://shop.example/ from it
    with chromium_page(proxy, (SITE, *TRACKER_HOSTS)) as run:     # records hosts, failures, errors
        run.page.goto(f"https://{SITE}/")
        rows = wait_for_findings(proxy, run, EXPECTED, stored_at, seconds=30)
    # here the browser is closed and the proxy stopped: its dump and database are complete
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import http, io

CHROMIUM = Path("/usr/bin/chromium")
CONFINED = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
# A user's browser, not an automated one: no navigator.webdriver (PostHog drops events when it
# is true); see also desktop_user_agent.
LIKE_A_USER = ["--disable-blink-features=AutomationControlled"]

SITE = "shop.example"  # the test website, served by the proxy itself
SERVE_PAGES = Path(__file__).resolve().parent / "serve_pages.py"

T = TypeVar("T")


class RunningProxy(Protocol):
    """What these helpers use of tests/conftest.py's Proxy."""

    @property
    def url(self) -> str: ...
    @property
    def ca_cert(self) -> Path: ...
    db: Path
    dump: Path
    report: Path

    def stop(self) -> str: ...


def confined_args(proxy: RunningProxy, hosts: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Chromium arguments: only *hosts* go to *proxy*; the proxy's CA (and nothing else) is trusted."""
    address = proxy.url.removeprefix("http://")
    condition = " || ".join(f'host == "{h}"' for h in hosts)
    pac = f'function FindProxyForURL(url, host) {{ return ({condition}) ? "PROXY {address}" : "DIRECT"; }}'
    ca = x509.load_pem_x509_certificate(proxy.ca_cert.read_bytes())
    spki = ca.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [*CONFINED, *extra,
            "--proxy-pac-url=data:application/x-ns-proxy-autoconfig;base64," + base64.b64encode(pac.encode()).decode(),
            "--ignore-certificate-errors-spki-list=" + base64.b64encode(hashlib.sha256(spki).digest()).decode()]


def require_browser(needed: Iterable[Path] = (), npm_folder: str = "") -> None:
    """Skip the test unless Debian's Chromium, the *needed* files (SDK bundles that `npm ci` in
    *npm_folder* installs) and Playwright for Python are all there."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        pytest.skip(f"{missing} missing: run `npm ci` in {npm_folder}")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed")


def build_site(tmp_path: Path, texts: Mapping[str, str], copies: Mapping[str, Path] | None = None) -> Path:
    """The directory the proxy serves, *tmp_path*/site: each of *texts* written and each of
    *copies* (SDK bundles from node_modules) copied under its name."""
    site = tmp_path / "site"
    site.mkdir()
    for name, text in texts.items():
        (site / name).write_text(text)
    for name, source in (copies or {}).items():
        shutil.copyfile(source, site / name)
    return site


def serve_site(proxy_factory: Callable[..., RunningProxy], site: Path, *options: str) -> RunningProxy:
    """A proxy in block mode that also serves *site* as http(s)://shop.example/
    (tests/support/serve_pages.py); *options* are further mitmproxy `--set` options."""
    return proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", *options, scripts=(SERVE_PAGES,))


def shop_page(*scripts: str) -> str:
    """The test website's page, "Example Shop": *scripts* (served paths) in its head, the site's
    own /shop.js at the end of its body."""
    tags = "".join(f'<script src="{script}"></script>' for script in scripts)
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Example Shop</title>\n'
            f'{tags}\n</head><body><h1>Example Shop</h1>\n<script src="/shop.js"></script>\n</body></html>\n')


def shop_script(honey: Mapping[str, Any], body: str) -> str:
    """The site's own script, /shop.js: the honey values as `H`, `run(name, fn)`, which records
    what *fn* throws in `window.pageErrors` (which the tests read), then *body*. In a file, as
    sites have it: Bugsnag attaches the content of an inline script that threw to its reports."""
    return (f"\n  var H = {json.dumps(honey)};\n  window.pageErrors = [];\n"
            '  function run(name, fn) { try { fn(); } catch (e) { window.pageErrors.push(name + ": " + e); } }\n'
            + body)


def desktop_user_agent(browser: Any) -> str:
    """Chromium's own user agent without "Headless": PostHog and Countly drop events from user
    agents that look like bots, which headless Chromium's does."""
    major = browser.version.split(".")[0]
    return (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0"
            " Safari/537.36")


@dataclass
class BrowserRun:
    """A page in confined Chromium and what it did, recorded as it happens."""

    browser: Any  # playwright.sync_api.Browser
    page: Any  # playwright.sync_api.Page
    hosts: set[str] = field(default_factory=set)  # every host the page asked for
    failed: list[str] = field(default_factory=list)  # "METHOD url: reason" of each failed request
    errors: list[str] = field(default_factory=list)  # exceptions the page's scripts did not catch
    responses: list[tuple[str, int, str | None]] = field(default_factory=list)  # (url, status, x-leakmap)
    proxy_log: str = ""  # mitmdump's log, once the run is over

    def responses_from(self, hosts: Iterable[str]) -> list[tuple[str, int, str | None]]:
        """The responses whose URL names one of *hosts*."""
        hosts = tuple(hosts)
        return [r for r in self.responses if any(h in r[0] for h in hosts)]


@contextmanager
def chromium_page(proxy: RunningProxy, hosts: Iterable[str], *, like_a_user: bool = False,
                  **page_options: Any) -> Iterator[BrowserRun]:
    """Launch confined Chromium that sends only *hosts* to *proxy* and open one recorded page
    (*page_options* go to `Browser.new_page`). *like_a_user*: no navigator.webdriver and no
    "Headless" in the user agent. On exit the browser is closed and the proxy stopped, so its
    dump and database are complete."""
    from playwright.sync_api import sync_playwright

    args = confined_args(proxy, hosts, LIKE_A_USER if like_a_user else ())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            if like_a_user:
                page_options.setdefault("user_agent", desktop_user_agent(browser))
            run = BrowserRun(browser, browser.new_page(**page_options))
            run.page.on("request", lambda r: run.hosts.add(r.url.split("/")[2]))
            run.page.on("requestfailed", lambda r: run.failed.append(f"{r.method} {r.url[:120]}: {r.failure}"))
            run.page.on("pageerror", lambda e: run.errors.append(str(e)))
            run.page.on("response", lambda r: run.responses.append((r.url, r.status, r.headers.get("x-leakmap"))))
            yield run
        finally:
            browser.close()
    run.proxy_log = proxy.stop()


def wait_until(ready: Callable[[], T], what: str | Callable[[], str], seconds: float, interval: float = 0.25) -> T:
    """Call *ready* until it returns something true and return that; after *seconds* fail with
    "timed out <what>" (*what* may be a function, called only then)."""
    deadline = time.monotonic() + seconds
    while not (result := ready()):
        assert time.monotonic() < deadline, f"timed out {what() if callable(what) else what}"
        time.sleep(interval)
    return result


def wait_for_findings(proxy: RunningProxy, run: BrowserRun, expected: Sequence[tuple],
                      present: Callable[..., Any], seconds: float, what: str = "for the expected findings") -> list[dict]:
    """Wait until `present(rows, *e)` holds for every *e* of *expected* in the proxy's stored
    findings, and return them. A time-out names what is missing, the page's errors (its
    `window.pageErrors` and uncaught exceptions) and what is stored."""
    rows: list[dict] = []

    def complete() -> bool:
        rows[:] = findings(proxy.db)
        return all(present(rows, *e) for e in expected)

    def diagnosis() -> str:
        page_errors = run.page.evaluate("() => window.pageErrors || []")
        stored = sorted({(r["tracker"], r["endpoint"], r["data_type"], r["path"], r["value"][:60]) for r in rows})
        return (f"{what}: missing {[e for e in expected if not present(rows, *e)]}; "
                f"page errors {page_errors} {run.errors}; stored {stored}")

    wait_until(complete, diagnosis, seconds)
    return rows


def findings(db: Path) -> list[dict]:
    """Every stored finding with its request's tracker, endpoint, host and attribution."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT f.data_type, f.value, f.path, f.detector, r.tracker, r.endpoint, r.host, r.app, r.app_signal"
            " FROM findings f JOIN requests r ON r.id = f.request_id").fetchall()
    return [dict(row) for row in rows]


def query(db: Path, sql: str) -> list[tuple]:
    """The rows of *sql* on the proxy's database (none before it exists)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def with_value(rows: list[dict], tracker: str, data_type: str, value: str) -> list[dict]:
    """The findings of *tracker* typed *data_type* whose value is *value*."""
    return [r for r in rows if (r["tracker"], r["data_type"], r["value"]) == (tracker, data_type, value)]


def stored_at(rows: list[dict], tracker: str, endpoint: str, data_type: str, value: str, path: str) -> bool:
    """Whether the value is stored for this tracker endpoint, typed so, at a path matching the
    regex *path* (batch indexes vary with how the SDK happened to batch)."""
    return any(r["endpoint"] == endpoint and re.fullmatch(path, r["path"])
               for r in with_value(rows, tracker, data_type, value))


def trackers_with(rows: list[dict], value: str) -> set[str]:
    """The trackers with a finding whose value contains *value*: a honey value planted for one
    SDK must show up with that SDK's tracker only."""
    return {r["tracker"] for r in rows if value in r["value"]}


def proxy_flows(proxy: RunningProxy) -> list[http.HTTPFlow]:
    """Every flow the proxy saw, from its dump (complete once the proxy stopped)."""
    with proxy.dump.open("rb") as f:
        return list(io.FlowReader(f).stream())


def not_answered(flows: Iterable[http.HTTPFlow]) -> list[tuple[str, str, int | None]]:
    """(method, URL, status) of each flow the proxy did not answer itself (block mode marks its
    answers `x-leakmap: answered-by-proxy`) with a 2xx status."""
    return [(flow.request.method, flow.request.pretty_url[:120], flow.response and flow.response.status_code)
            for flow in flows if flow.response is None or not 200 <= flow.response.status_code < 300
            or flow.response.headers.get("x-leakmap") != "answered-by-proxy"]


def calls_per_endpoint(flows: Iterable[http.HTTPFlow]) -> Counter[tuple[str, str, str]]:
    """How often each (method, host, path without query) was called: an SDK unhappy with an
    answer retries, or resends its queue every flush interval."""
    return Counter((flow.request.method, flow.request.pretty_host, flow.request.path.split("?")[0])
                   for flow in flows)


def assert_in_report(proxy: RunningProxy, values: Iterable[str]) -> None:
    """Each value appears, HTML-escaped, in the proxy's HTML report."""
    report = proxy.report.read_text()
    for value in values:
        assert html.escape(value) in report, f"{value!r} not in the HTML report"
