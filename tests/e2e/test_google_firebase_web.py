"""The modular Firebase JS SDK (npm `firebase`, its browser ES-module builds) in a real Chromium,
through a real `mitmdump -s addons/leakmap.py` in block mode: Authentication with App Check,
then Performance Monitoring with Analytics.

The page imports the SDK the way sites load it from the CDN
(`https://www.gstatic.com/firebasejs/<version>/firebase-*.js`); an import map points those
URLs at the same files from node_modules, which the proxy serves (tests/support/serve_pages.py).
Every Firebase request is answered by the rule's block-mode reply: Auth gets an ID token,
refresh token and user record, App Check a token, Installations a FID, Remote Config "no
template" (Performance then logs everything), the Analytics web config a 403 (the SDK falls back
to the page's measurement id) and gtag.js an empty script. The tests assert the findings of the
requests the SDK sent, not what the SDK did with the answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.chromium import (SITE, build_site, chromium_page, findings, proxy_flows, require_browser, serve_site,
                              wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent.parent
FIREBASE = ROOT / "tests" / "js" / "google" / "node_modules" / "firebase"
CDN = "https://www.gstatic.com/firebasejs/{version}/"
MODULES = ("firebase-app.js", "firebase-auth.js", "firebase-app-check.js", "firebase-performance.js",
           "firebase-analytics.js")

# Honey values: the app's Firebase config and what the user types, each unique.
API_KEY = "AIzaSyHoneyWebKey-leakmap0123456789abcd"
PROJECT = "honey-web-project-31d9"
APP_ID = "1:135792468013:web:honeyweb0a1b2c3d4e5f"
MEASUREMENT_ID = "G-HONEYWEB42"
EMAIL = "jo.honey.auth@example.org"
PASSWORD = "Honey-Pa55-7f3c!"
DEBUG_TOKEN = "4f6d2c1a-9b8e-4c7d-a6f5-0e1d2c3b4a59"
COUPON = "HONEY-PERF-COUPON-88"
TRACE = "checkout_honey_trace"
WAIT_SECONDS = 45

AUTH_HOSTS = ("identitytoolkit.googleapis.com", "securetoken.googleapis.com", "content-firebaseappcheck.googleapis.com")
PERF_HOSTS = ("firebaseinstallations.googleapis.com", "firebaseremoteconfig.googleapis.com",
              "firebaselogging-pa.googleapis.com", "firebase.googleapis.com", "www.googletagmanager.com")

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Shop</title>
<script type="importmap">%(importmap)s</script>
</head>
<body>
<h1>Example Shop</h1>
<script>window.sdk = {done: false, error: null, steps: []};</script>
<script type="module">
const H = %(honey)s;
const cdn = H.cdn;
const step = name => window.sdk.steps.push(name);
try {
%(body)s
} catch (e) {
  window.sdk.error = String(e && e.code || e);
}
window.sdk.done = window.sdk.done || !!window.sdk.error;
</script>
</body>
</html>
"""

AUTH_BODY = """
  const {initializeApp} = await import(cdn + "firebase-app.js");
  const authSdk = await import(cdn + "firebase-auth.js");
  const {initializeAppCheck, CustomProvider, getToken} = await import(cdn + "firebase-app-check.js");
  // App Check's debug provider: the page's debug token is exchanged for an App Check token,
  // which Auth then sends with each call.
  self.FIREBASE_APPCHECK_DEBUG_TOKEN = H.debugToken;
  const app = initializeApp({apiKey: H.apiKey, projectId: H.project, appId: H.appId,
                             authDomain: H.project + ".firebaseapp.com"});
  const appCheck = initializeAppCheck(app, {
    provider: new CustomProvider({getToken: () => Promise.reject(new Error("debug mode only"))}),
    isTokenAutoRefreshEnabled: false});
  await getToken(appCheck); step("appcheck");
  const auth = authSdk.initializeAuth(app, {persistence: authSdk.inMemoryPersistence});
  const created = await authSdk.createUserWithEmailAndPassword(auth, H.email, H.password); step("signUp");
  await created.user.getIdToken(true); step("refresh");
  await authSdk.signOut(auth);
  await authSdk.signInWithEmailAndPassword(auth, H.email, H.password); step("signIn");
  await authSdk.sendPasswordResetEmail(auth, H.email); step("sendOobCode");
  window.sdk.done = true;
"""

PERF_BODY = """
  const {initializeApp} = await import(cdn + "firebase-app.js");
  const {getPerformance, trace} = await import(cdn + "firebase-performance.js");
  const {getAnalytics} = await import(cdn + "firebase-analytics.js");
  const app = initializeApp({apiKey: H.apiKey, projectId: H.project, appId: H.appId,
                             measurementId: H.measurementId});
  const perf = getPerformance(app);
  const t = trace(perf, H.trace);
  t.putAttribute("coupon", H.coupon);
  t.start();
  await new Promise(resolve => setTimeout(resolve, 300));
  t.stop(); step("trace");
  getAnalytics(app); step("analytics");
  window.sdk.done = true;   // the batches leave later: the test waits for them at the proxy
"""


def run_page(proxy_factory, tmp_path: Path, body: str, hosts: tuple[str, ...],
             until: Any = None) -> tuple[dict, list[dict], Any]:
    """Serve the page, run it in confined Chromium until the script is done and *until(rows)*
    holds (or time runs out), then stop the proxy. Returns (page state, findings, proxy)."""
    require_browser([FIREBASE], "tests/js/google")
    version = json.loads((FIREBASE / "package.json").read_text())["version"]
    cdn = CDN.format(version=version)
    honey = {"cdn": cdn, "apiKey": API_KEY, "project": PROJECT, "appId": APP_ID, "measurementId": MEASUREMENT_ID,
             "email": EMAIL, "password": PASSWORD, "debugToken": DEBUG_TOKEN, "coupon": COUPON, "trace": TRACE}
    importmap = {"imports": {cdn + name: f"/{name}" for name in MODULES}}
    page_html = PAGE % {"importmap": json.dumps(importmap), "honey": json.dumps(honey), "body": body}
    site = build_site(tmp_path, {"index.html": page_html}, {name: FIREBASE / name for name in MODULES})
    proxy = serve_site(proxy_factory, site)
    with chromium_page(proxy, (SITE, *hosts)) as run:
        run.page.goto(f"http://{SITE}/", wait_until="load")
        wait_until(lambda: run.page.evaluate("window.sdk.done") and (not until or until(firebase_rows(proxy.db))),
                   lambda: f"(page state {run.page.evaluate('window.sdk')})", WAIT_SECONDS, interval=0.3)
        state = run.page.evaluate("window.sdk")
    rows = firebase_rows(proxy.db)
    assert rows, f"no findings; mitmdump log:\n{run.proxy_log}"
    sent = {flow.request.pretty_host for flow in proxy_flows(proxy)}
    assert sent <= {SITE, *hosts}, sent
    return state, rows, proxy


def firebase_rows(db: Path) -> list[dict]:
    return [r for r in findings(db) if r["tracker"] in ("google_firebase", "google_analytics")]


def found(rows: list[dict], endpoint: str, data_type: str, value: str, path: str | None = None) -> list[dict]:
    return [r for r in rows if (r["endpoint"], r["data_type"], r["value"]) == (endpoint, data_type, value)
            and (path is None or r["path"] == path)]


@pytest.mark.real_client("google_firebase", "firebase (npm: auth, app-check debug provider) in Chromium")
def test_firebase_auth_and_app_check(proxy_factory, tmp_path: Path) -> None:
    state, rows, _ = run_page(proxy_factory, tmp_path, AUTH_BODY, AUTH_HOSTS)
    assert state["error"] is None and state["steps"] == ["appcheck", "signUp", "refresh", "signIn", "sendOobCode"], state

    # App Check: the debug token is a credential; the app id and key name the app.
    assert found(rows, "app_check", "auth_token", DEBUG_TOKEN, "body.debug_token"), rows
    assert found(rows, "app_check", "project_key", APP_ID, "path.app_id")
    assert found(rows, "app_check", "project_key", API_KEY, "query.key")
    # Auth: what the user typed, labelled as email and password, in sign-up and sign-in.
    for path in ("body.email", "body.password"):
        data_type, value = ("email", EMAIL) if path == "body.email" else ("password", PASSWORD)
        assert len(found(rows, "auth", data_type, value, path)) >= 2, (data_type, rows)
    # The ID token the SDK got back is sent with the account lookup; the App Check token rides along.
    assert [r for r in rows if r["endpoint"] == "auth" and r["path"] == "body.idToken" and r["data_type"] == "auth_token"]
    assert [r for r in rows if r["endpoint"] == "auth" and r["path"] == "header.x-firebase-appcheck"
            and r["data_type"] == "auth_token"], rows
    assert found(rows, "auth", "project_key", API_KEY, "query.key")
    assert found(rows, "auth", "project_key", APP_ID, "header.x-firebase-gmpid")
    assert [r for r in rows if r["endpoint"] == "auth" and r["path"] == "header.x-client-version"
            and r["data_type"] == "sdk_version" and "/JsCore/" in r["value"]], rows
    # getIdToken(true): the refresh token goes to the Secure Token Service.
    assert [r for r in rows if r["endpoint"] == "auth_token_refresh" and r["path"] == "body.refresh_token"
            and r["data_type"] == "auth_token"], rows
    assert {(r["app"], r["app_signal"]) for r in rows} == {(SITE, "first_party_site")}


@pytest.mark.real_client("google_firebase", "firebase (npm: performance, analytics) in Chromium")
@pytest.mark.real_client("google_analytics", "firebase (npm: analytics, gtag.js loader) in Chromium")
def test_firebase_performance_and_analytics_loader(proxy_factory, tmp_path: Path) -> None:
    def perf_batch_arrived(rows: list[dict]) -> bool:
        return any(r["endpoint"] == "firelog_web" and r["value"] == COUPON for r in rows)

    state, rows, _ = run_page(proxy_factory, tmp_path, PERF_BODY, PERF_HOSTS, until=perf_batch_arrived)
    assert state["error"] is None, state

    perf = [r for r in rows if r["endpoint"] == "firelog_web"]
    assert [r for r in perf if r["data_type"] == "custom_property" and r["value"] == COUPON
            and r["path"].endswith(".trace_metric.custom_attributes.coupon")], perf
    assert [r for r in perf if r["data_type"] == "event_name" and r["value"] == TRACE], perf
    assert [r for r in perf if r["data_type"] == "project_key" and r["value"] == APP_ID
            and r["path"].endswith(".application_info.google_app_id")], perf
    assert [r for r in perf if r["data_type"] == "page_url" and r["value"] == f"http://{SITE}/"
            and r["path"].endswith(".web_app_info.page_url")], perf
    fids = {r["value"] for r in rows if r["endpoint"] == "installations" and r["path"] == "body.fid"}
    assert fids and {r["value"] for r in perf if r["data_type"] == "installation_id"} & (
        fids | {"cLeakmapBlocked00000000"}), (fids, perf)
    assert not [r for r in perf if r["path"] == "query.key"], "the transport key is Firebase's, not the site's"
    # Performance's Remote Config fetch (namespace fireperf) and the Analytics config fetch.
    assert found(rows, "remote_config_fetch", "project_key", APP_ID, "body.app_id")
    assert found(rows, "web_config", "project_key", APP_ID, "path.app_id")
    # Analytics fell back to the page's measurement id and loaded gtag.js with it.
    loader = [r for r in rows if r["tracker"] == "google_analytics" and r["endpoint"] == "tag_loader"]
    assert [r for r in loader if (r["data_type"], r["value"], r["path"]) == ("project_key", MEASUREMENT_ID, "query.id")], loader
    assert [r for r in loader if r["data_type"] == "page_url" and r["path"] == "header.referer"
            and SITE in r["value"]], loader
    assert {(r["app"], r["app_signal"]) for r in rows} == {(SITE, "first_party_site")}
