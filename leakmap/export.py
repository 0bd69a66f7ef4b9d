"""Exports of the findings store: the findings as CSV, JSON or Parquet, and the tracker
requests as an evidence HAR.

Every export streams: rows leave SQLite in chunks (`CHUNK_ROWS`) and are written as they
come, so a store of millions of findings exports in flat memory. Every export goes through
the report's `Redactor` and `SecretHider`, so `--redact` masks the same values in the report
and in each file written here.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from . import __version__
from .credentials import SecretHider
from .datatypes import DATA_TYPES
from .private_files import make_private
from .redaction import Redactor, clear_sql, drop_sensitive_values, redact_value
from .report_queries import secret_hider
from .store import EXPORT_COLUMNS, Store, store_fault

FORMATS = ("csv", "json", "parquet")
CHUNK_ROWS = 5000
# OWASP "CSV Injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SUFFIXES = {".json": "json", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
# A request's columns are read once (in time order, `requests_time` index), then its findings
# (`findings_request` index): a join would copy the request's columns into every finding row.
_REQUESTS_SQL = (
    "SELECT r.app, r.app_evidence, r.app_signal, r.client, r.tracker, r.company, r.category, r.endpoint, r.url,"
    " r.method, r.flow_id, r.timestamp, r.source, r.id, r.match_via FROM requests r"
    " WHERE EXISTS (SELECT 1 FROM findings f WHERE f.request_id = r.id) ORDER BY r.timestamp, r.id")
_FINDINGS_SQL = ("SELECT f.data_type, f.value, f.path, f.context, f.detector, f.detail, {clear} FROM findings f"
                 " WHERE f.request_id = ? ORDER BY f.id")


class ExportError(Exception):
    """An export cannot be written (e.g. an optional dependency is missing)."""


def export_format(path: Path, fmt: str | None) -> str:
    """The format asked for, else the one the file suffix names (an unknown suffix is an
    error: `out.xlsx` must not silently get CSV); checks up front
    that Parquet can be written, so a long analysis does not end in a missing dependency."""
    if fmt is None:
        if path.suffix.lower() not in _SUFFIXES:
            raise ExportError(f"{path.name}: unknown findings format {path.suffix or '(no suffix)'!r}; "
                              f"name the file .csv, .json or .parquet, or pass --format {'|'.join(FORMATS)}")
        fmt = _SUFFIXES[path.suffix.lower()]
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError("Parquet export needs pyarrow: pip install 'leakmap[parquet]' "
                              "(or use --format csv|json)") from None
    return fmt


# --- the findings rows --------------------------------------------------------------------------------

def finding_rows(store: Store, redact: bool, show_secrets: bool = False,
                 requests: tuple[int, int] | None = None) -> Iterator[tuple[Any, ...]]:
    """The findings as tuples in the export contract's columns (EXPORT_COLUMNS) and order
    (time, request, finding), redacted like the report (secrets masked unless
    *show_secrets*), streamed. A request's own columns are redacted and masked once, for
    all its findings. *requests*: (first, count) of the requests with findings, in that
    order: the findings of those only (an export written in parts, export_parts.py)."""
    db = store.db
    redactor = Redactor.for_store(db, redact)
    hider = secret_hider(db, redactor, show_secrets)
    findings_sql = _FINDINGS_SQL.format(clear=clear_sql("f.value") if redact else "1")
    cursor = db.execute(_REQUESTS_SQL + " LIMIT ? OFFSET ?", (requests[1], requests[0])) if requests else \
        db.execute(_REQUESTS_SQL)
    try:
        while chunk := cursor.fetchmany(CHUNK_ROWS):
            for row in chunk:
                request = _request_cells(row, redactor, hider)
                for finding in db.execute(findings_sql, (row[13],)):
                    yield _shown(finding, request, redactor, hider)
    finally:
        cursor.close()
        drop_sensitive_values(db)


_TYPE_COLUMNS = {t: (d.category, d.sensitivity) for t, d in DATA_TYPES.items()}


def _request_cells(row: tuple[Any, ...], redactor: Redactor, hider: SecretHider) -> tuple[Any, ...]:
    """A request's columns (_REQUESTS_SQL) as exported: redacted and secrets masked, split
    into those before and those after the finding's own columns."""
    app, evidence, signal, client, tracker, company, category, endpoint, url, method = row[:10]
    flow_id, timestamp, source, request_id, match_via = row[10:]
    if redactor.enabled:
        url, client = redactor.url(str(url)), redactor.value(str(client))
        evidence, source = redactor.text(str(evidence)), redactor.source(str(source))
    if hider:
        url, evidence = hider.text(url), hider.text(evidence)
    return ((app, evidence, signal, client, tracker, company, category, endpoint, url, method),
            (flow_id, timestamp, source, request_id, match_via))


def _shown(row: tuple[Any, ...], request: tuple[Any, ...], redactor: Redactor, hider: SecretHider) -> tuple[Any, ...]:
    """One finding (_FINDINGS_SQL: its columns, then whether its value may be shown in
    clear) as exported with its request's columns: the value redacted, secrets masked, the
    data type's category and sensitivity added."""
    data_type, value, path, context, detector, detail, clear = row
    if redactor.enabled and not clear and value is not None and not isinstance(value, bool):
        value = redact_value(str(value))
    if hider:
        value, detail = hider.text(value), hider.text(detail)
    data_category, sensitivity = _TYPE_COLUMNS.get(data_type, ("", ""))
    return (*request[0], data_type, data_category, sensitivity, value, path, context, detector, detail, *request[1])


def finding_records(store: Store, redact: bool, show_secrets: bool = False) -> Iterator[dict[str, Any]]:
    """finding_rows as dicts (column → value), streamed."""
    for row in finding_rows(store, redact, show_secrets):
        yield dict(zip(EXPORT_COLUMNS, row))


def findings_frame(store: Store, redact: bool, show_secrets: bool = False) -> Any:
    """The findings as a pandas DataFrame, for tools and tests on small stores (the exports
    themselves stream and never build one)."""
    import pandas as pd

    return pd.DataFrame(list(finding_rows(store, redact, show_secrets)), columns=EXPORT_COLUMNS)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM(...)`),
    defused with a leading `'` as OWASP's CSV-injection guidance says. Captured values are
    attacker-controlled; the exact value stays in the JSON and Parquet exports."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- writers ------------------------------------------------------------------------------------------

def csv_cell(value: Any) -> str:
    """One cell as `csv.writer(quoting=QUOTE_NONNUMERIC)` writes it, formula-like text
    defused (see spreadsheet_safe): text quoted with embedded quotes doubled, numbers bare,
    None as an empty quoted text. Written here because a findings row repeats its request's
    fifteen cells, which are then encoded once per request instead of once per finding
    (tests/test_export_csv.py checks it against the csv module on hostile text)."""
    if value is None:
        return '""'
    if value.__class__ is str:
        value = spreadsheet_safe(value)
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, (int, float)):
        return str(value)
    return csv_cell(str(value))


_HEAD = EXPORT_COLUMNS.index("data_type")  # columns before it and from flow_id on are the request's
_TAIL = EXPORT_COLUMNS.index("flow_id")
_REQUEST_ID = EXPORT_COLUMNS.index("request_id")
assert EXPORT_COLUMNS[_HEAD:_TAIL] == ["data_type", "data_category", "sensitivity", "value", "path", "context",
                                       "detector", "detail"], "write_csv encodes the finding's columns in this order"


def write_csv(rows: Iterator[tuple[Any, ...]], out: IO[str], header: bool = True) -> int:
    """CSV safe to open in a spreadsheet: formula-like text cells get a leading `'`, and every
    text cell is quoted (embedded quotes doubled), so no cell can spill into the next one.
    Rows come grouped by request (finding_rows' order): the request's cells are encoded once."""
    if header:
        out.write(",".join(csv_cell(c) for c in EXPORT_COLUMNS) + "\n")
    cell, n = csv_cell, 0
    request_id: Any = object()
    head = tail = ""
    lines: list[str] = []
    kinds: dict[tuple[Any, ...], tuple[str, str]] = {}
    for row in rows:
        if row[_REQUEST_ID] != request_id:
            request_id = row[_REQUEST_ID]
            head = ",".join([cell(v) for v in row[:_HEAD]]) + ","
            tail = "," + ",".join([cell(v) for v in row[_TAIL:]]) + "\n"
        data_type, category, sensitivity, value, path, context, detector, detail = row[_HEAD:_TAIL]
        kind = kinds.get((data_type, category, sensitivity, context, detector))
        if kind is None:  # a few dozen combinations: encoded once
            kind = kinds[(data_type, category, sensitivity, context, detector)] = (
                f"{cell(data_type)},{cell(category)},{cell(sensitivity)},", f",{cell(context)},{cell(detector)},")
        lines.append(f"{head}{kind[0]}{cell(value)},{cell(path)}{kind[1]}{cell(detail)}{tail}")
        n += 1
        if len(lines) >= CHUNK_ROWS:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))
    return n


def write_json(rows: Iterator[tuple[Any, ...]], out: IO[str]) -> int:
    """A JSON array of records, one at a time, laid out like `json.dumps(records, indent=1)`."""
    n = 0
    for row in rows:
        out.write("[\n " if n == 0 else ",\n ")
        out.write(json.dumps(dict(zip(EXPORT_COLUMNS, row)), ensure_ascii=False, indent=1,
                             default=str).replace("\n", "\n "))
        n += 1
    out.write("\n]" if n else "[]")
    return n


def write_parquet(rows: Iterator[tuple[Any, ...]], path: Path) -> int:
    """Parquet written in row groups of CHUNK_ROWS: text columns as large strings, the time
    as double, the request id as int64 (the schema pandas wrote before)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.float64() if c == "timestamp" else pa.int64() if c == "request_id"
                         else pa.large_string()) for c in EXPORT_COLUMNS])
    n = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        while batch := list(itertools.islice(rows, CHUNK_ROWS)):
            columns = list(zip(*batch))
            writer.write_table(pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, schema)],
                                                    schema=schema))
            n += len(batch)
        if n == 0:
            writer.write_table(schema.empty_table())
    return n


def requests_with_findings(store: Store) -> int:
    """How many requests finding_rows goes through (what export_parts divides)."""
    return store.db.execute("SELECT count(*) FROM requests r WHERE EXISTS (SELECT 1 FROM findings f"
                            " WHERE f.request_id = r.id)").fetchone()[0]


def export_findings(store: Store, path: Path, fmt: str, redact: bool = False, show_secrets: bool = False,
                    requests: tuple[int, int] | None = None, header: bool = True) -> int:
    """Write the findings as CSV, JSON (records) or Parquet, the same rows in each; returns
    how many. *requests*, *header*: a part of a CSV export (finding_rows, write_csv)."""
    make_private(path)  # each writer below truncates in place, keeping mode 0600
    rows = finding_rows(store, redact, show_secrets, requests)
    try:
        if fmt == "parquet":
            export_format(path, fmt)
            return write_parquet(rows, path)
        if fmt not in ("csv", "json"):
            raise ExportError(f"unknown export format {fmt!r}")
        with path.open("w", encoding="utf-8", newline="") as out:
            return write_csv(rows, out, header) if fmt == "csv" else write_json(rows, out)
    except sqlite3.Error as e:
        store.rollback()
        raise store_fault(store.path, e) from None


# --- evidence HAR ------------------------------------------------------------------------------------

def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _har_entry(row: dict[str, Any], findings: list[dict[str, Any]], labels: dict[str, str],
               redactor: Redactor) -> dict[str, Any]:
    """One tracker request, request side only: the store keeps the decoded payload, not the
    raw body, so postData holds the decoded body as JSON and says so in its comment."""
    payload = json.loads(row["payload"]) if row["payload"] else {}
    payload = redactor.tree(payload, labels) if isinstance(payload, dict) else {"body": payload}
    headers = payload.get("header") or {}
    cookies = payload.get("cookie") or {}
    entry_headers = [{"name": k, "value": str(v)} for k, v in headers.items()] if isinstance(headers, dict) else []
    request: dict[str, Any] = {
        "method": row["method"], "url": row["url"], "httpVersion": "unknown",
        "cookies": [{"name": k, "value": str(v)} for k, v in cookies.items()] if isinstance(cookies, dict) else [],
        "headers": entry_headers,
        "queryString": [{"name": k, "value": json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}
                        for k, v in (payload.get("query") or {}).items()],
        "headersSize": -1, "bodySize": -1,
    }
    if "body" in payload:
        content_type = headers.get("content-type", "") if isinstance(headers, dict) else ""
        chain = " → ".join(json.loads(row["decode_chain"] or "[]"))
        request["postData"] = {"mimeType": str(content_type) or "application/octet-stream",
                               "text": json.dumps(payload["body"], ensure_ascii=False, default=str),
                               "comment": f"decoded by leakmap: {chain}"}
    return {
        "startedDateTime": _iso(float(row["timestamp"])), "time": 0, "request": request,
        "response": {"status": 0, "statusText": "", "httpVersion": "unknown", "cookies": [], "headers": [],
                     "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": -1,
                     "comment": "not recorded: leakmap stores the request side only"},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
        "comment": f"{row['company']} ({row['tracker']}/{row['endpoint']}), {row['status']}",
        "_leakmap": {"request_id": int(row["id"]), "app": row["app"], "app_signal": row["app_signal"],
                     "app_evidence": row["app_evidence"], "tracker": row["tracker"], "company": row["company"],
                     "endpoint": row["endpoint"], "status": row["status"], "error": row["error"],
                     "rule_source": row["rule_source"], "source": row["source"], "flow_id": row["flow_id"],
                     "findings": [{k: f[k] for k in ("data_type", "value", "path", "context", "detector")}
                                  for f in findings]},
    }


_HAR_REQUEST_COLUMNS = ("id", "timestamp", "method", "url", "client", "app", "app_signal", "app_evidence", "tracker",
                        "company", "endpoint", "rule_source", "status", "error", "decode_chain", "payload", "source",
                        "flow_id")


def har_entries(store: Store, redact: bool = False, show_secrets: bool = False) -> Iterator[dict[str, Any]]:
    """The evidence HAR's entries, streamed: the tracker requests (decoded or not) and the
    uploads to third parties without a rule (generic path), with their findings."""
    db = store.db
    redactor = Redactor.for_store(db, redact)
    hider = secret_hider(db, redactor, show_secrets)
    cursor = db.execute(f"SELECT {', '.join(_HAR_REQUEST_COLUMNS)} FROM requests"
                        " WHERE status != 'no_rule' OR match_via = 'generic' ORDER BY timestamp, id")
    try:
        yield from _har_rows(db, cursor, redactor, hider)
    finally:
        cursor.close()
        drop_sensitive_values(db)


def _har_rows(db: sqlite3.Connection, cursor: sqlite3.Cursor, redactor: Redactor,
              hider: SecretHider) -> Iterator[dict[str, Any]]:
    while chunk := cursor.fetchmany(500):
        for values in chunk:
            row = dict(zip(_HAR_REQUEST_COLUMNS, values))
            redactor.columns(row, ("url", "client", "app_evidence", "source"))
            for column in ("url", "payload", "app_evidence", "decode_chain"):
                row[column] = hider.text(row[column])
            findings = [{"data_type": t, "value": hider.text(redactor.value(v, t)), "path": p, "context": c,
                         "detector": d} for t, v, p, c, d in db.execute(
                "SELECT data_type, value, path, context, detector FROM findings WHERE request_id = ? ORDER BY id",
                (row["id"],))]
            labels = dict(db.execute("SELECT path, data_type FROM fields WHERE request_id = ? ORDER BY position",
                                     (row["id"],)))
            labels.update((f["path"], f["data_type"]) for f in findings)
            yield _har_entry(row, findings, labels, redactor)


def evidence_har(store: Store, redact: bool = False, show_secrets: bool = False) -> dict[str, Any]:
    """HAR 1.2 as one dict (tests, small stores); write_evidence_har streams it."""
    return {"log": {**_har_log(redact), "entries": list(har_entries(store, redact, show_secrets))}}


def _har_log(redact: bool) -> dict[str, Any]:
    return {"version": "1.2", "creator": {"name": "leakmap", "version": __version__},
            "comment": "tracker requests only" + (", values redacted" if redact else "")}


def write_evidence_har(store: Store, path: Path, redact: bool = False, show_secrets: bool = False) -> int:
    """Write the evidence HAR entry by entry (laid out like `json.dumps(har, indent=1)`);
    returns the number of entries."""
    head, tail = json.dumps({"log": {**_har_log(redact), "entries": ["\0"]}}, ensure_ascii=False,
                            indent=1).split('"\\u0000"')
    make_private(path)
    n = 0
    try:
        with path.open("w", encoding="utf-8") as out:
            for entry in har_entries(store, redact, show_secrets):
                out.write(head if n == 0 else ",\n   ")
                out.write(json.dumps(entry, ensure_ascii=False, indent=1, default=str).replace("\n", "\n   "))
                n += 1
            if n == 0:
                out.write(json.dumps({"log": {**_har_log(redact), "entries": []}}, ensure_ascii=False, indent=1))
            else:
                out.write(tail)
    except sqlite3.Error as e:
        store.rollback()
        raise store_fault(store.path, e) from None
    return n
