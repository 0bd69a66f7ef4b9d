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
from pathlib import Path

import pytest
from support.chromium import (SITE, build_site, chromium_page, findings, proxy_flows, require_browser, serve_site,
                              stored_at, trackers_with, wait_until)

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("adobe_analytics", "@adobe/alloy (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
ALLOY = ROOT / "tests" / "js" / "adobe" / "node_modules" / "@adobe" / "alloy" / "dist" / "alloy.js"
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
    require_browser([ALLOY], "tests/js/adobe")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS}, {"alloy.js": ALLOY})
    proxy = serve_site(proxy_factory, site)

    # Pacific/Chatham: a zone no default would give.
    with chromium_page(proxy, (SITE, *EDGE_HOSTS), timezone_id="Pacific/Chatham") as run:
        run.page.goto(f"https://{SITE}/", wait_until="load")
        wait_until(lambda: run.page.evaluate("() => window.alloySent || window.pageErrors.length > 0"),
                   "waiting for alloy to settle its sendEvent promise", 25)
        errors = run.page.evaluate("() => window.pageErrors")

    assert errors == [], errors
    assert run.hosts <= {SITE, *EDGE_HOSTS}, run.hosts
    edge = [flow for flow in proxy_flows(proxy) if flow.request.pretty_host in EDGE_HOSTS]
    assert edge and all(flow.response is not None and flow.response.status_code == 200
                        and flow.response.headers.get("x-leakmap") == "answered-by-proxy" for flow in edge)
    assert all(flow.request.path.startswith("/ee/") for flow in edge), [f.request.path for f in edge]

    rows = [r for r in findings(proxy.db) if r["tracker"] == "adobe_analytics"]
    missing = [e for e in EXPECTED if not stored_at(rows, "adobe_analytics", "edge", *e)]
    assert not missing, (missing, [(r["endpoint"], r["data_type"], r["path"], r["value"][:60]) for r in rows])
    for value in HONEY.values():  # each honey value only with Adobe, and typed only as the rule says
        assert trackers_with(findings(proxy.db), value) == {"adobe_analytics"}
    assert {r["app"] for r in rows} == {SITE}, {r["app"] for r in rows}
