"""Report stage: one self-contained HTML file built from the findings store.

The work is split by job: report_queries.py aggregates the store in SQL (memory stays flat
whatever the capture's size), redaction.py masks what --redact hides, report_charts.py lays
out the charts, payload_tree.py draws the evidence trees, and this module puts the
sections together and renders them.

Captured values are written by whoever controls the app or the tracker, so they are hostile:
every one passes through Jinja2's autoescaping (or `markupsafe.escape` in the payload tree),
never into a <script>, and the page's Content-Security-Policy allows exactly one inline
script and one inline style, both ours, by their sha256 hashes. The page loads nothing from
the network, so it works from file:// and can be mailed around as one file.

Large captures: tables are aggregates (app × company × data type), the findings and request
lists are paginated by the script, at most `evidence_limit` requests carry their full proof
(payload tree, fields) inline and at most REQUEST_INDEX_LIMIT are listed; the page says so,
and the exports carry everything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import __version__, identifiers
from .datatypes import CATEGORIES, SENSITIVITY_RANK
from .payload_tree import payload_tree
from .private_files import make_private
from .redaction import Redactor, redact_url, redact_value
from .replay_report import recording_view
from .report_charts import requests_over_time_chart, timeline_chart, types_per_company_chart
from .report_format import category, level, sensitivity, type_order, when
from .report_queries import ReportData
from .store import Store, store_fault
from .third_parties import third_party_context

# Names other modules import from here (diff, policy, discover, explore).
__all__ = ["CSP", "build_context", "content_security_policy", "payload_tree", "redact_url", "redact_value", "render",
           "templates_dir", "write_report"]
_type_order = type_order

EVIDENCE_LIMIT = 200  # requests whose full proof is inlined; the rest are listed, proof in exports
REQUEST_INDEX_LIMIT = 5000  # requests listed under "All requests"; the exports list them all
IDENTIFIERS_LIMIT = 500  # identifiers listed, most bridging first; `leakmap ids` lists them all


# --- assets and the Content-Security-Policy ----------------------------------------------------------

def templates_dir() -> Path:
    """Templates inside the installed package, or the checkout's top-level reports/."""
    packaged = Path(str(resources.files("leakmap"))) / "reports"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "reports"


@functools.cache
def _asset(name: str) -> str:
    """Our inline script or style; it must not be able to close its own element early."""
    text = (templates_dir() / name).read_text(encoding="utf-8")
    if re.search(r"</(script|style)", text, re.IGNORECASE):
        raise ValueError(f"{name} must not contain a closing script or style tag")
    return text


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing may load, and only our own inline script and style may run, named by hash:
    markup injected by a captured value could neither run script nor restyle the page."""
    return (f"default-src 'none'; script-src {_sha256_source(script)}; style-src {_sha256_source(style)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


CSP = content_security_policy(_asset("report.js"), _asset("report.css"))


# --- sections ------------------------------------------------------------------------------------

def _with_times(row: dict[str, Any]) -> dict[str, Any]:
    row["first"], row["last"] = when(row["first"]), when(row["last"])
    return row


def _matrix(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    cells: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        cells.setdefault((row["app"], row["party"]), []).append(row["data_type"])
    return {key: {"types": sorted(types, key=type_order), "level": level(types),
                  "rank": SENSITIVITY_RANK[level(types)]} for key, types in cells.items()}


def _app_sections(data: ReportData, rows: list[dict[str, Any]], apps: list[str],
                  meta: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per app: each receiver with its request counts and the data types it got, by category."""
    counts, signals, times = data.app_party_counts(), data.app_signals(), data.app_times()
    findings = data.findings_per_app()
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_pair.setdefault((row["app"], row["party"]), []).append(row)
    sections = []
    for index, app in enumerate(apps, 1):
        parties = []
        for c in counts.get(app, []):
            party = c["party"]
            typed = by_pair.get((app, party), [])
            by_category = [(cat, [r for r in typed if r["category"] == cat]) for cat in CATEGORIES]
            parties.append({"party": party, **meta[party], "requests": c["requests"], "first": when(c["first"]),
                            "last": when(c["last"]), "not_decoded": c["not_decoded"],
                            "types": sorted({r["data_type"] for r in typed}, key=type_order),
                            "level": level(r["data_type"] for r in typed),
                            "categories": [(cat, rs) for cat, rs in by_category if rs]})
        n, first, last = times[app]
        sections.append({"app": app, "anchor": f"app-{index}", "parties": parties, "requests": n,
                         "findings": findings.get(app, 0), "first": when(first), "last": when(last),
                         "signals": signals.get(app, []),
                         "timeline": timeline_chart(data.request_times(app), first, last, data.party_counts(app))})
    return sections


def _company_sections(data: ReportData, matrix: Mapping[tuple[str, str], dict[str, Any]],
                      parties: list[str], meta: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per receiver: which apps sent it what."""
    counts = data.party_app_counts()
    sections = []
    for index, party in enumerate(parties, 1):
        apps = [{"app": app, "requests": n, **matrix.get((app, party), {"types": [], "level": "", "rank": 0})}
                for app, n in counts.get(party, [])]
        sections.append({"party": party, "anchor": f"co-{index}", **meta[party], "apps": apps,
                         "requests": sum(n for _, n in counts.get(party, []))})
    return sections


# --- evidence: the chosen requests with their full proof ------------------------------------------

def _evidence_ids(data: ReportData, cited: Iterable[int], limit: int) -> list[int]:
    """Cited requests first (each aggregate row links one), then in time order, up to *limit*."""
    chosen = list(dict.fromkeys(int(i) for i in cited))[:limit]
    if len(chosen) < limit:
        seen = set(chosen)
        chosen += [i for i in data.first_request_ids(limit + len(chosen)) if i not in seen][: limit - len(chosen)]
    return chosen


def _evidence(data: ReportData, ids: list[int]) -> list[dict[str, Any]]:
    """Full proof for the chosen requests: findings linked to their node in the payload tree,
    every uploaded field, the decoding chain, the rule's SDK sources, the attribution."""
    out = []
    for row in data.requests_by_id(ids):
        rid = int(row["id"])
        found, fields = data.findings_of(rid), data.fields_of(rid)
        labels = {f["path"]: f["data_type"] for f in fields if f["data_type"]}
        labels.update((f["path"], f["data_type"]) for f in found)
        payload = json.loads(row["payload"]) if row["payload"] else None
        tree, node_ids = payload_tree(data.redactor.tree(payload, labels), rid, labels, {f["path"] for f in found})
        types = sorted({f["data_type"] for f in found}, key=type_order)
        out.append({**row, "when": when(row["timestamp"]), "tree": tree, "types": types,
                    "rank": max((SENSITIVITY_RANK[sensitivity(t)] for t in types), default=0),
                    "decode_chain": json.loads(row["decode_chain"] or "[]"),
                    "rule_sources": (row["rule_source"] or "").split(),
                    "findings": [{**f, "value": str(f["value"]), "node": node_ids.get(f["path"], ""),
                                  "sensitivity": sensitivity(f["data_type"])} for f in found],
                    "fields": [{**f, "value": data.redactor.value(f["value"], f["data_type"]),
                                "node": node_ids.get(f["path"], "")} for f in fields]})
    return sorted(out, key=lambda e: (e["timestamp"], e["id"]))


def _request_index(data: ReportData, embedded: set[int]) -> list[dict[str, Any]]:
    """The stored requests in one paginated list (the first REQUEST_INDEX_LIMIT), so none
    is hidden even when its full proof is not inlined."""
    return [{"id": q["id"], "when": when(q["timestamp"]), "app": q["app"], "party": q["party"], "method": q["method"],
             "url": q["url"], "status": q["status"], "types": q["types"], "rank": q["rank"],
             "embedded": q["id"] in embedded} for q in data.request_index(REQUEST_INDEX_LIMIT)]


# --- the context -----------------------------------------------------------------------------------

def build_context(store: Store, redact: bool = False, evidence_limit: int = EVIDENCE_LIMIT,
                  show_secrets: bool = False) -> dict[str, Any]:
    """Everything the template shows, aggregated by SQLite from the store."""
    try:
        data = ReportData.open(store.db, redact, show_secrets)
        try:
            return _context(store, data, redact, evidence_limit)
        finally:
            data.close()
    except sqlite3.Error as e:
        store.rollback()
        raise store_fault(store.path, e) from None


def _context(store: Store, data: ReportData, redact: bool, evidence_limit: int) -> dict[str, Any]:
    with ThreadPoolExecutor(1) as beside:
        ids = beside.submit(_identifiers_apart, store.path, redact) if store.readable_elsewhere() else None
        context = _main_context(store, data, redact, evidence_limit)
        context.update(ids.result() if ids is not None else identifiers_context(store, data.redactor))
    return context


def _identifiers_apart(path: Path, redact: bool) -> dict[str, Any]:
    """The Identifiers section built on a connection of its own, in a thread beside the rest
    of the report: most of its time is SQLite's (identifier_tables.py), which runs without
    Python's interpreter lock, so it overlaps the other sections' work."""
    reader = Store.reader(path)
    try:
        return identifiers_context(reader, Redactor.for_store(reader.db, redact))
    finally:
        reader.close()


def _main_context(store: Store, data: ReportData, redact: bool, evidence_limit: int) -> dict[str, Any]:
    rows = [_with_times(r) for r in data.groups()]
    apps = data.apps()
    meta = data.party_meta(store.trackers())
    parties = sorted(meta, key=lambda p: (bool(meta[p]["no_rule"]), (meta[p]["brands"] or p).lower()))
    matrix = _matrix(rows)
    evidence_ids = _evidence_ids(data, (r["first_request"] for r in rows), evidence_limit)
    types = data.data_types()
    first, last = data.time_range()
    return {
        "version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "redacted": redact,
        "totals": {"apps": len(apps), **data.totals()},
        "apps": [{"app": s, "anchor": f"app-{i}"} for i, s in enumerate(apps, 1)],
        "parties": [{"party": p, "anchor": f"co-{i}", **meta[p]} for i, p in enumerate(parties, 1)],
        "data_types": [{"name": t, "sensitivity": sensitivity(t), "category": category(t)} for t in types],
        "categories": [c for c in CATEGORIES if any(category(t) == c for t in types)],
        "matrix": matrix,
        "rows": rows,
        "key_findings": data.key_findings(),
        "app_sections": _app_sections(data, rows, apps, meta),
        "company_sections": _company_sections(data, matrix, parties, meta),
        "types_chart": types_per_company_chart(rows),
        "time_chart": requests_over_time_chart(data.request_times(), first, last),
        "evidence": _evidence(data, evidence_ids),
        "evidence_limit": evidence_limit,
        "embedded": set(evidence_ids),
        "requests_index": _request_index(data, set(evidence_ids)),
        "requests_total": data.request_count(),
        "sources": {data.redactor.source(k): v for k, v in store.source_stats().items()},
        "problems": [str(p) for p in store.problems()],
        "unseen": [{**u, "first": when(u["first"]), "last": when(u["last"]),
                    "app_evidence": data.redactor.text(u["app_evidence"] or "")} for u in store.unseen()],
        "third_parties": third_party_context(data),
        "replays": [recording_view(summary, data.hider, data.redactor.value if redact else None, f"rec-{n}")
                    for n, summary in enumerate(store.replays(), 1)],
    }


def identifiers_context(store: Store, redactor: Redactor) -> dict[str, Any]:
    """The Identifiers section (reports/_identifiers.html.j2): identifiers, fingerprints, graph."""
    result = identifiers.build(store, redactor.value if redactor.enabled else None, IDENTIFIERS_LIMIT,
                               routes_for=identifiers.GRAPH_LIMIT)
    return {"identifiers": result, "ids_graph": identifiers.graph(result)}


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["sens_of"] = sensitivity
    return env.get_template("report.html.j2")


def _page(context: dict[str, Any]) -> dict[str, Any]:
    """The context with our inline script and style, verbatim, so their hashes in the CSP
    (computed here, from the very text inlined) match."""
    script, style = _asset("report.js"), _asset("report.css")
    return {**context, "csp": content_security_policy(script, style), "script": Markup(script),
            "style": Markup(style)}


def render(context: dict[str, Any]) -> str:
    """The page as one string (tests, small reports); write_report streams it to the file."""
    return _template().render(**_page(context))


def write_report(store: Store, path: Path, redact: bool = False, evidence_limit: int = EVIDENCE_LIMIT,
                 extra: dict[str, Any] | None = None, show_secrets: bool = False) -> None:
    """*extra*: context for the optional sections other commands add (`leakmap check`'s
    policy_violations and policy_file, shown by report_policy.html.j2). The page is built
    before the file is touched, so a store fault leaves no empty file behind; the page is
    streamed to the file as Jinja2 renders it, never held whole."""
    context = {**build_context(store, redact, evidence_limit, show_secrets), **(extra or {})}
    make_private(path)
    with Path(path).open("w", encoding="utf-8") as out:
        out.writelines(_template().generate(**_page(context)))
