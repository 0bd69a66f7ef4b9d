"""The CLI on the bundled sample capture: labels, honey values, export formats, summary."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
LEAKMAP = Path(sys.executable).parent / "leakmap"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKMAP), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_summary_names_apps_trackers_and_counts(tmp_path):
    result = run("analyze", str(SAMPLE), "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "5 flows read, 0 skipped, 5 tracker requests (5 decoded, 0 not decoded)" in result.stdout
    assert "mixpanel project 3f9c2a7e51b04d88a1c6e0f2b7d4a913 → mixpanel: 21 findings" in result.stdout
    assert "(advertising_id, custom_property, email, event_name, health, latitude, longitude" in result.stdout


def test_app_label_honey_values_and_json_export(tmp_path):
    result = run("analyze", str(SAMPLE), "--app", "Notes & Fitness", "--honey", "phone=+14155550123",
                 "--honey", "other_id=Berlin-Runners", "--findings", "out.data", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "out.data").read_text())
    assert {(r["app"], r["app_signal"]) for r in rows} == {("Notes & Fitness", "capture_label")}
    honey = {(r["data_type"], r["value"], r["detector"], r["detail"]) for r in rows if r["detector"] == "indicator"}
    # The phone was already found by the rule (one finding per data type and value); the
    # group id only by the honey value, in lower case as the app sent it.
    assert honey == {("other_id", "Berlin-Runners", "indicator", "lowercase")}
    assert any(r["data_type"] == "phone" and r["detector"] == "rule" for r in rows)


def test_bad_honey_value_is_a_usage_error(tmp_path):
    result = run("analyze", str(SAMPLE), "--honey", "nosuchtype=1", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown data type 'nosuchtype'" in result.stderr
    assert "Traceback" not in result.stderr
    untyped = run("analyze", str(SAMPLE), "--honey", "Berlin-Runners", cwd=tmp_path)
    assert untyped.returncode == 2 and "has no type" in untyped.stderr


def test_honey_first_and_last_name_are_names():
    from leakmap.session import parse_indicator

    assert [parse_indicator(h).data_type for h in ("first_name=Jane", "last_name=Doe")] == ["name", "name"]


def test_help_explains_exit_codes():
    result = subprocess.run([str(LEAKMAP), "--help"], capture_output=True, text=True)
    assert "Exit codes: 0 success" in result.stdout and "3 nothing could be read" in result.stdout


# --- --tracker-key: keys rules need to open obfuscated payloads (h-applovin) ---------------
SDK_KEY = "05TMDQ5tZabpXQ45_UTbmEGNUtRAzpEcf4IrJSvWkx8xkmVrX8D5YVhKnOdJWQrFYyLN8S8vSeYUPjGa5cNw0Z"
IDFA = "38400000-8cf0-11bd-b23e-10b96e40000d"


def applovin_capture(path: Path) -> Path:
    """Two AppLovin SDK requests as mitmproxy flows: a format-1 body gzipped with
    Content-Encoding (MAX mediate) and a format-2 `p` parameter (ad request)."""
    import gzip

    from mitmproxy import http, io
    from mitmproxy.test import tflow

    from support.applovin_sdk import encode_v1, encode_v2, p_parameter, query_text

    body = json.dumps({"device_info": {"idfa": IDFA, "model": "Pixel 8"},
                       "app_info": {"package_name": "com.example.game"}, "sdk_key": SDK_KEY})
    mediate = tflow.tflow()
    mediate.request = http.Request.make("POST", "https://ms4.applovin.com/1.0/mediate", b"",
                                        {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"})
    mediate.request.raw_content = gzip.compress(encode_v1(body, SDK_KEY).encode())
    params = query_text({"idfa": IDFA, "package_name": "com.example.game", "sdk_key": SDK_KEY})
    ad = tflow.tflow()
    ad.request = http.Request.make("GET", "https://a.applovin.com/4.0/ad?"
                                   + p_parameter(encode_v2(params, SDK_KEY, as_text=True)))
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in (mediate, ad):
            writer.add(flow)
    return path


def test_tracker_key_opens_applovin_payloads_and_is_never_kept(tmp_path):
    capture = applovin_capture(tmp_path / "applovin.mitm")
    result = run("analyze", str(capture), "--tracker-key", f"applovin={SDK_KEY}", "--db", "s.db", "-o", "r.html",
                 "--findings", "f.csv", "--evidence-har", "e.har", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 flows read, 0 skipped, 2 tracker requests (2 decoded, 0 not decoded)" in result.stdout
    rows = {(r["data_type"], r["value"], r["path"]) for r in csv.DictReader((tmp_path / "f.csv").open())}
    assert {("advertising_id", IDFA, "body.device_info.idfa"), ("advertising_id", IDFA, "query.p.idfa"),
            ("device_model", "Pixel 8", "body.device_info.model"),
            ("app_id", "com.example.game", "query.p.package_name"),
            ("project_key", "[applovin key]", "body.sdk_key")} <= rows
    for output in (result.stdout, result.stderr, *(tmp_path / name for name in ("f.csv", "r.html", "e.har", "s.db"))):
        text = output if isinstance(output, str) else output.read_bytes().decode("latin-1")
        assert SDK_KEY[:32] not in text, output


def test_without_tracker_key_the_reason_is_reported(tmp_path):
    capture = applovin_capture(tmp_path / "applovin.mitm")
    result = run("analyze", str(capture), "--findings", "f.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 tracker requests (0 decoded, 2 not decoded)" in result.stdout
    assert "not decoded 1: body" in result.stdout and "not decoded 1: query.p" in result.stdout
    rows = {(r["data_type"], r["value"], r["path"]) for r in csv.DictReader((tmp_path / "f.csv").open())}
    assert ("project_key", SDK_KEY[32:], "body.sdk_key_tail") in rows
    assert not any(data_type == "advertising_id" for data_type, _, _ in rows)
    # The key may come from the environment instead of the command line (kept out of `ps`).
    env = {**os.environ, "LEAKMAP_TRACKER_KEY": f"applovin={SDK_KEY}"}
    env_run = subprocess.run([str(LEAKMAP), "analyze", str(capture), "-o", "r2.html"], capture_output=True, text=True,
                             cwd=tmp_path, timeout=120, env=env)
    assert "(2 decoded, 0 not decoded)" in env_run.stdout, env_run.stderr


def test_bad_tracker_key_is_a_usage_error_that_does_not_echo_the_key(tmp_path):
    for value, message in ((f"nosuchtracker={SDK_KEY}", "no rule uses a key named 'nosuchtracker'"),
                           (SDK_KEY, "expected NAME=KEY")):
        result = run("analyze", str(SAMPLE), "--tracker-key", value, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert SDK_KEY[:32] not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_unknown_findings_suffix_is_a_usage_error_before_any_work(tmp_path):
    result = run("analyze", str(SAMPLE), "-o", "r.html", "--findings", "out.xlsx", cwd=tmp_path)
    assert result.returncode == 2
    assert "out.xlsx: unknown findings format '.xlsx'" in result.stderr
    assert not (tmp_path / "out.xlsx").exists() and not (tmp_path / "r.html").exists()
    named = run("analyze", str(SAMPLE), "-o", "r.html", "--findings", "out.xlsx", "--format", "csv", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "out.xlsx").read_text().startswith('"app",')


def test_addon_path_names_the_script_mitmdump_loads():
    result = subprocess.run([sys.executable, "-m", "leakmap.cli", "addon-path"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == ROOT / "addons" / "leakmap.py"


# --- the demo's sample: several apps, several companies, each app named by its traffic -------
MULTI_SAMPLE = ROOT / "samples" / "multi-app-sample.mitm"


def test_demo_sample_names_three_apps_and_their_trackers(tmp_path):
    """scripts/demo's capture: every tracker request is attributed to the app that sent it, by
    the evidence the traffic gives (site from Origin, app from User-Agent or payload)."""
    result = run("analyze", str(MULTI_SAMPLE), "-o", "r.html", "--findings", "f.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "f.json").read_text())
    pairs = {(r["app"], r["tracker"]) for r in rows}
    assert pairs == {("shop.example", "posthog"), ("shop.example", "amplitude"), ("shop.example", "bugsnag"),
                     ("Notes", "mixpanel"), ("Notes", "segment"), ("Notes", "sentry"),
                     ("FitTrack", "mixpanel"), ("FitTrack", "posthog"), ("FitTrack", "amplitude")}, pairs
    signals = {r["app"]: r["app_signal"] for r in rows if r["tracker"] == "mixpanel"}
    assert signals == {"Notes": "header", "FitTrack": "header"}
    found = {(r["app"], r["data_type"], r["value"]) for r in rows}
    assert {("Notes", "phone", "+14155550123"), ("FitTrack", "latitude", "52.52"),
            ("shop.example", "email", "maria.garcia@example.com")} <= found, sorted(found)
