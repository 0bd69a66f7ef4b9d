"""Real browser SDKs that npm ships only as modules for bundlers, in a real browser: the
official @sentry/browser, @newrelic/browser-agent and @braze/web-sdk (npm, tests/js/esm) are
bundled at test time with esbuild, as a site's build does (tests/js/esm/build.mjs: each entry
imports the package and puts it on window), and run in Debian's headless Chromium through a
real `mitmdump -s addons/leakmap.py` in block mode.

Nothing leaves the machine: the proxy serves the page and the bundles over HTTPS
(tests/support/serve_pages.py) and answers the SDKs' requests itself with the replies the
rules declare, which must keep each SDK working: New Relic's page-view ("rum") call wants
JSON with its feature flags and the server time before it sends any harvest; Braze wants a
JSON body. Chromium talks only to the proxy and resolves no host name itself.

Each SDK runs as sites run it, with its default hosts: init with a DSN / license key / API
key, identify a honey user id and a honey email, send one event or error with a honey custom
property. The only config change shortens New Relic's harvest interval (30 s by default).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, calls_per_endpoint, chromium_page, findings,
                              not_answered, proxy_flows, require_browser, serve_site, shop_page, shop_script, stored_at,
                              trackers_with, wait_for_findings)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("sentry", "@sentry/browser (npm, bundled by esbuild) in Chromium"),
              pytest.mark.real_client("newrelic", "@newrelic/browser-agent (npm, bundled by esbuild) in Chromium"),
              pytest.mark.real_client("braze", "@braze/web-sdk (npm, bundled by esbuild) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
ESM = ROOT / "tests" / "js" / "esm"
ESBUILD = ESM / "node_modules" / ".bin" / "esbuild"

SENTRY_ORG, SENTRY_PROJECT, SENTRY_KEY = "4504123456789012", "4504123456789013", "0123456789abcdef0123456789abcdef"
SENTRY_HOST = f"o{SENTRY_ORG}.ingest.us.sentry.io"
SENTRY_DSN = f"https://{SENTRY_KEY}@{SENTRY_HOST}/{SENTRY_PROJECT}"
NR_LICENSE, NR_APP, NR_ACCOUNT = "NRJS-0123456789abcdef012", "1134567890", "3456789"
NR_HOST = "bam.nr-data.net"
BRAZE_KEY = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
BRAZE_HOST = "sdk.iad-01.braze.com"
TRACKER_HOSTS = {"sentry": SENTRY_HOST, "newrelic": NR_HOST, "braze": BRAZE_HOST}

HONEY = {
    sdk: {"user": f"honey-{sdk}-user-{n}", "email": f"{sdk}.honey@example.org", "prop": f"honey-{sdk}-prop-{n}"}
    for sdk, n in (("sentry", "2a3b"), ("newrelic", "4c5d"), ("braze", "6e7f"))
}
WAIT_SECONDS = 30

PAGE = shop_page("/newrelic.js", "/sentry.js", "/braze.js")

SHOP_JS = shop_script(HONEY, """
  run("newrelic", function () {
    // The npm README's configuration: the values of the app's copy/paste snippet.
    var agent = new NewRelicBrowserAgent({
      init: {harvest: {interval: 5}, privacy: {cookies_enabled: true}, ajax: {deny_list: [%(nr_host)s]}},
      info: {beacon: %(nr_host)s, errorBeacon: %(nr_host)s, licenseKey: %(nr_license)s,
             applicationID: %(nr_app)s, sa: 1},
      loader_config: {accountID: %(nr_account)s, trustKey: %(nr_account)s, agentID: %(nr_app)s,
                      licenseKey: %(nr_license)s, applicationID: %(nr_app)s}
    });
    agent.setUserId(H.newrelic.user);
    agent.setCustomAttribute("email", H.newrelic.email);
    agent.addPageAction("checkout_started", {honey_prop: H.newrelic.prop});
    agent.noticeError(new Error("checkout failed"), {honey_prop: H.newrelic.prop});
    agent.log("checkout started", {level: "info", customAttributes: {honey_prop: H.newrelic.prop}});
    window.nrAgent = agent;
  });

  run("sentry", function () {
    Sentry.init({dsn: %(sentry_dsn)s, release: "example-shop@1.4.2", environment: "production"});
    Sentry.setUser({id: H.sentry.user, email: H.sentry.email});
    Sentry.captureException(new Error("checkout failed"), {extra: {honey_prop: H.sentry.prop}});
    Sentry.flush(10000).then(function (ok) { window.sentryFlushed = ok; });
  });

  run("braze", function () {
    braze.initialize(%(braze_key)s, {baseUrl: %(braze_host)s});
    braze.changeUser(H.braze.user);
    braze.getUser().setEmail(H.braze.email);
    braze.logCustomEvent("checkout_started", {honey_prop: H.braze.prop});
    braze.openSession();
    braze.requestImmediateDataFlush(function (ok) { window.brazeFlushed = ok; });
  });
""" % {name: json.dumps(value) for name, value in {
    "nr_host": NR_HOST, "nr_license": NR_LICENSE, "nr_app": NR_APP, "nr_account": NR_ACCOUNT,
    "sentry_dsn": SENTRY_DSN, "braze_key": BRAZE_KEY, "braze_host": BRAZE_HOST}.items()})

n = r"\[\d+\]"
EXPECTED = [
    # Sentry: the error event and the release-health session, one envelope each; the DSN's
    # public key in the query, the project id in the path, the org id (from the DSN host) in
    # the envelope header's dynamic sampling context.
    ("sentry", "envelope", "user_id", HONEY["sentry"]["user"], rf"body\.items{n}\.payload\.user\.id"),
    ("sentry", "envelope", "email", HONEY["sentry"]["email"], rf"body\.items{n}\.payload\.user\.email"),
    ("sentry", "envelope", "custom_property", HONEY["sentry"]["prop"], rf"body\.items{n}\.payload\.extra\.honey_prop"),
    ("sentry", "envelope", "error_report", "checkout failed", rf"body\.items{n}\.payload\.exception\.values{n}\.value"),
    ("sentry", "envelope", "project_key", SENTRY_KEY, r"query\.sentry_key"),
    ("sentry", "envelope", "project_key", SENTRY_PROJECT, r"path\.project_id"),
    ("sentry", "envelope", "project_key", SENTRY_ORG, r"body\.header\.trace\.org_id"),
    # New Relic: the page-view call first, then the harvests; enduser.id and the custom
    # attributes travel in every body, the license key in the path or `browser_monitoring_key`,
    # the application id in `a` or `app_id`/`appId`. `events` carries the page-view timings and
    # the initial-page-load interaction in the agent's querypack text (bel.6 / bel.7).
    ("newrelic", "rum", "user_id", HONEY["newrelic"]["user"], r'body\.ja\["enduser\.id"\]'),
    ("newrelic", "rum", "email", HONEY["newrelic"]["email"], r"body\.ja\.email"),
    ("newrelic", "rum", "project_key", NR_LICENSE, r"path\.license_key"),
    ("newrelic", "rum", "project_key", NR_APP, r"query\.a"),
    ("newrelic", "events", "user_id", HONEY["newrelic"]["user"], rf'body\.nodes{n}\.attributes\["enduser\.id"\]'),
    ("newrelic", "events", "email", HONEY["newrelic"]["email"], rf"body\.nodes{n}\.attributes\.email"),
    ("newrelic", "events", "project_key", NR_LICENSE, r"path\.license_key"),
    ("newrelic", "browser", "user_id", HONEY["newrelic"]["user"], rf'body\.ins{n}\["enduser\.id"\]'),
    ("newrelic", "browser", "email", HONEY["newrelic"]["email"], rf"body\.ins{n}\.email"),
    ("newrelic", "browser", "custom_property", HONEY["newrelic"]["prop"], rf"body\.ins{n}\.honey_prop"),
    ("newrelic", "browser", "event_name", "checkout_started", rf"body\.ins{n}\.actionName"),
    ("newrelic", "browser", "user_id", HONEY["newrelic"]["user"], rf'body\.err{n}\.custom\["enduser\.id"\]'),
    ("newrelic", "browser", "custom_property", HONEY["newrelic"]["prop"], rf"body\.err{n}\.custom\.honey_prop"),
    ("newrelic", "browser", "error_report", "checkout failed", rf"body\.err{n}\.params\.message"),
    ("newrelic", "browser", "user_id", HONEY["newrelic"]["user"], rf'body{n}\.common\.attributes\["enduser\.id"\]'),
    ("newrelic", "browser", "custom_property", HONEY["newrelic"]["prop"], rf"body{n}\.logs{n}\.attributes\.honey_prop"),
    ("newrelic", "browser", "message_content", "checkout started", rf"body{n}\.logs{n}\.message"),
    ("newrelic", "browser", "project_key", NR_APP, rf"body{n}\.common\.attributes\.appId"),
    ("newrelic", "browser", "user_id", HONEY["newrelic"]["user"], r'query\.attributes\["enduser\.id"\]'),
    ("newrelic", "browser", "interaction", f"https://{SENTRY_HOST}:443/api/{SENTRY_PROJECT}/envelope/", rf"body{n}\.o"),
    ("newrelic", "browser", "project_key", NR_LICENSE, r"path\.license_key"),
    ("newrelic", "browser", "project_key", NR_LICENSE, r"query\.browser_monitoring_key"),
    ("newrelic", "browser", "project_key", NR_APP, r"query\.a"),
    ("newrelic", "browser", "project_key", NR_APP, r"query\.app_id"),
    # Braze: user attributes and events in /data/, the API key in the body (and header).
    ("braze", "data", "user_id", HONEY["braze"]["user"], r"body\.respond_with\.user_id"),
    ("braze", "data", "email", HONEY["braze"]["email"], rf"body\.attributes{n}\.email"),
    ("braze", "data", "custom_property", HONEY["braze"]["prop"], rf"body\.events{n}\.data\.p\.honey_prop"),
    ("braze", "data", "event_name", "checkout_started", rf"body\.events{n}\.data\.n"),
    ("braze", "data", "project_key", BRAZE_KEY, r"body\.api_key"),
]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The served directory: the page, the site's script, and the three SDKs bundled by esbuild
    into IIFE scripts (tests/js/esm/build.mjs), as the site's build would."""
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    require_browser([ESBUILD], "tests/js/esm")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS})
    subprocess.run(["node", str(ESM / "build.mjs"), str(site)], check=True, timeout=120, cwd=ESM)
    return site


def test_esm_browser_sdks_leak_to_report(site: Path, proxy_factory) -> None:
    assert {p.name for p in site.iterdir()} == {"index.html", "shop.js", "sentry.js", "newrelic.js", "braze.js"}
    proxy = serve_site(proxy_factory, site)

    with chromium_page(proxy, (SITE, *TRACKER_HOSTS.values()), like_a_user=True) as run:
        page = run.page
        page.goto(f"https://{SITE}/", wait_until="load")
        assert page.title() == "Example Shop"
        wait_for_findings(proxy, run, EXPECTED, stored_at, WAIT_SECONDS)
        # New Relic took the rum reply: flags applied, clock set from nrServerTime (else
        # it would have stopped after the rum call); Braze and Sentry report delivery.
        state = page.evaluate("""() => ({errors: window.pageErrors, sentry: window.sentryFlushed,
            braze: window.brazeFlushed, nrFlags: window.nrAgent.runtime.activatedFeatures,
            nrClock: window.nrAgent.runtime.timeKeeper.ready})""")

    # ---- Delivery: only the site and the trackers were asked for, every tracker request got
    # the rule's 2xx answer from the proxy itself, and it satisfied each SDK.
    assert run.hosts <= {SITE, *TRACKER_HOSTS.values()}, run.hosts
    assert not run.failed, run.failed
    flows = proxy_flows(proxy)
    assert {flow.request.pretty_host for flow in flows} <= {SITE, *TRACKER_HOSTS.values()}
    tracker_flows = [flow for flow in flows if flow.request.pretty_host != SITE]
    bad = not_answered(tracker_flows)
    assert not bad, bad
    assert state["errors"] == [] and state["sentry"] is True and state["braze"] is True, state
    assert state["nrFlags"]["err"] == 1 and state["nrFlags"]["ins"] == 1 and state["nrClock"] is True, state
    # No Braze retry (it re-sends with X-Braze-Req-Attempt > 1 after a reply it rejects), and
    # no endpoint called more than a few times.
    attempts = {flow.request.headers.get("x-braze-req-attempt") for flow in tracker_flows
                if flow.request.pretty_host == BRAZE_HOST and flow.request.method == "POST"}
    assert attempts == {"1"}, attempts
    calls = calls_per_endpoint(tracker_flows)
    assert max(calls.values()) <= 6, calls

    # ---- What leakmap stored: each honey value with its SDK's tracker, type, endpoint, path.
    rows = findings(proxy.db)
    missing = [e for e in EXPECTED if not stored_at(rows, *e)]
    assert not missing, missing
    # No honey value leaked to (or was attributed to) another tracker.
    for sdk, honey in HONEY.items():
        for value in honey.values():
            assert trackers_with(rows, value) == {sdk}, (sdk, value)
    # Attribution: the website, from the browser's Origin/Referer, for every request.
    assert {(r["app"], r["app_signal"]) for r in rows} == {(SITE, "first_party_site")}
    assert_in_report(proxy, (v for honey in HONEY.values() for v in honey.values()))
