"""The adtech corpus of bench_trackhar.py: traffic that TrackHAR and leakmap both cover.

TrackHAR's adapters are written for ad-tech and mobile endpoints; on the SDK corpus they
match only Bugsnag's notify requests, so timing the two tools there compares unequal work.
This corpus is recorded from real clients whose every endpoint has a TrackHAR adapter AND
a leakmap rule (check with `node trackhar/run-trackhar.mjs X.har --by-endpoint`):

- Prebid.js (npm, the build of tests/e2e/test_browser_adtech.py plus the Criteo and
  Outbrain adapters, trackhar/prebid-bench.mjs) in Debian's headless Chromium: a news page
  (trackhar/prebid-page.js) runs auction after auction with varied first-party data; each
  auction sends one request to each of eleven bidders (Xandr ut/v3, Magnite fastlane,
  PubMatic translator, OpenX, Index Exchange, Equativ prg.smartadserver.com, Adform,
  Media.net, Taboola, Criteo, Outbrain/Zemanta), and ID5's user-id module fetches an id once;
- the Adjust and Singular web SDKs (npm, as tests/e2e/test_attribution_sdks.py loads them)
  in the same browser: a shop's web app (trackhar/apps-page.js) sends purchase events;
- the official Python `bugsnag` SDK: error reports (notify.bugsnag.com) and session counts
  (sessions.bugsnag.com), as a server app sends them.

Everything goes through a real `mitmdump -s addons/leakmap.py` in block mode (tests/conftest.py's
start_proxy, which also serves the pages with tests/support/serve_pages.py): the proxy answers
every request itself ("no bid" to the bidders) and nothing leaves the machine. The pages' own
files (a few per page load) are the only entries neither tool covers; the browser's CORS
preflights to Singular and Adjust match TrackHAR's adapters by URL and carry no payload.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "trackhar"
ADTECH = ROOT / "tests" / "js" / "adtech"
ESBUILD = ADTECH / "node_modules" / ".bin" / "esbuild"
BIDDER_HOSTS = ("ib.adnxs.com", "fastlane.rubiconproject.com", "hbopenbid.pubmatic.com", "rtb.openx.net",
                "htlb.casalemedia.com", "prg.smartadserver.com", "adx.adform.net", "prebid.media.net",
                "display.bidder.taboola.com", "grid-bidder.criteo.com", "b1h-euc1.zemanta.com", "id5-sync.com")
ATTRIBUTION = ROOT / "tests" / "js" / "attribution"
ATTRIBUTION_SDKS = {"adjust.js": ATTRIBUTION / "node_modules/@adjustcom/adjust-web-sdk/dist/adjust-latest.min.js",
                    "singular.js": ATTRIBUTION / "node_modules/singular-sdk/dist/singular-sdk.js"}
ATTRIBUTION_HOSTS = ("app.adjust.com", "sdk-api-v1.singular.net")
BIDDERS_PER_AUCTION = 11  # the adapters of trackhar/prebid-page.js, one request each per auction
AUCTIONS_PER_PAGE = 100
EVENTS_PER_USER = 50  # per SDK on the apps page
BUGSNAG_SHARE = 0.07  # shares of the corpus; the rest is Prebid auctions
ATTRIBUTION_SHARE = 0.08
APPS_PAGE = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Example Shop app</title>\n'
             '<script src="/adjust.js"></script><script src="/singular.js"></script>\n</head>'
             '<body><h1>Example Shop</h1>\n<script src="/apps.js"></script>\n</body></html>\n')


def record_adtech(requests: int, dump: Path, har: Path, drive_bugsnag: Callable[[dict[str, str], int], None]) -> None:
    """Record ~*requests* requests (the Bugsnag SDK, then Prebid auctions and the attribution
    SDKs in Chromium) through one mitmdump into *dump* and export *har*.
    *drive_bugsnag(env, count)* runs the Bugsnag client with *env* pointing at the proxy."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import start_proxy
    from support.chromium import SITE, build_site, serve_site, shop_page

    for folder, needed in ((ADTECH, ESBUILD), *((ATTRIBUTION, sdk) for sdk in ATTRIBUTION_SDKS.values())):
        if not needed.exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=True)
    bugsnag = max(2, round(requests * BUGSNAG_SHARE))
    events = max(1, round(requests * ATTRIBUTION_SHARE / 2))  # per SDK
    auctions = max(1, (requests - bugsnag - 2 * events) // BIDDERS_PER_AUCTION)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = build_site(tmp, {"index.html": shop_page("/prebid.js"), "apps.html": APPS_PAGE},
                          {"prebid.js": build_prebid(tmp), "shop.js": HERE / "prebid-page.js",
                           "apps.js": HERE / "apps-page.js", **ATTRIBUTION_SDKS})
        proxy = serve_site(lambda *options, scripts=(): start_proxy(tmp, tmp / "conf", *options, scripts=scripts),
                           site)
        try:
            drive_bugsnag(proxy.client_env(), bugsnag)
            run_pages(proxy, SITE, auctions, events)  # stops the proxy when Chromium is closed
        finally:
            proxy.stop()
        shutil.move(proxy.dump, dump)  # tmp may be on another file system
    mitmdump = Path(sys.executable).parent / "mitmdump"
    subprocess.run([str(mitmdump), "-q", "-nr", str(dump), "--set", f"hardump={har}"], check=True)


def build_prebid(tmp: Path) -> Path:
    """The site's Prebid.js bundle, built by esbuild as a publisher's build does."""
    bundle = tmp / "prebid.js"
    subprocess.run([str(ESBUILD), str(HERE / "prebid-bench.mjs"), "--bundle", "--format=iife",
                    f"--outfile={bundle}", "--log-level=warning"], check=True, timeout=300, cwd=ADTECH,
                   env={"PATH": "/usr/bin:/bin", "NODE_PATH": str(ADTECH / "node_modules")})
    return bundle


def run_pages(proxy, site: str, auctions: int, events: int) -> None:  # type: ignore[no-untyped-def]
    """*auctions* Prebid auctions, then *events* events to each attribution SDK, in one browser."""
    from support.chromium import chromium_page

    with chromium_page(proxy, (site, *BIDDER_HOSTS, *ATTRIBUTION_HOSTS), like_a_user=True) as run:
        run_auctions(run, site, auctions)
        run_apps(run, site, events)


def run_auctions(run, site: str, auctions: int) -> None:  # type: ignore[no-untyped-def]
    """AUCTIONS_PER_PAGE auctions per page load, a new reader per page."""
    reader, left = 0, auctions
    while left > 0:
        reader, count = reader + 1, min(AUCTIONS_PER_PAGE, left)
        start = time.monotonic()
        run.page.goto(f"https://{site}/?reader={reader}&auctions={count}", wait_until="load")
        deadline = start + 60 + count * 2
        while run.page.evaluate("() => window.auctionsDone || 0") < count:
            errors = run.page.evaluate("() => window.pageErrors") + run.errors
            if errors or time.monotonic() > deadline:
                raise SystemExit(f"page {reader}: {run.page.evaluate('() => window.auctionsDone')} of {count}"
                                 f" auctions done; errors {errors}")
            time.sleep(0.5)
        left -= count
        print(f"  page {reader}: {count} auctions in {time.monotonic() - start:.0f} s ({left} left)", flush=True)


def run_apps(run, site: str, events: int) -> None:  # type: ignore[no-untyped-def]
    """EVENTS_PER_USER events per SDK and page load, a new user per page; a page is done when
    both SDKs' event requests are answered (Adjust sends its queue one request at a time)."""
    user, left = 0, events
    while left > 0:
        user, count = user + 1, min(EVENTS_PER_USER, left)
        start, before = time.monotonic(), len(run.responses)
        run.page.goto(f"https://{site}/apps.html?user={user}&events={count}", wait_until="load")

        def answered(path: str) -> int:
            return sum(1 for url, _, _ in run.responses[before:] if path in url.split("?")[0])

        while min(answered("app.adjust.com/event"), answered("singular.net/api/v1/event")) < count:
            if run.errors or time.monotonic() > start + 60 + count:
                raise SystemExit(f"apps page {user}: Adjust {answered('app.adjust.com/event')}, Singular "
                                 f"{answered('singular.net/api/v1/event')} of {count} events; errors {run.errors}")
            run.page.wait_for_timeout(500)  # not time.sleep: Playwright records responses while it waits
        left -= count
        print(f"  apps page {user}: {count} events per SDK in {time.monotonic() - start:.0f} s", flush=True)
