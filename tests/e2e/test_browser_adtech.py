"""Header bidding in a real browser: Prebid.js (npm) with the bid adapters of twelve SSPs and
DSPs runs one auction in Debian's headless Chromium through a real
`mitmdump -s addons/leakmap.py` in block mode.

Prebid.js ships ES modules; the test bundles the core with the appnexus (Xandr), rubicon
(Magnite), pubmatic, openx, ix (Index Exchange), smartadserver and equativ (Equativ), adf
(Adform), medianet, ttd (The Trade Desk), taboola, criteo and outbrain adapters, the user-id module with a
publisher-provided id (a hashed email, as sites pass it) and TCF consent management, with
esbuild (tests/js/adtech/prebid-entry.mjs), as a publisher's build does. The page sets the
first-party data sites commonly send: year of birth, gender, page and user keywords. A TCF
consent platform on the page answers with a TC string.

Each adapter builds its real request; the proxy answers each with "no bid" (the rules'
block-mode replies), and nothing leaves the machine. The test checks each company's
findings: the publisher or placement id as project_key, the page URL, the consent string,
the hashed email as an identifier, the user's year of birth and gender where the adapter
forwards first-party data, and that every request was answered by the proxy. The ID5 module
fetches an ID5 ID first (ID5's rule answers with one); it must then reach the bidders.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from support.chromium import (SITE, build_site, chromium_page, findings, not_answered, proxy_flows, require_browser,
                              serve_site, shop_page, shop_script, with_value)

# Rule ids of the companies whose Prebid adapters run here (markers below name the adapters).
COMPANIES = ("xandr", "magnite", "pubmatic", "openx", "index_exchange", "equativ", "adform", "media_net",
             "the_trade_desk", "taboola", "criteo", "outbrain")
ID5_ID = "ID5*leakmapBlockModeId5Value"  # the ID5 rule's block-mode answer to the fetch call
pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.real_client("xandr", "prebid.js appnexus adapter (npm) in Chromium"),
              pytest.mark.real_client("magnite", "prebid.js rubicon adapter (npm) in Chromium"),
              pytest.mark.real_client("pubmatic", "prebid.js pubmatic adapter (npm) in Chromium"),
              pytest.mark.real_client("openx", "prebid.js openx adapter (npm) in Chromium"),
              pytest.mark.real_client("index_exchange", "prebid.js ix adapter (npm) in Chromium"),
              pytest.mark.real_client("equativ", "prebid.js smartadserver and equativ adapters (npm) in Chromium"),
              pytest.mark.real_client("adform", "prebid.js adf adapter (npm) in Chromium"),
              pytest.mark.real_client("media_net", "prebid.js medianet adapter (npm) in Chromium"),
              pytest.mark.real_client("the_trade_desk", "prebid.js ttd adapter (npm) in Chromium"),
              pytest.mark.real_client("taboola", "prebid.js taboola adapter (npm) in Chromium"),
              pytest.mark.real_client("criteo", "prebid.js criteo adapter (npm) in Chromium"),
              pytest.mark.real_client("outbrain", "prebid.js outbrain adapter (npm) in Chromium"),
              pytest.mark.real_client("id5", "prebid.js id5IdSystem module (npm) in Chromium")]

ROOT = Path(__file__).resolve().parent.parent.parent
ADTECH = ROOT / "tests" / "js" / "adtech"
ESBUILD = ADTECH / "node_modules" / ".bin" / "esbuild"
HOSTS = ("id5-sync.com", "ib.adnxs.com", "fastlane.rubiconproject.com", "hbopenbid.pubmatic.com", "rtb.openx.net",
         "htlb.casalemedia.com", "prg.smartadserver.com", "ssb-global.smartadserver.com", "adx.adform.net",
         "prebid.media.net", "direct.adsrvr.org", "display.bidder.taboola.com", "grid-bidder.criteo.com",
         "b1h-euc1.zemanta.com")
HEM = "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"
HONEY = {"hashedEmail": HEM,
         # ID5 partner data as its docs ask sites to pass it: base64 of `1=<sha256 email>&8=<page>`.
         "id5PartnerData": base64.b64encode(f"1={HEM}&8={quote('https://shop.example/', safe='')}".encode()).decode(),
         "keywords": "pregnancy,vitamins", "userKeywords": "diabetes,insulin",
         "tcString": "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"}
PAGE_URL = f"https://{SITE}/"

SHOP_JS = shop_script(HONEY, """
  window.__tcfapi = function (cmd, version, callback) {
    // The site's consent platform (CMP): a TCF v2 TC string for a user who consented.
    if (cmd === "addEventListener" || cmd === "getTCData") {
      callback({tcString: H.tcString, gdprApplies: true, eventStatus: "tcloaded", cmpStatus: "loaded",
                listenerId: 1, purpose: {consents: {1: true, 2: true, 3: true, 4: true}},
                vendor: {consents: {131: true}}}, true);
    } else if (cmd === "ping") { callback({cmpLoaded: true, gdprApplies: true}, true); }
  };
  run("prebid", function () {
    pbjs.setConfig({
      consentManagement: {gdpr: {cmpApi: "iab", timeout: 2000}},
      outbrain: {bidderUrl: "https://b1h-euc1.zemanta.com/api/bidder/prebid/bid/"},
      userSync: {syncEnabled: false, auctionDelay: 3000, userIds: [
        {name: "pubProvidedId", params: {eids: [
          {source: "example-shop.test", uids: [{id: H.hashedEmail, atype: 3, ext: {stype: "hemsha256"}}]}]}},
        {name: "id5Id", params: {partner: 173, pd: H.id5PartnerData},
         storage: {type: "html5", name: "id5id", expires: 90, refreshInSeconds: 7200}}]},
      ortb2: {site: {keywords: H.keywords, content: {language: "en"}},
              user: {yob: 1984, gender: "F", keywords: H.userKeywords}}
    });
    pbjs.addAdUnits([{
      code: "banner-top", mediaTypes: {banner: {sizes: [[300, 250], [728, 90]]}},
      ortb2Imp: {ext: {gpid: "/1234/example-shop/banner-top"}},
      bids: [
        {bidder: "appnexus", params: {placementId: 13144370}},
        {bidder: "rubicon", params: {accountId: 14062, siteId: 70608, zoneId: 498816}},
        {bidder: "pubmatic", params: {publisherId: "156209", adSlot: "example_banner@300x250"}},
        {bidder: "openx", params: {unit: "539439964", delDomain: "example-d.openx.net"}},
        {bidder: "ix", params: {siteId: "715964"}},
        {bidder: "smartadserver", params: {siteId: 411951, pageId: 1383641, formatId: 84313}},
        {bidder: "equativ", params: {networkId: 73}},
        {bidder: "adf", params: {mid: 1775017}},
        {bidder: "medianet", params: {cid: "8CUV090", crid: "358025426"}},
        {bidder: "ttd", params: {supplySourceId: "examplessp", publisherId: "1427ab10f2e448057ed3b422"}},
        {bidder: "taboola", params: {publisherId: "exampleshop", tagId: "banner-top"}},
        {bidder: "criteo", params: {networkId: 4050}},
        {bidder: "outbrain", params: {publisher: {id: "exampleshop-ob"}, tagid: "banner-top"}}
      ]
    }]);
    pbjs.requestBids({timeout: 5000, bidsBackHandler: function () { window.auctionDone = true; }});
  });
""")

# (tracker, data type, value) each company must have received, as the adapter sends it.
EXPECTED = [
    *((t, "consent_state", HONEY["tcString"]) for t in COMPANIES),
    *((t, "other_id", HONEY["hashedEmail"]) for t in COMPANIES if t != "media_net"),
    ("media_net", "other_id", HONEY["hashedEmail"]),  # under ortb2.user.ext.eids
    # Outbrain's adapter forwards no first-party user data (Prebid.js 11.36 outbrainBidAdapter).
    *((t, "birth_date", "1984") for t in COMPANIES if t not in ("xandr", "outbrain")),
    *((t, "gender", "F") for t in COMPANIES if t not in ("xandr", "outbrain")),
    *((t, "page_url", PAGE_URL) for t in COMPANIES),
    ("xandr", "project_key", "13144370"), ("magnite", "project_key", "14062"), ("magnite", "project_key", "70608"),
    ("pubmatic", "project_key", "156209"), ("openx", "project_key", "example-d.openx.net"),
    ("index_exchange", "project_key", "715964"), ("equativ", "project_key", "411951"),
    ("equativ", "project_key", "73"), ("media_net", "project_key", "8CUV090"),
    ("the_trade_desk", "project_key", "1427ab10f2e448057ed3b422"), ("taboola", "project_key", "exampleshop"),
    ("criteo", "project_key", "4050"), ("outbrain", "project_key", "exampleshop-ob"),
    ("id5", "project_key", "173"), ("id5", "hashed_email", HEM), ("id5", "page_url", PAGE_URL),
    ("id5", "consent_state", HONEY["tcString"]),
    # The ID5 ID the page got back goes on to the bidders as a user id.
    ("openx", "other_id", ID5_ID), ("the_trade_desk", "other_id", ID5_ID),
    ("xandr", "custom_property", "diabetes"), ("magnite", "custom_property", "pregnancy,vitamins,diabetes,insulin"),
]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    require_browser([ESBUILD], "tests/js/adtech")
    bundle = tmp_path / "prebid.js"
    subprocess.run([str(ESBUILD), "prebid-entry.mjs", "--bundle", "--format=iife", f"--outfile={bundle}",
                    "--log-level=warning"], check=True, timeout=120, cwd=ADTECH)
    return build_site(tmp_path, {"index.html": shop_page("/prebid.js"), "shop.js": SHOP_JS}, {"prebid.js": bundle})


def test_prebid_auction_reaches_each_ssp_rule(site: Path, proxy_factory) -> None:
    proxy = serve_site(proxy_factory, site)
    with chromium_page(proxy, (SITE, *HOSTS), like_a_user=True) as run:
        run.page.goto(PAGE_URL, wait_until="load")
        deadline = time.monotonic() + 30
        while not run.page.evaluate("() => window.auctionDone") and time.monotonic() < deadline:
            time.sleep(0.3)
        state = run.page.evaluate("() => ({done: window.auctionDone, errors: window.pageErrors})")
    assert state == {"done": True, "errors": []}, state

    rows = findings(proxy.db)
    missing = [e for e in EXPECTED if not with_value(rows, *e)]
    assert not missing, json.dumps(missing, indent=1)
    # Each adapter's request matched its company's rule (no SSP request left to the generic path).
    assert {r["tracker"] for r in rows} == {*COMPANIES, "id5"}, {r["tracker"] for r in rows}
    tracker_flows = [f for f in proxy_flows(proxy) if f.request.pretty_host != SITE]
    assert {f.request.pretty_host for f in tracker_flows} == set(HOSTS)
    assert not not_answered(tracker_flows)
    # PubMatic's body is gzip without a Content-Encoding header: decoded by the rule.
    assert any(f.request.raw_content[:2] == b"\x1f\x8b" for f in tracker_flows
               if f.request.pretty_host == "hbopenbid.pubmatic.com")
