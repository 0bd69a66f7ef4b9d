"""Golden tests: CleverTap queue requests, built as clevertap-android-sdk@7129b1256 builds them
(CtApi.kt URL, query and headers; SendQueueRequestBody; QueueHeaderBuilder; EventQueueManager;
CTJsonConverter; encryption in transit in NetworkManager/NetworkEncryptionManager/AESGCMCrypt).
"""

from __future__ import annotations

import base64
import json

import pytest

from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules
from golden_support import assert_finding_at as has, compact, decoded_for, labels, make_request as request

TRACKER = "clevertap"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    rules, problems = load_rules()
    assert problems == []
    return Analyzer(rules)


decoded = decoded_for(TRACKER)

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
TOKEN = "TEST-b4c-12a"
GUID = "__g3f1a2b4c5d6e4f7a8b9c0d1e2f3a4b5c"
EMAIL = "ravi.clevertap@example.com"
PHONE = "+919876543210"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
URL = f"https://in1.clevertap-prod.com/a1?os=Android&t=70501&z={ACCOUNT_ID}&ts=1767225600"
HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("X-CleverTap-Account-ID", ACCOUNT_ID),
           ("X-CleverTap-Token", TOKEN)]


def queue() -> list:
    """SendQueueRequestBody: [meta header (QueueHeaderBuilder), records...]. The App Launched
    evtData keys are CTJsonConverter.from(); record keys from EventQueueManager."""
    meta = {"g": GUID, "type": "meta", "af": {"Version": "8.1.0", "Build": "801"}, "id": ACCOUNT_ID, "tk": TOKEN,
            "l_ts": 1767225000, "f_ts": 1767000000, "ct_pi": "Identity,Email", "ddnd": False,
            "rtl": [], "frs": True, "rct": 1766999000, "ait": 1766998000}
    launched = {"evtName": "App Launched", "evtData": {
        "Build": "801", "Version": "8.1.0", "OS Version": "14", "SDK Version": 70501, "GoogleAdID": GAID,
        "GoogleAdIDLimit": False, "Make": "samsung", "Model": "SM-A546E", "Carrier": "Jio 4G", "useIP": False,
        "OS": "Android", "wdt": 2.8, "hgt": 6.1, "dpi": 450, "dt": 1, "locale": "en_IN", "cc": "in",
        "wifi": True, "Radio": "4G"},
        "n": "MainActivity", "s": 1767225500, "pg": 1, "type": "event", "ep": 1767225600, "f": False,
        "lsl": 320, "pai": "in.example.grocery"}
    profile = {"profile": {"Email": EMAIL, "Phone": PHONE, "Name": "Ravi Kumar", "Identity": "cust-5512",
                           "Carrier": "Jio 4G", "cc": "in", "tz": "Asia/Kolkata"},
               "s": 1767225500, "pg": 1, "type": "profile", "ep": 1767225601, "f": False, "lsl": 320}
    charged = {"evtName": "Charged", "evtData": {"Amount": 499, "Items": [{"Category": "dairy", "Name": "Ghee"}]},
               "s": 1767225500, "pg": 1, "type": "event", "ep": 1767225602, "f": False, "lsl": 320}
    return [meta, launched, profile, charged]


def encrypt_in_transit(plaintext: str) -> dict:
    """NetworkManager.sendQueueApi + NetworkEncryptionManager.encryptResponse@7129b1256:
    AES-256 session key (CTKeyGenerator.generateSecretKey), AES/GCM/NoPadding with a random
    12-byte IV and the 128-bit tag appended to the ciphertext (AESGCMCrypt), every part
    base64 (android.util.Base64.NO_WRAP = standard alphabet, padded, no line breaks)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv = bytes(range(32)), bytes(range(100, 112))
    ciphertext = AESGCM(key).encrypt(iv, plaintext.encode("utf-8"), None)
    return {"itp": base64.b64encode(ciphertext).decode(), "itk": base64.b64encode(key).decode(),
            "itv": base64.b64encode(iv).decode()}


def decrypt_in_transit(body: dict) -> bytes:
    """The decryption the engine needs (see the report): the inverse of encrypt_in_transit."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(base64.b64decode(body["itk"])).decrypt(base64.b64decode(body["itv"]),
                                                          base64.b64decode(body["itp"]), None)


def test_queue_meta_app_launched_profile_charged(analyzer):
    a = analyzer.analyze(request("POST", URL, compact(queue()), HEADERS))
    decoded(a, "queue")
    has(a, "project_key", ACCOUNT_ID, "query.z")
    has(a, "installation_id", GUID, "body[0].g")
    has(a, "advertising_id", GAID, "body[1].evtData.GoogleAdID")
    has(a, "device_model", "SM-A546E", "body[1].evtData.Model")
    has(a, "manufacturer", "samsung", "body[1].evtData.Make")
    has(a, "carrier", "Jio 4G", "body[1].evtData.Carrier")
    has(a, "app_id", "in.example.grocery", "body[1].pai")
    has(a, "screen_name", "MainActivity", "body[1].n")
    has(a, "event_name", "App Launched", "body[1].evtName")
    has(a, "email", EMAIL, "body[2].profile.Email")
    has(a, "phone", PHONE, "body[2].profile.Phone")
    has(a, "name", "Ravi Kumar", "body[2].profile.Name")
    has(a, "user_id", "cust-5512", "body[2].profile.Identity")
    has(a, "timezone", "Asia/Kolkata", "body[2].profile.tz")
    has(a, "revenue", "499", "body[3].evtData.Amount")
    has(a, "install_time", "1766998000", "body[0].ait")
    assert a.identity["app_id"] == "in.example.grocery"
    fields = labels(a)
    # every App Launched key CTJsonConverter sets is mapped by name, not by the evtData catch-all
    for key in ("Build", "Version", "OS Version", "SDK Version", "GoogleAdIDLimit", "useIP", "OS", "wdt", "hgt",
                "dpi", "dt", "locale", "cc", "wifi", "Radio"):
        path = f"body[1].evtData.{key}" if " " not in key else f'body[1].evtData["{key}"]'
        assert fields[path] != "custom_property", key


def test_queue_encrypted_in_transit(analyzer):
    body = encrypt_in_transit(compact(queue()))
    assert json.loads(decrypt_in_transit(body)) == queue()  # the algorithm above is right
    a = analyzer.analyze(request("POST", URL, compact(body),
                                 HEADERS + [("X-CleverTap-Encryption-Enabled", "true")]))
    assert a.status == "decoded"
    has(a, "email", EMAIL, "body[2].profile.Email")
    has(a, "installation_id", GUID, "body[0].g")


def test_tampered_encrypted_body_stays_visible_undecoded(analyzer):
    body = encrypt_in_transit(compact(queue()))
    body["itk"] = base64.b64encode(b"\x00" * 32).decode()  # wrong key: authentication fails
    a = analyzer.analyze(request("POST", URL, compact(body), HEADERS + [("X-CleverTap-Encryption-Enabled", "true")]))
    decoded(a, "queue")
    assert any("AES-GCM authentication failed" in step for step in a.decode_chain)
    assert not any(f.value == EMAIL for f in a.findings)


def test_handshake_and_define_vars(analyzer):
    a = analyzer.analyze(request("GET", f"https://clevertap-prod.com/hello?os=Android&t=70501&z={ACCOUNT_ID}",
                                 headers=HEADERS))
    decoded(a, "handshake-and-sync")
    has(a, "project_key", ACCOUNT_ID, "query.z")
    b = analyzer.analyze(request("POST", f"https://eu1.clevertap-prod.com/defineVars?os=Android&t=70501&z={ACCOUNT_ID}",
                                 compact([{"g": GUID, "type": "meta", "id": ACCOUNT_ID},
                                          {"type": "varsPayload", "vars": {"banner_text": {"defaultValue": "Hi"}}}]),
                                 HEADERS))
    decoded(b, "handshake-and-sync")
    has(b, "installation_id", GUID, "body[0].g")


def test_lookalike_host_needs_the_queue_shape(analyzer):
    """Not a CleverTap host: recognised only by the queue's shape (proxyDomain setups), and
    flagged as such; a different body on the same path is not CleverTap."""
    host = "https://in1.clevertap-prod.com.example.net/a1"
    a = analyzer.analyze(request("POST", host, compact(queue())))
    decoded(a, "queue", via="payload_shape")
    b = analyzer.analyze(request("POST", host, compact([{"event": "x"}])))
    assert b is None or b.tracker != "clevertap"
