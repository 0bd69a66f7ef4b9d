"""The Adobe Experience Platform Web SDK (alloy, npm @adobe/alloy, its standalone dist/alloy.js
build, tests/js/adobe) in Chromium, through a real `mitmdump -s addons/leakmap.py` in block mode.

The page installs the queueing stub sites paste before the library (`window.__alloyNS`,
`alloy.q`), loads alloy.js, configures a datastream and sends one event whose XDM identity
map carries a honey user id and a honey email and whose free-form `data` carries a honey
property. Alloy sends it as Chrome users' browsers do: to the third-party identification
domain (adobedc.demdex.net) first, since third-party cookies are supported in Chrome.
Nothing leaves the machine: the proxy serves the page and answers the Edge Network itself.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from mitmproxy import io
from support.chromium import CHROMIUM, confined_args, findings

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("adobe_analytics", "@adobe/alloy (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
ALLOY = ROOT / "tests" / "js" / "adobe" / "node_modules" / "@adobe" / "alloy" / "dist" / "alloy.js"
SERVE_PAGES = ROOT / "tests" / "support" / "serve_pages.py"
SITE = "shop.example"
EDGE_HOSTS = ("edge.adobedc.net", "adobedc.demdex.net")
DATASTREAM = "0f2c8a9e-5d4b-4c3a-9b8e-7d6c5b4a3f21"
ORG_ID = "0123456789ABCDEF01234567@AdobeOrg"
HONEY = {"user": "honey-adobe-user-4b5c", "email": "adobe.honey@example.org", "prop": "honey-adobe-prop-6d7e"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Shop</title>
<script>
  window.__alloyNS = ["alloy"];
  window.alloy = function () {
    var args = arguments;
    return new Promise(function (resolve, reject) { window.alloy.q.push([resolve, reject, args]); });
  };
  window.alloy.q = [];
</script>
<script src="/alloy.js" async></script>
</head><body><h1>Example Shop</h1><script src="/shop.js"></script></body></html>
"""

SHOP_JS = """
  var H = %(honey)s;
  window.pageErrors = [];
  alloy("configure", {datastreamId: %(datastream)s, orgId: %(org)s, clickCollectionEnabled: false});
  alloy("sendEvent", {
    xdm: {eventType: "commerce.checkouts",
          identityMap: {Email: [{id: H.email, authenticatedState: "authenticated"}],
                        CRMID: [{id: H.user, authenticatedState: "authenticated", primary: true}]}},
    data: {honey_prop: H.prop}
  }).then(function () { window.alloySent = true; },
          function (e) { window.pageErrors.push("sendEvent: " + e); });
""" % {"honey": json.dumps(HONEY), "datastream": json.dumps(DATASTREAM), "org": json.dumps(ORG_ID)}

EXPECTED = [  # (data type, value, path regex)
    ("user_id", HONEY["user"], r"body\.events\[0\]\.xdm\.identityMap\.CRMID\[0\]\.id"),
    ("email", HONEY["email"], r"body\.events\[0\]\.xdm\.identityMap\.Email\[0\]\.id"),
    ("custom_property", HONEY["prop"], r"body\.events\[0\]\.data\.honey_prop"),
    ("project_key", DATASTREAM, r"query\.configId"),
    ("page_url", f"https://{SITE}/", r"body\.events\[0\]\.xdm\.web\.webPageDetails\.URL"),
    ("timezone", "Pacific/Chatham", r"body\.events\[0\]\.xdm\.placeContext\.ianaTimezone"),
    ("sdk_name", "https://ns.adobe.com/experience/alloy", r"body\.events\[0\]\.xdm\.implementationDetails\.name"),
]


def test_alloy_sends_xdm_to_the_edge(proxy_factory, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    if not ALLOY.is_file():
        pytest.skip(f"{ALLOY} missing: run `npm ci` in tests/js/adobe")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed")

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    (site / "shop.js").write_text(SHOP_JS)
    shutil.copyfile(ALLOY, site / "alloy.js")
    proxy = proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", scripts=(SERVE_PAGES,))

    hosts_requested: set[str] = set()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=confined_args(proxy, (SITE, *EDGE_HOSTS)))
        try:
            page = browser.new_page(timezone_id="Pacific/Chatham")  # a zone no default would give
            page.on("request", lambda r: hosts_requested.add(r.url.split("/")[2]))
            page.goto(f"https://{SITE}/", wait_until="load")
            deadline = time.monotonic() + 25
            while not page.evaluate("() => window.alloySent || window.pageErrors.length > 0"):
                assert time.monotonic() < deadline, "alloy never settled its sendEvent promise"
                time.sleep(0.25)
            errors = page.evaluate("() => window.pageErrors")
        finally:
            browser.close()
    proxy.stop()

    assert errors == [], errors
    assert hosts_requested <= {SITE, *EDGE_HOSTS}, hosts_requested
    with proxy.dump.open("rb") as f:
        edge = [flow for flow in io.FlowReader(f).stream() if flow.request.pretty_host in EDGE_HOSTS]
    assert edge and all(flow.response is not None and flow.response.status_code == 200
                        and flow.response.headers.get("x-leakmap") == "answered-by-proxy" for flow in edge)
    assert all(flow.request.path.startswith("/ee/") for flow in edge), [f.request.path for f in edge]

    rows = [r for r in findings(proxy.db) if r["tracker"] == "adobe_analytics"]
    missing = [e for e in EXPECTED if not any(
        (r["endpoint"], r["data_type"], r["value"]) == ("edge", e[0], e[1]) and re.fullmatch(e[2], r["path"])
        for r in rows)]
    assert not missing, (missing, [(r["endpoint"], r["data_type"], r["path"], r["value"][:60]) for r in rows])
    for value in HONEY.values():  # each honey value only with Adobe, and typed only as the rule says
        assert {r["tracker"] for r in findings(proxy.db) if value in r["value"]} == {"adobe_analytics"}
    assert {r["app"] for r in rows} == {SITE}, {r["app"] for r in rows}
