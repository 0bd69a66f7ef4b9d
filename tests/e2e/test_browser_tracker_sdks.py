"""Real feature-flag, experimentation and web-analytics browser SDKs in a real browser: Chromium
loads a shop page that runs the official @statsig/js-client, launchdarkly-js-client-sdk,
@optimizely/optimizely-sdk and piano-analytics-js browser bundles and the @pendo/agent modules
(bundled by esbuild at test time, tests/js/trackers/pendo-build.mjs, as a site's build does;
npm, tests/js/trackers) through a real `mitmdump -s addons/leakmap.py` in block mode.

Each SDK runs as sites run it, with its default hosts: the user (honey id, email and custom
attribute) is sent for flag evaluation, and one custom event with a honey property is
tracked. Statsig's browser client sends its /v1/initialize body "statsig-encoded" (base64,
reversed), which the rule's `statsig_encoded` step opens; LaunchDarkly puts the whole
context, base64url-encoded, in the path of its evaluation request.

Nothing leaves the machine: the proxy serves the page (tests/support/serve_pages.py) and
answers the SDKs itself with the replies the rules declare.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, chromium_page, not_answered, proxy_flows,
                              require_browser, serve_site, shop_page, shop_script, stored_at, trackers_with,
                              wait_for_findings)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("statsig", "@statsig/js-client (npm) in Chromium"),
              pytest.mark.real_client("launchdarkly", "launchdarkly-js-client-sdk (npm) in Chromium"),
              pytest.mark.real_client("optimizely", "@optimizely/optimizely-sdk (npm, browser bundle) in Chromium"),
              pytest.mark.real_client("piano", "piano-analytics-js (npm) in Chromium"),
              pytest.mark.real_client("pendo", "@pendo/agent (npm, bundled by esbuild) in Chromium")]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "trackers"
MODULES = JS_DIR / "node_modules"
SDK_FILES = {
    "statsig.js": MODULES / "@statsig" / "js-client" / "build" / "statsig-js-client.min.js",
    "ldclient.js": MODULES / "launchdarkly-js-client-sdk" / "dist" / "ldclient.min.js",
    "optimizely.js": MODULES / "@optimizely" / "optimizely-sdk" / "dist" / "optimizely.browser.umd.min.js",
    "piano.js": MODULES / "piano-analytics-js" / "dist" / "browser" / "piano-analytics.umd.js",
}
TRACKER_HOSTS = ("featureassets.org", "prodregistryv2.org", "statsigapi.net", "app.launchdarkly.com",
                 "events.launchdarkly.com", "clientstream.launchdarkly.com", "logx.optimizely.com",
                 "cdn.optimizely.com", "shop-example.pa-cd.com", "cdn.pendo.io", "app.pendo.io")

STATSIG_KEY = "client-honeyStatsigClientKey0a1b2c3d"
LD_ENV = "5f0a1b2c3d4e5f6a7b8c9d0e"
OPT_ACCOUNT, OPT_PROJECT = "16180339", "14142135"
PIANO_SITE = "612345"
PENDO_KEY = "7e1b2c3d-4a5f-4e6d-9c8b-0a1f2e3d4c5b"
HONEY = {sdk: {"user": f"honey-{sdk}-user-{n}", "email": f"{sdk}.honey@example.org", "prop": f"honey-{sdk}-prop-{n}",
               "event": f"honey-{sdk}-event-{n}"}
         for sdk, n in (("statsig", "8d1e"), ("ld", "2f7a"), ("opt", "6c3b"), ("piano", "4e9d"),
                           ("pendo", "1b8f"))}
DATAFILE = {"version": "4", "accountId": OPT_ACCOUNT, "projectId": OPT_PROJECT, "revision": "3", "anonymizeIP": True,
            "botFiltering": False, "attributes": [{"id": "40001", "key": "plan"}],
            "events": [{"id": "50001", "key": "checkout_started", "experimentIds": []}], "experiments": [],
            "audiences": [], "typedAudiences": [], "groups": [], "rollouts": [], "featureFlags": [], "variables": []}

PAGE = shop_page("/statsig.js", "/ldclient.js", "/optimizely.js", "/piano.js", "/pendo.js")
SHOP_JS = shop_script(HONEY, """
  run("statsig", function () {
    var client = new Statsig.StatsigClient(%(statsig_key)s,
      {userID: H.statsig.user, email: H.statsig.email, custom: {honey_prop: H.statsig.prop}});
    client.initializeAsync().then(function () {
      client.checkGate("new_checkout");
      client.logEvent("checkout_started", 42, {honey_event: H.statsig.event});
      return client.flush();
    }).catch(function (e) { window.pageErrors.push("statsig: " + e); });
  });

  run("launchdarkly", function () {
    var ld = LDClient.initialize(%(ld_env)s, {kind: "user", key: H.ld.user, email: H.ld.email,
                                              honey_prop: H.ld.prop}, {sendEventsOnlyForVariation: true});
    ld.waitForInitialization(20).then(function () {
      ld.variation("new-checkout", false);
      ld.track("checkout-started", {honey_event: H.ld.event}, 42);
      return ld.flush();
    }).catch(function (e) { window.pageErrors.push("launchdarkly: " + e); });
  });

  run("optimizely", function () {
    var client = optimizelySdk.createInstance({
      projectConfigManager: optimizelySdk.createStaticProjectConfigManager({datafile: %(datafile)s}),
      eventProcessor: optimizelySdk.createBatchEventProcessor({flushInterval: 200})});
    client.onReady({timeout: 20000}).then(function () {
      var user = client.createUserContext(H.opt.user, {plan: H.opt.prop});
      user.trackEvent("checkout_started", {revenue: 4200, honey_event: H.opt.event});
    }).catch(function (e) { window.pageErrors.push("optimizely: " + e); });
  });

  run("piano", function () {
    var pa = pianoAnalytics.pianoAnalytics;
    pa.setConfigurations({site: %(piano_site)s, collectDomain: "https://shop-example.pa-cd.com"});
    pa.setUser(H.piano.user, "premium");
    pa.sendEvent("page.display", {page: "checkout", honey_event: H.piano.event});
  });

  run("pendo", function () {
    pendoInitialize({apiKey: %(pendo_key)s, env: "io", globalKey: "pendo",
                     visitor: {id: H.pendo.user, email: H.pendo.email, full_name: "Honey Pendo"},
                     account: {id: "honey-pendo-account", plan: H.pendo.prop}}).then(function (pendo) {
      pendo.track("checkout_started", {honey_event: H.pendo.event});
      pendo.flushNow();
    }).catch(function (e) { window.pageErrors.push("pendo: " + e); });
  });
""" % {name: json.dumps(value) for name, value in {"statsig_key": STATSIG_KEY, "ld_env": LD_ENV,
                                                    "datafile": json.dumps(DATAFILE),
                                                    "piano_site": int(PIANO_SITE), "pendo_key": PENDO_KEY}.items()})

st, ld, opt, pn, pd = HONEY["statsig"], HONEY["ld"], HONEY["opt"], HONEY["piano"], HONEY["pendo"]
N = r"\[\d+\]"
# (tracker, endpoint, data type, value, path regex) that must be stored.
EXPECTED = [
    ("statsig", "initialize", "user_id", st["user"], r"body\.user\.userID"),
    ("statsig", "initialize", "email", st["email"], r"body\.user\.email"),
    ("statsig", "initialize", "custom_property", st["prop"], r"body\.user\.custom\.honey_prop"),
    ("statsig", "initialize", "project_key", STATSIG_KEY, r"query\.k"),
    ("statsig", "events", "user_id", st["user"], rf"body\.events{N}\.user\.userID"),
    ("statsig", "events", "event_name", "checkout_started", rf"body\.events{N}\.eventName"),
    ("statsig", "events", "custom_property", st["event"], rf"body\.events{N}\.metadata\.honey_event"),
    ("launchdarkly", "client_eval", "user_id", ld["user"], r"path\.context\.key"),
    ("launchdarkly", "client_eval", "email", ld["email"], r"path\.context\.email"),
    ("launchdarkly", "client_eval", "custom_property", ld["prop"], r"path\.context\.honey_prop"),
    ("launchdarkly", "client_eval", "project_key", LD_ENV, r"path\.env"),
    ("launchdarkly", "events", "user_id", ld["user"], rf"body{N}\.context\.key"),
    ("launchdarkly", "events", "event_name", "checkout-started", rf"body{N}\.key"),
    ("launchdarkly", "events", "custom_property", ld["prop"], rf"body{N}\.context\.honey_prop"),
    ("launchdarkly", "events", "custom_property", ld["event"], rf"body{N}\.data\.honey_event"),
    ("launchdarkly", "events", "page_url", f"https://{SITE}/", rf"body{N}\.url"),
    ("optimizely", "events", "user_id", opt["user"], rf"body\.visitors{N}\.visitor_id"),
    ("optimizely", "events", "event_name", "checkout_started", rf"body\.visitors{N}\.snapshots{N}\.events{N}\.key"),
    ("optimizely", "events", "custom_property", opt["prop"], rf"body\.visitors{N}\.attributes{N}\.value"),
    ("optimizely", "events", "custom_property", opt["event"], rf"body\.visitors{N}\.snapshots{N}\.events{N}\.tags\.honey_event"),
    ("optimizely", "events", "project_key", OPT_PROJECT, r"body\.project_id"),
    ("piano", "event", "user_id", pn["user"], rf"body\.events{N}\.data\.user_id"),
    ("piano", "event", "event_name", "page.display", rf"body\.events{N}\.name"),
    ("piano", "event", "screen_name", "checkout", rf"body\.events{N}\.data\.page"),
    ("piano", "event", "custom_property", pn["event"], rf"body\.events{N}\.data\.honey_event"),
    ("piano", "event", "page_url", f"https://{SITE}/", rf"body\.events{N}\.data\.event_url_full"),
    ("piano", "event", "project_key", PIANO_SITE, r"query\.s"),
    ("pendo", "data", "user_id", pd["user"], rf"(?:query\.jzb|body\.events){N}\.visitor_id"),
    ("pendo", "data", "event_name", "checkout_started", rf"(?:query\.jzb|body\.events){N}\.track_event_name"),
    ("pendo", "data", "custom_property", pd["event"], rf"(?:query\.jzb|body\.events){N}\.props\.honey_event"),
    ("pendo", "data", "page_url", f"https://{SITE}/", rf"(?:query\.jzb|body\.events){N}\.url"),
    ("pendo", "data", "project_key", PENDO_KEY, r"path\.api_key"),
    ("pendo", "guides", "email", pd["email"], r"query\.jzb\.metadata\.visitor\.email"),
    ("pendo", "guides", "custom_property", pd["prop"], r"query\.jzb\.metadata\.account\.plan"),
]


def test_flag_sdks_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser([*SDK_FILES.values(), MODULES / "@pendo" / "agent" / "index.js", MODULES / ".bin" / "esbuild"],
                    "tests/js/trackers")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS}, SDK_FILES)
    subprocess.run([shutil.which("node") or "node", "pendo-build.mjs", str(site / "pendo.js")], cwd=JS_DIR,
                   check=True, timeout=60)
    proxy = serve_site(proxy_factory, site)
    with chromium_page(proxy, (SITE, *TRACKER_HOSTS), like_a_user=True) as run:
        run.page.goto(f"https://{SITE}/", wait_until="load")
        assert run.page.title() == "Example Shop"
        rows = wait_for_findings(proxy, run, EXPECTED, stored_at, 30, "for statsig, launchdarkly, optimizely, piano and pendo")
        page_errors = run.page.evaluate("() => window.pageErrors")

    # Delivery: the page asked only for the site and the trackers, which the proxy answered
    # itself with a 2xx the SDKs accepted (no error surfaced on the page).
    assert run.hosts <= {SITE, *TRACKER_HOSTS}, run.hosts
    assert page_errors == [] and run.errors == [], (page_errors, run.errors)
    tracker_flows = [f for f in proxy_flows(proxy) if f.request.pretty_host != SITE]
    assert not not_answered(tracker_flows), not_answered(tracker_flows)
    # Statsig's browser body is statsig-encoded (`se=1`), and leakmap opened it.
    init = [f for f in tracker_flows if f.request.path.startswith("/v1/initialize")]
    assert init and all(f.request.query.get("se") == "1" for f in init), [f.request.pretty_url for f in init]
    # Each honey value went to its own SDK's tracker only; the site is the app.
    for sdk, tracker in (("statsig", "statsig"), ("ld", "launchdarkly"), ("opt", "optimizely"), ("piano", "piano"),
                         ("pendo", "pendo")):
        for value in HONEY[sdk].values():
            assert trackers_with(rows, value) <= {tracker}, (sdk, value)
    assert all((r["app"], r["app_signal"]) == (SITE, "first_party_site") for r in rows
               if r["tracker"] in ("statsig", "launchdarkly", "optimizely", "piano", "pendo")), rows
    assert_in_report(proxy, (st["user"], ld["email"], opt["prop"], pn["event"], pd["event"]))
