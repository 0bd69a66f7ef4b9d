"""Store stage: findings appended to SQLite as they are produced.

WAL mode and one commit per analysed request mean a live capture that is killed (Ctrl-C,
crash, power loss) keeps everything analysed up to that moment; reports and exports are
always rebuilt from here, so a live capture and a replay produce the same outputs.

Every SQLite failure (corrupt page, full disk, read-only file, a store from a newer leakmap)
leaves this module as one `StoreError` whose message says what is wrong in one line: the
CLI turns it into exit 5, the addon logs it and keeps the proxy running.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, text
from .datatypes import DATA_TYPES
from .model import Analysis, Problem
from .private_files import make_store_private

if TYPE_CHECKING:
    import pandas as pd

# 2: requests.request_key (UNIQUE) and unique problems, so analysing a capture again adds
# nothing. 3: a request's uploaded fields are one JSON array in requests.fields (`fields` is
# a view of it). Stores of earlier versions are migrated when opened (see _migrate).
SCHEMA_VERSION = "3"
MAX_PAYLOAD_CHARS = 512 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS requests(
    id INTEGER PRIMARY KEY, flow_id TEXT, source TEXT, timestamp REAL, method TEXT, url TEXT, host TEXT,
    client TEXT, app TEXT, app_signal TEXT, app_evidence TEXT, tracker TEXT, company TEXT, category TEXT,
    endpoint TEXT, rule_source TEXT, match_via TEXT, status TEXT, error TEXT, decode_chain TEXT, payload TEXT,
    request_key TEXT, fields TEXT);
CREATE TABLE IF NOT EXISTS findings(
    id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL REFERENCES requests(id), data_type TEXT, value TEXT,
    path TEXT, context TEXT, detector TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS problems(id INTEGER PRIMARY KEY, source TEXT, location TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS sources(source TEXT PRIMARY KEY, stats TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS unseen(source TEXT, timestamp REAL, client TEXT, host TEXT, reason TEXT, app TEXT,
    app_evidence TEXT);
CREATE TABLE IF NOT EXISTS trackers(id TEXT PRIMARY KEY, name TEXT, company TEXT, category TEXT, country TEXT,
    website TEXT);
CREATE TABLE IF NOT EXISTS replays(key TEXT PRIMARY KEY, receiver TEXT, app TEXT, replay_id TEXT, first TEXT,
    summary TEXT);
CREATE INDEX IF NOT EXISTS findings_request ON findings(request_id);
CREATE INDEX IF NOT EXISTS requests_time ON requests(timestamp, id);
"""

# The findings contract (docs/ARCHITECTURE.md): the columns of every export, in this order.
EXPORT_COLUMNS = [
    "app", "app_evidence", "app_signal", "client", "tracker", "company", "category", "endpoint", "url", "method",
    "data_type", "data_category", "sensitivity", "value", "path", "context", "detector", "detail", "flow_id",
    "timestamp", "source", "request_id", "match_via",
]


def receiver_name(tracker: str, company: str, host: str, trackers: dict[str, dict[str, str]]) -> str:
    """Who received a stored request, as diffs and policies name it: the tracker rule's name
    (Mixpanel, Firebase: a company often runs several), else its company, else the host."""
    name = trackers.get(tracker, {}).get("name", "") if tracker else ""
    return name or company or host or ""


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store of an earlier schema up to SCHEMA_VERSION, in place. Version 1 had no
    request keys: rows of mitmproxy flows get theirs from the flow id (a UUID; only the
    first of rows stored twice, the others stay as they are), rows read from HAR files keep
    none (their content is not stored), and repeated problem lines are dropped."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    if "request_key" not in columns:
        db.execute("ALTER TABLE requests ADD COLUMN request_key TEXT")
        db.execute("UPDATE requests SET request_key = 'flow:' || flow_id WHERE id IN (SELECT min(id) FROM requests"
                   " WHERE length(flow_id) = 36 AND flow_id GLOB '*-*-*-*-*' GROUP BY flow_id)")
        db.execute("DELETE FROM problems WHERE id NOT IN (SELECT min(id) FROM problems GROUP BY source, location,"
                   " message)")
    _fields_in_requests(db)
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS requests_key ON requests(request_key)")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS problems_once ON problems(source, location, message)")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
               (SCHEMA_VERSION, int(SCHEMA_VERSION)))


# The uploaded fields of every request, one row per field, in the order they were found:
# what stores of version 2 held as a table, derived from requests.fields.
_FIELDS_VIEW = """CREATE VIEW IF NOT EXISTS fields AS SELECT r.id AS request_id, json_extract(f.value, '$[0]') AS path,
    json_extract(f.value, '$[1]') AS value, json_extract(f.value, '$[2]') AS data_type, f.key AS position
    FROM requests r, json_each(r.fields) f WHERE r.fields IS NOT NULL"""


def _fields_in_requests(db: sqlite3.Connection) -> None:
    """Version 3: the fields of a request are one JSON array in requests.fields. Why: a
    request has dozens to hundreds of fields, which are only ever read per request (its
    evidence) or scanned whole (identifiers); one row each made storing them most of the
    store's time. A store of version 2 has its fields table folded into the column."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    if "fields" not in columns:
        db.execute("ALTER TABLE requests ADD COLUMN fields TEXT")
    kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'fields'").fetchone()
    if kind is not None and kind[0] == "table":
        db.execute("UPDATE requests SET fields = (SELECT json_group_array(json_array(path, value, data_type)) FROM"
                   " (SELECT path, value, data_type FROM fields fl WHERE fl.request_id = requests.id ORDER BY"
                   " fl.rowid)) WHERE id IN (SELECT request_id FROM fields)")
        db.execute("DROP TABLE fields")
    db.execute(_FIELDS_VIEW)


def _display(value: str) -> str:
    return text.display(value) if isinstance(value, str) else value


class StoreError(Exception):
    """The findings store cannot be used: it cannot be opened, read or written, or it is not
    a leakmap store this version understands."""


# SQLite's words → what the user can do about it (first match wins).
_FAULT_REASONS = (
    ("full", "the disk (or the database) is full: free some space or use another --db"),
    ("readonly", "the file or its folder is read-only"),
    ("read-only", "the file or its folder is read-only"),
    ("malformed", "the file is corrupt (a damaged page)"),
    ("not a database", "the file is not a SQLite database"),
    ("unable to open", "the file cannot be opened (missing folder or no permission)"),
    ("locked", "another process is writing to it"),
    ("i/o error", "the disk reported an I/O error"),
)


def store_fault(path: Path, error: BaseException) -> StoreError:
    """One clear line for a SQLite failure. pandas wraps SQLite's error in its own
    DatabaseError ("Execution failed on sql ..."): the line shows SQLite's words instead."""
    cause = error.__cause__ if not isinstance(error, sqlite3.Error) and error.__cause__ else error
    text = str(cause)
    if "unable to open" in text and path.exists() and not os.access(path.parent, os.W_OK):
        text += " (its folder is read-only)"  # WAL mode needs to create files beside the store
    reason = next((why for key, why in _FAULT_REASONS if key in text.lower()), "")
    return StoreError(f"{path}: not a usable leakmap database: {reason} (SQLite: {text})" if reason
                      else f"{path}: not a usable leakmap database: {text}")


def _faults_are_store_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SQLite failures inside a Store method into StoreError, after rolling back the
    request that was half written (the next commit must not save a request without its
    findings)."""
    @functools.wraps(method)
    def guarded(self: "Store", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, _PandasDatabaseError) as e:
            self.rollback()
            raise store_fault(self.path, e) from None
    return guarded


class _PandasDatabaseError(Exception):
    """Stands in for pandas' DatabaseError until pandas is imported: the live addon never
    imports pandas (its start-up cost), so the store cannot name pandas' class up front."""


def _pandas() -> Any:
    """pandas, imported on first use; from then on its DatabaseError is a store fault too."""
    global _PandasDatabaseError
    import pandas
    _PandasDatabaseError = pandas.errors.DatabaseError
    return pandas


class Store:
    @_faults_are_store_errors
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            make_store_private(self.path)  # before SQLite creates it (and its -wal/-shm) 0644
        except OSError as e:  # creating it (private) failed: a missing permission, a directory
            raise StoreError(f"{self.path}: cannot create the findings store: {e.strerror}") from None
        self.db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._refuse_newer_schema()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        _migrate(self.db)
        self.db.commit()

    @classmethod
    def reader(cls, path: Path | str) -> Store:
        """Another connection to an existing store, for reading only: a process forked to
        write part of an export (export_parts.py) opens its own (a SQLite connection must
        not cross a fork) and changes nothing in the file."""
        store = cls.__new__(cls)
        store.path = Path(path)
        try:
            store.db = sqlite3.connect(f"{store.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as e:
            raise store_fault(store.path, e) from None
        return store

    def readable_elsewhere(self) -> bool:
        """Commit, and say whether another connection (`reader`, another thread or a forked
        process) can open this store: it must be a file."""
        if not self.path.is_file():
            return False
        self.commit()
        return True

    def _refuse_newer_schema(self) -> None:
        """A store written by a newer leakmap may hold tables or meanings this code does not
        know: refuse it before changing anything in it."""
        if not self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
            return
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            return
        found = str(row[0])
        if not found.isdigit() or int(found) > int(SCHEMA_VERSION):
            self.db.close()
            raise StoreError(f"{self.path}: written by a newer leakmap (store schema {found}; this leakmap "
                             f"{__version__} reads schema {SCHEMA_VERSION} and older): "
                             "upgrade leakmap (pip install -U leakmap) or use another --db")

    def rollback(self) -> None:
        """Drop what the current transaction wrote (best effort: the connection may be gone)."""
        try:
            self.db.rollback()
        except (sqlite3.Error, AttributeError):
            pass

    @_faults_are_store_errors
    def close(self) -> None:
        self.db.close()

    @_faults_are_store_errors
    def add(self, analysis: Analysis, commit: bool = True) -> int:
        """Append one analysed request with its findings and fields; returns its row id, or
        0 when the store already holds this request (same key: the capture was analysed
        before), which then adds nothing. Every text is written in its display form
        (leakmap/text.py): text that is not valid Unicode (surrogate escapes, lone surrogates)
        never reaches SQLite or the report raw; the payload evidence carries the original
        bytes under `not_unicode`."""
        r = analysis.request
        show = _display
        payload = text.dumps(analysis.payload)
        if len(payload) > MAX_PAYLOAD_CHARS:
            payload = json.dumps({"truncated": True, "first_chars": payload[:MAX_PAYLOAD_CHARS]})
        cur = self.db.execute(
            "INSERT OR IGNORE INTO requests(flow_id, source, timestamp, method, url, host, client, app, app_signal,"
            " app_evidence, tracker, company, category, endpoint, rule_source, match_via, status, error, decode_chain,"
            " payload, request_key, fields) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (show(r.flow_id), show(r.source), r.timestamp, show(r.method), show(r.url), show(r.host), show(r.client),
             show(analysis.app), show(analysis.app_signal), show(analysis.app_evidence), show(analysis.tracker),
             show(analysis.company), analysis.category, show(analysis.endpoint), analysis.rule_source,
             analysis.match_via, analysis.status, show(analysis.error), text.dumps(analysis.decode_chain), payload,
             show(r.key or f"{r.source}#{r.flow_id}"), text.dumps(analysis.fields) if analysis.fields else None),
        )
        if cur.rowcount == 0:
            return 0
        request_id = int(cur.lastrowid or 0)
        # Hundreds of rows per request: the display form is inlined for the common ASCII text
        # (text.display is the same test and more calls).
        self.db.executemany(
            "INSERT INTO findings(request_id, data_type, value, path, context, detector, detail) VALUES (?,?,?,?,?,?,?)",
            [(request_id, f.data_type, f.value if type(f.value) is str and f.value.isascii() else show(f.value),
              f.path if type(f.path) is str and f.path.isascii() else show(f.path), f.context, f.detector,
              f.detail if type(f.detail) is str and f.detail.isascii() else show(f.detail))
             for f in analysis.findings],
        )
        for recording in analysis.replays:  # session recordings: latest state replaces the stored one
            self.db.execute("INSERT OR REPLACE INTO replays VALUES (?,?,?,?,?,?)",
                            (recording.key, recording.receiver, recording.app, recording.replay_id,
                             str(recording.first), text.dumps(recording.summary())))
        if commit:
            self.db.commit()
        return request_id

    @_faults_are_store_errors
    def add_unseen(self, source: str, timestamp: float, client: str, host: str, reason: str, app: str,
                   app_evidence: str) -> None:
        """A connection whose content leakmap could not see: the client refused the proxy's
        certificate (certificate pinning, or the CA not installed)."""
        self.db.execute("INSERT INTO unseen VALUES (?,?,?,?,?,?,?)",
                        (source, timestamp, client, host, reason, app, app_evidence))
        self.db.commit()

    def unseen(self) -> list[dict[str, Any]]:
        """Per app and host: how often the client refused the proxy, first and last time, why."""
        rows = self.db.execute(
            "SELECT app, host, count(*), min(timestamp), max(timestamp), min(reason), min(app_evidence) FROM unseen"
            " GROUP BY app, host ORDER BY app, count(*) DESC, host").fetchall()
        keys = ("app", "host", "connections", "first", "last", "reason", "app_evidence")
        return [dict(zip(keys, row)) for row in rows]

    @_faults_are_store_errors
    def add_problem(self, problem: Problem) -> None:
        self.db.execute("INSERT OR IGNORE INTO problems(source, location, message) VALUES (?,?,?)",
                        (problem.source, problem.where, problem.message))

    @_faults_are_store_errors
    def set_stats(self, source: str, stats: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO sources VALUES (?,?,?)",
                        (source, json.dumps(stats), time.time()))
        self.db.commit()

    @_faults_are_store_errors
    def set_trackers(self, rows: list[tuple[str, str, str, str, str, str]]) -> None:
        """(id, name, company, category, country, website) of the rules in use, so reports
        built later from this store alone can say where each company is."""
        self.db.executemany("INSERT OR REPLACE INTO trackers VALUES (?,?,?,?,?,?)", rows)
        self.db.commit()

    @_faults_are_store_errors
    def trackers(self) -> dict[str, dict[str, str]]:
        rows = self.db.execute("SELECT id, name, company, category, country, website FROM trackers").fetchall()
        keys = ("name", "company", "category", "country", "website")
        return {row[0]: dict(zip(keys, row[1:])) for row in rows}

    @_faults_are_store_errors
    def commit(self) -> None:
        self.db.commit()

    # --- reading back ---------------------------------------------------------------------------
    # Reports and exports aggregate in SQL and stream rows (report_queries.py, export.py); the
    # frames below load whole tables into pandas, for tools and tests on small stores only.

    @_faults_are_store_errors
    def findings_frame(self) -> "pd.DataFrame":
        """All findings joined with their request, in the export contract's columns."""
        pd = _pandas()
        frame = pd.read_sql_query(
            "SELECT r.app, r.app_evidence, r.app_signal, r.client, r.tracker, r.company, r.category, r.endpoint,"
            " r.url, r.method, f.data_type, f.value, f.path, f.context, f.detector, f.detail, r.flow_id,"
            " r.timestamp, r.source, r.id AS request_id, r.match_via"
            " FROM findings f JOIN requests r ON r.id = f.request_id ORDER BY r.timestamp, r.id, f.id",
            self.db,
        )
        frame["data_category"] = frame["data_type"].map(lambda t: DATA_TYPES[t].category if t in DATA_TYPES else "")
        frame["sensitivity"] = frame["data_type"].map(lambda t: DATA_TYPES[t].sensitivity if t in DATA_TYPES else "")
        return frame[EXPORT_COLUMNS]

    @_faults_are_store_errors
    def summary_counts(self) -> list[tuple[str, str, int, str]]:
        """(app, tracker, findings, comma-separated data types) per app and tracker. SQL
        counts per request, in the order of the findings' request index; the per-request rows
        are summed here. (Grouping every finding by app and tracker in SQL sorted them all:
        0.22 s for 205,000 findings, 0.08 s so.)"""
        groups: dict[tuple[Any, Any], list[Any]] = {}  # (app, tracker) → [findings, data types]
        for app, tracker, count, types in self.db.execute(
                "SELECT r.app, r.tracker, x.n, x.types FROM (SELECT request_id, count(*) AS n,"
                " group_concat(DISTINCT data_type) AS types FROM findings GROUP BY request_id) x"
                " JOIN requests r ON r.id = x.request_id"):
            group = groups.setdefault((app, tracker), [0, set()])
            group[0] += count
            group[1].update(types.split(",") if types else ())
        return [(app, tracker, total, ",".join(sorted(seen)))
                for (app, tracker), (total, seen) in sorted(groups.items(), key=lambda g: (g[0][0] or "", g[0][1] or ""))]

    @_faults_are_store_errors
    def requests_frame(self) -> "pd.DataFrame":
        return _pandas().read_sql_query("SELECT * FROM requests ORDER BY timestamp, id", self.db)

    @_faults_are_store_errors
    def fields_frame(self) -> "pd.DataFrame":
        return _pandas().read_sql_query("SELECT request_id, path, value, data_type FROM fields", self.db)

    def replays(self) -> list[dict[str, Any]]:
        """Summaries of the session recordings seen (replay.Recording.summary), oldest first."""
        return [json.loads(text) for text, in self.db.execute("SELECT summary FROM replays ORDER BY first, key")]

    @_faults_are_store_errors
    def problems(self) -> list[Problem]:
        rows = self.db.execute("SELECT source, location, message FROM problems ORDER BY id").fetchall()
        return [Problem(*row) for row in rows]

    @_faults_are_store_errors
    def source_stats(self) -> dict[str, dict[str, Any]]:
        return {s: json.loads(j) for s, j in self.db.execute("SELECT source, stats FROM sources ORDER BY source")}
