"""Private by default, the parts that need no proxy: files created 0600 whatever the umask
(also when overwritten, also a store from before), capture's listen/auth decisions, and the
open-proxy warning of the addon under a user's own mitmdump (a real one)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time

import pytest

from conftest import ADDON, MITMDUMP, free_port
from leakmap.listen_plan import plan
from leakmap.private_files import make_private
from leakmap.store import Store
from support.sockets import listening_addresses


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_private_file_created_0600_in_0700_directories_and_overwrite_keeps_it(tmp_path, umask_022):
    tmp_path.chmod(0o755)
    target = tmp_path / "new" / "deeper" / "report.html"
    make_private(target).write_text("first")
    assert mode(target) == 0o600 and mode(target.parent) == mode(target.parent.parent) == 0o700
    make_private(target).write_text("second, longer")
    assert target.read_text() == "second, longer" and mode(target) == 0o600
    assert mode(tmp_path) == 0o755  # a directory that existed is the user's: untouched
    old = tmp_path / "old.csv"
    old.write_text("kept")
    old.chmod(0o644)
    make_private(old)
    assert mode(old) == 0o600 and old.read_text() == "kept"


def test_store_and_its_wal_are_0600_and_an_old_store_is_narrowed(tmp_path, umask_022):
    path = tmp_path / "findings.db"
    store = Store(path)
    assert mode(path) == 0o600 and mode(tmp_path / "findings.db-wal") == 0o600
    assert mode(tmp_path / "findings.db-shm") == 0o600
    store.close()
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # made world-readable, as leakmap did before
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t(x)")
    old.chmod(0o644)
    Store(old).close()
    assert mode(old) == 0o600


def test_capture_listens_on_loopback_by_default():
    listening = plan(["-p", "8081", "-w", "dump.mitm"], lan=False, no_auth=False)
    assert listening.args[:2] == ["--mode", "regular@127.0.0.1:8081"]
    assert listening.args[-3:] == ["8081", "-w", "dump.mitm"]
    assert not listening.exposed and listening.generated_auth is None
    assert plan(["-p8082"], lan=False, no_auth=False).args[:2] == ["--mode", "regular@127.0.0.1:8082"]
    wireguard = plan(["--mode", "wireguard"], lan=False, no_auth=False)
    assert wireguard.args[:2] == ["--mode", "wireguard@127.0.0.1:51820"] and not wireguard.exposed
    assert plan(["--mode", "local:Spotify"], lan=False, no_auth=False).args == ["--mode", "local:Spotify"]


def test_network_choices_get_credentials_unless_the_user_decides():
    lan = plan(["-p", "8080"], lan=True, no_auth=False)
    assert lan.exposed and lan.generated_auth and lan.generated_auth.startswith("leakmap:")
    assert lan.args == ["--proxyauth", lan.generated_auth, "-p", "8080"]
    assert len(lan.generated_auth) > 20 and lan.generated_auth != plan([], lan=True, no_auth=False).generated_auth
    assert plan(["--listen-host", "0.0.0.0"], lan=False, no_auth=False).generated_auth
    assert plan(["--mode", "regular@192.0.2.1:8080"], lan=False, no_auth=False).generated_auth
    assert plan(["--listen-host", "127.0.0.1"], lan=False, no_auth=False).generated_auth is None  # still loopback
    own = plan(["--listen-host=0.0.0.0", "--set", "proxyauth=me:secret"], lan=False, no_auth=False)
    assert own.exposed and own.generated_auth is None and "--proxyauth" not in own.args
    open_proxy = plan([], lan=True, no_auth=True)
    assert open_proxy.generated_auth is None and "--no-auth" in open_proxy.notes[0]
    wireguard = plan(["--mode", "wireguard"], lan=True, no_auth=False)
    assert wireguard.generated_auth is None and "WireGuard" in wireguard.notes[0]
    mixed = plan(["--mode", "wireguard", "--mode", "regular"], lan=True, no_auth=False)
    assert mixed.generated_auth is None and "no proxy password for regular mode" in mixed.notes[1]


def _mitmdump_log(tmp_path, mitm_confdir, *options: str) -> str:
    """Start a plain mitmdump with the addon listening on all interfaces, read its start-up
    log, stop it (traffic is never sent: nothing here needs it)."""
    port = free_port()
    log = tmp_path / f"mitmdump-{len(options)}.log"
    process = subprocess.Popen([str(MITMDUMP), "-p", str(port), "--set", f"confdir={mitm_confdir}", "-s", str(ADDON),
                                "--set", f"leakmap_db={tmp_path / 'user.db'}", *options],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "listening at" not in log.read_text(errors="replace"):
            time.sleep(0.1)
        assert ("0.0.0.0", port) in listening_addresses(process.pid)  # the user's choice, kept as set
        time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=20)
    return log.read_text(errors="replace")


@pytest.mark.e2e
def test_addon_under_plain_mitmdump_warns_once_about_an_open_proxy(tmp_path, mitm_confdir):
    log = _mitmdump_log(tmp_path, mitm_confdir)
    assert log.count("reachable from other machines without a password") == 1, log
    assert "reachable from other machines" not in _mitmdump_log(tmp_path, mitm_confdir, "--proxyauth", "me:secret")
