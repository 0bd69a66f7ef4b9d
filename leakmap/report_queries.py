"""Report aggregation: every number, table and list of the report computed by SQLite from
the findings store, so that memory stays flat whatever the size of the capture.

Two temporary tables (SQLite's temp store: on disk past its cache, gone with the
connection) hold the requests and the findings in report order (time, request id, finding
id) with the receiver (`party`) resolved once; "the first request of a group" is then the
smallest rowid. Python only ever holds aggregates (one row per app × receiver × data type),
a bounded number of values per group, and the few requests whose full proof is shown.

Captured values are redacted (`Redactor`) and secrets masked (`SecretHider`) when they
leave this module, exactly as the pandas version masked whole columns before aggregating.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .credentials import SECRET_TYPES, SecretHider
from .datatypes import DATA_TYPES, HIGH, SPECIAL, SPECIAL_TYPES
from .redaction import Redactor, drop_sensitive_values
from .report_format import NO_RULE, category, rank, sensitivity, type_order

MAX_VALUES_SHOWN = 5
KEY_FINDINGS_LIMIT = 60
# Shown first among high-sensitivity findings: what a reader most needs to know about.
_KEY_CATEGORIES = ("contact", "location", "sensitive", "identifiers")
HIGH_TYPES = tuple(sorted(t for t, d in DATA_TYPES.items() if d.sensitivity == HIGH))
SPECIAL_TUPLE = tuple(sorted(SPECIAL_TYPES))
# Special categories (GDPR Art. 9) rank above high: the key findings list both, special first.
KEY_TYPES = SPECIAL_TUPLE + HIGH_TYPES
REQUESTS = "temp.leakmap_report_requests"
FINDINGS = "temp.leakmap_report_findings"
# The receiver of a request: the company, or the host when no rule matched; a company named
# by the entity list for a request no rule decoded is marked "(no rule)" too.
PARTY_SQL = (f"CASE WHEN r.company != '' AND r.status = 'no_rule' THEN r.company || '{NO_RULE}'"
             f" WHEN r.company != '' THEN r.company ELSE r.host || '{NO_RULE}' END")
# Columns of a stored request the report shows (the payload is read only for evidence).
REQUEST_COLUMNS = ("id", "flow_id", "source", "timestamp", "method", "url", "host", "client", "app", "app_signal",
                   "app_evidence", "tracker", "company", "category", "endpoint", "rule_source", "match_via",
                   "status", "error", "decode_chain", "payload", "request_key")


def _marks(values: Iterable[Any]) -> str:
    return ",".join("?" * len(list(values)))


@dataclass(slots=True)
class ReportData:
    """The store's tables as the report reads them, redacted and with secrets masked."""

    db: sqlite3.Connection
    redactor: Redactor
    hider: SecretHider = field(default_factory=lambda: SecretHider(()))

    @classmethod
    def open(cls, db: sqlite3.Connection, redact: bool, show_secrets: bool = False) -> ReportData:
        """Build the report tables; captured passwords, keys and tokens are masked everywhere
        (finding, URL, payload, fields) unless *show_secrets*."""
        _build_tables(db)
        redactor = Redactor.for_store(db, redact)
        return cls(db, redactor, secret_hider(db, redactor, show_secrets))

    def close(self) -> None:
        """Drop the temporary tables (a live store's connection outlives the report)."""
        for table in (REQUESTS, FINDINGS):
            self.db.execute(f"DROP TABLE IF EXISTS {table}")
        drop_sensitive_values(self.db)

    # --- shown values -------------------------------------------------------------------------

    def finding_value(self, value: Any, data_type: str) -> Any:
        return self.hider.text(self.redactor.value(value, data_type))

    def request_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A stored request as shown: tester-naming columns redacted, secrets masked."""
        self.redactor.columns(row, ("url", "client", "app_evidence", "source"))
        if self.hider:
            for column in ("url", "payload", "app_evidence", "decode_chain"):
                if column in row:
                    row[column] = self.hider.text(row[column])
        return row

    # --- totals and lists ---------------------------------------------------------------------

    def totals(self) -> dict[str, int]:
        one = self.db.execute(
            f"SELECT count(DISTINCT CASE WHEN status != 'no_rule' THEN company END),"
            f" sum(status != 'no_rule'), sum(status = 'not_decoded'),"
            f" count(DISTINCT CASE WHEN status = 'no_rule' THEN host END), sum(status = 'no_rule') FROM {REQUESTS}"
        ).fetchone()
        findings, high, special = self.db.execute(
            f"SELECT count(*), sum(data_type IN ({_marks(HIGH_TYPES)})), sum(data_type IN ({_marks(SPECIAL_TUPLE)}))"
            f" FROM {FINDINGS}", HIGH_TYPES + SPECIAL_TUPLE).fetchone()
        return {"companies": int(one[0] or 0), "tracker_requests": int(one[1] or 0), "not_decoded": int(one[2] or 0),
                "no_rule_hosts": int(one[3] or 0), "no_rule_requests": int(one[4] or 0), "findings": int(findings),
                "high": int(high or 0), "special": int(special or 0)}

    def apps(self) -> list[str]:
        apps = [a for a, in self.db.execute(f"SELECT DISTINCT app FROM {REQUESTS}")]
        return sorted(apps, key=lambda a: (a == "unattributed", a.lower()))

    def data_types(self) -> list[str]:
        return sorted((t for t, in self.db.execute(f"SELECT DISTINCT data_type FROM {FINDINGS}")), key=type_order)

    def request_count(self) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {REQUESTS}").fetchone()[0])

    def party_meta(self, rules: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
        """Category, country and website of each receiver, where the rule says (as recorded in
        the store by the session that used the rules), from its first request."""
        brands: dict[str, set[str]] = {}
        for party, tracker in self.db.execute(f"SELECT DISTINCT party, tracker FROM {REQUESTS}"):
            names = brands.setdefault(party, set())
            if tracker:
                names.add(rules.get(tracker, {}).get("name", "") or tracker)
        meta: dict[str, dict[str, Any]] = {}
        for party, tracker, company, cat, status in self.db.execute(
                f"SELECT r.party, r.tracker, r.company, r.category, r.status FROM {REQUESTS} r JOIN"
                f" (SELECT min(rowid) AS first FROM {REQUESTS} GROUP BY party) p ON r.rowid = p.first ORDER BY r.rowid"):
            rule = rules.get(tracker, {})
            meta[party] = {"category": cat or ("no tracker rule" if not company else ""),
                           "country": rule.get("country", ""), "website": rule.get("website", ""),
                           "tracker": tracker, "no_rule": status == "no_rule",
                           # The products readers know (Sentry), where the company is a legal
                           # name they may not (Functional Software, Inc.).
                           "brands": ", ".join(sorted(brands.get(party, ())))}
        return meta

    # --- findings aggregates ------------------------------------------------------------------

    def groups(self) -> list[dict[str, Any]]:
        """One row per (app, party, data type): the unit of the matrix and of the findings
        table, with the first few distinct values and the detectors that found them."""
        values = self._first_values()
        detectors: dict[tuple[str, str, str], set[str]] = {}
        for app, party, data_type, detector in self.db.execute(
                f"SELECT DISTINCT app, party, data_type, detector FROM {FINDINGS}"):
            detectors.setdefault((app, party, data_type), set()).add(detector)
        rows = []
        for (app, party, data_type, n, requests, first, last, distinct, first_request,
             path) in self.db.execute(
                f"SELECT g.app, g.party, g.data_type, g.n, g.requests, g.first, g.last, g.distinct_values,"
                f" f.request_id, f.path FROM (SELECT app, party, data_type, count(*) AS n,"
                f" count(DISTINCT request_id) AS requests, min(timestamp) AS first, max(timestamp) AS last,"
                f" count(DISTINCT value) AS distinct_values, min(rowid) AS first_row FROM {FINDINGS}"
                f" GROUP BY app, party, data_type) g JOIN {FINDINGS} f ON f.rowid = g.first_row"):
            key = (app, party, data_type)
            shown = values.get(key, [])
            rows.append({
                "app": app, "party": party, "data_type": data_type, "category": category(data_type),
                "sensitivity": sensitivity(data_type),
                "rank": rank(data_type), "values": shown, "more_values": max(0, int(distinct) - len(shown)),
                "findings": int(n), "requests": int(requests), "first": first, "last": last,  # times: the caller
                "first_ts": float(first), "last_ts": float(last), "first_request": int(first_request), "path": path,
                "detectors": ", ".join(sorted(detectors.get(key, ()), key=str)),
            })
        return sorted(rows, key=lambda r: (r["app"], r["party"], type_order(r["data_type"])))

    def _first_values(self) -> dict[tuple[str, str, str], list[str]]:
        """Per group, its first MAX_VALUES_SHOWN distinct values in report order, as shown."""
        out: dict[tuple[str, str, str], list[str]] = {}
        for app, party, data_type, value in self.db.execute(
                f"SELECT app, party, data_type, value FROM (SELECT app, party, data_type, value, row_number() OVER"
                f" (PARTITION BY app, party, data_type ORDER BY first_row) AS k FROM (SELECT app, party, data_type,"
                f" value, min(rowid) AS first_row FROM {FINDINGS} GROUP BY app, party, data_type, value))"
                f" WHERE k <= ? ORDER BY app, party, data_type, k", (MAX_VALUES_SHOWN,)):
            shown = out.setdefault((app, party, data_type), [])
            text = str(self.finding_value(value, data_type))
            if text not in shown:
                shown.append(text)
        return out

    def key_findings(self) -> list[dict[str, Any]]:
        """Special-category and high-sensitivity values: special categories, credentials,
        contact and location first, what a reader must see first (the first
        KEY_FINDINGS_LIMIT, picked while streaming)."""
        def order(row: tuple[Any, ...]) -> tuple[Any, ...]:
            app, party, data_type, _, _, first_row = row
            cat = category(data_type)
            rank_of = (-2 if cat == SPECIAL else -1 if data_type in SECRET_TYPES
                       else _KEY_CATEGORIES.index(cat) if cat in _KEY_CATEGORIES else 9)
            return (rank_of, data_type, app, party, first_row)

        cursor = self.db.execute(
            f"SELECT app, party, data_type, value, count(*), min(rowid) FROM {FINDINGS}"
            f" WHERE data_type IN ({_marks(KEY_TYPES)}) GROUP BY app, party, data_type, value", KEY_TYPES)
        top = heapq.nsmallest(KEY_FINDINGS_LIMIT, cursor, key=order)
        out = []
        for app, party, data_type, value, n, first_row in top:
            request_id, path = self.db.execute(
                f"SELECT request_id, path FROM {FINDINGS} WHERE rowid = ?", (first_row,)).fetchone()
            out.append({"app": app, "party": party, "data_type": data_type, "category": category(data_type),
                        "value": str(self.finding_value(value, data_type)), "n": int(n),
                        "first_request": int(request_id), "path": path,
                        "sensitivity": sensitivity(data_type), "rank": rank(data_type)})
        return out

    def findings_per_app(self) -> dict[str, int]:
        return dict(self.db.execute(f"SELECT app, count(*) FROM {FINDINGS} GROUP BY app"))

    # --- requests aggregates ------------------------------------------------------------------

    def app_party_counts(self) -> dict[str, list[dict[str, Any]]]:
        """Per app: each receiver's requests, first and last time and undecoded requests,
        most requests first."""
        out: dict[str, list[dict[str, Any]]] = {}
        for app, party, n, first, last, not_decoded in self.db.execute(
                f"SELECT app, party, count(*), min(timestamp), max(timestamp), sum(status = 'not_decoded')"
                f" FROM {REQUESTS} GROUP BY app, party ORDER BY app, count(*) DESC, party"):
            out.setdefault(app, []).append({"party": party, "requests": int(n), "first": first, "last": last,
                                            "not_decoded": int(not_decoded or 0)})
        return out

    def app_times(self) -> dict[str, tuple[int, float, float]]:
        """Per app: requests, first and last time."""
        return {app: (int(n), first, last) for app, n, first, last in self.db.execute(
            f"SELECT app, count(*), min(timestamp), max(timestamp) FROM {REQUESTS} GROUP BY app")}

    def app_signals(self, limit: int = 5) -> dict[str, list[dict[str, Any]]]:
        """Per app: how it was attributed (signal and evidence, as shown), most requests first.
        Evidence can differ in every request (a Referer URL): SQLite counts it as shown (the
        masking is a SQL function, so evidence masked alike is counted together) and keeps
        the first *limit* per app."""
        self.db.create_function("leakmap_shown_evidence", 1,
                                lambda text: self.request_row({"app_evidence": text})["app_evidence"])
        out: dict[str, list[dict[str, Any]]] = {}
        for app, signal, evidence, n in self.db.execute(
                "SELECT app, app_signal, evidence, n FROM (SELECT app, app_signal, evidence, n, row_number() OVER"
                " (PARTITION BY app ORDER BY n DESC, app_signal, evidence) AS k FROM (SELECT app, app_signal,"
                " leakmap_shown_evidence(app_evidence) AS evidence, sum(n) AS n FROM (SELECT app, app_signal,"
                f" app_evidence, count(*) AS n FROM {REQUESTS} WHERE app_signal IS NOT NULL AND app_evidence IS NOT"
                " NULL GROUP BY app, app_signal, app_evidence) GROUP BY app, app_signal, evidence))"
                " WHERE k <= ? ORDER BY app, k", (limit,)):
            out.setdefault(app, []).append({"app": app, "app_signal": signal, "app_evidence": evidence, "n": int(n)})
        return out

    def party_app_counts(self) -> dict[str, list[tuple[str, int]]]:
        """Per receiver: the apps that contacted it and how often, most first."""
        out: dict[str, list[tuple[str, int]]] = {}
        for party, app, n in self.db.execute(
                f"SELECT party, app, count(*) FROM {REQUESTS} GROUP BY party, app ORDER BY party, count(*) DESC, app"):
            out.setdefault(party, []).append((app, int(n)))
        return out

    def request_times(self, app: str | None = None) -> Iterator[tuple[float, str, str]]:
        """(timestamp, status, party) of every request (of *app*), streamed, for the charts."""
        where, args = ("WHERE app = ?", (app,)) if app is not None else ("", ())
        yield from self.db.execute(f"SELECT timestamp, status, party FROM {REQUESTS} {where} ORDER BY rowid", args)

    def time_range(self, app: str | None = None) -> tuple[float | None, float | None]:
        where, args = ("WHERE app = ?", (app,)) if app is not None else ("", ())
        first, last = self.db.execute(f"SELECT min(timestamp), max(timestamp) FROM {REQUESTS} {where}", args).fetchone()
        return first, last

    def party_counts(self, app: str | None = None) -> list[tuple[str, int]]:
        """Receivers by requests (of *app*), most first."""
        where, args = ("WHERE app = ?", (app,)) if app is not None else ("", ())
        return [(p, int(n)) for p, n, _ in self.db.execute(
            f"SELECT party, count(*), min(rowid) AS first FROM {REQUESTS} {where} GROUP BY party"
            f" ORDER BY count(*) DESC, first", args)]

    # --- requests, one by one ------------------------------------------------------------------

    def first_request_ids(self, limit: int) -> list[int]:
        return [int(i) for i, in self.db.execute(f"SELECT id FROM {REQUESTS} ORDER BY rowid LIMIT ?", (limit,))]

    def request_index(self, limit: int) -> Iterator[dict[str, Any]]:
        """The first *limit* stored requests in time order with their data types (most
        sensitive first), streamed in chunks."""
        cursor = self.db.execute(f"SELECT id, timestamp, app, party, method, url, status FROM {REQUESTS}"
                                 " ORDER BY rowid LIMIT ?", (limit,))
        while chunk := cursor.fetchmany(500):
            ids = [row[0] for row in chunk]
            types: dict[int, set[str]] = {}
            for rid, data_type in self.db.execute(
                    f"SELECT DISTINCT request_id, data_type FROM findings WHERE request_id IN ({_marks(ids)})", ids):
                types.setdefault(rid, set()).add(data_type)
            for rid, ts, app, party, method, url, status in chunk:
                found = sorted(types.get(rid, ()), key=type_order)
                yield {"id": int(rid), "timestamp": ts, "app": app, "party": party, "method": method,
                       "url": self.request_row({"url": url})["url"], "status": status, "types": found,
                       "rank": max((rank(t) for t in found), default=0)}

    def requests_by_id(self, ids: list[int]) -> list[dict[str, Any]]:
        """Full rows (with party) of the stored requests *ids*, shown, in time order."""
        out: list[dict[str, Any]] = []
        columns = ", ".join(f"r.{c}" for c in REQUEST_COLUMNS)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor = self.db.execute(
                f"SELECT {columns}, q.party, q.rowid FROM requests r JOIN {REQUESTS} q ON q.id = r.id"
                f" WHERE r.id IN ({_marks(chunk)})", chunk)
            out += [dict(zip((*REQUEST_COLUMNS, "party", "order"), row)) for row in cursor]
        out.sort(key=lambda r: r.pop("order"))
        return [self.request_row(r) for r in out]

    def findings_of(self, request_id: int) -> list[dict[str, Any]]:
        """A request's findings, shown, in the order they were found."""
        return [{"request_id": request_id, "data_type": t, "value": self.finding_value(v, t), "path": p,
                 "context": c, "detector": d, "detail": self.hider.text(detail)}
                for t, v, p, c, d, detail in self.db.execute(
                    "SELECT data_type, value, path, context, detector, detail FROM findings WHERE request_id = ?"
                    " ORDER BY id", (request_id,))]

    def fields_of(self, request_id: int) -> list[dict[str, Any]]:
        """A request's uploaded fields (secrets masked; redaction is the caller's: it needs
        the data type)."""
        return [{"request_id": request_id, "path": p, "value": self.hider.text(v), "data_type": t or ""}
                for p, v, t in self.db.execute(
                    "SELECT path, value, data_type FROM fields WHERE request_id = ? ORDER BY position", (request_id,))]


def secret_hider(db: sqlite3.Connection, redactor: Redactor, show_secrets: bool) -> SecretHider:
    """The masks for captured passwords, keys and tokens: the values of credential
    findings (as redaction shows them), none when *show_secrets*."""
    types = sorted(SECRET_TYPES)
    return SecretHider([redactor.value(v, t) for v, t in db.execute(
        f"SELECT value, data_type FROM findings WHERE data_type IN ({_marks(types)})", types)], show_secrets)


def _build_tables(db: sqlite3.Connection) -> None:
    """The report tables: requests and findings in report order, the receiver resolved."""
    for table in (REQUESTS, FINDINGS):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TABLE {REQUESTS} AS SELECT r.id, r.timestamp, r.app, {PARTY_SQL} AS party, r.host,"
               " r.company, r.tracker, r.category, r.status, r.match_via, r.app_signal, r.app_evidence, r.method,"
               " r.url FROM requests r ORDER BY r.timestamp, r.id")
    db.execute(f"CREATE INDEX {REQUESTS}_id ON leakmap_report_requests(id)")
    db.execute(f"CREATE TABLE {FINDINGS} AS SELECT f.id AS finding_id, f.request_id, r.app, r.party, f.data_type, f.value, f.path,"
               f" f.detector, r.timestamp FROM findings f JOIN {REQUESTS} r ON r.id = f.request_id"
               " ORDER BY r.rowid, f.id")

