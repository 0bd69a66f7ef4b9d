// The page script of bench_trackhar.py's adtech corpus, served as the site's /shop.js.
// A news site with Prebid.js (prebid-bench.mjs): after each auction it starts the next one,
// `?auctions=N` times, as a page that refreshes its ad slots does, with first-party data
// that varies per auction (section, keywords, the reader's year of birth and gender) and a
// reader per page load (`?reader=K`: a hashed email as publisher-provided id). The adapters
// build their real requests; the proxy answers each with "no bid".
(function () {
  var query = new URLSearchParams(location.search);
  var reader = Number(query.get("reader") || 1);
  var auctions = Number(query.get("auctions") || 1);
  window.auctionsDone = 0;
  window.pageErrors = [];
  var seed = reader * 7919;
  function random() { seed = (seed * 48271) % 2147483647; return seed / 2147483647; }
  function pick(list) { return list[Math.floor(random() * list.length)]; }

  var SECTIONS = ["politics", "health", "sports", "finance", "travel", "parenting", "tech", "food"];
  var KEYWORDS = ["pregnancy", "vitamins", "diabetes", "insulin", "mortgage", "running", "vegan", "election",
                  "depression", "loans", "fertility", "cancer", "dating", "gambling", "crypto"];
  var SLOTS = [["banner-top", [[728, 90], [970, 250]]], ["sidebar", [[300, 250], [300, 600]]],
               ["in-article", [[300, 250], [336, 280]]], ["footer", [[728, 90], [320, 50]]]];

  window.__tcfapi = function (cmd, version, callback) {
    // The site's consent platform (CMP): a TCF v2 TC string for a reader who consented.
    if (cmd === "addEventListener" || cmd === "getTCData") {
      callback({tcString: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", gdprApplies: true,
                eventStatus: "tcloaded", cmpStatus: "loaded", listenerId: 1,
                purpose: {consents: {1: true, 2: true, 3: true, 4: true}}, vendor: {consents: {131: true}}}, true);
    } else if (cmd === "ping") { callback({cmpLoaded: true, gdprApplies: true}, true); }
  };

  function bids(slot) {
    return [
      {bidder: "appnexus", params: {placementId: 13144370 + slot}},
      {bidder: "rubicon", params: {accountId: 14062, siteId: 70608, zoneId: 498816 + slot}},
      {bidder: "pubmatic", params: {publisherId: "156209", adSlot: "news_" + SLOTS[slot][0] + "@300x250"}},
      {bidder: "openx", params: {unit: String(539439964 + slot), delDomain: "example-d.openx.net"}},
      {bidder: "ix", params: {siteId: String(715964 + slot)}},
      {bidder: "smartadserver", params: {siteId: 411951, pageId: 1383641, formatId: 84313 + slot}},
      {bidder: "adf", params: {mid: 1775017 + slot}},
      {bidder: "medianet", params: {cid: "8CUV090", crid: String(358025426 + slot)}},
      {bidder: "taboola", params: {publisherId: "examplenews", tagId: SLOTS[slot][0]}},
      {bidder: "criteo", params: {networkId: 4050}},
      {bidder: "outbrain", params: {publisher: {id: "examplenews-ob"}, tagid: SLOTS[slot][0]}}
    ];
  }

  function auction(n) {
    var slot = n % SLOTS.length;
    var section = pick(SECTIONS);
    pbjs.requestBids({
      timeout: 5000,
      adUnits: [{code: SLOTS[slot][0], mediaTypes: {banner: {sizes: SLOTS[slot][1]}},
                 ortb2Imp: {ext: {gpid: "/1234/example-news/" + section + "/" + SLOTS[slot][0]}}, bids: bids(slot)}],
      ortb2: {site: {keywords: section + "," + pick(KEYWORDS), content: {language: "en"},
                     cat: ["IAB" + (1 + Math.floor(random() * 20))]},
              user: {yob: 1950 + Math.floor(random() * 56), gender: pick(["F", "M", "O"]),
                     keywords: pick(KEYWORDS) + "," + pick(KEYWORDS)}},
      bidsBackHandler: function () {
        window.auctionsDone = n + 1;
        if (n + 1 < auctions) { setTimeout(function () { auction(n + 1); }, 0); }
      }
    });
  }

  function start(hashedEmail) {
    try {
      pbjs.setConfig({
        consentManagement: {gdpr: {cmpApi: "iab", timeout: 2000}},
        outbrain: {bidderUrl: "https://b1h-euc1.zemanta.com/api/bidder/prebid/bid/"},
        userSync: {syncEnabled: false, auctionDelay: 3000, userIds: [
          {name: "pubProvidedId", params: {eids: [
            {source: "example-news.test", uids: [{id: hashedEmail, atype: 3, ext: {stype: "hemsha256"}}]}]}},
          {name: "id5Id", params: {partner: 173},
           storage: {type: "html5", name: "id5id", expires: 90, refreshInSeconds: 7200}}]}
      });
      auction(0);
    } catch (e) { window.pageErrors.push("prebid: " + e); }
  }

  var email = new TextEncoder().encode("reader" + reader + "@example.com");
  crypto.subtle.digest("SHA-256", email).then(function (digest) {
    start(Array.from(new Uint8Array(digest), function (b) { return b.toString(16).padStart(2, "0"); }).join(""));
  });
})();
