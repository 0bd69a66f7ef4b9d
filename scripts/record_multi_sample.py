"""Record samples/multi-app-sample.mitm: three apps, seven trackers, all real SDK traffic.

What a newcomer's first report should look like: several apps, several companies, and the
kinds of data researchers care about. Everything goes through one real
`mitmdump -s addons/leakmap.py` in block mode (the proxy answers the trackers itself, so this
runs offline and nothing reaches any vendor); the values are invented, the requests are
exactly what the official SDKs send.

- **shop.example**, a website in Debian's headless Chromium: posthog-js,
  @amplitude/analytics-browser and @bugsnag/js from tests/js/browser (npm).
- **Notes**, an Android app's traffic: the official Python SDKs of Mixpanel, Segment and
  Sentry. Their HTTP clients present the app's User-Agent (`Notes/3.2.1 (Linux; Android 14;
  Pixel 8)`), as the app's HTTP stack would; nothing else in the request is touched.
- **FitTrack**, an iOS app's traffic: Mixpanel, PostHog and Amplitude Python SDKs with
  `FitTrack/5.1 CFNetwork/1410.0.3 Darwin/22.6.0`, sending workout locations and heart rate.

Needs `scripts/setup "[test]"`, Debian's chromium and `npm ci` in tests/js/browser.
Run: .venv/bin/python scripts/record_multi_sample.py [--out samples/multi-app-sample.mitm]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from conftest import start_proxy  # noqa: E402  (the tests' mitmdump launcher)
from support.chromium import (SITE, build_site, chromium_page, require_browser,  # noqa: E402
                              shop_page, shop_script)

OUTPUT = ROOT / "samples" / "multi-app-sample.mitm"
MODULES = ROOT / "tests" / "js" / "browser" / "node_modules"
SDK_FILES = {
    "posthog.js": MODULES / "posthog-js" / "dist" / "array.full.js",
    "amplitude.js": MODULES / "@amplitude" / "analytics-browser" / "lib" / "scripts" / "amplitude-min.umd.js",
    "bugsnag.js": MODULES / "@bugsnag" / "browser" / "dist" / "bugsnag.min.js",
}
WEB_HOSTS = ("us.i.posthog.com", "us-assets.i.posthog.com", "api2.amplitude.com", "sr-client-cfg.amplitude.com",
             "diagnostics.prod.us-west-2.amplitude.com", "notify.bugsnag.com", "sessions.bugsnag.com")
SHOPPER = {"user": "cust-20931", "email": "maria.garcia@example.com", "search": "pregnancy test"}

SHOP_JS = shop_script(SHOPPER, """
  run("posthog", function () {
    posthog.init("phc_shopExampleProjectKey0000000000000000001", {api_host: "https://us.i.posthog.com"});
    posthog.identify(H.user, {email: H.email});
    posthog.capture("product_searched", {query: H.search, results: 14});
  });
  run("amplitude", function () {
    amplitude.init("5b2f0c8e9d1a4b3c7e6f5a4b3c2d1e0f", H.user, {flushIntervalMillis: 200});
    amplitude.identify(new amplitude.Identify().set("email", H.email));
    amplitude.track("Add To Cart", {product: "Prenatal vitamins", price: 19.99});
  });
  run("bugsnag", function () {
    Bugsnag.start({apiKey: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", user: {id: H.user, email: H.email}, logger: null});
    Bugsnag.notify(new Error("payment form failed"));
  });
""")

# Runs in a subprocess per app, with APP_UA set: the app's HTTP stack sends that User-Agent.
APP_SCRIPT = r"""
import http.client, json, os, sys
_putheader = http.client.HTTPConnection.putheader
def putheader(self, header, *values):
    if header.lower() in ("user-agent", b"user-agent"):
        values = (os.environ["APP_UA"],)
    return _putheader(self, header, *values)
http.client.HTTPConnection.putheader = putheader

app = sys.argv[1]
import mixpanel
if app == "notes":
    mp = mixpanel.Mixpanel("3f9c2a7e51b04d88a1c6e0f2b7d4a913")
    user = "u-58213"
    mp.track(user, "App Open", {"user_email": "jane.doe@example.com", "notes_count": 12, "theme": "dark"})
    mp.track(user, "Note Created", {"note_title": "Doctor appointment", "words": 54})
    mp.people_set(user, {"$email": "jane.doe@example.com", "$name": "Jane Doe", "$phone": "+14155550123"})
    from segment.analytics import Client
    seg = Client("notesSegmentWriteKey0042", sync_mode=True, max_retries=1)
    context = {"app": {"name": "Notes", "version": "3.2.1", "build": "321"},
               "device": {"manufacturer": "Google", "model": "Pixel 8", "adTrackingEnabled": True,
                          "advertisingId": "38400000-8cf0-11bd-b23e-10b96e40000d"},
               "os": {"name": "Android", "version": "14"}, "locale": "en-US", "timezone": "America/Los_Angeles",
               "network": {"carrier": "T-Mobile", "wifi": True}}
    seg.identify(user, {"email": "jane.doe@example.com", "name": "Jane Doe"}, context=context,
                 anonymous_id="7c1e9a52-3b4d-4e6f-8a9b-0c1d2e3f4a5b")
    seg.track(user, "Note Shared", {"channel": "email", "recipient": "sam.lee@example.org"}, context=context)
    import sentry_sdk
    sentry_sdk.init(dsn="https://0a1b2c3d4e5f60718293a4b5c6d7e8f9@o450001.ingest.sentry.io/4500001",
                    release="notes@3.2.1", send_default_pii=True)
    sentry_sdk.set_user({"id": user, "email": "jane.doe@example.com", "ip_address": "203.0.113.24"})
    sentry_sdk.capture_message("Sync failed for notebook 'Therapy notes'")
    sentry_sdk.flush()
elif app == "fittrack":
    mp = mixpanel.Mixpanel("b61e0d2c9a8f4e3b8c7d6a5f4e3d2c1b", consumer=mixpanel.BufferedConsumer())
    user = "runner-jane@example.com"  # the app uses the email as distinct_id
    for n, (lat, lng) in enumerate([(52.5200, 13.4050), (52.5206, 13.4098), (52.5219, 13.4132)]):
        mp.track(user, "Workout Point", {"lat": lat, "lng": lng, "heart_rate": 131 + n,
                                         "advertising_id": "6D92078A-8246-4BA4-AE5B-76104861E7DC"})
    mp._consumer.flush()
    from posthog import Posthog
    ph = Posthog("phc_fitTrackProjectKey000000000000000000000002", host="https://us.i.posthog.com", sync_mode=True,
                 max_retries=1)
    ph.capture("Workout Finished", distinct_id=user, properties={
        "$app_name": "FitTrack", "$app_version": "5.1", "$os": "iOS", "$os_version": "17.2",
        "$device_model": "iPhone15,2",
        "$set": {"email": user, "name": "Jane Doe"}, "distance_km": 5.2, "avg_heart_rate": 142})
    ph.shutdown()
    from amplitude import Amplitude, BaseEvent, Config
    amp = Amplitude("0f1e2d3c4b5a69788796a5b4c3d2e1f0", Config(flush_max_retries=1))
    amp.track(BaseEvent("Route Saved", user_id=user, device_id="E621E1F8-C36C-495A-93FC-0C247A3E6E5F",
                        os_name="iOS", os_version="17.2", device_model="iPhone15,2", location_lat=52.5219,
                        location_lng=13.4132, city="Berlin", event_properties={"route_name": "Home to clinic"}))
    amp.flush()
    amp.shutdown()
print("sent")
"""
APP_AGENTS = {"notes": "Notes/3.2.1 (Linux; Android 14; Pixel 8)",
              "fittrack": "FitTrack/5.1 CFNetwork/1410.0.3 Darwin/22.6.0"}


def record_apps(proxy) -> None:
    """Each mobile app's SDK calls in their own process, with the app's User-Agent."""
    for app, agent in APP_AGENTS.items():
        env = {**proxy.client_env(), "APP_UA": agent}
        result = subprocess.run([sys.executable, "-c", APP_SCRIPT, app], env=env, capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0 or "sent" not in result.stdout:
            raise SystemExit(f"{app}: SDK run failed\n{result.stderr[-2000:]}")


def record_website(proxy, tmp: Path) -> None:
    """The shop page in Chromium; waits until every SDK had time to deliver."""
    with chromium_page(proxy, (SITE, *WEB_HOSTS), like_a_user=True) as run:
        run.page.goto(f"https://{SITE}/", wait_until="load")
        time.sleep(8)
        errors = run.page.evaluate("() => window.pageErrors")
        if errors:
            raise SystemExit(f"shop page errors: {errors}")


def write_without_bundles(dump: Path, out: Path) -> None:
    """Copy the dump, emptying the response bodies of the SDK bundles the test site served:
    they are the site's own static files (about 1 MB), never uploads, and not evidence."""
    from mitmproxy import io

    with dump.open("rb") as source, out.open("wb") as target:
        writer = io.FlowWriter(target)
        for flow in io.FlowReader(source).stream():
            response = getattr(flow, "response", None)
            if flow.request.pretty_host == SITE and flow.request.path.endswith(".js") and response is not None:
                response.content = b"/* SDK bundle from tests/js/browser, left out of the sample */"
            writer.add(flow)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    require_browser(SDK_FILES.values(), "tests/js/browser")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        site = build_site(tmp, {"index.html": shop_page("/posthog.js", "/amplitude.js", "/bugsnag.js"),
                                "shop.js": SHOP_JS}, SDK_FILES)
        conf = tmp / "conf"
        conf.mkdir()
        proxy = start_proxy(tmp, conf, f"serve_pages_dir={site}", f"serve_pages_host={SITE}",
                            scripts=(ROOT / "tests" / "support" / "serve_pages.py",))
        try:
            record_apps(proxy)
            record_website(proxy, tmp)
        finally:
            proxy.stop()
        args.out.parent.mkdir(exist_ok=True)
        write_without_bundles(proxy.dump, args.out)
    print(json.dumps({"wrote": str(args.out), "bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
