"""A real website in a real browser: Chromium loads a shop page that runs the real
mixpanel-browser SDK (npm, tests/js) through a real `mitmdump -s addons/leakmap.py`.

Nothing leaves the machine: the proxy serves the page itself (tests/support/serve_pages.py)
and, in block mode, answers the SDK's requests to api-js.mixpanel.com. Chromium talks only
to the proxy on 127.0.0.1 and resolves no host name itself.

The SDK runs as sites run it: default api_host, request batching on (the default). The only
config changes are a short flush interval, so the test need not wait 5 s for the first
batch, and an error_reporter, so the page can tell whether any request failed.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import pytest
from mitmproxy import io
from support.chromium import CHROMIUM, confined_args, findings

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.real_client("mixpanel", "mixpanel-browser (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
SDK = ROOT / "tests" / "js" / "node_modules" / "mixpanel-browser"
SERVE_PAGES = ROOT / "tests" / "support" / "serve_pages.py"

SITE = "shop.example"
TRACKER_HOST = "api-js.mixpanel.com"
TOKEN = "browsertoken123"
# Honey values: planted by the page, each unique, so every finding below has one source.
USER_ID = "honey-user-7f3a91c2"
PROFILE_EMAIL = "jane.honeypot@example.org"
PROFILE_NAME = "Jane Honeypot"
PROFILE_PHONE = "+15550100777"
EVENT_EMAIL = "jane.checkout@example.org"
WAIT_SECONDS = 30

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Shop</title>
<script src="/js/mixpanel-browser.js"></script>
</head>
<body>
<h1>Example Shop</h1>
<script>
  window.sdkErrors = [];
  mixpanel.init(%(token)s, {
    batch_flush_interval_ms: 200,
    error_reporter: function (message) { window.sdkErrors.push(String(message)); }
  });
  mixpanel.identify(%(user_id)s);
  mixpanel.people.set({$email: %(profile_email)s, $name: %(profile_name)s, user_phone: %(profile_phone)s});
  mixpanel.track("Checkout Started", {user_email: %(event_email)s, cart_items: 3});
</script>
</body>
</html>
""" % {name: json.dumps(value) for name, value in {
    "token": TOKEN, "user_id": USER_ID, "profile_email": PROFILE_EMAIL, "profile_name": PROFILE_NAME,
    "profile_phone": PROFILE_PHONE, "event_email": EVENT_EMAIL}.items()}

# What the page reports about the SDK: errors it raised, and what is still in its
# localStorage send queues (an item leaves the queue once its batch got a response).
SDK_STATE = """() => ({
  errors: window.sdkErrors,
  queued: ["_ev", "_pp", "_gr"].map(q => JSON.parse(localStorage.getItem("__mpq_%s" + q) || "[]").length)
      .reduce((a, b) => a + b, 0),
})""" % TOKEN


def chromium_args(proxy) -> list[str]:
    return confined_args(proxy, (SITE, TRACKER_HOST))


def has(rows: list[dict], value: str, endpoint: str) -> bool:
    return any(row["value"] == value and row["endpoint"] == endpoint for row in rows)


def test_mixpanel_browser_sdk_leaks_to_report(proxy_factory, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    if not SDK.is_dir():
        pytest.skip(f"{SDK} missing: run `npm ci` in tests/js")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed")

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    proxy = proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", scripts=(SERVE_PAGES,))

    tracker_responses: list[tuple[str, int, str | None]] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args(proxy))
        try:
            page = browser.new_page()
            page.on("response", lambda r: tracker_responses.append((r.url, r.status, r.headers.get("x-leakmap")))
                    if TRACKER_HOST in r.url else None)
            page.goto(f"http://{SITE}/", wait_until="load")
            assert page.title() == "Example Shop"

            # Wait for both batches (events and profile) to reach the proxy and for the SDK
            # to have emptied its queues, i.e. to have had its answers.
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                rows = findings(proxy.db)
                state = page.evaluate(SDK_STATE)
                if has(rows, EVENT_EMAIL, "track") and has(rows, PROFILE_EMAIL, "engage") and state["queued"] == 0:
                    break
                assert time.monotonic() < deadline, f"timed out: SDK state {state}, {len(rows)} findings"
                time.sleep(0.2)
        finally:
            browser.close()
    log = proxy.stop()

    # The page saw the proxy's answers: no SDK error (a failed XHR, CORS included, reports
    # "Bad HTTP status"), and every tracker request got leakmap's 200.
    assert state["errors"] == [], state["errors"]
    assert tracker_responses, "the page made no request to the tracker"
    assert all(status == 200 and marker == "answered-by-proxy" for _, status, marker in tracker_responses), \
        tracker_responses
    assert {url.split("?")[0] for url, _, _ in tracker_responses} >= {
        f"https://{TRACKER_HOST}/track/", f"https://{TRACKER_HOST}/engage/"}

    rows = findings(proxy.db)
    tracker_rows = [row for row in rows if row["host"] == TRACKER_HOST]
    assert tracker_rows, f"no tracker findings; mitmdump log:\n{log}"

    def found(data_type: str, value: str) -> list[dict]:
        return [row for row in tracker_rows if row["data_type"] == data_type and row["value"] == value]

    assert found("user_id", USER_ID)
    assert any("$set.$email" in row["path"] and row["detector"] == "rule" for row in found("email", PROFILE_EMAIL)), \
        found("email", PROFILE_EMAIL)
    assert any(row["path"].endswith("user_email") and row["detector"] == "key_name"
               for row in found("email", EVENT_EMAIL)), found("email", EVENT_EMAIL)
    assert found("name", PROFILE_NAME)
    assert found("phone", PROFILE_PHONE)
    assert found("project_key", TOKEN)

    # Attribution: the first-party site named by the browser's Origin/Referer headers.
    assert {(row["app"], row["app_signal"]) for row in tracker_rows} == {(SITE, "first_party_site")}

    report = proxy.report.read_text()
    for value in (USER_ID, PROFILE_EMAIL, PROFILE_NAME, EVENT_EMAIL, TOKEN, SITE):
        assert html.escape(value) in report, f"{value!r} not in the HTML report"

    # Nothing was forwarded: every flow the proxy saw is the test site or the tracker.
    with proxy.dump.open("rb") as f:
        hosts = {flow.request.pretty_host for flow in io.FlowReader(f).stream()}
    assert hosts == {SITE, TRACKER_HOST}, hosts
