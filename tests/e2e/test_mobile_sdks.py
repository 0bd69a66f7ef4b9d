"""End to end with the official clients of mobile-SDK vendors that run here (npm, pinned in
tests/js/mobileco): Dynatrace OpenKit (@dynatrace/openkit-js, the beacon protocol of
Dynatrace's mobile agents) in Node, and the Leanplum JavaScript SDK (leanplum-sdk) on a web page
in Debian's headless Chromium. Each runs as an app runs it, with honey values, through a
real `mitmdump -s addons/leakmap.py` in block mode: every honey value must come out of the
findings store with its tracker, endpoint, data type and path, every request must be decoded,
and the SDK must have accepted the proxy's answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.chromium import (SITE, build_site, chromium_page, not_answered, proxy_flows, require_browser, serve_site,
                              shop_page, shop_script, stored_at, wait_for_findings)
from support.node import require_node, run_drivers, stored_requests, tracker_findings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("dynatrace", "@dynatrace/openkit-js (npm, Node)"),
    pytest.mark.real_client("leanplum", "leanplum-sdk (npm) in Chromium"),
]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "mobileco"
NODE_SDKS = ("dynatrace",)
PACKAGES = ("@dynatrace/openkit-js", "undici", "https-proxy-agent")

HONEY = {
    "email": "honey.mobile@example.net",
    "coupon": "HONEYMOB42",
    "device_id": 424242,
    "client_ip": "203.0.113.77",
    "dynatrace_app": "honey-dt-app-0a1b2c3d",
}
E, C = HONEY["email"], HONEY["coupon"]

EXPECTED_FINDINGS = {
    "dynatrace": {
        ("mbeacon", "user_id", E, "body.groups[1].na", "rule"),
        ("mbeacon", "event_name", "coupon_applied", "body.groups[2].na", "rule"),
        ("mbeacon", "custom_property", C, "body.groups[3].vl", "rule"),
        ("mbeacon", "error_report", "payment failed", "body.groups[5].na", "rule"),
        ("mbeacon", "error_report", "cart is undefined", "body.groups[7].rs", "rule"),
        ("mbeacon", "project_key", HONEY["dynatrace_app"], "query.app", "rule"),
        ("mbeacon", "installation_id", str(HONEY["device_id"]), "body.head.vi", "rule"),
        ("mbeacon", "public_ip", HONEY["client_ip"], "body.head.ip", "rule"),
        ("mbeacon", "device_model", "Pixel 8", "body.head.md", "rule"),
        ("mbeacon", "manufacturer", "Google", "body.head.mf", "rule"),
        ("mbeacon", "os_name", "Android 14", "body.head.os", "rule"),
        ("mbeacon", "language", "de-DE", "body.head.ul", "rule"),
        ("mbeacon", "app_version", "3.2.1", "body.head.vn", "rule"),
        ("mbeacon", "session_id", f"{HONEY['device_id']}_1", "query.si", "rule"),
    },
}
EXPECTED_OUTPUT = {"dynatrace": ["initialized", "shut down"]}


@pytest.fixture(scope="module")
def node_capture(tmp_path_factory, mitm_confdir):
    """One proxy; the Node drivers run side by side through it."""
    require_node(JS_DIR, PACKAGES)
    from conftest import start_proxy

    proxy = start_proxy(tmp_path_factory.mktemp("mobile-node-sdks"), mitm_confdir)
    return proxy, run_drivers(proxy, JS_DIR, NODE_SDKS, HONEY)


@pytest.mark.parametrize("sdk", NODE_SDKS)
def test_node_sdk_accepted_the_proxys_answers(node_capture, sdk):
    _, outputs = node_capture
    returncode, out, err = outputs[sdk]
    assert returncode == 0, out + err
    assert [line for line in out.splitlines() if line] == EXPECTED_OUTPUT[sdk], (out, err)


def test_node_requests_decoded_and_answered(node_capture):
    proxy, _ = node_capture
    rows = stored_requests(proxy.db)
    assert rows and all(status == "decoded" for *_, status in rows), rows
    assert {(t, e, m) for t, e, m, _ in rows} == {("dynatrace", "mbeacon", "GET"), ("dynatrace", "mbeacon", "POST")}
    flows = proxy_flows(proxy)
    assert len(flows) == len(rows) and not not_answered(flows)


@pytest.mark.parametrize("sdk", NODE_SDKS)
def test_node_honey_values_found(node_capture, sdk):
    proxy, _ = node_capture
    found = tracker_findings(proxy.db, sdk)
    missing = EXPECTED_FINDINGS[sdk] - found
    assert not missing, (missing, sorted(found))


# --- Browser SDKs in Chromium ------------------------------------------------------------------

BROWSER_FILES = {"leanplum.js": JS_DIR / "node_modules" / "leanplum-sdk" / "dist" / "leanplum.min.js"}
BROWSER_HOSTS = ("api.leanplum.com",)
LEANPLUM_APP, LEANPLUM_KEY = "app_honeyLeanplum0a1b2c", "prod_honeyLeanplumKey3d4e5f"
PAGE = shop_page("/leanplum.js")
SHOP_JS = shop_script(HONEY | {"lp_app": LEANPLUM_APP, "lp_key": LEANPLUM_KEY}, """
  var LP = window.Leanplum.default || window.Leanplum;
  run("leanplum", function () {
    LP.setAppIdForProductionMode(H.lp_app, H.lp_key);
    LP.setAppVersion("3.2.1");
    LP.start("honey-lp-user-77", {email: H.email, plan: "gold"}, function () {
      LP.track("Coupon Applied", 4.5, {coupon: H.coupon});
      LP.advanceTo("Checkout");
      LP.forceContentUpdate();
    });
  });
""")

# (tracker, endpoint, data type, value, path regex): the batch indexes vary with timing.
BROWSER_EXPECTED = [
    ("leanplum", "api", "project_key", LEANPLUM_APP, r"body\.data\[\d+\]\.appId"),
    ("leanplum", "api", "api_key", LEANPLUM_KEY, r"body\.data\[\d+\]\.clientKey"),
    ("leanplum", "api", "user_id", "honey-lp-user-77", r"body\.data\[\d+\]\.userId"),
    ("leanplum", "api", "email", E, r"body\.data\[\d+\]\.userAttributes\.email"),
    ("leanplum", "api", "custom_property", "gold", r"body\.data\[\d+\]\.userAttributes\.plan"),
    ("leanplum", "api", "event_name", "Coupon Applied", r"body\.data\[\d+\]\.event"),
    ("leanplum", "api", "custom_property", C, r"body\.data\[\d+\]\.params\.coupon"),
    ("leanplum", "api", "screen_name", "Checkout", r"body\.data\[\d+\]\.state"),
    ("leanplum", "api", "app_version", "3.2.1", r"body\.data\[\d+\]\.versionName"),
    ("leanplum", "api", "installation_id", None, r"body\.data\[\d+\]\.deviceId"),
]


def _present(rows, tracker, endpoint, data_type, value, path):
    if value is None:  # a value the SDK makes up (the random device id): any value at that path
        return any((r["tracker"], r["endpoint"], r["data_type"]) == (tracker, endpoint, data_type)
                   and re.fullmatch(path, r["path"]) for r in rows)
    return stored_at(rows, tracker, endpoint, data_type, value, path)


@pytest.fixture(scope="module")
def browser_capture(tmp_path_factory, mitm_confdir):
    require_browser(BROWSER_FILES.values(), "tests/js/mobileco")
    from conftest import start_proxy
    from support.chromium import SERVE_PAGES

    tmp = tmp_path_factory.mktemp("mobile-browser-sdks")
    site = build_site(tmp, {"index.html": PAGE, "shop.js": SHOP_JS}, BROWSER_FILES)
    proxy = serve_site(lambda *o, scripts: start_proxy(tmp, mitm_confdir, *o, scripts=scripts), site)
    with chromium_page(proxy, (SITE, *BROWSER_HOSTS)) as run:
        run.page.goto(f"https://{SITE}/")
        rows = wait_for_findings(proxy, run, BROWSER_EXPECTED, _present, seconds=40)
        page_errors = run.page.evaluate("() => window.pageErrors")
    assert SERVE_PAGES.exists()
    return proxy, run, rows, page_errors


@pytest.mark.parametrize("expected", BROWSER_EXPECTED, ids=lambda e: f"{e[0]}-{e[2]}")
def test_browser_honey_values_found(browser_capture, expected):
    _, _, rows, _ = browser_capture
    assert _present(rows, *expected)


def test_browser_detect_placeholders_are_not_locations(browser_capture):
    """Leanplum's start sends "(detect)" for country, region, city and location: a request to
    geolocate the IP, not a location."""
    _, _, rows, _ = browser_capture
    assert not [r for r in rows if r["value"] == "(detect)"]


def test_browser_sdks_ran_and_were_answered(browser_capture):
    proxy, run, _, page_errors = browser_capture
    assert page_errors == [] and run.errors == []
    flows = [f for f in proxy_flows(proxy) if f.request.host in BROWSER_HOSTS]
    assert flows and not not_answered(flows)
    assert all(status == "decoded" for *_, status in stored_requests(proxy.db))
