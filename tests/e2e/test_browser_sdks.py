"""Real analytics and monitoring browser SDKs in a real browser: Chromium loads a shop page
that runs the official posthog-js, @amplitude/analytics-browser, @datadog/browser-rum,
@datadog/browser-logs, @bugsnag/js (@bugsnag/browser) and countly-sdk-web bundles (npm,
tests/js/browser) through a real `mitmdump -s addons/leakmap.py` in block mode.

Nothing leaves the machine: the proxy serves the page over HTTPS (tests/support/serve_pages.py;
the SDKs' UMD/IIFE bundles are copied into the served directory at test time) and answers the
SDKs' requests itself with the replies the rules declare. Chromium talks only to the proxy
and resolves no host name itself.

Each SDK runs as sites run it, with its default hosts: init with a key, identify a honey
user id and a honey email, send one event with a honey custom property. The only config
changes shorten flush intervals so the test need not wait for the default batch timers.
Datadog has no such option (30 s batches): its batches go out, as on every site, when the
user leaves the page, so the test navigates away once the other SDKs have delivered.
Chromium presents itself as a user's browser (no "Headless" in its user agent, no
navigator.webdriver): PostHog and Countly drop events from what looks like a bot.

Not here: @sentry/browser, @newrelic/browser-agent and @braze/web-sdk publish no bundle usable
from a plain <script> on npm (their script bundles are CDN-only; the npm packages are modules
for bundlers). tests/e2e/test_browser_esm_sdks.py bundles them with esbuild at test time, as a
site's build does, and drives them the same way.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, calls_per_endpoint, chromium_page, findings,
                              not_answered, proxy_flows, require_browser, serve_site, shop_page, shop_script, stored_at,
                              trackers_with, wait_for_findings, with_value)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("posthog", "posthog-js (npm) in Chromium"),
              pytest.mark.real_client("amplitude", "@amplitude/analytics-browser (npm) in Chromium"),
              pytest.mark.real_client("datadog", "@datadog/browser-rum and @datadog/browser-logs (npm) in Chromium"),
              pytest.mark.real_client("bugsnag", "@bugsnag/js (npm) in Chromium"),
              pytest.mark.real_client("countly", "countly-sdk-web (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
MODULES = ROOT / "tests" / "js" / "browser" / "node_modules"
SDK_FILES = {
    "posthog.js": MODULES / "posthog-js" / "dist" / "array.full.js",
    "amplitude.js": MODULES / "@amplitude" / "analytics-browser" / "lib" / "scripts" / "amplitude-min.umd.js",
    "datadog-rum.js": MODULES / "@datadog" / "browser-rum" / "bundle" / "datadog-rum.js",
    "datadog-logs.js": MODULES / "@datadog" / "browser-logs" / "bundle" / "datadog-logs.js",
    "bugsnag.js": MODULES / "@bugsnag" / "browser" / "dist" / "bugsnag.min.js",
    "countly.js": MODULES / "countly-sdk-web" / "lib" / "countly.min.js",
}

COUNTLY_HOST = "shop-example.count.ly"  # Countly servers are the customer's own; *.count.ly is the hosted one
TRACKER_HOSTS = {
    "posthog": ("us.i.posthog.com", "us-assets.i.posthog.com"),
    "amplitude": ("api2.amplitude.com", "sr-client-cfg.amplitude.com", "diagnostics.prod.us-west-2.amplitude.com"),
    "datadog": ("browser-intake-datadoghq.com",),
    "bugsnag": ("notify.bugsnag.com", "sessions.bugsnag.com"),
    "countly": (COUNTLY_HOST,),
}
ALL_TRACKER_HOSTS = {host for hosts in TRACKER_HOSTS.values() for host in hosts}

# Keys and honey values: each unique, so every finding below has one source.
POSTHOG_TOKEN = "phc_honeyHoneyHoneyHoneyHoneyHoney1234567890a"
AMPLITUDE_KEY = "0123456789abcdef0123456789abcdef"
DATADOG_CLIENT_TOKEN = "pub0123456789abcdef0123456789abcd"
DATADOG_APP_ID = "5d5c0a4e-6a1b-4c3d-9e8f-0a1b2c3d4e5f"
BUGSNAG_KEY = "1234567890abcdef1234567890abcdef"
COUNTLY_KEY = "0123456789abcdef0123456789abcdef01234567"
HONEY = {
    sdk: {"user": f"honey-{sdk}-user-{n}", "email": f"{sdk}.honey@example.org", "prop": f"honey-{sdk}-prop-{n}"}
    for sdk, n in (("posthog", "1a2b"), ("amplitude", "3c4d"), ("dd-rum", "5e6f"), ("dd-logs", "7a8b"),
                   ("bugsnag", "9c0d"), ("countly", "1e2f"))
}
WAIT_SECONDS = 25

PAGE = shop_page("/posthog.js", "/amplitude.js", "/datadog-rum.js", "/datadog-logs.js", "/bugsnag.js",
                 "/countly.js")

SHOP_JS = shop_script(HONEY, """
  run("posthog", function () {
    posthog.init(%(posthog_token)s, {api_host: "https://us.i.posthog.com",
                                     on_request_error: function (r) { window.pageErrors.push("posthog: " + r.statusCode); }});
    posthog.identify(H.posthog.user, {email: H.posthog.email});
    posthog.capture("checkout_started", {honey_prop: H.posthog.prop});
  });

  run("amplitude", function () {
    amplitude.init(%(amplitude_key)s, H.amplitude.user, {flushIntervalMillis: 200});
    amplitude.identify(new amplitude.Identify().set("email", H.amplitude.email));
    amplitude.track("Checkout Started", {honey_prop: H.amplitude.prop}).promise.then(function (result) {
      window.amplitudeCode = result.code;
    });
  });

  run("datadog", function () {
    DD_RUM.init({applicationId: %(dd_app)s, clientToken: %(dd_token)s, site: "datadoghq.com",
                 service: "example-shop", sessionSampleRate: 100, sessionReplaySampleRate: 0});
    DD_RUM.setUser({id: H["dd-rum"].user, email: H["dd-rum"].email});
    DD_RUM.addAction("checkout_started", {honey_prop: H["dd-rum"].prop});
    DD_LOGS.init({clientToken: %(dd_token)s, site: "datadoghq.com", service: "example-shop",
                  forwardErrorsToLogs: false, sessionSampleRate: 100});
    DD_LOGS.setUser({id: H["dd-logs"].user, email: H["dd-logs"].email});
    DD_LOGS.logger.info("checkout started", {honey_prop: H["dd-logs"].prop});
  });

  run("bugsnag", function () {
    Bugsnag.start({apiKey: %(bugsnag_key)s, user: {id: H.bugsnag.user, email: H.bugsnag.email},
                   logger: null});
    Bugsnag.notify(new Error("checkout failed"), function (event) {
      event.addMetadata("checkout", {honey_prop: H.bugsnag.prop});
    }, function (err) {
      if (err) { window.pageErrors.push("bugsnag: " + err); }
      window.bugsnagDelivered = !err;
    });
  });

  run("countly", function () {
    Countly.init({app_key: %(countly_key)s, url: "https://%(countly_host)s", device_id: H.countly.user,
                  interval: 200});
    Countly.user_details({email: H.countly.email});
    Countly.add_event({key: "checkout_started", count: 1, segmentation: {honey_prop: H.countly.prop}});
  });
""" % {"countly_host": COUNTLY_HOST, **{name: json.dumps(value) for name, value in {
    "posthog_token": POSTHOG_TOKEN, "amplitude_key": AMPLITUDE_KEY, "dd_app": DATADOG_APP_ID,
    "dd_token": DATADOG_CLIENT_TOKEN, "bugsnag_key": BUGSNAG_KEY, "countly_key": COUNTLY_KEY}.items()}})

LEAVE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thanks</title></head>
<body><h1>Thanks</h1></body></html>"""


# What must be stored before the test stops waiting: (tracker, data type, value).
BEFORE_LEAVING = [
    ("posthog", "user_id", HONEY["posthog"]["user"]), ("posthog", "email", HONEY["posthog"]["email"]),
    ("posthog", "custom_property", HONEY["posthog"]["prop"]),
    ("amplitude", "user_id", HONEY["amplitude"]["user"]), ("amplitude", "email", HONEY["amplitude"]["email"]),
    ("amplitude", "custom_property", HONEY["amplitude"]["prop"]),
    ("bugsnag", "user_id", HONEY["bugsnag"]["user"]), ("bugsnag", "email", HONEY["bugsnag"]["email"]),
    ("bugsnag", "custom_property", HONEY["bugsnag"]["prop"]),
    ("countly", "installation_id", HONEY["countly"]["user"]), ("countly", "email", HONEY["countly"]["email"]),
    ("countly", "custom_property", HONEY["countly"]["prop"]),
]
AFTER_LEAVING = [
    ("datadog", "user_id", HONEY["dd-rum"]["user"]), ("datadog", "email", HONEY["dd-rum"]["email"]),
    ("datadog", "custom_property", HONEY["dd-rum"]["prop"]),
    ("datadog", "user_id", HONEY["dd-logs"]["user"]), ("datadog", "email", HONEY["dd-logs"]["email"]),
    ("datadog", "custom_property", HONEY["dd-logs"]["prop"]),
]


def test_browser_sdks_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser(SDK_FILES.values(), "tests/js/browser")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS, "thanks.html": LEAVE_PAGE}, SDK_FILES)
    proxy = serve_site(proxy_factory, site)

    # Chromium presents itself as a user's browser: PostHog and Countly drop events from bots.
    with chromium_page(proxy, (SITE, *sorted(ALL_TRACKER_HOSTS)), like_a_user=True) as run:
        page = run.page
        page.goto(f"https://{SITE}/", wait_until="load")
        assert page.title() == "Example Shop"
        wait_for_findings(proxy, run, BEFORE_LEAVING, with_value, WAIT_SECONDS,
                          "for posthog, amplitude, bugsnag and countly")
        state = page.evaluate("() => ({errors: window.pageErrors, amplitude: window.amplitudeCode,"
                              " bugsnag: window.bugsnagDelivered})")
        failed_on_page = list(run.failed)
        # Leave the page as a user does: Datadog sends its batches on page exit (the page
        # reports those requests as aborted once it is gone; the proxy's dump has them).
        page.goto(f"https://{SITE}/thanks.html", wait_until="load")
        wait_for_findings(proxy, run, AFTER_LEAVING, with_value, WAIT_SECONDS, "for datadog after leaving the page")
        time.sleep(0.5)  # a retry, had any SDK been unhappy with an answer, would show up by now

    # ---- Delivery. The page asked for nothing but the site and the trackers...
    assert run.hosts <= {SITE} | ALL_TRACKER_HOSTS, run.hosts - {SITE} - ALL_TRACKER_HOSTS
    assert not failed_on_page, failed_on_page
    # ...and neither did Chromium, as far as the proxy saw; every tracker request got the
    # rule's 2xx answer from the proxy itself...
    flows = proxy_flows(proxy)
    assert {flow.request.pretty_host for flow in flows} <= {SITE} | ALL_TRACKER_HOSTS
    tracker_flows = [flow for flow in flows if flow.request.pretty_host != SITE]
    bad = not_answered(tracker_flows)
    assert not bad, bad
    for tracker, hosts in TRACKER_HOSTS.items():
        assert any(flow.request.pretty_host in hosts and flow.request.method == "POST" for flow in tracker_flows), \
            f"{tracker}: no request reached the proxy"
    # ...which satisfied the SDKs: no error callback fired, no request was retried, no
    # endpoint was called more than a few times (a rejected answer makes these SDKs retry
    # or resend their queue every flush interval).
    assert state == {"errors": [], "amplitude": 200, "bugsnag": True}, state
    retried = [flow.request.pretty_url[:160] for flow in tracker_flows
               if any("retry" in key and value not in ("", "0") for key, value in flow.request.query.items())]
    assert not retried, retried
    calls = calls_per_endpoint(tracker_flows)
    assert max(calls.values()) <= 5, calls

    # ---- What leakmap stored: each honey value with its SDK's tracker, type, endpoint, path.
    rows = findings(proxy.db)
    ph, amp, rum, logs, bs, cly = (HONEY[k] for k in ("posthog", "amplitude", "dd-rum", "dd-logs", "bugsnag", "countly"))
    n = r"\[\d+\]"
    expected = [
        ("posthog", "capture", "user_id", ph["user"], rf"body\.batch{n}\.properties\.distinct_id"),
        ("posthog", "capture", "email", ph["email"], rf"body\.batch{n}\.\$set\.email"),
        ("posthog", "capture", "custom_property", ph["prop"], rf"body\.batch{n}\.properties\.honey_prop"),
        ("posthog", "flags", "user_id", ph["user"], r"body\.distinct_id"),
        ("posthog", "flags", "email", ph["email"], r"body\.person_properties\.email"),
        ("posthog", "capture", "project_key", POSTHOG_TOKEN, r"body\.api_key"),
        ("posthog", "flags", "project_key", POSTHOG_TOKEN, r"body\.token"),
        ("posthog", "remote_config", "project_key", POSTHOG_TOKEN, r"path\.token"),
        ("amplitude", "httpapi", "user_id", amp["user"], rf"body\.events{n}\.user_id"),
        ("amplitude", "httpapi", "email", amp["email"], rf"body\.events{n}\.user_properties\.\$set\.email"),
        ("amplitude", "httpapi", "custom_property", amp["prop"], rf"body\.events{n}\.event_properties\.honey_prop"),
        ("amplitude", "httpapi", "project_key", AMPLITUDE_KEY, r"body\.api_key"),
        ("amplitude", "remote_config", "project_key", AMPLITUDE_KEY, r"path\.api_key"),
        ("datadog", "rum", "user_id", rum["user"], rf"body{n}\.usr\.id"),
        ("datadog", "rum", "email", rum["email"], rf"body{n}\.usr\.email"),
        ("datadog", "rum", "custom_property", rum["prop"], rf"body{n}\.context\.honey_prop"),
        ("datadog", "rum", "project_key", DATADOG_CLIENT_TOKEN, r"query\.dd-api-key"),
        ("datadog", "rum", "project_key", DATADOG_APP_ID, rf"body{n}\.application\.id"),
        ("datadog", "logs", "user_id", logs["user"], rf"body(?:{n})?\.usr\.id"),
        ("datadog", "logs", "email", logs["email"], rf"body(?:{n})?\.usr\.email"),
        ("datadog", "logs", "custom_property", logs["prop"], rf"body(?:{n})?\.honey_prop"),
        ("datadog", "logs", "project_key", DATADOG_CLIENT_TOKEN, r"query\.dd-api-key"),
        ("bugsnag", "notify", "user_id", bs["user"], rf"body\.events{n}\.user\.id"),
        ("bugsnag", "notify", "email", bs["email"], rf"body\.events{n}\.user\.email"),
        ("bugsnag", "notify", "custom_property", bs["prop"], rf"body\.events{n}\.metaData\.checkout\.honey_prop"),
        ("bugsnag", "sessions", "user_id", bs["user"], rf"body\.sessions{n}\.user\.id"),
        ("bugsnag", "sessions", "email", bs["email"], rf"body\.sessions{n}\.user\.email"),
        ("bugsnag", "notify", "project_key", BUGSNAG_KEY, r"body\.apiKey|header\.bugsnag-api-key"),
        ("bugsnag", "sessions", "project_key", BUGSNAG_KEY, r"body\.apiKey|header\.bugsnag-api-key"),
        # Countly has no user id apart from the device id: sites that know the user pass it
        # as device_id, which the rule types installation_id.
        ("countly", "write", "installation_id", cly["user"], r"body\.device_id"),
        ("countly", "write", "email", cly["email"], r"body\.user_details\.email"),
        ("countly", "write", "custom_property", cly["prop"], rf"body\.events{n}\.segmentation\.honey_prop"),
        ("countly", "write", "project_key", COUNTLY_KEY, r"body\.app_key"),
        ("countly", "read", "installation_id", cly["user"], r"body\.device_id"),
    ]
    missing = [e for e in expected if not stored_at(rows, *e)]
    assert not missing, (missing, [(r["tracker"], r["endpoint"], r["data_type"], r["path"], r["value"][:60])
                                   for r in rows if any(r["value"] == e[3] for e in missing)])
    # No honey value leaked to (or was attributed to) another tracker.
    for sdk, tracker in (("posthog", "posthog"), ("amplitude", "amplitude"), ("dd-rum", "datadog"),
                         ("dd-logs", "datadog"), ("bugsnag", "bugsnag"), ("countly", "countly")):
        for value in HONEY[sdk].values():
            assert trackers_with(rows, value) == {tracker}, (sdk, value)
    # Attribution: the website, from the browser's Origin/Referer. (Not asserted for Datadog:
    # its rule types `service` as app_id, so a request is named after the `service` the site
    # configured, or, when the batch starts with one of the SDK's sampled telemetry events,
    # after "browser-rum-sdk".)
    for r in rows:
        if r["tracker"] != "datadog":
            assert (r["app"], r["app_signal"]) == (SITE, "first_party_site"), r
    assert_in_report(proxy, (v for honey in HONEY.values() for v in honey.values()))
