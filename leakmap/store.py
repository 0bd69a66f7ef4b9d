"""Store stage: findings appended to SQLite as they are produced.

WAL mode and one commit per analysed request mean a live capture that is killed (Ctrl-C,
crash, power loss) keeps everything analysed up to that moment; reports and exports are
always rebuilt from here, so a live capture and a replay produce the same outputs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd

from . import text
from .datatypes import DATA_TYPES
from .model import Analysis, Problem

SCHEMA_VERSION = "1"
MAX_PAYLOAD_CHARS = 512 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS requests(
    id INTEGER PRIMARY KEY, flow_id TEXT, source TEXT, timestamp REAL, method TEXT, url TEXT, host TEXT,
    client TEXT, app TEXT, app_signal TEXT, app_evidence TEXT, tracker TEXT, company TEXT, category TEXT,
    endpoint TEXT, rule_source TEXT, match_via TEXT, status TEXT, error TEXT, decode_chain TEXT, payload TEXT);
CREATE TABLE IF NOT EXISTS findings(
    id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL REFERENCES requests(id), data_type TEXT, value TEXT,
    path TEXT, context TEXT, detector TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS fields(request_id INTEGER NOT NULL REFERENCES requests(id), path TEXT, value TEXT,
    data_type TEXT);
CREATE TABLE IF NOT EXISTS problems(id INTEGER PRIMARY KEY, source TEXT, location TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS sources(source TEXT PRIMARY KEY, stats TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS trackers(id TEXT PRIMARY KEY, name TEXT, company TEXT, category TEXT, country TEXT,
    website TEXT);
CREATE INDEX IF NOT EXISTS findings_request ON findings(request_id);
CREATE INDEX IF NOT EXISTS fields_request ON fields(request_id);
"""

# The findings contract (DESIGN.md): the columns of every export, in this order.
EXPORT_COLUMNS = [
    "app", "app_evidence", "app_signal", "client", "tracker", "company", "category", "endpoint", "url", "method",
    "data_type", "data_category", "sensitivity", "value", "path", "context", "detector", "detail", "flow_id",
    "timestamp", "source", "request_id", "match_via",
]


def _display(value: str) -> str:
    return text.display(value) if isinstance(value, str) else value


class StoreError(Exception):
    """The database cannot be opened or is not a leakmap store."""


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(str(self.path), check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            self.db.commit()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a usable leakmap database: {e}") from None

    def close(self) -> None:
        self.db.close()

    def add(self, analysis: Analysis, commit: bool = True) -> int:
        """Append one analysed request with its findings and fields; returns its row id.
        Every text is written in its display form (leakmap/text.py): text that is not valid
        Unicode (surrogate escapes, lone surrogates) never reaches SQLite or the report raw;
        the payload evidence carries the original bytes under `not_unicode`."""
        r = analysis.request
        show = _display
        payload = text.dumps(analysis.payload)
        if len(payload) > MAX_PAYLOAD_CHARS:
            payload = json.dumps({"truncated": True, "first_chars": payload[:MAX_PAYLOAD_CHARS]})
        cur = self.db.execute(
            "INSERT INTO requests(flow_id, source, timestamp, method, url, host, client, app, app_signal, app_evidence,"
            " tracker, company, category, endpoint, rule_source, match_via, status, error, decode_chain, payload)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (show(r.flow_id), show(r.source), r.timestamp, show(r.method), show(r.url), show(r.host), show(r.client),
             show(analysis.app), show(analysis.app_signal), show(analysis.app_evidence), analysis.tracker,
             analysis.company, analysis.category, show(analysis.endpoint), analysis.rule_source, analysis.match_via,
             analysis.status, show(analysis.error), text.dumps(analysis.decode_chain), payload),
        )
        request_id = int(cur.lastrowid or 0)
        self.db.executemany(
            "INSERT INTO findings(request_id, data_type, value, path, context, detector, detail) VALUES (?,?,?,?,?,?,?)",
            [(request_id, f.data_type, show(f.value), show(f.path), f.context, f.detector, show(f.detail))
             for f in analysis.findings],
        )
        self.db.executemany("INSERT INTO fields VALUES (?,?,?,?)",
                            [(request_id, show(p), show(v), t) for p, v, t in analysis.fields])
        if commit:
            self.db.commit()
        return request_id

    def add_problem(self, problem: Problem) -> None:
        self.db.execute("INSERT INTO problems(source, location, message) VALUES (?,?,?)",
                        (problem.source, problem.where, problem.message))

    def set_stats(self, source: str, stats: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO sources VALUES (?,?,?)",
                        (source, json.dumps(stats), time.time()))
        self.db.commit()

    def set_trackers(self, rows: list[tuple[str, str, str, str, str, str]]) -> None:
        """(id, name, company, category, country, website) of the rules in use, so reports
        built later from this store alone can say where each company is."""
        self.db.executemany("INSERT OR REPLACE INTO trackers VALUES (?,?,?,?,?,?)", rows)
        self.db.commit()

    def trackers(self) -> dict[str, dict[str, str]]:
        rows = self.db.execute("SELECT id, name, company, category, country, website FROM trackers").fetchall()
        keys = ("name", "company", "category", "country", "website")
        return {row[0]: dict(zip(keys, row[1:])) for row in rows}

    def commit(self) -> None:
        self.db.commit()

    # --- reading back, for reports and exports ---------------------------------------------

    def findings_frame(self) -> pd.DataFrame:
        """All findings joined with their request, in the export contract's columns."""
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

    def summary_counts(self) -> list[tuple[str, str, int, str]]:
        """(app, tracker, findings, comma-separated data types) per app and tracker, by SQL:
        cheap even when the store holds hundreds of thousands of findings."""
        return self.db.execute(
            "SELECT r.app, r.tracker, count(*), group_concat(DISTINCT f.data_type) FROM findings f"
            " JOIN requests r ON r.id = f.request_id GROUP BY r.app, r.tracker ORDER BY r.app, r.tracker").fetchall()

    def requests_frame(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM requests ORDER BY timestamp, id", self.db)

    def fields_frame(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM fields", self.db)

    def problems(self) -> list[Problem]:
        rows = self.db.execute("SELECT source, location, message FROM problems ORDER BY id").fetchall()
        return [Problem(*row) for row in rows]

    def source_stats(self) -> dict[str, dict[str, Any]]:
        return {s: json.loads(j) for s, j in self.db.execute("SELECT source, stats FROM sources ORDER BY source")}
