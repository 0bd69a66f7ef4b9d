"""Identifiers across apps and companies: which id went from which app to which receiver.

Why: a "pseudonymous" id is a join key. The same advertising id, user id or email sent to
several companies, or by several apps, lets them link one person across all of them. We
gather every identifier finding from a store, join hashed emails and phone numbers to the
plain value when both were seen (sha256/sha1/md5 of the normalized form), and flag
*bridging* identifiers: seen at two or more receivers, or sent by two or more apps.
The aggregation is SQLite's (identifier_tables.py), so memory does not grow with the number
of distinct identifiers; this module shapes what it returns (JSON, CSV, text, the graph).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

from . import paths
from .fingerprint import METHOD, attribute_for_key, attribute_of, fingerprints, RESETTABLE_TYPES
from .identifier_tables import UNATTRIBUTED, Identifier, IdentifierTables, receiver_of
from .store import Store


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if 0 < ts < float("inf") else ""


def _sightings(store: Store, types: tuple[str, ...]) -> Iterator[tuple[str, str, str, str, int, float]]:
    """(app, receiver, data type, value, request id, timestamp) for findings of *types*."""
    marks = ",".join("?" * len(types))
    cursor = store.db.execute(
        "SELECT r.app, r.company, r.host, f.data_type, f.value, r.id, r.timestamp FROM findings f"
        f" JOIN requests r ON r.id = f.request_id WHERE f.data_type IN ({marks}) ORDER BY r.timestamp, r.id", types)
    for app, company, host, data_type, value, request_id, ts in cursor:
        yield app or UNATTRIBUTED, receiver_of(company, host), data_type, value or "", int(request_id), float(ts or 0)


def _fingerprint_rows(store: Store) -> Iterator[tuple[str, str, str, str]]:
    """(app, receiver, data type or attribute, value) feeding the fingerprint estimate."""
    types = tuple(sorted(set(attribute_of()) | set(RESETTABLE_TYPES)))
    for app, receiver, data_type, value, _, _ in _sightings(store, types):
        yield app, receiver, data_type, value
    # Requests whose fields' JSON text names none of the words are not unpacked at all (a
    # substring test of one text per request instead of a row per field: 14 times faster).
    words = ("font", "plugin", "canvas", "webgl")
    cursor = store.db.execute(
        "SELECT r.app, r.company, r.host, fl.path, fl.value FROM fields fl JOIN requests r ON r.id = fl.request_id"
        " WHERE fl.request_id IN (SELECT id FROM requests WHERE " + " OR ".join(f"fields LIKE '%{w}%'" for w in words)
        + ") AND (" + " OR ".join(f"fl.path LIKE '%{w}%'" for w in words) + ")")
    for app, company, host, path, value in cursor:
        attribute = attribute_for_key(paths.last_key(path))
        if attribute:
            yield app or UNATTRIBUTED, receiver_of(company, host), attribute, (value or "")[:200]


def identifier_dict(ident: Identifier, mask: Any = None) -> dict[str, Any]:
    """JSON shape of one identifier; *mask* (value → text) redacts values."""
    show = mask or (lambda v: v)
    first = min(r.first for r in ident.routes.values())
    last = max(r.last for r in ident.routes.values())
    return {
        "value": show(ident.value), "kind": ident.kind,
        "data_types": sorted({t for r in ident.routes.values() for t in r.data_types}),
        "hashed_forms": [{"form": form, "value": show(digest)} for digest, form in sorted(ident.forms.items())],
        "apps": ident.apps, "receivers": ident.receivers, "requests": ident.requests,
        "first_seen": _when(first), "last_seen": _when(last),
        "bridging": bool(ident.bridging()), "bridging_reasons": ident.bridging(),
        "routes": [{"app": app, "receiver": receiver, "data_types": r.data_types, "requests": r.requests,
                    "first_seen": _when(r.first), "last_seen": _when(r.last)}
                   for (app, receiver), r in sorted(ident.routes.items())],
    }


def build(store: Store, mask: Any = None, limit: int | None = None, routes_for: int | None = None) -> dict[str, Any]:
    """The whole `leakmap ids` answer: identifiers, fingerprints and the method behind the bits.
    *limit*: describe only the first (most bridging) identifiers, as the report does; the
    summary still counts them all. *routes_for*: list the routes (app × receiver) of only the
    first N bridging and first N other identifiers, those `graph(result, N)` can draw (the
    report's table shows none; an id sent by every app to every receiver has apps × receivers
    routes)."""
    idents = []
    with_routes = {True: 0, False: 0}
    with IdentifierTables(store.db) as tables:
        for ident in tables.ranked(limit):
            shape = identifier_dict(ident, mask)
            if routes_for is not None:
                if with_routes[shape["bridging"]] >= routes_for:
                    shape["routes"] = []
                with_routes[shape["bridging"]] += 1
            idents.append(shape)
        count, bridging, receivers = tables.summary()
    prints = fingerprints(_fingerprint_rows(store))
    if mask is not None:
        for fp in prints:
            for attribute in fp["attributes"]:
                attribute["values"] = [mask(v) for v in attribute["values"]]
    return {
        "identifiers": idents,
        "fingerprints": prints,
        "summary": {"identifiers": count, "bridging": bridging, "receivers": receivers,
                    "relinkable_receivers": sum(f["relinkable"] for f in prints)},
        "fingerprint_method": METHOD,
    }


GRAPH_LIMIT = 30  # identifiers the graph draws

CSV_COLUMNS = ["value", "kind", "hashed_forms", "app", "receiver", "data_types", "requests", "first_seen",
               "last_seen", "bridging", "bridging_reasons"]
FINGERPRINT_CSV_COLUMNS = ["app", "receiver", "bits", "bits_uncapped", "attributes", "resettable_ids", "relinkable"]


def csv_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    """One row per identifier route (identifier × app × receiver)."""
    for ident in result["identifiers"]:
        forms = " ".join(f"{f['form']}={f['value']}" for f in ident["hashed_forms"])
        for route in ident["routes"]:
            yield [ident["value"], ident["kind"], forms, route["app"], route["receiver"], " ".join(route["data_types"]),
                   route["requests"], route["first_seen"], route["last_seen"], ident["bridging"],
                   "; ".join(ident["bridging_reasons"])]


def fingerprint_csv_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    """One row per app and receiver: bits and the attributes behind them."""
    for fp in result["fingerprints"]:
        attrs = " ".join(f"{a['attribute']}={a['bits'] if a['bits'] is not None else '?'}" for a in fp["attributes"])
        yield [fp["app"], fp["receiver"], fp["bits"], fp["bits_uncapped"], attrs, " ".join(fp["resettable_ids"]),
               fp["relinkable"]]


def graph(result: dict[str, Any], limit: int = GRAPH_LIMIT) -> dict[str, Any]:
    """Layout of the apps – identifiers – receivers graph (three columns of nodes, an edge
    app→identifier and identifier→receiver per route), drawn as inline SVG by the report.
    Bridging identifiers first; at most *limit* identifiers so the picture stays readable."""
    shown = sorted(result["identifiers"], key=lambda i: (not i["bridging"], -len(i["receivers"])))[:limit]
    apps = sorted({r["app"] for i in shown for r in i["routes"]})
    receivers = sorted({r["receiver"] for i in shown for r in i["routes"]})
    row_h, top, width = 30, 20, 900
    xs = {"app": 150, "id": 450, "receiver": 750}
    height = top + row_h * max(len(apps), len(shown), len(receivers), 1)

    def column(names: list[str]) -> dict[str, float]:
        step = (height - top) / max(len(names), 1)
        return {name: round(top + step * (n + 0.5), 1) for n, name in enumerate(names)}

    app_y, rec_y = column(apps), column(receivers)
    id_y = column([str(n) for n in range(len(shown))])
    nodes, edges = [], []
    for name, y in app_y.items():
        nodes.append({"x": xs["app"], "y": y, "label": name, "kind": "app", "anchor": "end"})
    for name, y in rec_y.items():
        nodes.append({"x": xs["receiver"], "y": y, "label": name, "kind": "receiver", "anchor": "start"})
    for n, ident in enumerate(shown):
        y = id_y[str(n)]
        label = f"{ident['kind']}: {ident['value']}"
        nodes.append({"x": xs["id"], "y": y, "label": label, "kind": "bridge" if ident["bridging"] else "id",
                      "anchor": "middle"})
        for route in ident["routes"]:
            edges.append({"x1": xs["app"], "y1": app_y[route["app"]], "x2": xs["id"], "y2": y,
                          "bridge": ident["bridging"]})
            edges.append({"x1": xs["id"], "y1": y, "x2": xs["receiver"], "y2": rec_y[route["receiver"]],
                          "bridge": ident["bridging"]})
    unique_edges = list({tuple(sorted(e.items())): e for e in edges}.values())
    return {"width": width, "height": height + 10, "nodes": nodes, "edges": unique_edges,
            "omitted": max(result.get("summary", {}).get("identifiers", len(result["identifiers"])) - len(shown), 0)}


def text_summary(result: dict[str, Any]) -> str:
    """The human-readable answer: bridging identifiers first, then fingerprints."""
    lines = [f"{result['summary']['identifiers']} identifiers, {result['summary']['bridging']} bridging"]
    for ident in result["identifiers"]:
        flag = "BRIDGING " if ident["bridging"] else ""
        forms = f" (also as {', '.join(f['form'] for f in ident['hashed_forms'])})" if ident["hashed_forms"] else ""
        lines.append(f"  {flag}{ident['kind']} {ident['value']}{forms}: {', '.join(ident['apps'])} → "
                     f"{', '.join(ident['receivers'])} ({ident['requests']} requests, {ident['first_seen']} – "
                     f"{ident['last_seen']})")
    lines.append("fingerprints (upper-bound bits per app and receiver):")
    for fp in result["fingerprints"]:
        attrs = ", ".join(f"{a['attribute']} {a['bits'] if a['bits'] is not None else '?'}" for a in fp["attributes"])
        flag = "  RELINKABLE (resettable id + fingerprint)" if fp["relinkable"] else ""
        lines.append(f"  {fp['bits']:5.1f} bits  {fp['app']} → {fp['receiver']}: {attrs}{flag}")
    return "\n".join(lines) + "\n"


def render(result: dict[str, Any], fmt: str, table: str = "identifiers") -> str:
    """`leakmap ids` output: `json`, `csv` (the identifiers or the fingerprints table) or `text`."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt == "text":
        return text_summary(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if table == "fingerprints":
        writer.writerow(FINGERPRINT_CSV_COLUMNS)
        writer.writerows(fingerprint_csv_rows(result))
    else:
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(result))
    return buffer.getvalue()
