"""Packet captures: a real TLS capture made here (hypercorn, curl with SSLKEYLOGFILE, dumpcap
on loopback) read back through tshark, with the key log given, embedded, or missing."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import free_port
from leakmap.decode import Limits
from leakmap.model import Problem, Request
from leakmap.read import read_any

sys.path.insert(0, str(Path(__file__).parent / "support"))
import tls_capture  # noqa: E402

LEAKMAP = Path(sys.executable).parent / "leakmap"
pytestmark = pytest.mark.skipif(bool(tls_capture.missing_tools()),
                                reason=f"needs {', '.join(tls_capture.missing_tools())} (scripts/test installs tshark)")

# Mixpanel JS's /track form body (data = JSON array of events), see tracker_rules/mixpanel.yaml.
MIXPANEL_FORM = ("data=%5B%7B%22event%22%3A%22Signed%20up%22%2C%22properties%22%3A%7B%22token%22%3A%22abc123%22"
                 "%2C%22distinct_id%22%3A%22user-42%22%2C%22%24email%22%3A%22jane%40example.org%22%7D%7D%5D")
SEGMENT_IDENTIFY = json.dumps({"userId": "user-h2", "traits": {"email": "h2@example.org"}})
SEGMENT_TRACK = json.dumps({"userId": "user-gz", "event": "Paid", "properties": {"email": "gz@example.org"}})


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> tls_capture.Capture:
    """One capture for the module: HTTP/1.1 form, HTTP/2 JSON, HTTP/1.1 gzip (binary) body."""
    folder = tmp_path_factory.mktemp("pcap")
    gz = folder / "track.json.gz"
    gz.write_bytes(gzip.compress(SEGMENT_TRACK.encode()))
    port = free_port()
    mixpanel = ["--resolve", f"api-js.mixpanel.com:{port}:127.0.0.1"]
    segment = ["--resolve", f"api.segment.io:{port}:127.0.0.1"]
    return tls_capture.record(folder, port, [
        ["--http1.1", *mixpanel, "-H", "content-type: application/x-www-form-urlencoded", "--data", MIXPANEL_FORM,
         f"https://api-js.mixpanel.com:{port}/track/?ip=1"],
        ["--http2", *segment, "-H", "content-type: application/json", "--data", SEGMENT_IDENTIFY,
         f"https://api.segment.io:{port}/v1/identify"],
        ["--http1.1", *segment, "-H", "content-type: application/json", "-H", "content-encoding: gzip",
         "--data-binary", f"@{gz}", f"https://api.segment.io:{port}/v1/track"],
    ])


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKMAP), "analyze", *args, "-o", "r.html", "--findings", "f.json"],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_keylog_decrypts_http1_http2_and_gzip_bodies(capture, tmp_path):
    result = analyze(str(capture.pcap), "--keylog", str(capture.keylog), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 flows read, 0 skipped, 3 tracker requests (3 decoded" in result.stdout
    rows = json.loads((tmp_path / "f.json").read_text())
    found = {(r["tracker"], r["data_type"], r["value"]) for r in rows}
    assert {("mixpanel", "email", "jane@example.org"), ("mixpanel", "user_id", "user-42"),
            ("segment", "email", "h2@example.org"), ("segment", "user_id", "user-h2"),
            ("segment", "email", "gz@example.org")} <= found
    h2 = {r["flow_id"] for r in rows if r["value"] == "h2@example.org"}
    assert len(h2) == 1 and h2.pop().endswith("-h2s1")  # the HTTP/2 stream that carried it
    assert all(r["client"] == "127.0.0.1" for r in rows)


def test_pcapdroid_export_embedded_keys_and_app_name(capture, tmp_path):
    droid = tls_capture.pcapdroid_export(capture, "com.example.shop", 10123, tmp_path / "PCAPdroid.pcapng")
    result = analyze(str(droid), cwd=tmp_path)  # no --keylog: the keys are in the file
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "f.json").read_text())
    assert {r["value"] for r in rows} >= {"jane@example.org", "h2@example.org", "gz@example.org"}
    assert {(r["app"], r["app_signal"]) for r in rows} == {("com.example.shop", "capture_app")}


def test_without_keys_says_how_many_tls_connections_stay_closed(capture):
    items = list(read_any(capture.pcap, Limits()))
    assert [str(i) for i in items] == [
        f"{capture.pcap}: 3 TLS connections without keys (not decrypted; give the client's SSLKEYLOGFILE with "
        "--keylog): api-js.mixpanel.com, api.segment.io"]


def test_body_limit_cuts_http2_data(capture):
    items = list(read_any(capture.pcap, Limits(max_body=16), keylog=capture.keylog))
    h2 = next(i for i in items if isinstance(i, Request) and i.flow_id.endswith("-h2s1"))
    assert len(h2.body) == 17  # kept up to the limit + 1, so the decoder reports it as too large


def test_missing_tshark_truncated_and_garbage_files_are_problems(capture, tmp_path, monkeypatch):
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(bytes(range(256)) * 4)
    items = list(read_any(garbage, Limits()))
    assert len(items) == 1 and "isn't a capture file in a format TShark understands" in items[0].message
    cut = tmp_path / "cut.pcapng"
    data = capture.pcap.read_bytes()
    cut.write_bytes(data[:len(data) - 200])  # the capture ends mid-packet
    items = list(read_any(cut, Limits(), keylog=capture.keylog))
    assert sum(isinstance(i, Request) for i in items) >= 2  # what came before the cut is still read
    assert isinstance(items[-1], Problem) and "cut short in the middle of a packet" in items[-1].message
    monkeypatch.setenv("PATH", str(tmp_path))
    items = list(read_any(capture.pcap, Limits()))
    assert [i.message for i in items] == ["packet capture needs tshark: install Debian's tshark (apt-get install tshark)"]


def test_an_oversized_packet_record_is_cut_not_held():
    import io

    from leakmap.read_pcap import _lines
    stream = io.BytesIO(b'{"timestamp":1}\n' + b"x" * 50 + b"\n" + b'{"timestamp":2}\n')
    assert list(_lines(stream, 20)) == [b'{"timestamp":1}\n', b"x" * 20, b'{"timestamp":2}\n']
