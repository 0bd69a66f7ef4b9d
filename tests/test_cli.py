"""The CLI on the bundled sample capture: labels, honey values, export formats, summary."""

from __future__ import annotations

import json
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
    assert "(advertising_id, custom_property, email, event_name, latitude, longitude" in result.stdout


def test_app_label_honey_values_and_json_export(tmp_path):
    result = run("analyze", str(SAMPLE), "--app", "Notes & Fitness", "--honey", "phone=+14155550123",
                 "--honey", "Berlin-Runners", "--findings", "out.data", "--format", "json", cwd=tmp_path)
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


def test_help_explains_exit_codes():
    result = subprocess.run([str(LEAKMAP), "--help"], capture_output=True, text=True)
    assert "Exit codes: 0 success" in result.stdout and "3 nothing could be read" in result.stdout
