"""Identifiers across apps and companies: which id went from which app to which receiver.

Why: a "pseudonymous" id is a join key. The same advertising id, user id or email sent to
several companies, or by several apps, lets them link one person across all of them. We
gather every identifier finding from a store, join hashed emails and phone numbers to the
plain value when both were seen (sha256/sha1/md5 of the normalized form), and flag
*bridging* identifiers: seen at two or more receivers, or sent by two or more apps.
Everything is read back from the store with SQL, streamed row by row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import paths
from .fingerprint import METHOD, attribute_for_key, attribute_of, fingerprints, RESETTABLE_TYPES
from .match import registrable_domain
from .store import Store

IDENTIFIER_TYPES = (
    "advertising_id", "hashed_advertising_id", "android_id", "device_id", "push_token", "vendor_id",
    "installation_id", "user_id", "browser_id", "other_id", "email", "hashed_email", "phone", "hashed_phone",
)
HASHED_OF = {"hashed_email": "email", "hashed_phone": "phone"}
HASH_ALGORITHMS = ("sha256", "sha1", "md5")
_HEX_DIGEST = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$")
_TOO_COMMON = {"0", "1", "-1", "true", "false", "null", "none", "undefined", "unknown", "anonymous",
               "00000000-0000-0000-0000-000000000000"}
UNATTRIBUTED = "unattributed"
MIN_ID_LENGTH = 4  # shorter values (a counter, "42") would bridge everything by chance


def normalized_forms(data_type: str, value: str) -> list[str]:
    """The texts an SDK hashes for this email or phone (advertisers' matching rules: an
    email trimmed and lower-cased; a phone as digits, with and without the leading +)."""
    if data_type == "email":
        return list(dict.fromkeys([value.strip().lower(), value]))
    digits = re.sub(r"\D", "", value)
    return list(dict.fromkeys([digits, "+" + digits, value]))


def hashes_of(data_type: str, value: str) -> dict[str, str]:
    """hex digest → form label (`sha256(email)`) for every normalized form of a plain value."""
    out: dict[str, str] = {}
    for text in normalized_forms(data_type, value):
        for algorithm in HASH_ALGORITHMS:
            out.setdefault(hashlib.new(algorithm, text.encode()).hexdigest(), f"{algorithm}({data_type})")
    return out


@dataclass(slots=True)
class Route:
    """One identifier from one app to one receiver."""

    data_types: set[str] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)
    first: float = float("inf")
    last: float = 0.0

    def see(self, data_type: str, request_id: int, timestamp: float) -> None:
        self.data_types.add(data_type)
        self.requests.add(request_id)
        self.first, self.last = min(self.first, timestamp), max(self.last, timestamp)


@dataclass(slots=True)
class Identifier:
    """One identifier value (the plain value when a hashed form was joined to it)."""

    value: str
    kind: str  # the first identifier type it was seen as
    forms: dict[str, str] = field(default_factory=dict)  # hashed value → `sha256(email)`
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)  # (app, receiver) → route

    def see(self, app: str, receiver: str, data_type: str, request_id: int, timestamp: float) -> None:
        self.routes.setdefault((app, receiver), Route()).see(data_type, request_id, timestamp)

    def merge(self, other: "Identifier", form: str) -> None:
        """Fold a hashed form's sightings into this plain value."""
        self.forms[other.value] = form
        for key, route in other.routes.items():
            mine = self.routes.setdefault(key, Route())
            mine.data_types |= route.data_types
            mine.requests |= route.requests
            mine.first, mine.last = min(mine.first, route.first), max(mine.last, route.last)

    @property
    def apps(self) -> list[str]:
        return sorted({app for app, _ in self.routes})

    @property
    def receivers(self) -> list[str]:
        return sorted({receiver for _, receiver in self.routes})

    def bridging(self) -> list[str]:
        """Why this identifier links records across companies or apps ([] when it does not)."""
        reasons = []
        if len(self.receivers) >= 2:
            reasons.append(f"sent to {len(self.receivers)} receivers: {', '.join(self.receivers)}")
        apps = [app for app in self.apps if app != UNATTRIBUTED]  # "unknown" is no second app
        if len(apps) >= 2:
            reasons.append(f"sent by {len(apps)} apps: {', '.join(apps)}")
        return reasons


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if 0 < ts < float("inf") else ""


def receiver_of(company: str, host: str) -> str:
    """The company when a rule named it, else the host's registrable domain."""
    return company or registrable_domain(host or "")


def _sightings(store: Store, types: tuple[str, ...]) -> Iterator[tuple[str, str, str, str, int, float]]:
    """(app, receiver, data type, value, request id, timestamp) for findings of *types*."""
    marks = ",".join("?" * len(types))
    cursor = store.db.execute(
        "SELECT r.app, r.company, r.host, f.data_type, f.value, r.id, r.timestamp FROM findings f"
        f" JOIN requests r ON r.id = f.request_id WHERE f.data_type IN ({marks}) ORDER BY r.timestamp, r.id", types)
    for app, company, host, data_type, value, request_id, ts in cursor:
        yield app or UNATTRIBUTED, receiver_of(company, host), data_type, value or "", int(request_id), float(ts or 0)


def _hex_fields(store: Store) -> Iterator[tuple[str, str, str, int, float]]:
    """(app, receiver, value, request id, timestamp) of uploaded fields that look like a hex
    digest: a hashed email no detector labelled is still joined when its plain form is known."""
    cursor = store.db.execute(
        "SELECT r.app, r.company, r.host, fl.value, r.id, r.timestamp FROM fields fl JOIN requests r"
        " ON r.id = fl.request_id WHERE length(fl.value) IN (32, 40, 64)")
    for app, company, host, value, request_id, ts in cursor:
        lowered = (value or "").lower()
        if _HEX_DIGEST.match(lowered):
            yield app or UNATTRIBUTED, receiver_of(company, host), lowered, int(request_id), float(ts or 0)


def collect(store: Store) -> list[Identifier]:
    """Every identifier in the store with its routes, hashed forms joined to plain values."""
    ids: dict[str, Identifier] = {}
    for app, receiver, data_type, value, request_id, ts in _sightings(store, IDENTIFIER_TYPES):
        if len(value) < MIN_ID_LENGTH or value.lower() in _TOO_COMMON:
            continue
        key = value.strip().lower() if data_type in ("email", "hashed_email", "hashed_phone") else value
        ids.setdefault(key, Identifier(value, data_type)).see(app, receiver, data_type, request_id, ts)
    known: dict[str, tuple[str, str]] = {}  # digest → (plain key, form)
    for key, ident in ids.items():
        if ident.kind in ("email", "phone"):
            for digest, form in hashes_of(ident.kind, ident.value).items():
                known.setdefault(digest, (key, form))
    for digest in [k for k in ids if k in known and known[k][0] != k]:
        plain, form = known[digest]
        ids[plain].merge(ids.pop(digest), form)
    for app, receiver, digest, request_id, ts in _hex_fields(store):
        if digest in known:
            plain, form = known[digest]
            ids[plain].forms[digest] = form
            ids[plain].see(app, receiver, "hashed_" + form[form.index("(") + 1:-1], request_id, ts)
    return sorted(ids.values(), key=lambda i: (-len(i.receivers), -len(i.apps), i.kind, i.value))


def _fingerprint_rows(store: Store) -> Iterator[tuple[str, str, str, str]]:
    """(app, receiver, data type or attribute, value) feeding the fingerprint estimate."""
    types = tuple(sorted(set(attribute_of()) | set(RESETTABLE_TYPES)))
    for app, receiver, data_type, value, _, _ in _sightings(store, types):
        yield app, receiver, data_type, value
    cursor = store.db.execute(
        "SELECT r.app, r.company, r.host, fl.path, fl.value FROM fields fl JOIN requests r ON r.id = fl.request_id"
        " WHERE fl.path LIKE '%font%' OR fl.path LIKE '%plugin%' OR fl.path LIKE '%canvas%' OR fl.path LIKE '%webgl%'")
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
        "apps": ident.apps, "receivers": ident.receivers,
        "requests": len({i for r in ident.routes.values() for i in r.requests}),
        "first_seen": _when(first), "last_seen": _when(last),
        "bridging": bool(ident.bridging()), "bridging_reasons": ident.bridging(),
        "routes": [{"app": app, "receiver": receiver, "data_types": sorted(r.data_types), "requests": len(r.requests),
                    "first_seen": _when(r.first), "last_seen": _when(r.last)}
                   for (app, receiver), r in sorted(ident.routes.items())],
    }


def build(store: Store, mask: Any = None, limit: int | None = None) -> dict[str, Any]:
    """The whole `leakmap ids` answer: identifiers, fingerprints and the method behind the bits.
    *limit*: describe only the first (most bridging) identifiers in full, as the report does;
    the summary still counts them all."""
    collected = collect(store)
    idents = [identifier_dict(i, mask) for i in collected[:limit]]
    prints = fingerprints(_fingerprint_rows(store))
    if mask is not None:
        for fp in prints:
            for attribute in fp["attributes"]:
                attribute["values"] = [mask(v) for v in attribute["values"]]
    return {
        "identifiers": idents,
        "fingerprints": prints,
        "summary": {"identifiers": len(collected), "bridging": sum(bool(i.bridging()) for i in collected),
                    "receivers": len({r for i in collected for r in i.receivers}),
                    "relinkable_receivers": sum(f["relinkable"] for f in prints)},
        "fingerprint_method": METHOD,
    }


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


def graph(result: dict[str, Any], limit: int = 30) -> dict[str, Any]:
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
