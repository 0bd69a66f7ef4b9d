"""Real session-replay SDKs in a real browser: Chromium loads a shop page that runs
Microsoft Clarity's own client (npm clarity-js, tests/js/replay) through a real
`mitmdump -s addons/leakmap.py` in block mode.

Nothing leaves the machine: the proxy serves the page over HTTPS (tests/support/serve_pages.py)
and answers the tracker requests itself with the replies the rules declare.

Clarity is started the way its tag starts it. A site's install snippet loads
www.clarity.ms/tag/<project id>; Microsoft's answer to that request is a small script that
queues `clarity("start", {projectId, upload: "https://<letter>.clarity.ms/collect", cookies,
track, content, report, ...})` ahead of the site's own calls, fires the c.clarity.ms/c.gif
cookie sync and loads scripts.clarity.ms/<version>/clarity.js, which is clarity-js's
`build/clarity.min.js` (rollup.config.ts: the IIFE of src/global.ts). Here the page requests
the tag as sites do (the proxy answers it, empty), and the site-served `clarity-tag.js`
does what the tag's answer does, with clarity.min.js from npm in place of the CDN copy.

Not here, because their npm packages hold no client that runs offline: Hotjar
(@hotjar/browser only injects static.hotjar.com/c/hotjar-<site id>.js) and MoEngage
(@moengage/web-sdk only injects cdn.moengage.com/release/<dc>/moe_webSdk.min.latest.js).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from mitmproxy import io
from support.chromium import CHROMIUM, confined_args, findings

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("clarity", "clarity-js (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
CLARITY_JS = ROOT / "tests" / "js" / "replay" / "node_modules" / "clarity-js" / "build" / "clarity.min.js"
SERVE_PAGES = ROOT / "tests" / "support" / "serve_pages.py"

SITE = "shop.example"
UPLOAD_HOST = "k.clarity.ms"  # server-assigned <letter>.clarity.ms, named by the tag's `upload`
TRACKER_HOSTS = ("www.clarity.ms", "c.clarity.ms", UPLOAD_HOST, "report.clarity.ms")

# Keys and honey values: each unique, so every finding below has one source.
PROJECT = "hny7clar1q"  # Clarity project ids: 10 lowercase letters and digits
HONEY = {
    "user": "honey-clarity-user-7f3a",       # identify(): hashed by clarity-js before upload
    "session": "honey-clarity-session-2b9c",  # identify()'s custom session id
    "page": "honey-clarity-page-4d1e",        # identify()'s custom page id
    "name": "Honey Clarity Shopper",          # identify()'s friendly name
    "tag": "honey-clarity-tag-8e5f",          # set("plan", ...)
    "event": "honey_clarity_checkout",        # event(...)
    "uetvid": "0123456789abcdef0123456789abcdef",  # the site's Microsoft Ads cookie, forwarded
}
TYPED = "Jane Honeytyped 4111"  # typed into the page's input: masked by Clarity's defaults
WAIT_SECONDS = 30

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Shop</title>
<script src="/shop.js"></script>
<script src="/clarity-tag.js"></script>
</head><body><h1>Example Shop</h1>
<form onsubmit="return false"><label>Card holder <input id="holder" name="holder" type="text"></label>
<button id="pay" type="button">Pay now</button></form>
</body></html>
"""

# The site: a Microsoft Ads (UET) cookie from an earlier visit, Clarity's install snippet
# (a call queue and the tag request) and the site's own Clarity API calls.
SHOP_JS = """
  document.cookie = "_uetvid=%(uetvid)s; path=/";
  window.clarity = window.clarity || function () { (window.clarity.q = window.clarity.q || []).push(arguments); };
  (function () {
    var tag = document.createElement("script");
    tag.async = true;
    tag.src = "https://www.clarity.ms/tag/%(project)s";
    document.head.appendChild(tag);
  })();
  clarity("identify", %(user)s, %(session)s, %(page)s, %(name)s);
  clarity("set", "plan", %(tag)s);
  clarity("event", %(event)s);
""" % {"uetvid": HONEY["uetvid"], "project": PROJECT,
       **{k: json.dumps(HONEY[k]) for k in ("user", "session", "page", "name", "tag", "event")}}

# What Microsoft's answer to the tag request does (a public copy of one is cited in
# tracker_rules/clarity.yaml): the start call with the project's configuration goes to the
# front of the queue, the cookie-sync image, then the client script.
CLARITY_TAG_JS = """
  (function () {
    var config = {projectId: %(project)s, upload: "https://%(upload)s/collect", expire: 365,
                  cookies: ["_uetmsclkid", "_uetvid"], track: true, content: true,
                  report: "https://report.clarity.ms/eus2-tag", keep: ["msclkid"]};
    new Image().src = "https://c.clarity.ms/c.gif";
    clarity("start", config);
    clarity.q.unshift(clarity.q.pop());
    var script = document.createElement("script");
    script.async = true;
    script.src = "/clarity.js";
    document.head.appendChild(script);
  })();
""" % {"project": json.dumps(PROJECT), "upload": UPLOAD_HOST}

LEAVE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thanks</title></head>
<body><h1>Thanks</h1></body></html>"""


def find(rows: list[dict], data_type: str, value: str, path: str, detector: str = "rule") -> bool:
    """Whether Clarity's collect endpoint has this finding at a path matching the regex."""
    return any((r["tracker"], r["endpoint"], r["data_type"], r["value"], r["detector"]) ==
               ("clarity", "collect", data_type, value, detector) and re.fullmatch(path, r["path"]) for r in rows)


def collect_bodies(flows) -> list[tuple[bool, str, bytes]]:
    """(gzipped?, Accept header, JSON text) of every collect upload the proxy saw."""
    out = []
    for flow in flows:
        if flow.request.pretty_host == UPLOAD_HOST and flow.request.path.startswith("/collect"):
            raw = flow.request.raw_content or b""
            zipped = raw[:2] == b"\x1f\x8b"
            out.append((zipped, flow.request.headers.get("accept", ""), gzip.decompress(raw) if zipped else raw))
    return out


def stored(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def chains(db: Path) -> list[str]:
    """How each stored collect request was decoded: the first step of its decode chain."""
    return [json.loads(chain)[0] for chain, in stored(db, "SELECT decode_chain FROM requests WHERE endpoint = 'collect'")]


def wait_for(proxy, ready, what: str) -> list[dict]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        rows = findings(proxy.db)
        if ready(rows):
            return rows
        assert time.monotonic() < deadline, (f"timed out {what}; clarity rows: "
                                             f"{[(r['endpoint'], r['data_type'], r['path']) for r in rows][:40]}")
        time.sleep(0.25)


def test_clarity_js_leaks_to_report(proxy_factory, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    if not CLARITY_JS.is_file():
        pytest.skip(f"{CLARITY_JS} missing: run `npm ci` in tests/js/replay")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed")

    site = tmp_path / "site"
    site.mkdir()
    for name, text in (("index.html", PAGE), ("shop.js", SHOP_JS), ("clarity-tag.js", CLARITY_TAG_JS),
                       ("thanks.html", LEAVE_PAGE)):
        (site / name).write_text(text)
    shutil.copyfile(CLARITY_JS, site / "clarity.js")
    # The typed text is also a honey value: found in any encoding, it would be reported.
    proxy = proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", f"leakmap_honey=user_id={HONEY['user']}",
                          f"leakmap_honey=message_content={TYPED}", scripts=(SERVE_PAGES,))

    hosts_requested: set[str] = set()
    failed: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=confined_args(proxy, (SITE, *TRACKER_HOSTS)))
        try:
            page = browser.new_page()
            page.on("request", lambda r: hosts_requested.add(r.url.split("/")[2]))
            page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url[:120]}: {r.failure}"))
            page.goto(f"https://{SITE}/", wait_until="load")
            assert page.title() == "Example Shop"
            wait_for(proxy, lambda rows: find(rows, "session_id", HONEY["session"], r".*"), "for Clarity's first upload")
            page.type("#holder", TYPED, delay=20)
            page.click("#pay")
            wait_for(proxy, lambda rows: find(rows, "interaction", "Pay now", r".*"), "for the typing and the click")
            failed_on_page = list(failed)
            # Leave the page: Clarity sends its last batch as a plain-JSON beacon.
            page.goto(f"https://{SITE}/thanks.html", wait_until="load")
            wait_for(proxy, lambda rows: "body: json" in chains(proxy.db),
                     "for the last batch (beacon)")
        finally:
            browser.close()
    proxy.stop()

    # ---- Delivery: only the site and Clarity's hosts were asked for, every tracker request
    # got the rule's answer from the proxy, and both upload forms occurred.
    assert hosts_requested <= {SITE, *TRACKER_HOSTS}, hosts_requested
    assert not failed_on_page, failed_on_page
    with proxy.dump.open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    tracker_flows = [flow for flow in flows if flow.request.pretty_host != SITE]
    bad = [(flow.request.pretty_url[:100], flow.response and flow.response.status_code) for flow in tracker_flows
           if flow.response is None or flow.response.headers.get("x-leakmap") != "answered-by-proxy"]
    assert not bad, bad
    assert {flow.request.path for flow in tracker_flows if flow.request.pretty_host == "www.clarity.ms"} == \
        {f"/tag/{PROJECT}"}
    assert any(flow.request.pretty_host == "c.clarity.ms" for flow in tracker_flows)
    # Batches gzipped by CompressionStream (no Content-Encoding, an Accept header says so),
    # then the last one as plain JSON through sendBeacon: envelope upload type 1, end flag 1.
    uploads = collect_bodies(tracker_flows)
    zipped = [json.loads(body)["e"] for gz, accept, body in uploads if gz and accept == "application/x-clarity-gzip"]
    plain = [json.loads(body)["e"] for gz, _, body in uploads if not gz]
    assert zipped and [e[1] for e in zipped] == list(range(1, len(zipped) + 1)), zipped
    assert [(e[1], e[8], e[9]) for e in plain] == [(len(zipped) + 1, 1, 1)], plain
    # What was actually sent: the typed text never, only its masked form.
    sent = b"\n".join(body for _, _, body in uploads).decode()
    assert TYPED not in sent and "Honeytyped" not in sent

    # ---- What leakmap stored.
    rows = findings(proxy.db)
    n = r"\[\d+\]"
    hashed_user = hashlib.sha256(HONEY["user"].encode()).hexdigest()
    expected = [
        ("project_key", PROJECT, r"body\.e\[4\]"),
        ("page_url", f"https://{SITE}/", r"body\.e\[11\]"),
        ("user_id", hashed_user, rf"body\.a\.variable{n}\.userId\[0\]"),
        ("name", HONEY["name"], rf"body\.a\.variable{n}\.userHint\[0\]"),
        ("session_id", HONEY["session"], rf"body\.a\.variable{n}\.sessionId\[0\]"),
        ("other_id", HONEY["page"], rf"body\.a\.variable{n}\.pageId\[0\]"),
        ("custom_property", HONEY["tag"], rf"body\.a\.variable{n}\.plan\[0\]"),
        ("browser_id", HONEY["uetvid"], rf"body\.a\.variable{n}\._uetvid\[0\]"),
        ("event_name", HONEY["event"], rf"body\.a\.custom{n}\[2\]"),
        ("screen_name", "Example Shop", rf"body\.a\.dimension{n}\.3\[0\]"),
        ("language", "en", rf"body\.a\.dimension{n}\.16\[0\]"),
    ]
    missing = [e for e in expected if not find(rows, *e)]
    assert not missing, (missing, sorted({(r["endpoint"], r["data_type"], r["path"], r["value"][:50]) for r in rows
                                          if r["tracker"] == "clarity"}))
    # The honey user id, as clarity-js sends it (SHA-256), is also found by the honey detector.
    assert find(rows, "user_id", HONEY["user"], rf"body\.a\.variable{n}\.userId\[0\]", "indicator")
    # The click, with the clicked text; the typed text only as Clarity's mask (bullets), in
    # the input and change events, and nowhere in any encoding leakmap knows.
    assert find(rows, "interaction", "Pay now", rf"body\.a\.click{n}\[10\]")
    masked = {value for path, value in stored(proxy.db, "SELECT f.path, f.value FROM fields f JOIN requests r"
                                                        " ON r.id = f.request_id WHERE r.endpoint = 'collect'")
              if re.fullmatch(rf"body\.a\.(?:input{n}\[3\]|change{n}\[4\])", path)}
    assert len(masked) == 1 and set(masked.pop()) == {"•", " "}, masked
    assert not stored(proxy.db, "SELECT path FROM fields WHERE value LIKE '%Honeytyped%'")
    assert not [r for r in rows if TYPED in r["value"] or r["data_type"] == "message_content"]
    assert set(chains(proxy.db)) == {"body: gzip → json", "body: json"}, chains(proxy.db)
    # Every Clarity request is attributed to the website, from the browser's Origin/Referer.
    clarity_rows = [r for r in rows if r["tracker"] == "clarity"]
    assert {(r["app"], r["app_signal"]) for r in clarity_rows} == {(SITE, "first_party_site")}
    report = proxy.report.read_text()
    for value in (HONEY["name"], HONEY["session"], HONEY["tag"], PROJECT):
        assert html.escape(value) in report, f"{value!r} not in the HTML report"
