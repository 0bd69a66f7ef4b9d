"""Golden tests: CleverTap queue requests, built as clevertap-android-sdk@7129b1256 builds them
(CtApi.kt URL, query and headers; SendQueueRequestBody; QueueHeaderBuilder; EventQueueManager;
CTJsonConverter; encryption in transit in NetworkManager/NetworkEncryptionManager/AESGCMCrypt).
"""

from __future__ import annotations

import base64
import json

from golden_support import (assert_finding_at as has, compact, decoded_for, labels, make_request as request,
                            analyzer_fixture)

TRACKER = "clevertap"


analyzer = analyzer_fixture()
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


def test_queue_meta_header_device_block(analyzer):
    """The meta header's `af` is DeviceInfo.appLaunchedFields (QueueHeaderBuilder.addAppFields@13930f4d):
    the device block of every batch, typed like App Launched's evtData."""
    meta = {"g": GUID, "type": "meta", "id": ACCOUNT_ID, "tk": TOKEN,
            "af": {"Build": "801", "Version": "8.1.0", "OS Version": "14", "SDK Version": 70501, "GoogleAdID": GAID,
                   "GoogleAdIDLimit": False, "Make": "samsung", "Model": "SM-A546E", "Carrier": "Jio 4G",
                   "OS": "Android", "wdt": 2.8, "hgt": 6.1, "dpi": 450, "locale": "en_IN", "cc": "in", "Radio": "4G",
                   "Latitude": 12.9716, "Longitude": 77.5946, "wv_init": True}}
    a = analyzer.analyze(request("POST", URL, compact([meta, {"evtName": "Cart Viewed", "type": "event", "s": 1}]), HEADERS))
    decoded(a, "queue")
    has(a, "advertising_id", GAID, "body[0].af.GoogleAdID")
    has(a, "device_model", "SM-A546E", "body[0].af.Model")
    has(a, "latitude", "12.9716", "body[0].af.Latitude")
    has(a, "country", "in", "body[0].af.cc")
    assert labels(a)['body[0].af["OS Version"]'] == "os_version"


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


# ---- Web SDK (clevertap-web-sdk@56224184, npm 2.5.2) -------------------------------------

WEB_ACCOUNT = "W9R-486-4W5Z"
WEB_GUID = "8d3c1f0a5b2e4c7d9e6f1a2b3c4d5e6f"


def web_compress(value) -> str:
    """src/util/encoder.js compressToBase64@56224184 (lz-string 1.3): LZ-compress the JSON text
    into 16-bit codes, then standard base64 of each code's two bytes, high byte first.
    (Modern lz-string's compressToBase64 ends its output differently; both decode alike.)"""
    import lzstring

    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return base64.b64encode(lzstring.LZString().compress(text).encode("utf-16-be", "surrogatepass")).decode()


def web_url(kind: str, data, rn: int, extra: str = "") -> str:
    """requestDispatcher.js/request.js@56224184: dataPostURL `/a?t=96`, then type, d, rn, i, sn
    (saveAndFireRequest), gc, arp, tries, origin, useIP, r (fireRequest)."""
    from urllib.parse import quote

    arp = web_compress({"j": 1520436713, "i_n": 0, "skipResARP": False})
    return (f"https://eu1.clevertap-prod.com/a?t=96&type={kind}&d={quote(web_compress(data), safe='')}"
            f"&rn={rn}&i=1767225600&sn=0&gc={WEB_GUID}&arp={quote(arp, safe='')}&tries=1"
            f"&origin=https%3A%2F%2Fshop.example&useIP=false&r=1767225600123{extra}")


def web_system(data: dict) -> dict:
    """RequestManager.addSystemDataToObject@56224184: account id, CleverTap id, session, page count, af."""
    return {**data, "id": WEB_ACCOUNT, "g": WEB_GUID, "s": 1767225000, "pg": 2,
            "af": {"lib": "web-sdk-v2.5.2", "protocol": "https"}}


def test_web_profile_event_and_page(analyzer):
    """userLogin.js (onUserLogin: type profile, tz, isOUL), event.js (evtName, evtData),
    clevertap.js pageChanged (cpg, referrer, utm)."""
    profile = web_system({"type": "profile", "profile": {"Identity": "cust-web-77", "Email": EMAIL,
                                                         "Phone": PHONE, "tz": "GMT+0530"}, "isOUL": True})
    a = analyzer.analyze(request("GET", web_url("push", profile, 3)))
    decoded(a, "web")
    has(a, "user_id", "cust-web-77", "query.d.profile.Identity")
    has(a, "email", EMAIL, "query.d.profile.Email")
    has(a, "phone", PHONE, "query.d.profile.Phone")
    has(a, "timezone", "GMT+0530", "query.d.profile.tz")
    has(a, "project_key", WEB_ACCOUNT, "query.d.id")
    has(a, "installation_id", WEB_GUID, "query.d.g")
    has(a, "sdk_version", "web-sdk-v2.5.2", "query.d.af.lib")
    has(a, "page_url", "https://shop.example", "query.origin")
    fields = labels(a)
    assert fields["query.gc"] == "installation_id"
    assert fields["query.arp.j"] == ""  # the server's reply params, decoded, not personal

    event = web_system({"type": "event", "evtName": "Added To Cart", "evtData": {"sku": "B-42"}})
    a = analyzer.analyze(request("GET", web_url("push", event, 4)))
    decoded(a, "web")
    has(a, "event_name", "Added To Cart", "query.d.evtName")
    has(a, "custom_property", "B-42", "query.d.evtData.sku")

    page = web_system({"referrer": "news.example", "us": "newsletter", "cpg": "https://shop.example/cart?x=1"})
    a = analyzer.analyze(request("GET", web_url("page", page, 2)))
    decoded(a, "web")
    has(a, "page_url", "https://shop.example/cart?x=1", "query.d.cpg")
    has(a, "referrer", "news.example", "query.d.referrer")
    has(a, "referrer", "newsletter", "query.d.us")


def test_web_push_registration(analyzer):
    """request.js registerToken@56224184: the PushSubscription JSON (endpoint's last segment,
    keys) with the system data, type data."""
    data = web_system({"endpoint": "fcm-endpoint-tail-123", "expirationTime": None,
                       "keys": {"p256dh": "BNcRdreALRFX", "auth": "tBHItJI5svbpez7KI4CCXg"}})
    a = analyzer.analyze(request("GET", web_url("data", data, 5)))
    decoded(a, "web")
    has(a, "push_token", "fcm-endpoint-tail-123", "query.d.endpoint")
    has(a, "auth_token", "tBHItJI5svbpez7KI4CCXg", "query.d.keys.auth")


def test_web_encrypted_in_transit(analyzer):
    """requestDispatcher.js prepareEncryptedRequest + encryptionInTransit.js@56224184: the
    compressed `d` is AES-GCM-256 encrypted; `d` becomes the compression of
    {itp, itk, itv, id, encrypted} (browser btoa: standard base64)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    event = web_system({"type": "event", "evtName": "Paid", "evtData": {"plan": "gold"}})
    key, iv = bytes(range(32)), bytes(range(12))
    cipher = AESGCM(key).encrypt(iv, web_compress(event).encode(), None)
    envelope = {"itp": base64.b64encode(cipher).decode(), "itk": base64.b64encode(key).decode(),
                "itv": base64.b64encode(iv).decode(), "id": WEB_ACCOUNT, "encrypted": True}
    url = web_url("push", envelope, 6)
    a = analyzer.analyze(request("GET", url, headers=[("X-CleverTap-Encryption-Enabled", "true")]))
    decoded(a, "web")
    has(a, "event_name", "Paid", "query.d.evtName")
    has(a, "custom_property", "gold", "query.d.evtData.plan")


def test_web_block_mode_reply_acknowledges_the_request(analyzer):
    """api.js s(global, session, resume, respNumber)@56224184: the answer must name the
    request's `rn`, or the SDK resends it."""
    endpoint = analyzer.endpoints[("clevertap", "web")]
    body = endpoint.reply({"rn": "7", "d": "x"})["body"]
    assert body.startswith("window.$WZRK_WR&&window.$WZRK_WR.s(") and body.endswith(",7);")
