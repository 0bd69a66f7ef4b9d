"""Node SDK drivers through the test proxy: the scaffolding the Node end-to-end tests share.

Each driver is a script in a tests/js/<folder> (with that folder's pinned node_modules) that
takes the honey values as JSON and prints what the SDK reported. They run side by side
through one `mitmdump -s addons/leakmap.py` in block mode; `tests/js/node/proxy-preload.cjs`
routes Node's http/https and undici through the proxy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent.parent / "js"
PRELOAD = JS / "node" / "proxy-preload.cjs"
Outputs = dict[str, tuple[int, str, str]]  # driver → (exit code, stdout, stderr)


def require_node(js_dir: Path, packages: Iterable[str]) -> str:
    """The node executable, or skip when node or the folder's `npm ci` is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    missing = [p for p in packages if not (js_dir / "node_modules" / p).is_dir()]
    if missing:
        pytest.skip(f"{js_dir}/node_modules lacks {missing}: run `npm ci` there")
    return node


def client_env(proxy: Any, js_dir: Path) -> dict[str, str]:
    """The proxy's client environment for Node. An empty NO_PROXY means "bypass everything"
    to some clients, so it is dropped; NODE_PATH lets the shared preload find undici."""
    env = proxy.client_env() | {"NODE_PATH": str(js_dir / "node_modules")}
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    return env


def run_drivers(proxy: Any, js_dir: Path, drivers: Iterable[str], honey: Mapping[str, Any],
                timeout: float = 60) -> Outputs:
    """Run `<driver>.js HONEY` for each driver in *js_dir* at once through *proxy*, then stop
    the proxy (its dump and store are then complete) and check it logged no traceback."""
    node = shutil.which("node") or "node"
    env = client_env(proxy, js_dir)
    try:
        children = {name: subprocess.Popen([node, "-r", str(PRELOAD), f"{name}.js", json.dumps(honey)], env=env,
                                           cwd=js_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for name in drivers}
        outputs: Outputs = {}
        for name, child in children.items():
            try:
                out, err = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                out, err = child.communicate()
            outputs[name] = (child.returncode, out, err)
    finally:
        log = proxy.stop()
    assert "Traceback" not in log, log
    return outputs


def stored_requests(db: Path) -> list[tuple[str, str, str, str]]:
    """(tracker, endpoint, method, status) of every stored request."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT tracker, endpoint, method, status FROM requests").fetchall()


def tracker_findings(db: Path, tracker: str) -> set[tuple[str, str, str, str, str]]:
    """(endpoint, data type, value, path, detector) of one tracker's findings."""
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT r.endpoint, f.data_type, f.value, f.path, f.detector FROM findings f "
                                "JOIN requests r ON r.id = f.request_id WHERE r.tracker = ?", (tracker,)).fetchall())
