"""One analysis, stored once: the same capture analysed again, given twice, copied, or read
into a store written by an older leakmap adds no row (the bundled sample was recorded from
the real `mixpanel` SDK through mitmdump)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from conftest import ROOT
from support.cli import leakmap

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
TABLES = ("requests", "findings", "fields", "problems")


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT r.flow_id, f.data_type, f.value, f.path FROM findings f"
                                   " JOIN requests r ON r.id = f.request_id").fetchall())


def test_a_capture_analysed_again_given_twice_or_copied_is_stored_once(tmp_path):
    once = leakmap("analyze", SAMPLE, "--db", "once.db", "-o", "once.html", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    expected = counts(tmp_path / "once.db")
    assert expected["requests"] == 5 and expected["findings"] == 43

    shutil.copy(SAMPLE, tmp_path / "copy.mitm")
    for args in ((SAMPLE, SAMPLE), ("copy.mitm",)):
        again = leakmap("analyze", *args, "--db", "once.db", "-o", "again.html", "--findings", "f.json", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert counts(tmp_path / "once.db") == expected
        assert len(json.loads((tmp_path / "f.json").read_text())) == 43
        assert "already in the store, not added again: 5 requests" in again.stdout
        assert "mixpanel project 3f9c2a7e51b04d88a1c6e0f2b7d4a913 → mixpanel: 21 findings" in again.stdout
        if len(args) == 2:
            assert "given twice, analysed once" in again.stderr
            assert "5 flows read" in again.stdout and "10 flows read" not in again.stdout


def test_har_entries_without_ids_are_known_by_their_content(tmp_path):
    entry = {"startedDateTime": "2026-12-07T10:00:00.000Z",
             "request": {"method": "GET", "url": "https://api.mixpanel.com/track?data=eyJldmVudCI6ICJPcGVuIiwgInByb3BlcnRpZXMiOiB7InRva2VuIjogImFiY2RlZjAxMjM0NTY3ODkiLCAiZGlzdGluY3RfaWQiOiAidS0xIn19",
                         "headers": [], "httpVersion": "HTTP/1.1"}}
    later = json.loads(json.dumps(entry))
    later["startedDateTime"] = "2026-12-07T10:00:01.000Z"
    # Two identical entries are two requests (a beacon sent twice); a later one is a third.
    (tmp_path / "c.har").write_text(json.dumps({"log": {"entries": [entry, entry, later]}}))
    for _ in range(2):
        assert leakmap("analyze", "c.har", "--db", "s.db", "-o", "r.html", cwd=tmp_path).returncode == 0
        assert counts(tmp_path / "s.db")["requests"] == 3


def test_a_store_of_schema_1_is_migrated_and_not_doubled(tmp_path):
    db = tmp_path / "old.db"
    assert leakmap("analyze", SAMPLE, "--db", db, "-o", "r.html", cwd=tmp_path).returncode == 0
    before = rows(db)
    with sqlite3.connect(db) as conn:  # what leakmap before schema 2 wrote: no request keys
        conn.execute("DROP INDEX requests_key")
        conn.execute("DROP INDEX problems_once")
        conn.execute("ALTER TABLE requests DROP COLUMN request_key")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    result = leakmap("analyze", SAMPLE, "--db", db, "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert rows(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        keys = [k for (k,) in conn.execute("SELECT request_key FROM requests")]
    assert len(keys) == 5 and all(k.startswith("flow:") for k in keys)


def field_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT request_id, path, value, data_type FROM fields ORDER BY request_id, position"
                            ).fetchall()


def test_a_store_of_schema_2_gets_its_fields_table_folded_into_requests(tmp_path):
    db = tmp_path / "old.db"
    assert leakmap("analyze", SAMPLE, "--db", db, cwd=tmp_path).returncode == 0
    fields = field_rows(db)
    assert len(fields) > 40 and any(t == "email" for *_, t in fields)
    with sqlite3.connect(db) as conn:  # what leakmap of schema 2 wrote: one row per field
        conn.execute("CREATE TABLE fields_v2 AS SELECT request_id, path, value, data_type FROM fields"
                     " ORDER BY request_id, position")
        conn.execute("DROP VIEW fields")
        conn.execute("ALTER TABLE fields_v2 RENAME TO fields")
        conn.execute("CREATE INDEX fields_request ON fields(request_id)")
        conn.execute("ALTER TABLE requests DROP COLUMN fields")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    result = leakmap("report", "--db", db, "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert field_rows(db) == fields
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT type FROM sqlite_master WHERE name = 'fields'").fetchone() == ("view",)
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)


def test_summary_counts_per_app_and_tracker(tmp_path):
    """The CLI's closing summary, summed per request then per app and tracker, equals the
    one SQL grouping of every finding it replaced, on a store of several apps and trackers
    (some requests moved to another app and to a host no rule names)."""
    from leakmap.store import Store

    result = leakmap("analyze", SAMPLE, ROOT / "samples" / "multi-app-sample.mitm", "--db", "s.db", "--no-report",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("UPDATE requests SET app = 'other app', tracker = '' WHERE id % 3 = 0")
    store = Store(tmp_path / "s.db")
    expected = store.db.execute(
        "SELECT r.app, r.tracker, count(*), group_concat(DISTINCT f.data_type) FROM findings f"
        " JOIN requests r ON r.id = f.request_id GROUP BY r.app, r.tracker ORDER BY r.app, r.tracker").fetchall()
    got = store.summary_counts()
    assert [(a, t, n, sorted(x.split(","))) for a, t, n, x in got] == \
        [(a, t, n, sorted(x.split(","))) for a, t, n, x in expected]
    assert len(got) >= 4 and sum(n for _, _, n, _ in got) == store.db.execute("SELECT count(*) FROM findings").fetchone()[0]
