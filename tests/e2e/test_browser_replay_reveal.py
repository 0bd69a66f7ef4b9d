"""Session replays revealed, proven with real recorders: Chromium loads a login page on which
four real session-replay SDKs record at once, through a real `mitmdump -s addons/leakmap.py`
in block mode, and `leakmap replay` rebuilds each recording from the proxy's dump.

- rrweb (npm rrweb, the recorder PostHog, Mixpanel, Sentry and others build on), uploading
  to the site's own collector (a first-party host no rule knows: recognised by content), with
  rrweb's documented `maskInputOptions: {password: false}`: the password goes out as typed;
- posthog-js (npm) with session recording on (remote config `sessionRecording`, as
  /array/<token>/config.js sets it) and `session_recording.maskAllInputs: false`;
- mixpanel-browser's recorder build (npm) with `record_sessions_percent: 100`,
  `record_mask_all_inputs: false`, `record_mask_all_text: false`;
- @sentry/browser's replayIntegration (npm, bundled by esbuild) with `maskAllText: false`,
  `maskAllInputs: false`, every session sampled.

Each recorder's documented options leave the email, typed into a text field, unmasked; each
masks the password field by its own default except rrweb, configured not to. The page shows
a health term. What must come out: the email with `masked: false`, the password `masked:
true` (rrweb: a `password` finding, never printed in full), the health term in `text`; the
report's Session replays section shows it all and, opened in Chromium, loads and runs nothing.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.chromium import (CHROMIUM, SITE, build_site, chromium_page, query, require_browser, serve_site,
                              wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("posthog", "posthog-js session recording (npm) in Chromium"),
              pytest.mark.real_client("mixpanel", "mixpanel-browser recorder (npm) in Chromium"),
              pytest.mark.real_client("sentry", "@sentry/browser replayIntegration (npm, bundled by esbuild) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
JS = ROOT / "tests" / "js"
RRWEB = JS / "replay" / "node_modules" / "rrweb" / "dist" / "rrweb.umd.min.cjs"
POSTHOG = JS / "browser" / "node_modules" / "posthog-js" / "dist" / "array.full.js"
MIXPANEL = JS / "node_modules" / "mixpanel-browser" / "dist" / "mixpanel-with-recorder.js"
ESM = JS / "esm"
ESBUILD = ESM / "node_modules" / ".bin" / "esbuild"
LEAKMAP = Path(sys.executable).parent / "leakmap"

EMAIL = "jane.replay@example.org"
PASSWORD = "Hunter2-Replay-Secret!"
HEALTH = "Type 2 diabetes"
POSTHOG_TOKEN = "phc_replayTestToken0123456789abcdefABCDEF"
MIXPANEL_TOKEN = "0123456789abcdef0123456789abcd01"
SENTRY_KEY, SENTRY_ORG, SENTRY_PROJECT = "fedcba9876543210fedcba9876543210", "4504123456789099", "4504123456789098"
SENTRY_HOST = f"o{SENTRY_ORG}.ingest.us.sentry.io"
TRACKER_HOSTS = ("us.i.posthog.com", "us-assets.i.posthog.com", "api-js.mixpanel.com", SENTRY_HOST)
WAIT_SECONDS = 60

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clinic portal</title>
<script src="/rrweb.js"></script><script src="/rrweb-keep.js"></script><script src="/posthog.js"></script><script src="/mixpanel-snippet.js"></script>
<script src="/mixpanel.js"></script>
<script src="/sentry.js"></script>
</head><body>
<h1>Clinic portal</h1>
<p id="condition">Your care plan: %(health)s</p>
<form id="login" action="/nowhere" onsubmit="return false">
<label for="user">Email or username</label> <input id="user" name="user" type="text" autocomplete="off">
<label for="pw">Password</label> <input id="pw" name="pw" type="password">
<button id="signin" type="button">Sign in</button>
</form>
<p id="after"></p>
<script src="/site.js"></script>
</body></html>
""" % {"health": HEALTH}

SITE_JS = """
  window.pageErrors = [];
  function run(name, fn) { try { fn(); } catch (e) { window.pageErrors.push(name + ": " + e); } }
  run("rrweb", function () {
    var events = [];
    var sessionId = "rrweb-" + Date.now();
    window.siteRrweb.record({emit: function (e) { events.push(e); }, maskInputOptions: {password: false}});
    setInterval(function () {
      if (!events.length) return;
      var batch = events; events = [];
      window.rrwebBatches = (window.rrwebBatches || 0) + 1;
      fetch("/rrweb-collect", {method: "POST", headers: {"content-type": "application/json"},
                               body: JSON.stringify({sessionId: sessionId, events: batch})})
        .catch(function (e) { window.pageErrors.push("rrweb upload: " + e); });
    }, 1000);
  });
  run("posthog", function () {
    window._POSTHOG_REMOTE_CONFIG = {};
    window._POSTHOG_REMOTE_CONFIG[%(ph)s] = {config: {sessionRecording: {endpoint: "/s/"}}, siteApps: []};
    posthog.init(%(ph)s, {api_host: "https://us.i.posthog.com", session_recording: {maskAllInputs: false},
                          disable_surveys: true, advanced_disable_flags: true});
  });
  run("mixpanel", function () {
    mixpanel.init(%(mp)s, {record_sessions_percent: 100, record_mask_all_inputs: false,
                           record_mask_all_text: false, batch_flush_interval_ms: 1000});
  });
  run("sentry", function () {
    Sentry.init({dsn: %(dsn)s, replaysSessionSampleRate: 1.0, replaysOnErrorSampleRate: 1.0,
                 integrations: [Sentry.replayIntegration({maskAllText: false, maskAllInputs: false,
                                                          blockAllMedia: false, flushMinDelay: 500,
                                                          flushMaxDelay: 1000})]});
  });
  document.getElementById("signin").addEventListener("click", function () {
    document.getElementById("after").textContent = "Signed in: see your %(health)s results";
  });
""" % {"ph": json.dumps(POSTHOG_TOKEN), "mp": json.dumps(MIXPANEL_TOKEN), "health": HEALTH,
       "dsn": json.dumps(f"https://{SENTRY_KEY}@{SENTRY_HOST}/{SENTRY_PROJECT}")}

# What Mixpanel's install snippet defines before the library loads: a queue the library's
# init_from_snippet (mixpanel-with-recorder.js) replays. Loaded before the library, as the
# snippet is; site.js's mixpanel.init() is queued here.
MIXPANEL_SNIPPET = """
  window.mixpanel = []; mixpanel._i = []; mixpanel.__SV = 1.2;
  mixpanel.init = function (token, config, name) { mixpanel._i.push([token, config, name || "mixpanel"]); };
"""

RECEIVERS = {"rrweb": "shop.example", "posthog": "PostHog Inc.", "mixpanel": "Mixpanel, Inc.",
             "sentry": "Functional Software, Inc. (Sentry)"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The login page, rrweb's and the SDKs' browser builds, and Sentry bundled by esbuild."""
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    require_browser([RRWEB, POSTHOG, MIXPANEL, ESBUILD], "tests/js/replay, tests/js/browser, tests/js and tests/js/esm")
    site = build_site(tmp_path, {"index.html": PAGE, "site.js": SITE_JS, "mixpanel-snippet.js": MIXPANEL_SNIPPET,
                             # posthog-js's full bundle replaces window.rrweb by its own copy
                             "rrweb-keep.js": "window.siteRrweb = window.rrweb;"},
                      {"rrweb.js": RRWEB, "posthog.js": POSTHOG, "mixpanel.js": MIXPANEL})
    bundles = tmp_path / "bundles"
    subprocess.run(["node", str(ESM / "build.mjs"), str(bundles)], check=True, timeout=120, cwd=ESM)
    shutil.copyfile(bundles / "sentry.js", site / "sentry.js")
    return site


def stored_replays(db: Path) -> dict[str, dict]:
    """Receiver → the stored summary of its recording with the most inputs."""
    out: dict[str, dict] = {}
    for (text,) in query(db, "SELECT summary FROM replays"):
        summary = json.loads(text)
        if len(summary["inputs"]) >= len(out.get(summary["receiver"], {}).get("inputs", [])):
            out[summary["receiver"]] = summary
    return out


def typed(summary: dict, value: str) -> list[dict]:
    return [i for i in summary.get("inputs", []) if i["value"] == value]


def masked_password(summary: dict) -> bool:
    return any(i["password"] and i["masked"] and len(i["value"]) == len(PASSWORD) for i in summary.get("inputs", []))


def test_real_recorders_revealed(site: Path, proxy_factory, tmp_path: Path) -> None:
    proxy = serve_site(proxy_factory, site)
    with chromium_page(proxy, (SITE, *TRACKER_HOSTS), like_a_user=True) as run:
        page = run.page
        page.goto(f"https://{SITE}/", wait_until="load")
        page.wait_for_timeout(1500)
        page.type("#user", EMAIL, delay=15)
        page.type("#pw", PASSWORD, delay=15)
        page.click("#signin")

        def complete() -> bool:
            found = stored_replays(proxy.db)
            return all(r in found and typed(found[r], EMAIL) and masked_password(found[r])
                       for r in RECEIVERS.values() if r != "shop.example") and \
                "shop.example" in found and typed(found["shop.example"], PASSWORD)

        wait_until(complete, lambda: f"recordings so far: {json.dumps({k: v['inputs'] for k, v in stored_replays(proxy.db).items()})[:3000]}; "
                   f"page errors {page.evaluate('[window.pageErrors, window.rrwebBatches]')}; {run.errors}; "
                   f"{run.failed}", WAIT_SECONDS)
        assert page.evaluate("window.pageErrors") == []

    # The proxy's dump, through `leakmap replay`: one object per recording.
    result = subprocess.run([str(LEAKMAP), "replay", str(proxy.dump), "--format", "json",
                             "--html", str(tmp_path / "pages")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    recordings = json.loads(result.stdout)
    by_receiver: dict[str, list[dict]] = {}
    for r in recordings:
        by_receiver.setdefault(r["receiver"], []).append(r)
    assert set(RECEIVERS.values()) <= set(by_receiver), by_receiver.keys()
    for name, receiver in RECEIVERS.items():
        recs = by_receiver[receiver]
        inputs = [i for r in recs for i in r["inputs"]]
        assert any(i["value"] == EMAIL and i["masked"] is False and i["selector"] == "input#user" for i in inputs), \
            (name, inputs)
        assert any(HEALTH in t for r in recs for t in r["text"]), (name, [r["text"] for r in recs])
        assert any(r["pages"] and r["pages"][0]["url"].startswith(f"https://{SITE}/") for r in recs), name
        assert any(f["data_type"] == "email" and f["value"] == EMAIL and f["masked"] is False
                   for r in recs for f in r["findings"]), (name, [r["findings"] for r in recs])
        pw = [i for i in inputs if i["selector"] == "input#pw"]
        if name == "rrweb":  # configured not to mask: a password finding, shown masked by leakmap
            assert any(i["masked"] is False for i in pw), pw
            assert any(f["data_type"] == "password" and f["masked"] is False for r in recs for f in r["findings"])
        else:
            assert pw and all(i["masked"] is True and set(i["value"]) == {"*"} for i in pw), (name, pw)
        assert any(c["text"] == "Sign in" for r in recs for c in r["clicks"]) or name == "mixpanel", name
    assert PASSWORD not in result.stdout
    pages = sorted((tmp_path / "pages").glob("*.html"))
    assert len(pages) == len(recordings)
    assert all(PASSWORD not in p.read_text() for p in pages)

    # analyze: the same findings in the report and the exports, the password nowhere in full.
    report, found_csv, har = tmp_path / "report.html", tmp_path / "findings.csv", tmp_path / "evidence.har"
    result = subprocess.run([str(LEAKMAP), "analyze", str(proxy.dump), "-o", str(report), "--findings",
                             str(found_csv), "--evidence-har", str(har), "-q"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    assert 'id="replays"' in html and EMAIL in html and HEALTH in html
    for output in (html, found_csv.read_text(), har.read_text()):
        assert PASSWORD not in output
    # Precision: on this traffic of three SDKs, the only credential is the password rrweb was
    # told not to mask; every SDK's own ids, tokens and keys stay what the rules call them.
    rows = list(csv.DictReader(found_csv.open()))
    credentials = {(r["data_type"], r["url"].split("/")[2]) for r in rows
                   if r["data_type"] in ("password", "auth_token", "api_key") and r["detector"] in ("credential", "replay")}
    assert credentials == {("password", SITE)}, credentials
    assert_inert_in_chromium(report)


def assert_inert_in_chromium(report: Path) -> None:
    """The report with its replay stills, opened in Chromium: no request leaves the file, no
    captured script runs (the recorded page had inline handlers and scripts), stills render."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            requests: list[str] = []
            dialogs: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(report.as_uri(), wait_until="load")
            stills = page.evaluate("""() => Array.from(document.querySelectorAll('#replays ~ section img.still, section.replay img.still'))
                                      .map(i => [i.complete, i.naturalWidth])""")
            assert stills and all(done and width > 0 for done, width in stills), stills
            assert not [u for u in requests if not u.startswith(("file:", "data:"))], requests
            assert dialogs == []
        finally:
            browser.close()
