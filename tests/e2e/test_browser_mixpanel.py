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

import json
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, chromium_page, findings, proxy_flows,
                              require_browser, serve_site, wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.real_client("mixpanel", "mixpanel-browser (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
SDK = ROOT / "tests" / "js" / "node_modules" / "mixpanel-browser"

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


def has(rows: list[dict], value: str, endpoint: str) -> bool:
    return any(row["value"] == value and row["endpoint"] == endpoint for row in rows)


def test_mixpanel_browser_sdk_leaks_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser([SDK], "tests/js")
    proxy = serve_site(proxy_factory, build_site(tmp_path, {"index.html": PAGE}))

    with chromium_page(proxy, (SITE, TRACKER_HOST)) as run:
        page = run.page
        page.goto(f"http://{SITE}/", wait_until="load")
        assert page.title() == "Example Shop"

        # Wait for both batches (events and profile) to reach the proxy and for the SDK
        # to have emptied its queues, i.e. to have had its answers.
        def delivered() -> dict | None:
            rows, state = findings(proxy.db), page.evaluate(SDK_STATE)
            done = has(rows, EVENT_EMAIL, "track") and has(rows, PROFILE_EMAIL, "engage") and state["queued"] == 0
            return state if done else None

        state = wait_until(delivered, lambda: f"SDK state {page.evaluate(SDK_STATE)}, {len(findings(proxy.db))} "
                           "findings", WAIT_SECONDS, interval=0.2)
    log = run.proxy_log
    tracker_responses = run.responses_from([TRACKER_HOST])

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

    assert_in_report(proxy, (USER_ID, PROFILE_EMAIL, PROFILE_NAME, EVENT_EMAIL, TOKEN, SITE))

    # Nothing was forwarded: every flow the proxy saw is the test site or the tracker.
    hosts = {flow.request.pretty_host for flow in proxy_flows(proxy)}
    assert hosts == {SITE, TRACKER_HOST}, hosts
