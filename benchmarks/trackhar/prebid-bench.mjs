// The Prebid.js build of benchmarks/bench_trackhar.py's adtech corpus: the build of
// tests/e2e/test_browser_adtech.py (tests/js/adtech/prebid-entry.mjs) plus the Criteo and
// Outbrain bid adapters, whose endpoints both TrackHAR and leakmap cover. esbuild bundles it
// with NODE_PATH pointing at tests/js/adtech/node_modules (its `npm ci` installs Prebid.js).
import "../../tests/js/adtech/prebid-entry.mjs";
import "prebid.js/modules/criteoBidAdapter.js";
import "prebid.js/modules/outbrainBidAdapter.js";
