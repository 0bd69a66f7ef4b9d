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
import json
import re
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, chromium_page, findings, not_answered, proxy_flows,
                              query, require_browser, serve_site, wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("clarity", "clarity-js (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
CLARITY_JS = ROOT / "tests" / "js" / "replay" / "node_modules" / "clarity-js" / "build" / "clarity.min.js"

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


def chains(db: Path) -> list[str]:
    """How each stored collect request was decoded: the first step of its decode chain."""
    return [json.loads(chain)[0] for chain, in query(db, "SELECT decode_chain FROM requests WHERE endpoint = 'collect'")]


def wait_for(proxy, ready, what: str) -> None:
    """Wait until *ready(rows)* holds for the stored findings."""
    def clarity_rows() -> str:
        return f"{what}; clarity rows: {[(r['endpoint'], r['data_type'], r['path']) for r in findings(proxy.db)][:40]}"

    wait_until(lambda: ready(findings(proxy.db)), clarity_rows, WAIT_SECONDS)


def test_clarity_js_leaks_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser([CLARITY_JS], "tests/js/replay")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS, "clarity-tag.js": CLARITY_TAG_JS,
                                 "thanks.html": LEAVE_PAGE}, {"clarity.js": CLARITY_JS})
    # The typed text is also a honey value: found in any encoding, it would be reported.
    proxy = serve_site(proxy_factory, site, f"leakmap_honey=user_id={HONEY['user']}",
                       f"leakmap_honey=message_content={TYPED}")

    with chromium_page(proxy, (SITE, *TRACKER_HOSTS)) as run:
        page = run.page
        page.goto(f"https://{SITE}/", wait_until="load")
        assert page.title() == "Example Shop"
        wait_for(proxy, lambda rows: find(rows, "session_id", HONEY["session"], r".*"), "for Clarity's first upload")
        page.type("#holder", TYPED, delay=20)
        page.click("#pay")
        wait_for(proxy, lambda rows: find(rows, "interaction", "Pay now", r".*"), "for the typing and the click")
        failed_on_page = list(run.failed)
        # Leave the page: Clarity sends its last batch as a plain-JSON beacon.
        page.goto(f"https://{SITE}/thanks.html", wait_until="load")
        wait_for(proxy, lambda rows: "body: json" in chains(proxy.db), "for the last batch (beacon)")

    # ---- Delivery: only the site and Clarity's hosts were asked for, every tracker request
    # got the rule's 2xx answer from the proxy, and both upload forms occurred.
    assert run.hosts <= {SITE, *TRACKER_HOSTS}, run.hosts
    assert not failed_on_page, failed_on_page
    tracker_flows = [flow for flow in proxy_flows(proxy) if flow.request.pretty_host != SITE]
    bad = not_answered(tracker_flows)
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
    masked = {value for path, value in query(proxy.db, "SELECT f.path, f.value FROM fields f JOIN requests r"
                                                        " ON r.id = f.request_id WHERE r.endpoint = 'collect'")
              if re.fullmatch(rf"body\.a\.(?:input{n}\[3\]|change{n}\[4\])", path)}
    assert len(masked) == 1 and set(masked.pop()) == {"•", " "}, masked
    assert not query(proxy.db, "SELECT path FROM fields WHERE value LIKE '%Honeytyped%'")
    assert not [r for r in rows if TYPED in r["value"] or r["data_type"] == "message_content"]
    assert set(chains(proxy.db)) == {"body: gzip → json", "body: json"}, chains(proxy.db)
    # Every Clarity request is attributed to the website, from the browser's Origin/Referer.
    clarity_rows = [r for r in rows if r["tracker"] == "clarity"]
    assert {(r["app"], r["app_signal"]) for r in clarity_rows} == {(SITE, "first_party_site")}
    assert_in_report(proxy, (HONEY["name"], HONEY["session"], HONEY["tag"], PROJECT))
