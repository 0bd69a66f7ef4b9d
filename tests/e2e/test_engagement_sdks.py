"""End to end with real SDKs: the official Sentry and Bugsnag clients (PyPI `sentry-sdk`,
`bugsnag`; npm `@sentry/node` from tests/js/engagement) send honey values through a real
`mitmdump -s addons/leakmap.py` in block mode. Each honey value must come out of the
findings store with the right tracker, endpoint and data type.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("sentry", "sentry-sdk (PyPI)"),
    pytest.mark.real_client("sentry", "@sentry/node (npm)"),
    pytest.mark.real_client("bugsnag", "bugsnag (PyPI)"),
]

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_DIR = ROOT / "tests" / "js" / "engagement"

HONEY = {
    "user_id": "honey-eng-user-5c1d",
    "email": "honey.eng@example.net",
    "username": "honeyeng",
    "breadcrumb": "opened honey invoice 9931",
    "message": "honey payment failure 4417",
    "sentry_key": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "bugsnag_key": "f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4",
    "hostname": "honey-host-7",
}

SENTRY_SCRIPT = """
import sys, sentry_sdk
h = dict(arg.split("=", 1) for arg in sys.argv[1:])
sentry_sdk.init(dsn=f"https://{h['sentry_key']}@o4509.ingest.us.sentry.io/4509001",
                release="honey-app@1.2.3", send_default_pii=True, default_integrations=False,
                server_name=h["hostname"])
sentry_sdk.set_user({"id": h["user_id"], "email": h["email"], "username": h["username"]})
sentry_sdk.add_breadcrumb(message=h["breadcrumb"], category="ui.click")
sentry_sdk.capture_message(h["message"], level="error")
sentry_sdk.flush(timeout=20)
print("sent")
"""

BUGSNAG_SCRIPT = """
import sys, bugsnag
h = dict(arg.split("=", 1) for arg in sys.argv[1:])
client = bugsnag.Client(api_key=h["bugsnag_key"], app_version="4.5.6", hostname=h["hostname"],
                        asynchronous=False, auto_capture_sessions=False)
try:
    raise RuntimeError(h["message"])
except RuntimeError as e:
    client.notify(e, user={"id": h["user_id"], "email": h["email"], "name": h["username"]})
print("sent")
"""

NODE_SCRIPT = """
const Sentry = require("@sentry/node");
const h = Object.fromEntries(process.argv.slice(1).map(a => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
Sentry.init({dsn: `https://${h.sentry_key}@o4509.ingest.sentry.io/4509002`, release: "honey-node@2.0.0",
             sendDefaultPii: true, defaultIntegrations: false, debug: !!process.env.LEAKMAP_SENTRY_DEBUG});
Sentry.setUser({id: h.user_id, email: h.email, username: h.username});
Sentry.addBreadcrumb({message: h.breadcrumb, category: "ui.click"});
Sentry.captureMessage(h.message, "error");
Sentry.flush(20000).then(ok => { console.log(ok ? "sent" : "not flushed"); });
"""


def run(args: list[str], proxy, cwd: Path | None = None) -> None:
    env = proxy.client_env()
    # @sentry/node (transports/http.ts applyNoProxyOption) treats an empty no_proxy entry as
    # "every host is exempt", so an empty NO_PROXY would bypass the proxy: unset it instead.
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    result = subprocess.run([*args, *(f"{k}={v}" for k, v in HONEY.items())], env=env,
                            capture_output=True, text=True, timeout=45, cwd=cwd)
    assert result.returncode == 0 and "sent" in result.stdout, result.stdout + result.stderr


def findings(db: Path) -> set[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT r.tracker, r.endpoint, f.data_type, f.value FROM findings f "
                                "JOIN requests r ON r.id = f.request_id").fetchall())


def test_sentry_python_sdk(proxy_factory):
    pytest.importorskip("sentry_sdk")
    proxy = proxy_factory()
    run([sys.executable, "-c", SENTRY_SCRIPT], proxy)
    log = proxy.stop()
    found = findings(proxy.db)
    for data_type, key in (("user_id", "user_id"), ("email", "email"), ("username", "username"),
                           ("interaction", "breadcrumb"), ("error_report", "message"),
                           ("project_key", "sentry_key"), ("device_name", "hostname")):
        assert ("sentry", "envelope", data_type, HONEY[key]) in found, (data_type, sorted(found), log[-2000:])
    assert ("sentry", "envelope", "app_version", "honey-app@1.2.3") in found


def test_bugsnag_python_sdk(proxy_factory):
    pytest.importorskip("bugsnag")
    proxy = proxy_factory()
    run([sys.executable, "-c", BUGSNAG_SCRIPT], proxy)
    log = proxy.stop()
    found = findings(proxy.db)
    for data_type, key in (("user_id", "user_id"), ("name", "username"), ("project_key", "bugsnag_key"),
                           ("device_name", "hostname"), ("error_report", "message")):
        assert ("bugsnag", "notify", data_type, HONEY[key]) in found, (data_type, sorted(found), log[-2000:])
    assert ("bugsnag", "notify", "app_version", "4.5.6") in found


def test_sentry_node_sdk(proxy_factory):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@sentry" / "node").is_dir():
        pytest.skip(f"{NODE_DIR}/node_modules missing: run `npm ci` there")
    proxy = proxy_factory()
    run([node, "-e", NODE_SCRIPT], proxy, cwd=NODE_DIR)
    log = proxy.stop()
    found = findings(proxy.db)
    for data_type, key in (("user_id", "user_id"), ("email", "email"), ("interaction", "breadcrumb"),
                           ("error_report", "message")):
        assert ("sentry", "envelope", data_type, HONEY[key]) in found, (data_type, sorted(found), log[-2000:])
    assert ("sentry", "envelope", "project_key", HONEY["sentry_key"]) in found
