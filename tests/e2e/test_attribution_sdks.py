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
import shutil
import time
from pathlib import Path

import pytest
from support.chromium import CHROMIUM, confined_args, findings

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
SERVE_PAGES = ROOT / "tests" / "support" / "serve_pages.py"

SITE = "shop.example"
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


def chromium_args(proxy) -> list[str]:
    return confined_args(proxy, (SITE, *TRACKER_HOSTS))


def find(rows: list[dict], tracker: str, data_type: str, value: str) -> list[dict]:
    return [r for r in rows if (r["tracker"], r["data_type"], r["value"]) == (tracker, data_type, value)]


def test_attribution_web_sdks_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    missing = [str(p) for p in SDK_FILES.values() if not p.is_file()]
    if missing:
        pytest.skip(f"{missing} missing: run `npm ci` in tests/js/attribution")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed")

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    for name, source in SDK_FILES.items():
        shutil.copyfile(source, site / name)
    proxy = proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", scripts=(SERVE_PAGES,))

    responses: list[tuple[str, int, str | None]] = []
    expected = [("adjust", "email", ADJUST_EMAIL), ("singular", "user_id", SINGULAR_USER),
                ("singular", "email", SINGULAR_EMAIL), ("branch", "email", BRANCH_EMAIL)]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args(proxy))
        try:
            page = browser.new_page()
            page.on("response", lambda r: responses.append((r.url, r.status, r.headers.get("x-leakmap")))
                    if any(h in r.url for h in TRACKER_HOSTS) else None)
            page.goto(f"http://{SITE}/", wait_until="load")
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                rows = findings(proxy.db)
                state = page.evaluate("() => window.done")
                if all(find(rows, *e) for e in expected) and state["branch"]:
                    break
                assert time.monotonic() < deadline, (f"timed out: page state {state}; missing "
                                                     f"{[e for e in expected if not find(rows, *e)]}; {responses}")
                time.sleep(0.25)
        finally:
            browser.close()
    proxy.stop()

    # Every tracker request was answered by the proxy, with a success status.
    assert responses and all(status == 200 and marker == "answered-by-proxy" for _, status, marker in responses), responses
    assert state["branchError"] is None, state

    rows = findings(proxy.db)
    adjust = find(rows, "adjust", "email", ADJUST_EMAIL)
    assert any(r["path"] == "body.callback_params.user_email" and r["endpoint"] == "activity" for r in adjust), adjust
    assert find(rows, "adjust", "project_key", ADJUST_TOKEN)
    assert any(r["path"] == "query.custom_user_id" for r in find(rows, "singular", "user_id", SINGULAR_USER))
    assert find(rows, "singular", "project_key", SINGULAR_KEY)
    assert find(rows, "singular", "app_id", SINGULAR_PRODUCT)
    branch = find(rows, "branch", "email", BRANCH_EMAIL)
    assert any(r["endpoint"] == "event" and r["path"] == "body.custom_data.user_email" for r in branch), branch
    assert find(rows, "branch", "project_key", BRANCH_KEY)
    # web_uuid (Adjust) and the Branch page URL are there too, typed by the rules
    assert [r for r in rows if r["tracker"] == "adjust" and r["data_type"] == "installation_id"]
    assert [r for r in rows if r["tracker"] == "branch" and r["data_type"] == "page_url"]
    # Attribution: the website, from the browser's Origin/Referer (or Singular's app id).
    for r in rows:
        if r["tracker"] in ("adjust", "branch"):
            assert (r["app"], r["app_signal"]) == (SITE, "first_party_site"), r
