"""End to end with OneSignal's official server SDK, @onesignal/node-onesignal (npm, pinned in
tests/js/engage): a site's backend creates a user (honey external_id, an Email subscription
with the honey email, a honey tag), records a custom event with a honey property for that
user, and sends the user a push message, through a real `mitmdump -s addons/leakmap.py` in
block mode. This is a real upload of personal data to OneSignal, from the server side: each
honey value must come out of the findings store with the right endpoint, data type and path,
with the app id and the REST API key; every request must be decoded, and the SDK must have
accepted every answer.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from support.node import client_env, require_node
from mitmproxy import io

pytestmark = [pytest.mark.e2e, pytest.mark.real_client("onesignal", "@onesignal/node-onesignal (npm)")]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "engage"
APP_ID = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
REST_KEY = "os_v2_app_honeyrestkey7q2w3e4r5t6y7u8i9o0p"
HONEY = {"app_id": APP_ID, "rest_key": REST_KEY, "user": "honey-onesignal-user-6a2d",
         "email": "onesignal.honey@example.org", "prop": "honey-onesignal-prop-6a2d",
         "message": "Your honey order 5521 has shipped"}

# (endpoint, data_type, value, path, detector): what must be found.
EXPECTED = {
    ("users", "user_id", HONEY["user"], "body.identity.external_id", "rule"),
    # The Email subscription's token is the address: the rule's push_token type does not
    # apply to an email address, the email pattern types it.
    ("users", "email", HONEY["email"], "body.subscriptions[0].token", "pattern"),
    ("users", "custom_property", HONEY["prop"], "body.properties.tags.honey_prop", "rule"),
    ("users", "timezone", "Europe/Paris", "body.properties.timezone_id", "rule"),
    ("users", "project_key", APP_ID, "path.app_id", "rule"),
    ("users", "auth_token", f"Key {REST_KEY}", "header.authorization", "rule"),
    ("users", "sdk_version", "kind=sdk, sdk-name=onesignal-typescript, version=5.18.0", "header.os-usage-data", "rule"),
    ("custom-events", "event_name", "checkout_started", "body.events[0].name", "rule"),
    ("custom-events", "user_id", HONEY["user"], "body.events[0].external_id", "rule"),
    ("custom-events", "custom_property", HONEY["prop"], "body.events[0].payload.honey_prop", "rule"),
    ("custom-events", "project_key", APP_ID, "path.app_id", "rule"),
    ("send", "user_id", HONEY["user"], "body.include_aliases.external_id[0]", "rule"),
    ("send", "message_content", HONEY["message"], "body.contents.en", "rule"),
    ("send", "project_key", APP_ID, "body.app_id", "rule"),
    ("send", "auth_token", f"Key {REST_KEY}", "header.authorization", "rule"),
}


def test_onesignal_server_sdk_uploads_users_events_and_sends(proxy_factory) -> None:
    node = require_node(JS_DIR, ("@onesignal/node-onesignal", "undici"))
    proxy = proxy_factory()
    done = subprocess.run([node, "onesignal.js", json.dumps(HONEY)], env=client_env(proxy, JS_DIR), cwd=JS_DIR,
                          capture_output=True, text=True, timeout=60)
    log = proxy.stop()
    assert "Traceback" not in log, log

    # The SDK accepted each answer (it throws an ApiException on any status it does not expect).
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(" ", 2)[:2] for line in done.stdout.splitlines()] == [
        ["createUser", "ok"], ["createCustomEvents", "ok"], ["createNotification", "ok"]], done.stdout
    with proxy.dump.open("rb") as fh:
        flows = list(io.FlowReader(fh).stream())
    assert [(f.request.method, f.request.pretty_host, f.request.path) for f in flows] == [
        ("POST", "api.onesignal.com", f"/apps/{APP_ID}/users"),
        ("POST", "api.onesignal.com", f"/apps/{APP_ID}/custom_events"),
        ("POST", "api.onesignal.com", "/notifications")]
    assert all(f.response and 200 <= f.response.status_code < 300
               and f.response.headers.get("x-leakmap") == "answered-by-proxy" for f in flows)

    with sqlite3.connect(proxy.db) as conn:
        requests = conn.execute("SELECT tracker, endpoint, status, app, app_signal FROM requests").fetchall()
        found = set(conn.execute("SELECT r.endpoint, f.data_type, f.value, f.path, f.detector FROM findings f "
                                 "JOIN requests r ON r.id = f.request_id WHERE r.tracker = 'onesignal'").fetchall())
    assert [r[:3] for r in requests] == [("onesignal", "users", "decoded"), ("onesignal", "custom-events", "decoded"),
                                         ("onesignal", "send", "decoded")], requests
    missing = EXPECTED - found
    assert not missing, (sorted(missing), sorted(found))
    # A server has no Origin or Referer: the request is attributed by the app id it carries.
    assert {(app, signal) for *_, app, signal in requests} == {(f"onesignal project {APP_ID}", "payload_project_key")}, requests
