"""HAR fidelity: a HAR must give the findings of the traffic it recorded.

mitmproxy's own HAR export (`--set hardump=FILE`, mitmproxy/addons/savehar.py) writes request
bodies through `Message.get_text(strict=False)`: freed of Content-Encoding while the header
stays, and decoded with the Content-Type's charset, else Latin-1 (binary bodies become Latin-1
text). leakmap reads the writer from `log.creator` and reverses exactly that, so the HAR
mitmdump writes next to its `.mitm` gives the same findings. Browsers (Chromium's DevTools,
Playwright's record_har) decode bodies as UTF-8 and replace other bytes with U+FFFD: such a
request is reported as "body lost by the HAR writer", not silently as nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from leakmap.decode import Limits
from leakmap.session import Session
from leakmap.store import Store

pytestmark = [pytest.mark.e2e, pytest.mark.real_client("posthog", "posthog (PyPI)"),
              pytest.mark.real_client("mixpanel", "mixpanel (PyPI)")]

SDK_SCRIPT = """
from posthog import Posthog
from mixpanel import Mixpanel
ph = Posthog("phc_harfidelity5f2a", host="https://us.i.posthog.com", gzip=True, sync_mode=True)
ph.capture("checkout_started", distinct_id="har-user-7731", properties={"email": "har.honey@example.net",
           "$os": "Linux", "plan": "pro", "$screen_width": 2560})
ph.set(distinct_id="har-user-7731", properties={"name": "Harriet Honey", "phone": "+447700900456"})
ph.flush()
mp = Mixpanel("harmixpanel5f2a")
mp.track("har-user-7731", "Gerät geöffnet", {"user_email": "har.honey@example.net", "city": "Zürich"})
print("sent")
"""


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


def test_mitmproxy_har_gives_the_findings_of_its_dump(tmp_path, mitm_confdir):
    from conftest import start_proxy

    har = tmp_path / "live.har"
    proxy = start_proxy(tmp_path, mitm_confdir, f"hardump={har}")
    try:
        result = subprocess.run([sys.executable, "-c", SDK_SCRIPT], env=proxy.client_env(), capture_output=True,
                                text=True, timeout=90)
    finally:
        log = proxy.stop()
    assert result.returncode == 0 and "sent" in result.stdout, result.stderr + log
    assert har.is_file(), log
    from_dump, _ = analysed(proxy.dump)
    from_har, _ = analysed(har)
    posthog = {row for row in from_dump if row[2] in ("har-user-7731", "har.honey@example.net", "Harriet Honey",
                                                      "+447700900456", "2560")}
    assert len(posthog) >= 6, from_dump  # the gzip bodies were opened
    assert from_har == from_dump, (from_dump - from_har, from_har - from_dump)



def test_a_body_the_har_writer_destroyed_is_one_problem_line(tmp_path):
    """Playwright's record_har writes `postData.text` as `Buffer.toString()` (UTF-8, every
    other byte U+FFFD; playwright-core server/har/harTracer.ts `_postDataForBuffer`, as
    bundled in playwright 1.65): the gzip-js body of posthog-js cannot be recovered."""
    import gzip
    import json

    body = gzip.compress(json.dumps({"event": "x", "properties": {"distinct_id": "lost-user"}}).encode())
    entry = {"startedDateTime": "2026-12-07T10:00:00Z", "request": {
        "method": "POST", "url": "https://us.i.posthog.com/e/?compression=gzip-js", "bodySize": len(body),
        "headers": [{"name": "Content-Type", "value": "text/plain"}],
        "postData": {"mimeType": "text/plain", "text": body.decode("utf-8", "replace"), "params": []}}}
    har = tmp_path / "browser.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "Playwright", "version": "1.65.3"},
                                       "entries": [entry]}}))
    rows, problems = analysed(har)
    assert not any(row[2] == "lost-user" for row in rows)
    assert any("body lost by the HAR writer: Playwright 1.65.3 replaced bytes" in p and "us.i.posthog.com" in p
               for p in problems), problems


def test_mitmproxy_har_of_binary_bodies_gives_the_findings_of_the_dump(tmp_path):
    """posthog-js's gzip-js body (raw gzip, text/plain, no Content-Encoding) and a protobuf
    body, written by mitmproxy's own FlowWriter and savehar (`SaveHar.make_har`): savehar
    stores them as Latin-1 text, which leakmap reverses, so the HAR gives the dump's findings."""
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
    from_dump, _ = analysed(dump)
    assert {row[2] for row in from_dump} >= {"latin1-user-9", "latin1.honey@example.net", "latin1-user-10"}
    assert analysed(har)[0] == from_dump
