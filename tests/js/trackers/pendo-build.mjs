// Bundle @pendo/agent (ES modules with JSON imports, for bundlers) into one plain <script>
// (IIFE) that puts its `initialize` on window, the way a site's build would, for
// tests/e2e/test_browser_tracker_sdks.py:  node pendo-build.mjs OUTFILE
// The agent code itself is bundled unchanged.
import { build } from "esbuild";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const outfile = process.argv[2];
if (!outfile) {
  console.error("usage: node pendo-build.mjs OUTFILE");
  process.exit(2);
}
await build({
  stdin: {contents: 'import { initialize } from "@pendo/agent"; window.pendoInitialize = initialize;',
          resolveDir: dirname(fileURLToPath(import.meta.url)), loader: "js"},
  bundle: true, format: "iife", platform: "browser", outfile, logLevel: "warning",
});
