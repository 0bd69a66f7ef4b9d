"""Real engagement SDKs in a real browser: Chromium loads a shop page that runs the official
clevertap-web-sdk, @mparticle/web-sdk and @iterable/web-sdk browser bundles (npm,
tests/js/engage) through a real `mitmdump -s addons/leakmap.py` in block mode.

Nothing leaves the machine: the proxy serves the page over HTTPS (tests/support/serve_pages.py;
the SDKs' UMD/IIFE bundles are copied into the served directory at test time) and answers the
SDKs' requests itself with the replies the rules declare. Chromium talks only to the proxy
and resolves no host name itself.

Each SDK runs as sites run it, with its default hosts: init with the site's key, identify a
honey user id and a honey email, send one event with a honey custom property.
- CleverTap: init(account id, region), onUserLogin with Identity and Email, event.push. Its
  beacons are JSONP GETs whose `d` parameter is the lz-string-compressed JSON payload. The
  SDK holds back every beacon after the first until an answer calls $WZRK_WR.s with a
  CleverTap id, and resends each beacon whose request number `rn` no answer acknowledged:
  the rule's reply does both, as the real server does.
- mParticle: init(api key, {identifyRequest: {customerid, email}}), logEvent once identified.
  The SDK fetches its config (jssdkcdns), calls identity.mparticle.com/v1/identify (the
  rule's answer names the user mpid "0"), then posts Events API batches to
  jssdks.mparticle.com/v3/JS/<key>/events.
- Iterable: initialize(api key, generateJWT) with a JWT-enabled key, each JWT fetched from
  the site's own server as Iterable requires; setUserID, getInAppMessages, track,
  updateUserEmail.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, calls_per_endpoint, chromium_page, findings,
                              not_answered, proxy_flows, query, require_browser, serve_site, shop_page, shop_script,
                              stored_at, trackers_with, wait_for_findings)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("clevertap", "clevertap-web-sdk (npm) in Chromium"),
              pytest.mark.real_client("mparticle", "@mparticle/web-sdk (npm) in Chromium"),
              pytest.mark.real_client("iterable", "@iterable/web-sdk (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
MODULES = ROOT / "tests" / "js" / "engage" / "node_modules"
SDK_FILES = {
    "clevertap.js": MODULES / "clevertap-web-sdk" / "clevertap.min.js",
    "mparticle.js": MODULES / "@mparticle" / "web-sdk" / "dist" / "mparticle.js",
    "iterable.js": MODULES / "@iterable" / "web-sdk" / "index.js",
}

TRACKER_HOSTS = {
    "clevertap": ("eu1.clevertap-prod.com",),
    "mparticle": ("jssdkcdns.mparticle.com", "identity.mparticle.com", "jssdks.mparticle.com"),
    "iterable": ("api.iterable.com",),
}
ALL_TRACKER_HOSTS = {host for hosts in TRACKER_HOSTS.values() for host in hosts}

# Keys and honey values: each unique, so every finding below has one source.
CLEVERTAP_ACCOUNT = "R7K-H0N-3Y6Z"
MPARTICLE_KEY = "us1-6f1e2d3c4b5a69788796a5b4c3d2e1f0"
ITERABLE_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f9"
HONEY = {
    sdk: {"user": f"honey-{sdk}-user-{n}", "email": f"{sdk}.honey@example.org", "prop": f"honey-{sdk}-prop-{n}"}
    for sdk, n in (("clevertap", "4b1e"), ("mparticle", "7d3a"), ("iterable", "2c9f"))
}
WAIT_SECONDS = 30


def jwt(claims: dict) -> str:
    """A JWT as the site's server would mint it for Iterable (HS256; the proxy never checks
    the signature, so a fixed one stands in)."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


JWT_EXP = 4102444800  # 2100-01-01: no refresh during the test
JWTS = {"jwt-user.txt": jwt({"userId": HONEY["iterable"]["user"], "iat": 1767225600, "exp": JWT_EXP}),
        "jwt-email.txt": jwt({"email": HONEY["iterable"]["email"], "iat": 1767225600, "exp": JWT_EXP})}

PAGE = shop_page("/clevertap.js", "/mparticle.js", "/iterable.js")

SHOP_JS = shop_script(HONEY, """
  window.done = {};
  run("clevertap", function () {
    clevertap.privacy.push({optOut: false});
    clevertap.privacy.push({useIP: false});
    clevertap.init(%(clevertap_account)s, "eu1");
    clevertap.onUserLogin.push({Site: {Identity: H.clevertap.user, Email: H.clevertap.email}});
    clevertap.event.push("Checkout Started", {honey_prop: H.clevertap.prop});
  });

  run("mparticle", function () {
    mParticle.init(%(mparticle_key)s, {
      isDevelopmentMode: false,
      identifyRequest: {userIdentities: {customerid: H.mparticle.user, email: H.mparticle.email}},
      identityCallback: function (result) {
        window.done.mparticleIdentity = result.httpCode;
        mParticle.logEvent("Checkout Started", mParticle.EventType.Transaction, {honey_prop: H.mparticle.prop});
      }
    });
  });

  run("iterable", function () {
    var sdk = window["@iterable/web-sdk"];
    var auth = sdk.initialize(%(iterable_key)s, function (payload) {
      // The site's own server mints the user's JWT (Iterable never does).
      return fetch(payload.email ? "/jwt-email.txt" : "/jwt-user.txt").then(function (r) { return r.text(); });
    });
    auth.setUserID(H.iterable.user)
      .then(function () { return sdk.getInAppMessages({count: 20, packageName: "shop.example"}); })
      .then(function (r) { window.done.iterableMessages = r.data.inAppMessages.length; })
      .then(function () { return sdk.track({eventName: "Checkout Started", dataFields: {honey_prop: H.iterable.prop}}); })
      .then(function () { return sdk.updateUserEmail(H.iterable.email); })
      .then(function (r) { window.done.iterable = r.status; })
      .catch(function (e) { window.pageErrors.push("iterable: " + (e && e.message || JSON.stringify(e))); });
  });
""" % {name: json.dumps(value) for name, value in {
    "clevertap_account": CLEVERTAP_ACCOUNT, "mparticle_key": MPARTICLE_KEY, "iterable_key": ITERABLE_KEY}.items()})


CT, MP, IT = HONEY["clevertap"], HONEY["mparticle"], HONEY["iterable"]
N = r"\[\d+\]"
# Each honey value with its tracker, endpoint, type and path, and each SDK's app identity.
EXPECTED = [
    # CleverTap: every beacon's `d` decoded (lz-string), profile from onUserLogin, the event
    ("clevertap", "web", "user_id", CT["user"], r"query\.d\.profile\.Identity"),
    ("clevertap", "web", "email", CT["email"], r"query\.d\.profile\.Email"),
    ("clevertap", "web", "custom_property", CT["prop"], r"query\.d\.evtData\.honey_prop"),
    ("clevertap", "web", "event_name", "Checkout Started", r"query\.d\.evtName"),
    ("clevertap", "web", "project_key", CLEVERTAP_ACCOUNT, r"query\.d\.id"),
    ("clevertap", "web", "page_url", f"https://{SITE}/", r"query\.d\.cpg"),
    # the CleverTap id the proxy's JSONP answer gave, sent back: the SDK took the answer
    ("clevertap", "web", "installation_id", "0" * 32, r"query\.gc"),
    # mParticle: identify call, then Events API batches
    ("mparticle", "identity", "user_id", MP["user"], r"body\.known_identities\.customerid"),
    ("mparticle", "identity", "email", MP["email"], r"body\.known_identities\.email"),
    ("mparticle", "identity", "project_key", MPARTICLE_KEY, r"header\.x-mp-key"),
    ("mparticle", "events", "user_id", MP["user"], r"body\.user_identities\.customer_id"),
    ("mparticle", "events", "email", MP["email"], r"body\.user_identities\.email"),
    ("mparticle", "events", "custom_property", MP["prop"], rf"body\.events{N}\.data\.custom_attributes\.honey_prop"),
    ("mparticle", "events", "event_name", "Checkout Started", rf"body\.events{N}\.data\.event_name"),
    ("mparticle", "events", "project_key", MPARTICLE_KEY, r"path\.api_key"),
    ("mparticle", "config", "project_key", MPARTICLE_KEY, r"path\.api_key"),
    # Iterable: users/update, inApp/web/getMessages, events/track, users/updateEmail
    ("iterable", "api", "user_id", IT["user"], r"body\.userId"),
    ("iterable", "api", "user_id", IT["user"], r"query\.userId"),
    ("iterable", "api", "user_id", IT["user"], r"body\.currentUserId"),
    ("iterable", "api", "email", IT["email"], r"body\.newEmail"),
    ("iterable", "api", "custom_property", IT["prop"], r"body\.dataFields\.honey_prop"),
    ("iterable", "api", "event_name", "Checkout Started", r"body\.eventName"),
    ("iterable", "api", "project_key", ITERABLE_KEY, r"header\.api-key"),
    ("iterable", "api", "app_id", SITE, r"query\.packageName"),
    ("iterable", "api", "auth_token", "Bearer " + JWTS["jwt-user.txt"], r"header\.authorization"),
]


def test_browser_engagement_sdks_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser(SDK_FILES.values(), "tests/js/engage")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS, **JWTS}, SDK_FILES)
    proxy = serve_site(proxy_factory, site)

    with chromium_page(proxy, (SITE, *sorted(ALL_TRACKER_HOSTS))) as run:
        page = run.page
        page.goto(f"https://{SITE}/", wait_until="load")
        assert page.title() == "Example Shop"
        wait_for_findings(proxy, run, EXPECTED, stored_at, WAIT_SECONDS)
        time.sleep(1.5)  # a resend, had any SDK been unhappy with an answer, would show up by now
        state = page.evaluate("() => ({errors: window.pageErrors, done: window.done})")

    # ---- Delivery. The page asked for nothing but the site and the trackers...
    assert run.hosts <= {SITE} | ALL_TRACKER_HOSTS, run.hosts - {SITE} - ALL_TRACKER_HOSTS
    assert not run.failed, run.failed
    # ...every tracker request got the rule's 2xx answer from the proxy itself...
    tracker_flows = [flow for flow in proxy_flows(proxy) if flow.request.pretty_host != SITE]
    bad = not_answered(tracker_flows)
    assert not bad, bad
    for tracker, hosts in TRACKER_HOSTS.items():
        for host in hosts:
            assert any(flow.request.pretty_host == host for flow in tracker_flows), f"{tracker}: nothing to {host}"
    # ...which the SDKs accepted: callbacks saw success (mParticle's identify, Iterable's calls
    # and its in-app message list), CleverTap resent no beacon (it resends each request number
    # its answer did not acknowledge), and no endpoint was called over and over.
    assert state == {"errors": [], "done": {"mparticleIdentity": 200, "iterableMessages": 0, "iterable": 200}}, state
    beacons = Counter(flow.request.query.get("rn") for flow in tracker_flows
                      if flow.request.pretty_host == "eu1.clevertap-prod.com")
    assert beacons and max(beacons.values()) == 1 and None not in beacons, beacons
    calls = calls_per_endpoint(tracker_flows)
    assert max(calls.values()) <= 6, calls

    # ---- What leakmap stored: each honey value with its SDK's tracker, type, endpoint, path.
    rows = findings(proxy.db)
    missing = [e for e in EXPECTED if not stored_at(rows, *e)]
    assert not missing, missing
    # Every tracker request was decoded (CleverTap's beacons included).
    statuses = query(proxy.db, "SELECT tracker, endpoint, status, error FROM requests")
    assert statuses and all(status == "decoded" for *_, status, _ in statuses), statuses
    # No honey value leaked to (or was attributed to) another tracker.
    for sdk, honey in HONEY.items():
        for value in honey.values():
            assert trackers_with(rows, value) == {sdk}, (sdk, value)
    # Attribution: the website, from the browser's Origin/Referer (Iterable's in-app message
    # request names it itself, as packageName).
    for r in rows:
        assert r["app"] == SITE and r["app_signal"] in ("first_party_site", "payload_app_id"), r
    assert_in_report(proxy, (v for honey in HONEY.values() for v in honey.values()))
