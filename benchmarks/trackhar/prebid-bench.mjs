// The Prebid.js build of benchmarks/bench_trackhar.py's adtech corpus: the build of
// tests/e2e/test_browser_adtech.py (tests/js/adtech/prebid-entry.mjs, with the Criteo and
// Outbrain bid adapters among its thirteen). esbuild bundles it with NODE_PATH pointing at
// tests/js/adtech/node_modules (its `npm ci` installs Prebid.js).
import "../../tests/js/adtech/prebid-entry.mjs";
