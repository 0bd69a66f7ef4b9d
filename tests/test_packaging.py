"""`pip install .` gives a working CLI and addon with the rules and report template inside
the installed package, independent of the checkout."""

from __future__ import annotations

import base64
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import MITMDUMP, ROOT, free_port

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                             "--target", str(target), str(ROOT)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "Could not find a version" in result.stderr:
        pytest.skip("the build backend (hatchling) cannot be installed here")
    assert result.returncode == 0, result.stderr
    return target


def run_installed(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    code = "import sys; from leakmap.cli import entry; sys.argv[0] = 'leakmap'; entry()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


def test_wheel_contains_rules_template_and_addon(installed: Path):
    package = installed / "leakmap"
    assert (package / "tracker_rules" / "mixpanel.yaml").is_file()
    assert (package / "reports" / "report.html.j2").is_file()
    assert (package / "addons" / "leakmap.py").is_file()
    for data in ("data/policy.schema.json", "data/privacy_labels.yaml", "reports/diff.html.j2", "reports/diff.css"):
        assert (package / data).is_file(), data


def test_installed_cli_works_outside_the_checkout(installed: Path, tmp_path: Path):
    listing = run_installed(installed, "rules", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "mixpanel" in listing.stdout
    check = run_installed(installed, "rules", "check", cwd=tmp_path)
    assert str(installed / "leakmap" / "tracker_rules" / "mixpanel.yaml") in check.stdout

    result = run_installed(installed, "analyze", str(SAMPLE), "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "jane.doe@example.com" in (tmp_path / "r.html").read_text()


def test_installed_addon_loads_in_mitmdump_from_addon_path(installed: Path, tmp_path: Path):
    """`mitmdump -s "$(leakmap addon-path)"` after pip install: the script, named leakmap.py,
    must not shadow the package from its own folder."""
    out = run_installed(installed, "addon-path", cwd=tmp_path)
    script = out.stdout.strip()
    assert script == str(installed / "leakmap" / "addons" / "leakmap.py"), out.stderr
    port, db = free_port(), tmp_path / "installed.db"
    env = {**os.environ, "PYTHONPATH": str(installed)}
    mitmdump = subprocess.Popen([str(MITMDUMP), "--listen-host", "127.0.0.1", "-p", str(port), "-s", script,
                                 "--set", f"leakmap_db={db}", "--set", "leakmap_block=true"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = b"data=" + base64.b64encode(b'[{"event":"e","properties":{"token":"t","distinct_id":"u-9"}}]')
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
        deadline = time.monotonic() + 30
        while True:  # until mitmdump listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert mitmdump.poll() is None and time.monotonic() < deadline, mitmdump.communicate()[0]
                time.sleep(0.2)
        with opener.open("http://api-js.mixpanel.com/track/", data=body, timeout=60) as response:
            assert response.headers["x-leakmap"] == "answered-by-proxy"
    finally:
        mitmdump.terminate()
        log = mitmdump.communicate(timeout=20)[0]
    assert "error in script" not in log, log
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM findings WHERE data_type = 'user_id'").fetchall() == [("u-9",)]
