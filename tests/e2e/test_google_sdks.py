"""A real Firebase JS SDK in a real browser: Chromium loads a page that runs the npm `firebase`
package's compat bundles (tests/js/google) through a real `mitmdump -s addons/leakmap.py`.

Nothing leaves the machine: the proxy serves the page (tests/support/serve_pages.py) and, in
block mode, answers Firebase Installations and Remote Config with the replies the rule
declares (a created installation with an auth token; a Remote Config "no template" answer),
which the SDK accepts. Chromium resolves no host name itself.

What runs: initializeApp, then Remote Config fetchAndActivate, which first creates a Firebase
installation (POST firebaseinstallations.googleapis.com .../installations, with the API key and
heartbeat headers) and then fetches the config (POST firebaseremoteconfig.googleapis.com
...:fetch?key=, with the FID and its token). Auth, App Check, Performance and the Analytics
module's gtag.js load run in tests/e2e/test_google_firebase_web.py. GA4 hits themselves are not
run: gtag.js is neither open source nor published on npm, so it cannot be served offline (the
proxy answers its load with an empty script); they are covered by the golden tests
(tests/golden/test_google_analytics.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.chromium import (SITE, build_site, chromium_page, findings, proxy_flows, require_browser, serve_site,
                              wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("google_firebase", "firebase (npm: installations, remote-config) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
FIREBASE = ROOT / "tests" / "js" / "google" / "node_modules" / "firebase"
BUNDLES = ("firebase-app-compat.js", "firebase-installations-compat.js", "firebase-remote-config-compat.js")

FIS_HOST = "firebaseinstallations.googleapis.com"
RC_HOST = "firebaseremoteconfig.googleapis.com"
TRACKER_HOSTS = (FIS_HOST, RC_HOST)
# Honey values: the app's Firebase config, unique so each finding has one source.
API_KEY = "AIzaSyHoneyKey-leakmap0123456789abcdef"
PROJECT = "honey-project-7c2e"
APP_ID = "1:246813579024:web:honeyapp0a1b2c3d4e5f"
WAIT_SECONDS = 30

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Shop</title>
%(scripts)s
</head>
<body>
<h1>Example Shop</h1>
<script>
  window.sdk = {done: false, error: null, localFid: null, fid: null};
  firebase.initializeApp({apiKey: %(api_key)s, projectId: %(project)s, appId: %(app_id)s,
                          messagingSenderId: "246813579024"});
  const rc = firebase.remoteConfig();
  rc.settings.minimumFetchIntervalMillis = 0;
  rc.settings.fetchTimeoutMillis = 20000;
  // getId() answers at once with the FID generated on the device (sent in the create
  // request); after registration the SDK adopts the FID the server returns.
  firebase.installations().getId()
    .then(fid => { window.sdk.localFid = fid; return rc.fetchAndActivate(); })
    .then(() => firebase.installations().getId())
    .then(fid => { window.sdk.fid = fid; window.sdk.done = true; })
    .catch(e => { window.sdk.error = String(e); window.sdk.done = true; });
</script>
</body>
</html>
"""


def test_firebase_js_sdk_installations_and_remote_config(proxy_factory, tmp_path: Path) -> None:
    require_browser([FIREBASE], "tests/js/google")
    page_html = PAGE % {
        "scripts": "\n".join(f'<script src="/{name}"></script>' for name in BUNDLES),
        "api_key": json.dumps(API_KEY), "project": json.dumps(PROJECT), "app_id": json.dumps(APP_ID)}
    site = build_site(tmp_path, {"index.html": page_html}, {name: FIREBASE / name for name in BUNDLES})
    proxy = serve_site(proxy_factory, site)

    with chromium_page(proxy, (SITE, *TRACKER_HOSTS)) as run:
        run.page.goto(f"http://{SITE}/", wait_until="load")
        wait_until(lambda: run.page.evaluate("window.sdk.done"),
                   lambda: f"(responses {run.responses_from(TRACKER_HOSTS)})", WAIT_SECONDS, interval=0.2)
        state = run.page.evaluate("window.sdk")
    log = run.proxy_log
    responses = run.responses_from(TRACKER_HOSTS)

    # The SDK accepted the proxy's answers: no error, and it got an installation id.
    assert state["error"] is None, state
    local_fid, fid = state["localFid"], state["fid"]
    assert local_fid and fid, state
    assert responses and all(marker == "answered-by-proxy" for _, _, marker in responses), responses
    assert {url.split("?")[0] for url, status, _ in responses if status == 200} >= {
        f"https://{FIS_HOST}/v1/projects/{PROJECT}/installations",
        f"https://{RC_HOST}/v1/projects/{PROJECT}/namespaces/firebase:fetch"}, responses

    rows = [row for row in findings(proxy.db) if row["tracker"] == "google_firebase"]
    assert rows, f"no Firebase findings; mitmdump log:\n{log}"

    def found(endpoint: str, data_type: str, value: str) -> list[dict]:
        return [row for row in rows if (row["endpoint"], row["data_type"], row["value"]) == (endpoint, data_type, value)]

    # Firebase Installations: the FID the SDK generated, the app id, project and API key.
    assert [r for r in found("installations", "installation_id", local_fid) if r["path"] == "body.fid"], rows
    assert found("installations", "project_key", APP_ID)
    assert found("installations", "project_key", API_KEY)
    assert found("installations", "project_key", PROJECT)
    assert any(row["path"].startswith("header.x-firebase-client.heartbeats") and row["data_type"] == "sdk_version"
               for row in rows if row["endpoint"] == "installations"), rows
    # Remote Config: the FID as app_instance_id (the device's own, or the one the proxy's reply
    # assigned, depending on which the SDK had cached when it fetched), the app id, ?key=.
    rc_fids = [r["value"] for r in rows if r["endpoint"] == "remote_config_fetch" and r["path"] == "body.app_instance_id"
               and r["data_type"] == "installation_id"]
    assert rc_fids and set(rc_fids) <= {local_fid, fid}, rows
    assert found("remote_config_fetch", "project_key", APP_ID)
    assert [r for r in found("remote_config_fetch", "project_key", API_KEY) if r["path"] == "query.key"]
    assert {(row["app"], row["app_signal"]) for row in rows} == {(SITE, "first_party_site")}

    hosts = {flow.request.pretty_host for flow in proxy_flows(proxy)}
    assert hosts <= {SITE, *TRACKER_HOSTS}, hosts
