"""A real mitmweb with the leakmap addon, driven in Debian's Chromium through Playwright: a
tracker flow is marked and commented in the flow list, and opening it shows the request in
the `leakmap` content view with a known field and its data type."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import ADDON, free_port
from support.chromium import CHROMIUM, require_browser, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

MITMWEB = Path(sys.executable).parent / "mitmweb"
EVENTS = [{"event": "Checkout", "properties": {"token": "tok-web-1", "distinct_id": "web-user-7",
                                               "$email": "carol@example.net", "$os": "Linux"}}]


@pytest.fixture
def mitmweb(tmp_path, mitm_confdir):
    proxy_port, web_port, token = free_port(), free_port(), secrets.token_hex(8)
    log = tmp_path / "mitmweb.log"
    process = subprocess.Popen(
        [str(MITMWEB), "--listen-host", "127.0.0.1", "-p", str(proxy_port), "--web-host", "127.0.0.1",
         "--web-port", str(web_port), "--set", "web_open_browser=false", "--set", f"web_password={token}",
         "--set", f"confdir={mitm_confdir}", "-s", str(ADDON), "--set", f"leakmap_db={tmp_path / 'web.db'}",
         "--set", "leakmap_block=true"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp_path)

    def api_ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/flows?token={token}", timeout=1):
                return True
        except OSError:
            assert process.poll() is None, log.read_text(errors="replace")
            return False

    try:
        wait_until(api_ready, "for mitmweb to serve its UI", 30)
        yield proxy_port, web_port, token
    finally:
        process.terminate()
        process.wait(timeout=20)


def send_tracker_request(proxy_port: int) -> None:
    """What mixpanel-browser sends, over plain HTTP through the proxy, answered by block mode."""
    body = b"data=" + base64.b64encode(json.dumps(EVENTS).encode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{proxy_port}"}))
    request = urllib.request.Request("http://api-js.mixpanel.com/track/?ip=1", data=body,
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    with opener.open(request, timeout=10) as response:
        assert response.headers["x-leakmap"] == "answered-by-proxy"


def test_mitmweb_shows_the_leakmap_view_and_marks_the_tracker_flow(mitmweb):
    require_browser()
    from playwright.sync_api import sync_playwright

    proxy_port, web_port, token = mitmweb
    send_tracker_request(proxy_port)
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/flows?token={token}", timeout=5) as response:
        flows = json.load(response)
    assert [(f["marked"], f["comment"].split(":")[0]) for f in flows] == [("\N{EYE}", "Mixpanel")]
    assert "email" in flows[0]["comment"]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{web_port}/?token={token}")
            page.get_by_text("/track/?ip=1").first.click()
            page.get_by_text("carol@example.net").first.wait_for(timeout=15_000)
            text = page.inner_text("body")
        finally:
            browser.close()
    assert "leakmap" in text.lower()
    assert "type: email" in text and "value: carol@example.net" in text
    assert "value: web-user-7" in text and "type: user_id" in text


def test_sigusr1_makes_mitmdump_write_the_report_while_it_runs(proxy_factory):
    import os
    import signal

    proxy = proxy_factory()
    send_tracker_request(proxy.port)
    os.kill(proxy.process.pid, signal.SIGUSR1)
    wait_until(lambda: proxy.report.exists() and "carol@example.net" in proxy.report.read_text(),
               "for the report written on SIGUSR1", 20)
    assert proxy.process.poll() is None  # still capturing


def test_refused_certificates_are_listed_as_not_seen(proxy_factory):
    """A client that does not trust mitmproxy's CA (as an app that pins its certificates)
    refuses the handshake: the report names the host it could not see, per app."""
    import http.client
    import ssl

    proxy = proxy_factory("leakmap_app=Pinned App")
    for _ in range(2):
        tunnel = http.client.HTTPSConnection("127.0.0.1", proxy.port, timeout=20,
                                             context=ssl.create_default_context())  # system CAs only
        tunnel.set_tunnel("api.pinned-bank.example", 443)
        with pytest.raises(ssl.SSLError):
            tunnel.request("GET", "/")
        tunnel.close()
    send_tracker_request(proxy.port)  # an ordinary tracker request still gets through
    log = proxy.stop()
    html = proxy.report.read_text()
    section = html[html.index('id="unseen"'):]
    row = section[section.index("<tr data-f"):]
    row = row[:row.index("</tr>")]
    assert "Pinned App" in row and "api.pinned-bank.example" in row and "<td>2</td>" in row, (row, log)
    assert "carol@example.net" in html
