"""A findings store that fails (corrupt page, full disk, read-only file, newer schema) ends
`analyze` and `report` with exit 5 and one line that says what is wrong, never a traceback or
exit 70. Real faults: real SQLite files, a real tiny tmpfs, a real read-only mount."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from leakmap.decode import Limits
from leakmap.session import Session
from leakmap.store import Store
from support.filesystems import remount_read_only, tmpfs

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
LEAKMAP = Path(sys.executable).parent / "leakmap"


def leakmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKMAP), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_exit_5(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 5, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("leakmap: error: ") and words in lines[0], lines[0]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A healthy store of the sample capture (built in-process: the CLI runs are the test)."""
    db = tmp_path_factory.mktemp("store") / "good.db"
    store = Store(db)
    Session(store).replay(SAMPLE, Limits())
    store.close()
    return db


def test_corrupt_page(tmp_path: Path, good_store: Path):
    db = shutil.copy(good_store, tmp_path / "corrupt.db")
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'findings'").fetchone()[0]
    with open(db, "r+b") as f:  # the findings table's page, overwritten as a bad sector would
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    assert_exit_5(leakmap("report", "--db", "corrupt.db", "-o", "r.html", cwd=tmp_path), "corrupt")
    assert not (tmp_path / "r.html").exists()
    assert_exit_5(leakmap("analyze", str(SAMPLE), "--db", "corrupt.db", "-o", "r.html", cwd=tmp_path), "corrupt")


def test_full_disk(tmp_path: Path):
    with tmpfs(tmp_path / "tiny", "64k") as tiny:
        result = leakmap("analyze", str(SAMPLE), "--db", str(tiny / "full.db"), "-o", "r.html", cwd=tmp_path)
    assert_exit_5(result, "the disk (or the database) is full")


def test_read_only_file(tmp_path: Path, good_store: Path):
    with tmpfs(tmp_path / "medium", "1m") as medium:
        shutil.copy(good_store, medium / "archived.db")
        remount_read_only(medium)
        report = leakmap("report", "--db", str(medium / "archived.db"), "-o", "r.html", cwd=tmp_path)
    assert_exit_5(report, "read-only")


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path, good_store: Path):
    db = shutil.copy(good_store, tmp_path / "newer.db")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()  # the last connection to close checkpoints the WAL into the file
    before = Path(db).read_bytes()
    result = leakmap("analyze", str(SAMPLE), "--db", "newer.db", "-o", "r.html", cwd=tmp_path)
    assert_exit_5(result, "written by a newer leakmap (store schema 99")
    assert "upgrade leakmap" in result.stderr
    assert Path(db).read_bytes() == before  # refused before anything was written
