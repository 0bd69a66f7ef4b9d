// Bundle Prebid.js (published on npm as ES modules for a site's build) with the bid adapters
// and the ID5 user-id module that tests/e2e/test_web_analytics_sdks.py drives, into one plain
// <script> that leaves `pbjs` on window, the way a publisher's build does:
//   node prebid-build.mjs OUTFILE
// The Prebid.js code itself is bundled unchanged.
import { build } from "esbuild";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const outfile = process.argv[2];
if (!outfile) {
  console.error("usage: node prebid-build.mjs OUTFILE");
  process.exit(2);
}
const modules = ["appnexusBidAdapter", "rubiconBidAdapter", "pubmaticBidAdapter", "openxBidAdapter", "ixBidAdapter",
                 "adfBidAdapter", "medianetBidAdapter", "smartadserverBidAdapter", "taboolaBidAdapter",
                 "ttdBidAdapter", "userId", "id5IdSystem"];
const entry = 'import pbjs from "prebid.js";\n'
  + modules.map((m) => `import "prebid.js/modules/${m}";\n`).join("")
  + "pbjs.processQueue();\n";
await build({
  stdin: {contents: entry, resolveDir: dirname(fileURLToPath(import.meta.url)), loader: "js"},
  bundle: true, format: "iife", platform: "browser", outfile, logLevel: "warning",
});
