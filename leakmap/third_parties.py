"""Report view of the generic path: per app, the third parties without a rule, what each
received (value, guessed type, why), and a headline that names them first.

Kept apart from report.py (which only calls `third_party_context`) because several report
sections are added by different people: this one owns its aggregation (SQL over the
report's tables, see report_queries.py) and its template include,
reports/_third_parties.html.j2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .report_queries import FINDINGS, REQUESTS, ReportData

FIELDS_SHOWN = 60  # per receiver and app; the exports have them all
HEADLINE_RECEIVERS = 5
# Requests the generic path decoded (no rule, match_via `generic`), in the report's requests table `q`.
_GENERIC = "q.status = 'no_rule' AND q.match_via = 'generic'"


def _receivers(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    """Per app (sorted): each receiver without a rule, its requests and uploaded fields."""
    fields = {(app, party): int(n) for app, party, n in data.db.execute(
        f"SELECT q.app, q.party, sum(coalesce(json_array_length(r.fields), 0)) FROM {REQUESTS} q"
        f" JOIN requests r ON r.id = q.id WHERE {_GENERIC} GROUP BY q.app, q.party")}
    apps: dict[str, list[dict[str, Any]]] = {}
    for app, party, n, tracker, company in data.db.execute(
            f"SELECT g.app, g.party, g.n, q.tracker, q.company FROM (SELECT app, party, count(*) AS n,"
            f" min(rowid) AS first FROM {REQUESTS} q WHERE {_GENERIC} GROUP BY app, party) g"
            f" JOIN {REQUESTS} q ON q.rowid = g.first ORDER BY g.app, g.first"):
        apps.setdefault(app, []).append({"party": party, "domain": tracker, "company": company,
                                         "known": company != tracker, "requests": int(n),
                                         "fields": fields.get((app, party), 0), "values": 0, "shown": [], "more": 0,
                                         "types": set()})
    return apps


def _add_values(data: ReportData, apps: dict[str, list[dict[str, Any]]]) -> None:
    """Each receiver's distinct (data type, value) pairs: counted, the first FIELDS_SHOWN
    shown with why they were flagged."""
    by_pair = {(app, r["party"]): r for app, rows in apps.items() for r in rows}
    for app, party, data_type, value, finding_id in _distinct_values(data):
        row = by_pair[(app, party)]
        row["values"] += 1
        row["types"].add(data_type)
        if len(row["shown"]) < FIELDS_SHOWN:
            path, detector, detail, request_id = data.db.execute(
                "SELECT path, detector, detail, request_id FROM findings WHERE id = ?", (finding_id,)).fetchone()
            row["shown"].append({"value": str(data.finding_value(value, data_type)), "data_type": data_type,
                                 "why": data.hider.text(detail), "path": path, "detector": detector,
                                 "request": int(request_id)})
    for row in by_pair.values():
        row["more"] = max(0, row["values"] - len(row["shown"]))
        row["types"] = sorted(row["types"])


def _distinct_values(data: ReportData) -> Iterator[tuple[str, str, str, str, int]]:
    """(app, party, data type, value, first finding id) per distinct pair, in report order."""
    cursor = data.db.execute(
        f"SELECT f.app, f.party, f.data_type, f.value, min(f.rowid) AS first FROM {FINDINGS} f"
        f" JOIN {REQUESTS} q ON q.id = f.request_id WHERE {_GENERIC}"
        f" GROUP BY f.app, f.party, f.data_type, f.value ORDER BY f.app, f.party, first")
    for app, party, data_type, value, first in cursor:
        (finding_id,) = data.db.execute(f"SELECT finding_id FROM {FINDINGS} WHERE rowid = ?", (first,)).fetchone()
        yield app, party, data_type, value, finding_id


def third_party_context(data: ReportData) -> dict[str, Any]:
    """`headline` (receivers without a rule, with their request and field counts, most
    fields first) and `apps` (per app: each receiver and the values it got)."""
    apps = _receivers(data)
    if not apps:
        return {"receivers": 0, "requests": 0, "fields": 0, "headline": [], "apps": []}
    _add_values(data, apps)
    sections = [{"app": app, "receivers": sorted(rows, key=lambda r: (-r["fields"], r["party"]))}
                for app, rows in sorted(apps.items())]
    totals: dict[str, dict[str, Any]] = {}
    for section in sections:
        for r in section["receivers"]:
            t = totals.setdefault(r["party"], {"party": r["party"], "domain": r["domain"], "company": r["company"],
                                               "requests": 0, "fields": 0})
            t["requests"] += r["requests"]
            t["fields"] += r["fields"]
    ranked = sorted(totals.values(), key=lambda t: (-t["fields"], t["party"]))
    return {"receivers": len(ranked), "requests": sum(t["requests"] for t in ranked),
            "fields": sum(t["fields"] for t in ranked), "headline": ranked[:HEADLINE_RECEIVERS],
            "more": max(0, len(ranked) - HEADLINE_RECEIVERS), "apps": sections}
