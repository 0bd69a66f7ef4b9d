"""Real web-analytics and experimentation clients through a real `mitmdump -s addons/leakmap.py`
in block mode (npm, pinned in tests/js/webstats):

- in Chromium, a shop page runs Plausible's official tracker (@plausible-analytics/tracker, an
  ES module, loaded as the browser loads it), GrowthBook's script-tag build
  (@growthbook/growthbook dist/bundles/auto.min.js, with its own event tracking on); the
  header-bidding exchanges have their own auction test (tests/e2e/test_browser_adtech.py);
- in Node, the server clients of Umami (@umami/node), Vercel Web Analytics
  (@vercel/analytics/server `track`) and VWO feature management (vwo-fme-node-sdk).

Each client runs with its default hosts and sends honey values for the fields a site fills
(user id, email, custom properties), and the proxy answers every tracker itself with the
reply its rule declares. The tests read what the proxy stored: every honey value found, typed
as the rule says, at the path the SDK put it, and sent to its own tracker only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.chromium import (SITE, assert_in_report, build_site, chromium_page, not_answered, proxy_flows,
                              require_browser, serve_site, shop_script, stored_at, trackers_with, wait_for_findings)
from support.node import require_node, run_drivers, tracker_findings

pytestmark = [pytest.mark.e2e,
              pytest.mark.real_client("plausible", "@plausible-analytics/tracker (npm) in Chromium"),
              pytest.mark.real_client("growthbook", "@growthbook/growthbook script tag (npm) in Chromium"),
              pytest.mark.real_client("umami", "@umami/node (npm)"),
              pytest.mark.real_client("vercel_analytics", "@vercel/analytics/server (npm)"),
              pytest.mark.real_client("vwo", "vwo-fme-node-sdk (npm)")]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "webstats"
MODULES = JS_DIR / "node_modules"
SDK_FILES = {
    "plausible.js": MODULES / "@plausible-analytics" / "tracker" / "plausible.js",
    "growthbook.js": MODULES / "@growthbook" / "growthbook" / "dist" / "bundles" / "auto.min.js",
}
BROWSER_HOSTS = ("plausible.io", "cdn.growthbook.io", "us-east-1.gb-ingest.com")
GB_KEY = "sdk-honeyGrowthBook7q"
H = {"pl_prop": "honey-plausible-prop-3e1", "pl_event": "honey-plausible-event-9a4",
     "gb_user": "honey-gb-user-5c2", "gb_email": "gb.honey@example.org", "gb_event": "honey-gb-event-8d7"}
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Shop</title>
<script>window.growthbook_config = {{attributes: {{user_id: "{H['gb_user']}", email: "{H['gb_email']}"}}}};</script>
<script src="/growthbook.js" data-client-key="{GB_KEY}" data-tracking="growthbook" data-no-streaming="1"></script>
</head><body><h1>Example Shop</h1>
<script src="/shop.js"></script>
<script type="module">
  import {{init, track}} from "/plausible.js";
  try {{
    init({{domain: "{SITE}", customProperties: {{honey_prop: H.pl_prop}}}});
    track("Checkout", {{props: {{honey_event: H.pl_event}}, revenue: {{amount: 42.5, currency: "EUR"}}}});
  }} catch (e) {{ window.pageErrors.push("plausible: " + e); }}
</script>
</body></html>
"""
SHOP_JS = shop_script(H, """
  run("growthbook", function () {
    window.growthbook_queue.push(function (gb) {
      gb.isOn("new-checkout");
      gb.logEvent("checkout_started", {honey_event: H.gb_event});
    });
  });
""")
N = r"\[\d+\]"
PAGE_URL = f"https://{SITE}/"
BROWSER_EXPECTED = [
    ("plausible", "event", "event_name", "pageview", r"body\.n"),
    ("plausible", "event", "event_name", "Checkout", r"body\.n"),
    ("plausible", "event", "project_key", SITE, r"body\.d"),
    ("plausible", "event", "page_url", PAGE_URL, r"body\.u"),
    ("plausible", "event", "custom_property", H["pl_prop"], r"body\.p\.honey_prop"),
    ("plausible", "event", "custom_property", H["pl_event"], r"body\.p\.honey_event"),
    ("plausible", "event", "revenue", "42.5", r"body\.\$\.amount"),
    ("growthbook", "features", "project_key", GB_KEY, r"path\.client_key"),
    ("growthbook", "track", "project_key", GB_KEY, r"query\.client_key"),
    ("growthbook", "track", "user_id", H["gb_user"], rf"body{N}\.user_id"),
    ("growthbook", "track", "email", H["gb_email"], rf"body{N}\.context_json\.email"),
    ("growthbook", "track", "event_name", "checkout_started", rf"body{N}\.event_name"),
    ("growthbook", "track", "event_name", "Feature Evaluated", rf"body{N}\.event_name"),
    ("growthbook", "track", "custom_property", H["gb_event"], rf"body{N}\.properties_json\.honey_event"),
    ("growthbook", "track", "page_url", PAGE_URL, rf"body{N}\.url"),
    ("growthbook", "track", "browser", "chrome", rf"body{N}\.context_json\.browser"),
]



def test_browser_trackers_leak_to_report(proxy_factory, tmp_path: Path) -> None:
    require_browser(SDK_FILES.values(), "tests/js/webstats")
    site = build_site(tmp_path, {"index.html": PAGE, "shop.js": SHOP_JS}, SDK_FILES)
    proxy = serve_site(proxy_factory, site)
    with chromium_page(proxy, (SITE, *BROWSER_HOSTS), like_a_user=True) as run:
        run.page.goto(PAGE_URL, wait_until="load")
        rows = wait_for_findings(proxy, run, BROWSER_EXPECTED, stored_at, 30,
                                 "for plausible and growthbook")
        page_errors = run.page.evaluate("() => window.pageErrors")
        cookies = {c["name"]: c["value"] for c in run.page.context.cookies(PAGE_URL)}

    assert run.hosts <= {SITE, *BROWSER_HOSTS}, run.hosts
    assert page_errors == [] and run.errors == [], (page_errors, run.errors)
    tracker_flows = [f for f in proxy_flows(proxy) if f.request.pretty_host != SITE]
    assert not not_answered(tracker_flows), not_answered(tracker_flows)
    # Plausible's body travels as text/plain, as the tracker sends it.
    plausible = [f for f in tracker_flows if f.request.pretty_host == "plausible.io"]
    assert plausible and all(f.request.headers["content-type"] == "text/plain" for f in plausible)
    # GrowthBook's random visitor id (the gbuuid cookie it sets) is its device id.
    assert stored_at(rows, "growthbook", "track", "browser_id", cookies["gbuuid"], rf"body{N}\.device_id"), cookies
    for prefix, tracker in (("pl_", "plausible"), ("gb_", "growthbook")):
        for key, value in H.items():
            if key.startswith(prefix):
                assert trackers_with(rows, value) <= {tracker}, (key, value)
    assert all((r["app"], r["app_signal"]) == (SITE, "first_party_site") for r in rows), rows
    assert_in_report(proxy, (H["pl_event"], H["gb_email"]))


NODE_HONEY = {"umami_site": "6b3f1c2e-8d4a-4f5b-9e7c-1a2b3c4d5e6f", "umami_email": "umami.honey@example.org",
              "umami_prop": "honey-umami-plan-2b", "umami_event": "honey-umami-coupon-7f",
              "vercel_host": "shop-example.vercel.app", "vercel_prop": "honey-vercel-plan-4c",
              "vercel_ua": "Mozilla/5.0 (X11; Linux x86_64) HoneyBrowser/7.1", "vercel_ip": "198.51.100.71",
              "vercel_page": "https://shop.example/honey-page", "vercel_cookie": "honey-vercel-cookie-1d",
              "vwo_account": "1234567", "vwo_key": "0123456789abcdef0123456789abcdef", "vwo_user": "honey-vwo-user-6e",
              "vwo_ua": "Mozilla/5.0 (Windows NT 10.0) HoneyEdge/9.2", "vwo_ip": "203.0.113.86",
              "vwo_prop": "honey-vwo-plan-3a", "vwo_email": "vwo.honey@example.org"}
DRIVERS = ("umami", "vercel", "vwo")


def test_node_clients_leak_to_store(proxy_factory) -> None:
    require_node(JS_DIR, ("@umami/node", "@vercel/analytics", "vwo-fme-node-sdk", "undici", "https-proxy-agent"))
    proxy = proxy_factory()
    outputs = run_drivers(proxy, JS_DIR, DRIVERS, NODE_HONEY)
    assert all(code == 0 and "sent" in out for code, out, _ in outputs.values()), outputs
    h = NODE_HONEY

    umami = tracker_findings(proxy.db, "umami")
    assert {("send", "project_key", h["umami_site"], "body.payload.website", "rule"),
            ("send", "email", h["umami_email"], "body.payload.data.email", "key_name"),
            ("send", "custom_property", h["umami_prop"], "body.payload.data.plan", "rule"),
            ("send", "event_name", "honey_checkout", "body.payload.name", "rule"),
            ("send", "custom_property", h["umami_event"], "body.payload.data.coupon", "rule")} <= umami, umami

    vercel = tracker_findings(proxy.db, "vercel_analytics")
    assert {("event", "event_name", "honey_signup", "body.en", "rule"),
            ("event", "custom_property", h["vercel_prop"], "body.ed.plan", "rule"),
            ("event", "page_url", h["vercel_page"], "body.o", "rule"),
            ("event", "user_agent", h["vercel_ua"], "header.user-agent", "rule"),
            ("event", "public_ip", h["vercel_ip"], "header.x-vercel-ip", "rule"),
            ("event", "sdk_name", "@vercel/analytics/server", "body.sdkn", "rule")} <= vercel, vercel

    vwo = tracker_findings(proxy.db, "vwo")
    assert {("settings", "project_key", h["vwo_account"], "query.a", "rule"),
            ("settings", "auth_token", h["vwo_key"], "query.i", "rule"),
            ("events", "public_ip", h["vwo_ip"], "query.visitor_ip", "rule"),
            ("events", "user_agent", h["vwo_ua"], "query.visitor_ua", "rule"),
            ("events", "custom_property", h["vwo_prop"], "body.d.visitor.props.plan", "rule"),
            ("events", "email", h["vwo_email"], "body.d.visitor.props.email", "key_name"),
            ("events", "event_name", "vwo_syncVisitorProp", "query.en", "rule")} <= vwo, vwo
    # The visitor id VWO sends is derived from the user id, not the id itself.
    assert not any(value == h["vwo_user"] for _, _, value, _, _ in vwo), vwo
    # Every request was one of these trackers', answered by the proxy.
    assert not not_answered(proxy_flows(proxy)), not_answered(proxy_flows(proxy))
