// Bundle the browser SDKs that npm ships only as ES/CommonJS modules for bundlers into
// plain <script> files (IIFE), the way a site's build would, for tests/e2e/test_browser_esm_sdks.py.
//
//   node build.mjs OUTDIR    ->  OUTDIR/sentry.js (window.Sentry), OUTDIR/newrelic.js
//                                (window.NewRelicBrowserAgent), OUTDIR/braze.js (window.braze)
//
// Each entry only imports the package as its README shows and puts it on window; the SDK
// code itself is bundled unchanged.
import { build } from "esbuild";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2];
if (!outdir) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}

const entries = {
  "sentry.js": 'import * as Sentry from "@sentry/browser"; window.Sentry = Sentry;',
  "newrelic.js":
    'import { BrowserAgent } from "@newrelic/browser-agent/loaders/browser-agent";' +
    " window.NewRelicBrowserAgent = BrowserAgent;",
  "braze.js": 'import * as braze from "@braze/web-sdk"; window.braze = braze;',
};

await Promise.all(
  Object.entries(entries).map(([name, contents]) =>
    build({
      stdin: { contents, resolveDir: here, sourcefile: name, loader: "js" },
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "es2020",
      define: { "process.env.NODE_ENV": '"production"' },
      outfile: `${outdir}/${name}`,
      logLevel: "warning",
    }),
  ),
);
