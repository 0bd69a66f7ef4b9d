"""HAR fidelity: a HAR must give the findings of the traffic it recorded.

mitmproxy's own HAR export (`--set hardump=FILE`, mitmproxy/addons/savehar.py) writes request
bodies through `Message.get_text(strict=False)`: freed of Content-Encoding while the header
stays, and decoded with the Content-Type's charset, else Latin-1 (binary bodies become Latin-1
text). leakmap reads the writer from `log.creator` and reverses exactly that, so the HAR
mitmdump writes next to its `.mitm` gives the same findings. Browsers (Chromium's DevTools,
Playwright's record_har) decode bodies as UTF-8 and replace other bytes with U+FFFD: such a
request is reported as "body lost by the HAR writer", not silently as nothing.

The HAR mitmdump writes from real Python SDKs (posthog's gzip bodies with Content-Encoding)
is compared with its dump in tests/e2e/test_special_categories.py (one mitmdump run for both).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from leakmap.decode import Limits
from leakmap.session import Session
from leakmap.store import Store

pytestmark = [pytest.mark.e2e]

def analysed(capture: Path) -> tuple[set[tuple[str, ...]], list[str]]:
    """(endpoint, data type, value, path, detector) of every finding, and the problem lines."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "f.db")
        Session(store).replay(capture, Limits())
        frame = store.findings_frame()
        problems = [f"{p.where}: {p.message}" for p in store.problems()]
        rows = {(r.endpoint, r.data_type, r.value, r.path, r.detector) for r in frame.itertuples()}
        store.close()
    return rows, problems


def test_mitmproxy_har_of_binary_bodies_gives_the_findings_of_the_dump(tmp_path):
    """posthog-js's gzip-js body (raw gzip, text/plain, no Content-Encoding) and a gzip body
    with Content-Encoding, written by mitmproxy's own FlowWriter and savehar (`make_har`, and
    `save.har` to a .zhar): savehar stores the first as Latin-1 text and the second decoded
    under its header, which leakmap reverses, so each HAR gives the dump's findings."""
    import gzip
    import json

    from mitmproxy import http, io
    from mitmproxy.addons.savehar import SaveHar
    from mitmproxy.test import tflow

    capture = {"event": "checkout_started", "properties": {"distinct_id": "latin1-user-9", "token": "phc_latin1",
                                                           "$set": {"email": "latin1.honey@example.net"}}}
    flows = []
    for url, body, content_type in (
            ("https://us.i.posthog.com/e/?compression=gzip-js", gzip.compress(json.dumps(capture).encode()),
             "text/plain"),
            ("https://us.i.posthog.com/batch/", gzip.compress(json.dumps({"api_key": "phc_latin1", "batch": [
                {"event": "x", "distinct_id": "latin1-user-10"}]}).encode()), "application/json")):
        flow = tflow.tflow(resp=True)
        flow.request = http.Request.make("POST", url, b"", {"content-type": content_type})
        flow.request.raw_content = body
        if "batch" in url:
            flow.request.headers["content-encoding"] = "gzip"
        flows.append(flow)
    dump, har = tmp_path / "c.mitm", tmp_path / "c.har"
    with dump.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)
    har.write_text(json.dumps(SaveHar().make_har(flows)))
    SaveHar().export_har(flows, str(tmp_path / "c.zhar"))  # mitmproxy's `save.har` command, zlib-compressed
    from_dump, _ = analysed(dump)
    assert {row[2] for row in from_dump} >= {"latin1-user-9", "latin1.honey@example.net", "latin1-user-10"}
    assert analysed(har)[0] == from_dump
    assert analysed(tmp_path / "c.zhar")[0] == from_dump


# PostHog's servers tell posthog-js which body encodings they take (remote config
# `supportedCompression`); with gzip-js the SDK posts raw gzip bytes as text/plain without
# Content-Encoding (posthog-core.js `_onRemoteConfig`, request.js `encodePostData`):
# mitmproxy's HAR holds them as Latin-1 text, Playwright's as UTF-8 with U+FFFD in place of
# every other byte.
GZIP_REPLY = '''
import json
from mitmproxy import http

def request(flow):
    config = {"supportedCompression": ["gzip-js"], "flags": {}, "featureFlags": {}}
    if flow.request.pretty_host.endswith("posthog.com") and flow.request.path.split("?")[0].endswith("/config.js"):
        flow.response = http.Response.make(200, "window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};"
                                           f"window._POSTHOG_REMOTE_CONFIG[{json.dumps(flow.request.path.split('/')[2])}]"
                                           f" = {{config: {json.dumps(config)}, siteApps: []}};",
                                           {"content-type": "application/javascript"})
    elif flow.request.pretty_host.endswith("posthog.com") and ("/config" in flow.request.path or "/flags" in flow.request.path):
        flow.response = http.Response.make(200, json.dumps(config), {"content-type": "application/json"})
'''
SHOP_JS = """
  posthog.init("phc_harBrowserHarBrowserHarBrowser1234567890a", {api_host: "https://us.i.posthog.com"});
  posthog.identify("har-browser-user-31", {email: "har.browser@example.net"});
  posthog.capture("checkout_started", {honey_prop: "har-honey-prop"});
"""


@pytest.mark.browser
@pytest.mark.real_client("posthog", "posthog-js (npm) in Chromium")
def test_browser_sdk_binary_bodies_in_mitmproxy_and_playwright_hars(proxy_factory, tmp_path):
    from support.chromium import SERVE_PAGES, SITE, build_site, chromium_page, require_browser, shop_page, wait_until

    posthog_js = Path(__file__).resolve().parents[1] / "js" / "browser" / "node_modules" / "posthog-js" / "dist" / \
        "array.full.js"
    require_browser([posthog_js], "tests/js/browser")
    site = build_site(tmp_path, {"index.html": shop_page("/posthog.js"), "shop.js": SHOP_JS}, {"posthog.js": posthog_js})
    reply = tmp_path / "gzip_reply.py"
    reply.write_text(GZIP_REPLY)
    mitmproxy_har, browser_har = tmp_path / "mitmproxy.har", tmp_path / "browser.har"
    proxy = proxy_factory(f"serve_pages_dir={site}", f"serve_pages_host={SITE}", f"hardump={mitmproxy_har}",
                          scripts=(SERVE_PAGES, reply))
    with chromium_page(proxy, (SITE, "us.i.posthog.com", "us-assets.i.posthog.com"), like_a_user=True,
                       record_har_path=str(browser_har)) as run:
        run.page.goto(f"https://{SITE}/")
        # posthog-js posts its gzip batches to /e/ (raw gzip, text/plain), seen in mitmdump's log.
        wait_until(lambda: proxy.log.read_text(errors="replace").count("POST https://us.i.posthog.com/e/") >= 2,
                   lambda: f"two /e/ uploads; page errors {run.errors}, failed {run.failed}", 30)
        run.page.context.close()
    from_dump, _ = analysed(proxy.dump)
    opened = {row for row in from_dump if row[0] == "capture" and row[3].startswith("body.")}
    assert len(opened) >= 10, from_dump  # the gzip batches were opened
    from_mitmproxy_har, _ = analysed(mitmproxy_har)
    assert from_mitmproxy_har == from_dump, (from_dump - from_mitmproxy_har, from_mitmproxy_har - from_dump)
    from_browser_har, problems = analysed(browser_har)
    assert not opened & from_browser_har
    assert [p for p in problems if "body lost by the HAR writer: Playwright" in p and "us.i.posthog.com" in p], problems
