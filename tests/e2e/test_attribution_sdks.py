"""Real attribution web SDKs in a real browser: Chromium loads a shop page that runs the
official Adjust (npm @adjustcom/adjust-web-sdk), Singular (npm singular-sdk) and Branch
(npm branch-sdk) web SDKs through a real `mitmdump -s addons/leakmap.py` in block mode.

Nothing leaves the machine: the proxy serves the page (tests/support/serve_pages.py; the SDK
files are copied into the served directory at test time) and answers the SDKs' requests
itself with the replies the rules declare (Adjust JSON, Singular {"status":"ok"}, Branch's
JSONP fingerprint script and open/event JSON). Chromium talks only to the proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.chromium import (SITE, build_site, chromium_page, findings, require_browser, serve_site, wait_for_findings,
                              wait_until, with_value)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("adjust", "@adjustcom/adjust-web-sdk (npm) in Chromium"),
              pytest.mark.real_client("branch", "branch-sdk (npm) in Chromium"),
              pytest.mark.real_client("singular", "singular-sdk (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
MODULES = ROOT / "tests" / "js" / "attribution" / "node_modules"
SDK_FILES = {
    "adjust.js": MODULES / "@adjustcom" / "adjust-web-sdk" / "dist" / "adjust-latest.min.js",
    "singular.js": MODULES / "singular-sdk" / "dist" / "singular-sdk.js",
    "branch.js": MODULES / "branch-sdk" / "dist" / "build.min.js",
}

TRACKER_HOSTS = ("app.adjust.com", "sdk-api-v1.singular.net", "api2.branch.io", "app.link")
ADJUST_TOKEN = "honeyadjtokn"
SINGULAR_KEY = "honey_singular_key"
SINGULAR_PRODUCT = "example.shop.web"
BRANCH_KEY = "key_live_honeyHoneyHoneyHoneyHoneyHoney12"  # key_(live|test)_ + 32 alphanumerics
ADJUST_EMAIL = "adjust.honey@example.org"
SINGULAR_USER = "honey-singular-user-5e1"
SINGULAR_EMAIL = "singular.honey@example.org"
BRANCH_EMAIL = "branch.honey@example.org"
WAIT_SECONDS = 40

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Shop</title>
<script src="/adjust.js"></script><script src="/singular.js"></script><script src="/branch.js"></script>
</head><body><h1>Example Shop</h1>
<script>
  window.done = {adjust: false, singular: false, branch: false, branchError: null};
  Adjust.initSdk({appToken: %(adjust_token)s, environment: "sandbox",
                  attributionCallback: function () {}});
  Adjust.trackEvent({eventToken: "ev1tok", callbackParams: [{key: "user_email", value: %(adjust_email)s}]});
  var config = new SingularConfig(%(singular_key)s, "honeysecret", %(singular_product)s)
      .withCustomUserId(%(singular_user)s);
  singularSdk.init(config);
  singularSdk.event("checkout", {user_email: %(singular_email)s});
  branch.init(%(branch_key)s, {no_journeys: true}, function (err) {
    window.done.branchError = err ? String(err) : null;
    branch.logEvent("signup", {user_email: %(branch_email)s}, function (e2) {
      window.done.branch = !e2;
    });
  });
</script></body></html>
""" % {name: json.dumps(value) for name, value in {
    "adjust_token": ADJUST_TOKEN, "adjust_email": ADJUST_EMAIL, "singular_key": SINGULAR_KEY,
    "singular_product": SINGULAR_PRODUCT, "singular_user": SINGULAR_USER, "singular_email": SINGULAR_EMAIL,
    "branch_key": BRANCH_KEY, "branch_email": BRANCH_EMAIL}.items()}


def test_attribution_web_sdks_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser(SDK_FILES.values(), "tests/js/attribution")
    proxy = serve_site(proxy_factory, build_site(tmp_path, {"index.html": PAGE}, SDK_FILES))

    expected = [("adjust", "email", ADJUST_EMAIL), ("singular", "user_id", SINGULAR_USER),
                ("singular", "email", SINGULAR_EMAIL), ("branch", "email", BRANCH_EMAIL)]
    with chromium_page(proxy, (SITE, *TRACKER_HOSTS)) as run:
        page = run.page
        page.goto(f"http://{SITE}/", wait_until="load")

        wait_for_findings(proxy, run, expected, with_value, WAIT_SECONDS)

        def branch_logged() -> dict | None:
            done = page.evaluate("() => window.done")
            return done if done["branch"] else None

        state = wait_until(branch_logged, lambda: f"for Branch (responses {run.responses_from(TRACKER_HOSTS)})",
                           WAIT_SECONDS)
    responses = run.responses_from(TRACKER_HOSTS)

    # Every tracker request was answered by the proxy, with a success status.
    assert responses and all(status == 200 and marker == "answered-by-proxy" for _, status, marker in responses), responses
    assert state["branchError"] is None, state

    rows = findings(proxy.db)
    adjust = with_value(rows, "adjust", "email", ADJUST_EMAIL)
    assert any(r["path"] == "body.callback_params.user_email" and r["endpoint"] == "activity" for r in adjust), adjust
    assert with_value(rows, "adjust", "project_key", ADJUST_TOKEN)
    assert any(r["path"] == "query.custom_user_id" for r in with_value(rows, "singular", "user_id", SINGULAR_USER))
    assert with_value(rows, "singular", "project_key", SINGULAR_KEY)
    assert with_value(rows, "singular", "app_id", SINGULAR_PRODUCT)
    branch = with_value(rows, "branch", "email", BRANCH_EMAIL)
    assert any(r["endpoint"] == "event" and r["path"] == "body.custom_data.user_email" for r in branch), branch
    assert with_value(rows, "branch", "project_key", BRANCH_KEY)
    # web_uuid (Adjust) and the Branch page URL are there too, typed by the rules
    assert [r for r in rows if r["tracker"] == "adjust" and r["data_type"] == "installation_id"]
    assert [r for r in rows if r["tracker"] == "branch" and r["data_type"] == "page_url"]
    # Attribution: the website, from the browser's Origin/Referer (or Singular's app id).
    for r in rows:
        if r["tracker"] in ("adjust", "branch"):
            assert (r["app"], r["app_signal"]) == (SITE, "first_party_site"), r
