"""Bad input loses nothing: each problem is one clear line saying where, the rest is still
analysed, the exit code is non-zero only when nothing at all could be read, and no
traceback reaches the user."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy import io
from mitmproxy.test import tflow

from conftest import MITMDUMP, ROOT

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
LEAKMAP = Path(sys.executable).parent / "leakmap"
SAMPLE_FLOWS = 5


def leakmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(LEAKMAP), *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def mixpanel_flow(body: bytes, headers: dict[str, str] | None = None):
    flow = tflow.tflow()
    flow.request.host, flow.request.port, flow.request.scheme = "api.mixpanel.com", 443, "https"
    flow.request.method, flow.request.path = "POST", "/track/?ip=1"
    flow.request.headers["content-type"] = "application/x-www-form-urlencoded"
    for key, value in (headers or {}).items():
        flow.request.headers[key] = value
    flow.request.raw_content = body
    return flow


def write_flows(path: Path, flows) -> Path:
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)
    return path


@pytest.fixture
def sample_har(tmp_path: Path) -> Path:
    har = tmp_path / "sample.har"
    subprocess.run([str(MITMDUMP), "-n", "-q", "-r", str(SAMPLE), "--set", f"hardump={har}"], check=True, timeout=60)
    return har


def test_truncated_dump_keeps_the_flows_before_the_cut(tmp_path: Path):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    result = leakmap("analyze", str(cut), "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 0
    assert "corrupt or truncated dump" in result.stderr
    assert "cut.mitm: after flow" in result.stderr
    read = int(result.stdout.split("flows read")[0].rsplit(" ", 2)[-2])
    assert 1 <= read < SAMPLE_FLOWS
    assert (tmp_path / "r.html").exists()


def test_garbage_file_reads_nothing_and_exits_3(tmp_path: Path):
    junk = tmp_path / "junk.mitm"
    junk.write_bytes(b"\x00\xffthis is not a flow file" * 10)
    result = leakmap("analyze", str(junk), cwd=tmp_path)
    assert result.returncode == 3
    assert "junk.mitm" in result.stderr and "no flow could be read" in result.stderr
    assert not (tmp_path / "report.html").exists()


def test_invalid_har_is_one_line_and_exit_3(tmp_path: Path):
    bad = tmp_path / "bad.har"
    bad.write_text("{ this is not json")
    result = leakmap("analyze", str(bad), cwd=tmp_path)
    assert result.returncode == 3
    assert "bad.har: after entry 0" in result.stderr and "invalid HAR/JSON" in result.stderr


def test_broken_entry_inside_good_har_is_skipped_alone(tmp_path: Path, sample_har: Path):
    har = json.loads(sample_har.read_text())
    assert len(har["log"]["entries"]) == SAMPLE_FLOWS
    del har["log"]["entries"][1]["request"]["url"]
    har["log"]["entries"][2]["request"]["headers"] = "not a list"
    broken = tmp_path / "broken.har"
    broken.write_text(json.dumps(har))
    result = leakmap("analyze", str(broken), "--findings", "f.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert "broken.har: entry 2: skipped broken HAR entry: missing 'url'" in result.stderr
    assert "broken.har: entry 3: skipped broken HAR entry" in result.stderr
    assert f"{SAMPLE_FLOWS - 2} flows read, 2 skipped" in result.stdout
    assert "jane.doe@example.com" in (tmp_path / "f.csv").read_text()


def test_har_cut_mid_file_keeps_complete_entries(tmp_path: Path, sample_har: Path):
    text = sample_har.read_text()
    cut = tmp_path / "cut.har"
    cut.write_text(text[: int(len(text) * 0.8)])
    result = leakmap("analyze", str(cut), cwd=tmp_path)
    assert result.returncode == 0
    assert "invalid HAR/JSON" in result.stderr
    assert " 0 flows read" not in result.stdout


def test_undecodable_and_truncated_bodies_stay_visible(tmp_path: Path):
    good = b"data=" + __import__("base64").b64encode(json.dumps(
        [{"event": "ok", "properties": {"token": "t0k", "distinct_id": "visible-user"}}]).encode())
    truncated_gzip = gzip.compress(good)[:-12]
    capture = write_flows(tmp_path / "bodies.mitm", [
        mixpanel_flow(b"data=%%%not-base64-or-json%%%"),
        mixpanel_flow(truncated_gzip, {"content-encoding": "gzip"}),
        mixpanel_flow(good),
    ])
    result = leakmap("analyze", str(capture), "--findings", "f.json", "--db", "s.db", cwd=tmp_path)
    assert result.returncode == 0
    assert "3 tracker requests (1 decoded, 2 not decoded)" in result.stdout
    assert "not decoded 1: body.data" in result.stdout
    assert "not decoded 1: content-encoding" in result.stdout
    rows = json.loads((tmp_path / "f.json").read_text())
    assert {r["value"] for r in rows if r["data_type"] == "user_id"} == {"visible-user"}
    html = (tmp_path / "report.html").read_text()
    assert "gzip: truncated data" in html and "no alternative decoded" in html


def test_decompression_bomb_is_stopped_at_the_limit(tmp_path: Path):
    bomb = gzip.compress(b"data=" + b"A" * 50_000_000)
    capture = write_flows(tmp_path / "bomb.mitm", [mixpanel_flow(bomb, {"content-encoding": "gzip"})])
    result = leakmap("analyze", str(capture), "--max-decompressed", "1000000", cwd=tmp_path)
    assert result.returncode == 0
    assert "not decoded 1: content-encoding" in result.stdout
    assert "expands beyond the 1000000-byte limit" in (tmp_path / "report.html").read_text()


def test_malformed_rules_are_reported_and_the_others_still_work(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "syntax.yaml").write_text("id: broken\nname: [unclosed\n")
    (rules / "schema.yaml").write_text(
        "id: acme\nname: Acme\ncompany: Acme\ncategory: analytics\nendpoints:\n"
        "  - id: e\n    hosts: [t.acme.example]\n    source: x\n    fields:\n      user.mail: e_mail_address\n")
    result = leakmap("analyze", str(SAMPLE), "--rules", str(rules), cwd=tmp_path)
    assert result.returncode == 0
    assert "rule skipped:" in result.stderr
    assert "syntax.yaml: line 3: invalid YAML" in result.stderr or "syntax.yaml: line 2: invalid YAML" in result.stderr
    assert "schema.yaml: line 10: unknown data type 'e_mail_address'" in result.stderr
    assert f"{SAMPLE_FLOWS} tracker requests" in result.stdout

    check = leakmap("rules", "check", str(rules), cwd=tmp_path)
    assert check.returncode == 4
    assert "schema.yaml:10: unknown data type" in check.stdout
    assert "0 valid, 2 invalid" in check.stdout


def test_missing_input_file_is_named(tmp_path: Path):
    shutil.copy(SAMPLE, tmp_path / "ok.mitm")
    result = leakmap("analyze", "ok.mitm", "missing.har", cwd=tmp_path)
    assert result.returncode == 0
    assert "missing.har: no such file" in result.stderr


def test_unusable_store_is_exit_5(tmp_path: Path):
    db = tmp_path / "not-a-db.db"
    db.write_bytes(b"definitely not sqlite" * 100)
    result = leakmap("report", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 5
    assert "not a usable leakmap database" in result.stderr
