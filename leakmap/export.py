"""Exports of the findings store: the findings as CSV, JSON or Parquet, and the tracker
requests as an evidence HAR.

Every export goes through the report's `Redactor`, so `--redact` masks the same values in the
report and in each file written here.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .private_files import make_private
from .report import Redactor, load_frames
from .store import EXPORT_COLUMNS, Store

FORMATS = ("csv", "json", "parquet")
# OWASP "CSV Injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SUFFIXES = {".json": "json", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


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


def findings_frame(store: Store, redact: bool, show_secrets: bool = False) -> pd.DataFrame:
    """The findings in the export contract's columns, redacted like the report (secrets
    masked unless *show_secrets*)."""
    return load_frames(store, redact, show_secrets).findings[EXPORT_COLUMNS].copy()


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM(...)`),
    defused with a leading `'` as OWASP's CSV-injection guidance says. Captured values are
    attacker-controlled; the exact value stays in the JSON and Parquet exports."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV safe to open in a spreadsheet: formula-like text cells get a leading `'`, and every
    text cell is quoted (embedded quotes doubled), so no cell can spill into the next one."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_safe)
    safe.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)


def export_findings(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write findings as CSV, JSON (records) or Parquet: the same rows in each."""
    make_private(path)  # each writer below truncates in place, keeping mode 0600
    if fmt == "csv":
        write_csv(frame, path)
    elif fmt == "json":
        path.write_text(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
    elif fmt == "parquet":
        export_format(path, fmt)
        frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}).to_parquet(path, index=False)
    else:
        raise ExportError(f"unknown export format {fmt!r}")


# --- evidence HAR ------------------------------------------------------------------------------------

def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _har_entry(row: dict[str, Any], findings: pd.DataFrame, labels: dict[str, str],
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
                     "findings": findings[["data_type", "value", "path", "context", "detector"]]
                     .to_dict(orient="records")},
    }


def evidence_har(store: Store, redact: bool = False, show_secrets: bool = False) -> dict[str, Any]:
    """HAR 1.2 holding only the tracker requests (decoded or not) and the uploads to third
    parties without a rule (generic path), with their findings."""
    frames = load_frames(store, redact, show_secrets)
    requests = frames.requests
    tracked = requests[(requests["status"] != "no_rule") | (requests["match_via"] == "generic")]
    found_by = {rid: g for rid, g in frames.findings.groupby("request_id")}
    fields_by = {rid: dict(zip(g["path"], g["data_type"])) for rid, g in frames.fields.groupby("request_id")}
    empty = frames.findings.iloc[0:0]
    entries = []
    for row in tracked.to_dict(orient="records"):
        found = found_by.get(row["id"], empty)
        labels = {**fields_by.get(row["id"], {}), **dict(zip(found["path"], found["data_type"]))}
        entries.append(_har_entry(row, found, labels, frames.redactor))
    return {"log": {"version": "1.2", "creator": {"name": "leakmap", "version": __version__},
                    "comment": "tracker requests only" + (", values redacted" if redact else ""),
                    "entries": entries}}


def write_evidence_har(store: Store, path: Path, redact: bool = False, show_secrets: bool = False) -> int:
    """Write the evidence HAR; returns the number of entries."""
    har = evidence_har(store, redact, show_secrets)
    make_private(path)
    path.write_text(json.dumps(har, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return len(har["log"]["entries"])
