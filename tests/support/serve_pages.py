"""mitmproxy addon for tests: the proxy itself serves a small test website.

There is no network where the tests run, so a browser pointed at the proxy cannot load a
real site. Loaded beside addons/leakmap.py (`proxy_factory(..., scripts=(SERVE_PAGES,))`),
this script answers every request for the test site's host (default http://shop.example/)
from files, before mitmproxy would try to connect anywhere:

  /                         -> <serve_pages_dir>/index.html
  /<name>                   -> <serve_pages_dir>/<name>
  /js/mixpanel-browser.js   -> the real SDK, tests/js/node_modules/mixpanel-browser (npm)
  anything else             -> 404

Tracker requests the page's SDK makes are answered by leakmap's block mode, not here.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from mitmproxy import ctx, http

# The UMD build: loaded with a plain <script> tag it defines `window.mixpanel`.
SDK_FILES = {
    "/js/mixpanel-browser.js": Path(__file__).resolve().parent.parent
    / "js" / "node_modules" / "mixpanel-browser" / "dist" / "mixpanel.umd.js",
}


class ServePages:
    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option("serve_pages_host", str, "shop.example", "Host name of the test website.")
        loader.add_option("serve_pages_dir", str, "", "Directory with the test website's pages.")

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.request.pretty_host != ctx.options.serve_pages_host:
            return
        file = self._file(flow.request.path.split("?", 1)[0])
        if file is None or not file.is_file():
            flow.response = http.Response.make(404, b"not found", {"content-type": "text/plain"})
            return
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        flow.response = http.Response.make(200, file.read_bytes(), {"content-type": content_type,
                                                                     "cache-control": "no-store"})

    @staticmethod
    def _file(path: str) -> Path | None:
        if path in SDK_FILES:
            return SDK_FILES[path]
        name = path.lstrip("/") or "index.html"
        if "/" in name or name.startswith("."):  # one flat directory, nothing above it
            return None
        return Path(ctx.options.serve_pages_dir) / name


addons = [ServePages()]
