"""End to end with a real SDK: Meta's official `facebook-nodejs-business-sdk` (npm, pinned in
tests/js/social) sends a Conversions API event through a real `mitmdump -s addons/leakmap.py`
in block mode; every honey value must come out with the right tracker, endpoint and data type.

The other trackers of this group have no real client that runs here: the Meta Pixel, TikTok
Pixel, Clarity and Hotjar scripts are served only from their CDNs (the npm packages
`@microsoft/clarity` and `@hotjar/browser` only inject a <script> tag that loads them), and the
TikTok Business SDK is Android/iOS only. Their formats are covered by golden tests.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.real_client("facebook", "facebook-nodejs-business-sdk (npm)")]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "social"

HONEY = {
    "token": "EAAhoneysystemusertoken7731",
    "pixel": "987654321098765",
    "email": "Alice.Honey@example.net",
    "phone": "+44 7700 900123",
    "user_id": "honey-user-7731",
    "ip": "203.0.113.9",
    "fbp": "fb.1.1767225600123.7731773177",
    "fbc": "fb.1.1767225600123.IwARhoneyclick",
    "url": "https://shop.example.net/checkout?honey=1",
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def findings(db: Path) -> set[tuple[str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT r.tracker, r.endpoint, f.data_type, f.value, f.detector FROM findings f "
                            "JOIN requests r ON r.id = f.request_id").fetchall()
    return set(rows)


@pytest.fixture
def node_sdk() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "facebook-nodejs-business-sdk").is_dir():
        pytest.skip("tests/js/social/node_modules is missing: run `npm ci` in tests/js/social")
    return JS_DIR / "capi.js"


def test_conversions_api_node_sdk(proxy_factory, node_sdk):
    proxy = proxy_factory(f"leakmap_honey=email={HONEY['email']}")
    args = [HONEY[k] for k in ("token", "pixel", "email", "phone", "user_id", "ip", "fbp", "fbc", "url")]
    result = subprocess.run(["node", str(node_sdk), *args], env=proxy.client_env(), capture_output=True,
                            text=True, timeout=45, cwd=JS_DIR)
    assert result.returncode == 0, result.stderr
    # The SDK accepted the block-mode reply as a successful Conversions API response.
    assert result.stdout.startswith("sent ") and '"_events_received":1' in result.stdout, result.stdout
    log = proxy.stop()
    assert "Traceback" not in log, log
    found = findings(proxy.db)
    capi = {(t, v, d) for tracker, endpoint, t, v, d in found if (tracker, endpoint) == ("facebook", "conversions_api")}
    # UserData.normalize: contact data lower-cased and SHA-256 hashed; phone digits only.
    assert ("hashed_email", sha256(HONEY["email"].lower()), "rule") in capi
    assert ("hashed_phone", sha256("447700900123"), "rule") in capi
    # ... and the honey email is recognised inside that hash by the indicator detector.
    assert ("email", HONEY["email"], "indicator") in capi
    assert ("user_id", HONEY["user_id"], "rule") in capi
    assert ("public_ip", HONEY["ip"], "rule") in capi
    assert ("browser_id", HONEY["fbp"], "rule") in capi
    assert ("other_id", HONEY["fbc"], "rule") in capi
    assert ("page_url", HONEY["url"], "rule") in capi
    assert ("project_key", HONEY["pixel"], "rule") in capi
    assert ("auth_token", HONEY["token"], "rule") in capi
    assert ("event_name", "Purchase", "rule") in capi
    assert ("revenue", "19.99", "rule") in capi
