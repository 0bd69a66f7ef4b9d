"""Report view of the generic path: per app, the third parties without a rule, what each
received (value, guessed type, why), and a headline that names them first.

Kept apart from report.py (which only calls `third_party_context`) because several report
sections are added by different people: this one owns its aggregation and its template
include, reports/_third_parties.html.j2.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FIELDS_SHOWN = 60  # per receiver and app; the exports have them all
HEADLINE_RECEIVERS = 5


def _generic_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Stored requests the generic path decoded (no rule, match_via `generic`)."""
    if requests.empty or "match_via" not in requests:
        return requests.iloc[0:0]
    return requests[(requests["status"] == "no_rule") & (requests["match_via"] == "generic")]


def _receiver_rows(app_req: pd.DataFrame, findings: pd.DataFrame, field_counts: pd.Series) -> list[dict[str, Any]]:
    rows = []
    for party, group in app_req.groupby("party", sort=False):
        ids = set(group["id"])
        found = findings[findings["request_id"].isin(ids)].drop_duplicates(["data_type", "value"])
        fields = [{"value": str(f.value), "data_type": f.data_type, "why": f.detail, "path": f.path,
                   "detector": f.detector, "request": int(f.request_id)}
                  for f in found.head(FIELDS_SHOWN).itertuples()]
        rows.append({"party": party, "domain": group["tracker"].iloc[0], "company": group["company"].iloc[0],
                     "known": group["company"].iloc[0] != group["tracker"].iloc[0],
                     "requests": int(len(group)), "fields": int(field_counts.reindex(list(ids)).fillna(0).sum()),
                     "values": int(len(found)), "shown": fields, "more": max(0, int(len(found)) - len(fields)),
                     "types": sorted(set(found["data_type"]))})
    return sorted(rows, key=lambda r: (-r["fields"], r["party"]))


def third_party_context(requests: pd.DataFrame, findings: pd.DataFrame, fields: pd.DataFrame) -> dict[str, Any]:
    """`headline` (receivers without a rule, with their request and field counts, most
    fields first) and `apps` (per app: each receiver and the values it got)."""
    generic = _generic_requests(requests)
    if generic.empty:
        return {"receivers": 0, "requests": 0, "fields": 0, "headline": [], "apps": []}
    field_counts = fields.groupby("request_id").size() if not fields.empty else pd.Series(dtype=int)
    apps = []
    for app, app_req in generic.groupby("app", sort=True):
        apps.append({"app": app, "receivers": _receiver_rows(app_req, findings, field_counts)})
    totals: dict[str, dict[str, Any]] = {}
    for section in apps:
        for r in section["receivers"]:
            t = totals.setdefault(r["party"], {"party": r["party"], "domain": r["domain"], "company": r["company"],
                                               "requests": 0, "fields": 0})
            t["requests"] += r["requests"]
            t["fields"] += r["fields"]
    ranked = sorted(totals.values(), key=lambda t: (-t["fields"], t["party"]))
    return {"receivers": len(ranked), "requests": int(len(generic)), "fields": sum(t["fields"] for t in ranked),
            "headline": ranked[:HEADLINE_RECEIVERS], "more": max(0, len(ranked) - HEADLINE_RECEIVERS), "apps": apps}
