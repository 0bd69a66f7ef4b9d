"""Report stage: aggregate the store with pandas and render one self-contained HTML file.

Captured values are written by whoever controls the app or the tracker, so they are hostile:
every one passes through Jinja2's autoescaping (or `markupsafe.escape` in the payload tree),
never into a <script>, and the page's Content-Security-Policy allows exactly one inline
script and one inline style, both ours, by their sha256 hashes. The page loads nothing from
the network, so it works from file:// and can be mailed around as one file.

Large captures: tables are aggregates (app × company × data type), the findings and request
lists are paginated by the script, and only `evidence_limit` requests carry their full proof
(payload tree, fields) inline; the exports carry everything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from . import __version__, identifiers, paths
from .credentials import SECRET_TYPES, SecretHider
from .datatypes import CATEGORIES, DATA_TYPES, HIGH, LOW, SENSITIVITY_RANK, SPECIAL
from .private_files import make_private
from .replay_report import recording_view
from .store import Store
from .third_parties import third_party_context

MAX_VALUES_SHOWN = 5
EVIDENCE_LIMIT = 500  # requests whose full proof is inlined; the rest are listed, proof in exports
KEY_FINDINGS_LIMIT = 60
TREE_MAX_NODES = 4000
LONG_VALUE = 300
NO_RULE = " (no rule)"
# Shown first among high-sensitivity findings: what a reader most needs to know about.
_KEY_CATEGORIES = ("contact", "location", "sensitive", "identifiers")
# Headers shown in clear when redacting: they describe the request, not the person.
_PLAIN_HEADERS = {"host", "content-type", "content-length", "accept", "accept-encoding", "connection", "origin",
                  "user-agent", "content-encoding"}
_URL_IN_TEXT = re.compile(r"(https?://[^\s?#]*)[?#]\S*")


# --- redaction -------------------------------------------------------------------------------------

def redact_value(value: str) -> str:
    """Mask a value but keep it comparable: 2 characters, then a short hash of the whole."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{value[:2]}…#{digest}" if len(value) > 4 else f"…#{digest}"


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """Drop query and fragment (they carry payloads); mask path segments that hold a
    finding value or an address."""
    parts = urlsplit(url)
    secret = set(secrets)
    segments = [redact_value(s) if s and (s in secret or "@" in s) else s for s in parts.path.split("/")]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), "…" if parts.query else "", ""))


@dataclass(slots=True)
class Redactor:
    """One policy for the report and every export, so a shared report and its exports leak
    the same nothing. A value stays readable only when it is labelled with a low-sensitivity
    data type (os name, SDK version, event name...) and is not also the value of a more
    sensitive finding; everything else captured (unlabelled leaves, custom properties,
    cookies, secret headers, query strings, undecoded blobs) is masked. App names are not
    masked: they name the app under test, not the tester."""

    enabled: bool = False
    secrets: set[str] = field(default_factory=set)

    @classmethod
    def for_findings(cls, findings: pd.DataFrame, enabled: bool) -> Redactor:
        if not enabled:
            return cls(False)
        sensitive = findings[findings["data_type"].map(lambda t: not _clear_type(t))]
        return cls(True, set(sensitive["value"].astype(str)))

    def value(self, value: Any, data_type: str = "") -> Any:
        """A leaf as it may be shown: unchanged, or masked."""
        if not self.enabled or value is None or isinstance(value, bool):
            return value
        text = str(value)
        return text if _clear_type(data_type) and text not in self.secrets else redact_value(text)

    def url(self, url: str) -> str:
        return redact_url(url, self.secrets) if self.enabled else url

    def text(self, text: str) -> str:
        """Free text that may quote captured data (attribution evidence: `path = value`,
        a Referer URL): mask what follows `=` and the query of any URL."""
        if not self.enabled or not text:
            return text
        head, sep, tail = text.partition(" = ")
        text = f"{head}{sep}{redact_value(tail)}" if sep else head
        return _URL_IN_TEXT.sub(r"\1?…", text)

    def source(self, source: str) -> str:
        """Capture file names without the directories (which often name the tester)."""
        return PurePath(source).name if self.enabled and source else source

    def tree(self, node: Any, labels: Mapping[str, str], path: str = "", place: str = "") -> Any:
        """A copy of a decoded payload with each leaf passed through `value`; cookies and
        headers not known to be harmless are masked whole, harmless headers kept."""
        if not self.enabled:
            return node
        if isinstance(node, dict):
            if "undecoded_bytes" in node:
                return {"undecoded_bytes": node["undecoded_bytes"], "base64": "[redacted]"}
            return {k: self.tree(v, labels, paths.child(path, k), place or _place(path, str(k)))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [self.tree(v, labels, paths.item(path, i), place) for i, v in enumerate(node)]
        if place == "plain" or node is None:
            return node
        if place == "mask":
            return redact_value(str(node))
        return self.value(node, labels.get(path, ""))


def _clear_type(data_type: str) -> bool:
    """Types whose values say something about the device or the app, not the person."""
    known = DATA_TYPES.get(data_type)
    return known is not None and known.sensitivity == LOW and data_type != "custom_property"


def _place(parent: str, key: str) -> str:
    """"mask" for cookies and for headers not known to be harmless (credentials, Referer,
    custom ids), "plain" for harmless headers, "" for the normal per-value policy."""
    if parent == "" and key == "cookie":
        return "mask"
    if parent == "header":
        return "plain" if key.lower() in _PLAIN_HEADERS else "mask"
    return ""


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


# --- small shared helpers --------------------------------------------------------------------------

def _sensitivity(data_type: str) -> str:
    return DATA_TYPES[data_type].sensitivity if data_type in DATA_TYPES else "low"


def _rank(data_type: str) -> int:
    return SENSITIVITY_RANK[_sensitivity(data_type)]


def _category(data_type: str) -> str:
    return DATA_TYPES[data_type].category if data_type in DATA_TYPES else "other"


def _type_order(data_type: str) -> tuple[int, int, str]:
    t = DATA_TYPES.get(data_type)
    if t is None:
        return (9, 9, data_type)
    if data_type in SECRET_TYPES:  # credentials first among high: what a reader most needs to act on
        return (-SENSITIVITY_RANK[HIGH], -1, data_type)
    return (-SENSITIVITY_RANK[t.sensitivity], CATEGORIES.index(t.category), data_type)


def _level(types: Iterable[str]) -> str:
    ranked = sorted(types, key=_type_order)
    return _sensitivity(ranked[0]) if ranked else "low"


def _when(ts: float | None) -> str:
    if ts is None or pd.isna(ts):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts))) + " UTC"


# --- frames ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class Frames:
    """The store's tables, joined and redacted once, for every view below."""

    findings: pd.DataFrame
    requests: pd.DataFrame
    fields: pd.DataFrame
    redactor: Redactor
    hider: SecretHider = field(default_factory=lambda: SecretHider(()))


def load_frames(store: Store, redact: bool, show_secrets: bool = False) -> Frames:
    """Read the store; `party` names the receiver: the company, or the host when no rule matched.
    Captured passwords, keys and tokens are masked everywhere (finding, URL, payload, fields)
    unless *show_secrets*."""
    requests = store.requests_frame()
    requests["party"] = requests["company"].where(requests["company"] != "", requests["host"] + NO_RULE)
    generic = (requests["status"] == "no_rule") & (requests["company"] != "")  # named by the entity list
    requests.loc[generic, "party"] = requests.loc[generic, "company"] + NO_RULE
    findings = store.findings_frame()
    redactor = Redactor.for_findings(findings, redact)
    findings = findings.merge(requests[["id", "party", "host"]], left_on="request_id", right_on="id", how="left")
    findings["rank"] = findings["data_type"].map(_rank)
    if redact:
        findings["value"] = [redactor.value(v, t) for v, t in zip(findings["value"], findings["data_type"])]
        for column, mask in (("url", redactor.url), ("client", redactor.value), ("app_evidence", redactor.text),
                             ("source", redactor.source)):
            requests[column] = requests[column].astype(str).map(mask)
            if column in findings:
                findings[column] = findings[column].astype(str).map(mask)
    fields = store.fields_frame()
    fields["data_type"] = fields["data_type"].fillna("")
    hider = SecretHider(findings.loc[findings["data_type"].isin(SECRET_TYPES), "value"], show_secrets)
    if hider:
        for frame, columns in ((findings, ("value", "url", "app_evidence", "detail")),
                               (requests, ("url", "payload", "app_evidence", "decode_chain")), (fields, ("value",))):
            for column in columns:
                frame[column] = frame[column].map(hider.text)
    return Frames(findings, requests, fields, redactor, hider)


# --- aggregates ------------------------------------------------------------------------------------

def _groups(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per (app, party, data type): the unit of the matrix and of the findings table."""
    if findings.empty:
        return pd.DataFrame(columns=["app", "party", "data_type", "findings", "requests", "first", "last",
                                     "first_request", "path", "detectors", "values", "distinct"])
    grouped = findings.groupby(["app", "party", "data_type"], sort=False)
    out = grouped.agg(findings=("value", "size"), requests=("request_id", "nunique"), first=("timestamp", "min"),
                      last=("timestamp", "max"), first_request=("request_id", "first"), path=("path", "first"),
                      detectors=("detector", lambda s: ", ".join(sorted(set(s)))),
                      distinct=("value", "nunique"))
    out["values"] = grouped["value"].agg(lambda s: list(dict.fromkeys(s.astype(str)))[:MAX_VALUES_SHOWN])
    out = out.reset_index()
    out["order"] = out["data_type"].map(_type_order)
    return out.sort_values(["app", "party", "order"])


def _group_row(row: Any) -> dict[str, Any]:
    return {
        "app": row.app, "party": row.party, "data_type": row.data_type, "category": _category(row.data_type),
        "sensitivity": _sensitivity(row.data_type), "rank": _rank(row.data_type), "values": row.values,
        "more_values": max(0, int(row.distinct) - len(row.values)), "findings": int(row.findings),
        "requests": int(row.requests), "first": _when(row.first), "last": _when(row.last),
        "first_ts": float(row.first), "last_ts": float(row.last),
        "first_request": int(row.first_request), "path": row.path, "detectors": row.detectors,
    }


def _matrix(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    cells: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        cells.setdefault((row["app"], row["party"]), []).append(row["data_type"])
    return {key: {"types": sorted(types, key=_type_order), "level": _level(types),
                  "rank": SENSITIVITY_RANK[_level(types)]} for key, types in cells.items()}


def _key_findings(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Special-category and high-sensitivity values, special categories, credentials,
    contact and location first: what a reader must see first."""
    high = findings[findings["rank"] >= SENSITIVITY_RANK[HIGH]]
    if high.empty:
        return []
    distinct = high.groupby(["app", "party", "data_type", "value"], sort=False).agg(
        n=("request_id", "size"), first_request=("request_id", "first"), path=("path", "first")).reset_index()
    distinct["cat"] = distinct["data_type"].map(
        lambda t: -2 if _category(t) == SPECIAL else -1 if t in SECRET_TYPES
        else _KEY_CATEGORIES.index(_category(t)) if _category(t) in _KEY_CATEGORIES else 9)
    distinct = distinct.sort_values(["cat", "data_type", "app", "party"]).head(KEY_FINDINGS_LIMIT)
    return [{"app": r.app, "party": r.party, "data_type": r.data_type, "category": _category(r.data_type),
             "value": str(r.value), "n": int(r.n), "first_request": int(r.first_request), "path": r.path,
             "sensitivity": _sensitivity(r.data_type), "rank": _rank(r.data_type)}
            for r in distinct.itertuples()]


def _party_meta(requests: pd.DataFrame, rules: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Category, country and website of each receiver, where the rule says (as recorded in
    the store by the session that used the rules)."""
    meta: dict[str, dict[str, str]] = {}
    brands = requests.groupby("party")["tracker"].agg(
        lambda ids: ", ".join(sorted({rules.get(t, {}).get("name", "") or t for t in ids if t})))
    for row in requests.drop_duplicates("party").itertuples():
        rule = rules.get(row.tracker, {})
        meta[row.party] = {"category": row.category or ("no tracker rule" if not row.company else ""),
                           "country": rule.get("country", ""), "website": rule.get("website", ""),
                           "tracker": row.tracker, "no_rule": row.status == "no_rule",
                           # The products readers know (Sentry), where the company is a legal
                           # name they may not (Functional Software, Inc.).
                           "brands": brands.get(row.party, "")}
    return meta


def _app_sections(frames: Frames, rows: list[dict[str, Any]], apps: list[str],
                  meta: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Per app: each receiver with its request counts and the data types it got, by category."""
    req = frames.requests
    counts = req.groupby(["app", "party"]).agg(requests=("id", "size"), first=("timestamp", "min"),
                                                 last=("timestamp", "max"),
                                                 not_decoded=("status", lambda s: int((s == "not_decoded").sum())))
    signals = req.groupby(["app", "app_signal", "app_evidence"]).size().rename("n").reset_index()
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_pair.setdefault((row["app"], row["party"]), []).append(row)
    sections = []
    for index, app in enumerate(apps, 1):
        app_req = req[req["app"] == app]
        parties = []
        for party, c in counts.loc[app].sort_values("requests", ascending=False).iterrows():
            typed = by_pair.get((app, party), [])
            by_category = [(cat, [r for r in typed if r["category"] == cat]) for cat in CATEGORIES]
            parties.append({"party": party, **meta[party], "requests": int(c.requests), "first": _when(c["first"]),
                            "last": _when(c["last"]), "not_decoded": int(c.not_decoded),
                            "types": sorted({r["data_type"] for r in typed}, key=_type_order),
                            "level": _level(r["data_type"] for r in typed),
                            "categories": [(cat, rs) for cat, rs in by_category if rs]})
        app_signals = signals[signals["app"] == app].sort_values("n", ascending=False).head(5)
        sections.append({"app": app, "anchor": f"app-{index}", "parties": parties,
                         "requests": int(len(app_req)), "findings": int((frames.findings["app"] == app).sum()),
                         "first": _when(app_req["timestamp"].min()), "last": _when(app_req["timestamp"].max()),
                         "signals": app_signals.to_dict(orient="records"),
                         "timeline": timeline_chart(app_req)})
    return sections


def _company_sections(requests: pd.DataFrame, matrix: Mapping[tuple[str, str], dict[str, Any]],
                      parties: list[str], meta: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Per receiver: which apps sent it what."""
    counts = requests.groupby(["party", "app"]).size()
    sections = []
    for index, party in enumerate(parties, 1):
        apps = [{"app": app, "requests": int(n), **matrix.get((app, party), {"types": [], "level": "", "rank": 0})}
                for app, n in counts.loc[party].sort_values(ascending=False).items()]
        sections.append({"party": party, "anchor": f"co-{index}", **meta[party], "apps": apps,
                         "requests": int(counts.loc[party].sum())})
    return sections


# --- charts (inline SVG, computed here, drawn by the template) ---------------------------------------

CHART_WIDTH = 720


def types_per_company_chart(rows: list[dict[str, Any]], limit: int = 20) -> dict[str, Any]:
    """Horizontal bars: distinct data types each receiver got, stacked by sensitivity."""
    per_party: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        levels = per_party.setdefault(row["party"], {SPECIAL: set(), "high": set(), "medium": set(), "low": set()})
        levels[row["sensitivity"]].add(row["data_type"])
    ordered = sorted(per_party.items(), key=lambda kv: (-sum(len(s) for s in kv[1].values()), kv[0]))[:limit]
    most = max((sum(len(s) for s in levels.values()) for _, levels in ordered), default=1)
    label_w, bar_h, gap = 220, 18, 6
    scale = (CHART_WIDTH - label_w - 40) / max(most, 1)
    bars = []
    for i, (party, levels) in enumerate(ordered):
        x, y = label_w, i * (bar_h + gap)
        segments = []
        for level in (SPECIAL, "high", "medium", "low"):
            n = len(levels[level])
            if n:
                segments.append({"x": round(x, 1), "w": round(n * scale, 1), "level": level, "n": n,
                                 "types": ", ".join(sorted(levels[level]))})
                x += n * scale
        bars.append({"party": party, "y": y, "segments": segments, "total": sum(len(s) for s in levels.values()),
                     "end": round(x + 4, 1)})
    return {"width": CHART_WIDTH, "height": max(len(bars), 1) * (bar_h + gap), "bar_h": bar_h,
            "label_w": label_w, "bars": bars}


def requests_over_time_chart(requests: pd.DataFrame, bins: int = 48) -> dict[str, Any]:
    """Columns: requests per time bin, tracker requests and no-rule requests stacked."""
    height, top = 120, 10
    if requests.empty:
        return {"width": CHART_WIDTH, "height": height + 30, "bars": [], "start": "", "end": ""}
    ts = requests["timestamp"].astype(float)
    start, end = float(ts.min()), float(ts.max())
    span = max(end - start, 1e-9)
    index = ((ts - start) / span * (bins - 1)).round().astype(int)
    tracked = requests["status"] != "no_rule"
    counts = pd.DataFrame({"bin": index, "tracked": tracked}).groupby(["bin", "tracked"]).size().unstack(fill_value=0)
    most = int(counts.sum(axis=1).max())
    width = (CHART_WIDTH - 20) / bins
    bars = []
    for b, row in counts.iterrows():
        t, o = int(row.get(True, 0)), int(row.get(False, 0))
        h_t, h_o = t / most * height, o / most * height
        x = 10 + int(b) * width
        bars.append({"x": round(x, 1), "w": round(max(width - 2, 1), 1), "t": t, "o": o,
                     "y_t": round(top + height - h_t, 1), "h_t": round(h_t, 1),
                     "y_o": round(top + height - h_t - h_o, 1), "h_o": round(h_o, 1),
                     "when": _when(start + int(b) * span / max(bins - 1, 1))})
    return {"width": CHART_WIDTH, "height": height + 30, "base": top + height, "bars": bars,
            "start": _when(start), "end": _when(end), "most": most}


def timeline_chart(requests: pd.DataFrame, lanes: int = 12) -> dict[str, Any]:
    """One lane per receiver, one tick per pixel column with transmissions (counted in its tooltip)."""
    if requests.empty:
        return {"lanes": [], "width": CHART_WIDTH, "height": 0}
    label_w, lane_h = 200, 16
    plot_w = CHART_WIDTH - label_w - 10
    ts = requests["timestamp"].astype(float)
    start, span = float(ts.min()), max(float(ts.max() - ts.min()), 1e-9)
    frame = pd.DataFrame({"party": requests["party"], "px": ((ts - start) / span * plot_w).round().astype(int)})
    top = frame["party"].value_counts().index[:lanes]
    out = []
    for i, party in enumerate(top):
        ticks = frame[frame["party"] == party].groupby("px").size()
        out.append({"party": party, "y": i * lane_h,
                    "ticks": [{"x": label_w + int(px), "n": int(n),
                               "when": _when(start + px / plot_w * span)} for px, n in ticks.items()]})
    return {"lanes": out, "width": CHART_WIDTH, "height": len(out) * lane_h + 18, "label_w": label_w,
            "start": _when(start), "end": _when(start + span), "more": max(0, frame["party"].nunique() - lanes)}


# --- evidence: the payload tree with findings highlighted --------------------------------------------

@dataclass(slots=True)
class _Tree:
    """State of one payload-tree rendering: where each labelled path's node is."""

    request_id: int
    labels: Mapping[str, str]
    hits: set[str]
    ids: dict[str, str] = field(default_factory=dict)
    nodes: int = 0
    out: list[str] = field(default_factory=list)


def payload_tree(payload: Any, request_id: int, labels: Mapping[str, str],
                 hits: set[str]) -> tuple[Markup, dict[str, str]]:
    """The decoded payload as nested lists, every key and value escaped; nodes whose concrete
    path is a finding are highlighted and get an id the finding links to. Returns the markup
    and {path: node id}."""
    tree = _Tree(request_id, labels, hits)
    _node(tree, payload, "", 0)
    if tree.nodes > TREE_MAX_NODES:
        tree.out.append(f'<p class="note">Only the first {TREE_MAX_NODES} nodes are shown; '
                        "the JSON export and the evidence HAR hold the whole request.</p>")
    return Markup("".join(tree.out)), tree.ids


def _node(tree: _Tree, node: Any, path: str, depth: int) -> None:
    if isinstance(node, dict) or isinstance(node, list):
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        tree.out.append('<ul class="tree">')
        for key, value in items:
            tree.nodes += 1
            if tree.nodes > TREE_MAX_NODES or depth > 40:
                break
            child = paths.child(path, key) if isinstance(node, dict) else paths.item(path, key)
            _entry(tree, key if isinstance(node, dict) else f"[{key}]", value, child, depth)
        tree.out.append("</ul>")
    else:
        tree.out.append(_scalar(node))


def _entry(tree: _Tree, key: Any, value: Any, path: str, depth: int) -> None:
    data_type = tree.labels.get(path, "")
    attrs = ""
    if data_type:
        node_id = f"r{tree.request_id}-n{len(tree.ids)}"
        tree.ids[path] = node_id
        hit = " hit s-" + _sensitivity(data_type) if path in tree.hits else " known"
        attrs = f' id="{node_id}" class="{hit.strip()}"'
    tree.out.append(f'<li{attrs}><span class="k">{escape(str(key))}</span>')
    if data_type:
        tree.out.append(f' <span class="dt">{escape(data_type)}</span>')
    tree.out.append(": " if not isinstance(value, (dict, list)) else "")
    _node(tree, value, path, depth + 1)
    tree.out.append("</li>")


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return f'<span class="v lit">{json.dumps(value)}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="v num">{escape(str(value))}</span>'
    text = str(value)
    if len(text) > LONG_VALUE:
        return (f'<details class="long"><summary><span class="v">{escape(text[:120])}</span>… '
                f"({len(text)} characters)</summary><span class=\"v\">{escape(text)}</span></details>")
    return f'<span class="v">{escape(text)}</span>'


def _evidence_ids(requests: pd.DataFrame, cited: Iterable[int], limit: int) -> list[int]:
    """Cited requests first (each aggregate row links one), then in time order, up to *limit*."""
    chosen = list(dict.fromkeys(int(i) for i in cited))[:limit]
    if len(chosen) < limit:
        seen = set(chosen)
        chosen += [int(i) for i in requests["id"] if int(i) not in seen][: limit - len(chosen)]
    return chosen


def _records_by_request(frame: pd.DataFrame, wanted: set[int], columns: list[str]) -> dict[int, list[dict[str, Any]]]:
    """Rows of *frame* for the wanted requests as plain dicts, grouped by request: per-request
    pandas selections would cost more than the whole rest of the report."""
    rows = frame.loc[frame["request_id"].isin(wanted), ["request_id", *columns]].to_dict(orient="records")
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(int(row["request_id"]), []).append(row)
    return grouped


def _evidence(frames: Frames, ids: list[int]) -> list[dict[str, Any]]:
    """Full proof for the chosen requests: findings linked to their node in the payload tree,
    every uploaded field, the decoding chain, the rule's SDK sources, the attribution."""
    wanted = set(ids)
    found_by = _records_by_request(frames.findings, wanted,
                                   ["data_type", "value", "path", "context", "detector", "detail"])
    fields_by = _records_by_request(frames.fields, wanted, ["path", "value", "data_type"])
    out = []
    for row in frames.requests[frames.requests["id"].isin(wanted)].to_dict(orient="records"):
        rid = int(row["id"])
        found, fields = found_by.get(rid, []), fields_by.get(rid, [])
        labels = {f["path"]: f["data_type"] for f in fields if f["data_type"]}
        labels.update((f["path"], f["data_type"]) for f in found)
        payload = json.loads(row["payload"]) if row["payload"] else None
        tree, node_ids = payload_tree(frames.redactor.tree(payload, labels), rid, labels, {f["path"] for f in found})
        types = sorted({f["data_type"] for f in found}, key=_type_order)
        out.append({**row, "when": _when(row["timestamp"]), "tree": tree, "types": types,
                    "rank": max((_rank(t) for t in types), default=0),
                    "decode_chain": json.loads(row["decode_chain"] or "[]"),
                    "rule_sources": (row["rule_source"] or "").split(),
                    "findings": [{**f, "value": str(f["value"]), "node": node_ids.get(f["path"], ""),
                                  "sensitivity": _sensitivity(f["data_type"])} for f in found],
                    "fields": [{**f, "value": frames.redactor.value(f["value"], f["data_type"]),
                                "node": node_ids.get(f["path"], "")} for f in fields]})
    return out


def _request_index(frames: Frames, embedded: set[int]) -> list[dict[str, Any]]:
    """Every stored request in one paginated list, so none is hidden even when its full
    proof is not inlined."""
    f = frames.findings[["request_id", "data_type", "rank"]].drop_duplicates(["request_id", "data_type"])
    f = f.assign(order=f["data_type"].map(_type_order)).sort_values(["request_id", "order"])
    types = f.groupby("request_id")["data_type"].agg(list).to_dict()
    ranks = f.groupby("request_id")["rank"].max().to_dict()
    req = frames.requests
    return [{"id": rid, "when": _when(ts), "app": app, "party": party, "method": method, "url": url,
             "status": status, "types": types.get(rid, []), "rank": int(ranks.get(rid, 0)), "embedded": rid in embedded}
            for rid, ts, app, party, method, url, status in
            zip(req["id"].astype(int), req["timestamp"], req["app"], req["party"], req["method"], req["url"],
                req["status"])]


# --- the context -----------------------------------------------------------------------------------

def build_context(store: Store, redact: bool = False, evidence_limit: int = EVIDENCE_LIMIT,
                  show_secrets: bool = False) -> dict[str, Any]:
    """Everything the template shows, computed with pandas from the store."""
    frames = load_frames(store, redact, show_secrets)
    req, findings = frames.requests, frames.findings
    rows = [_group_row(r) for r in _groups(findings).itertuples()]
    apps = sorted(set(req["app"]), key=lambda a: (a == "unattributed", a.lower()))
    meta = _party_meta(req, store.trackers())
    parties = sorted(meta, key=lambda p: (bool(meta[p]["no_rule"]), (meta[p]["brands"] or p).lower()))
    matrix = _matrix(rows)
    evidence_ids = _evidence_ids(req, (r["first_request"] for r in rows), evidence_limit)
    evidence = sorted(_evidence(frames, evidence_ids), key=lambda e: (e["timestamp"], e["id"]))
    tracked = req[req["status"] != "no_rule"]
    types = sorted(set(findings["data_type"]), key=_type_order)
    return {
        "version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "redacted": redact,
        "totals": {
            "apps": len(apps),
            "companies": int(tracked["company"].nunique()),
            "tracker_requests": int(len(tracked)),
            "not_decoded": int((tracked["status"] == "not_decoded").sum()),
            "no_rule_hosts": int(req.loc[req["status"] == "no_rule", "host"].nunique()),
            "no_rule_requests": int((req["status"] == "no_rule").sum()),
            "findings": int(len(findings)),
            "high": int((findings["rank"] == SENSITIVITY_RANK[HIGH]).sum()),
            "special": int((findings["rank"] == SENSITIVITY_RANK[SPECIAL]).sum()),
        },
        "apps": [{"app": s, "anchor": f"app-{i}"} for i, s in enumerate(apps, 1)],
        "parties": [{"party": p, "anchor": f"co-{i}", **meta[p]} for i, p in enumerate(parties, 1)],
        "data_types": [{"name": t, "sensitivity": _sensitivity(t), "category": _category(t)} for t in types],
        "categories": [c for c in CATEGORIES if any(_category(t) == c for t in types)],
        "matrix": matrix,
        "rows": rows,
        "key_findings": _key_findings(findings),
        "app_sections": _app_sections(frames, rows, apps, meta),
        "company_sections": _company_sections(req, matrix, parties, meta),
        "types_chart": types_per_company_chart(rows),
        "time_chart": requests_over_time_chart(req),
        "evidence": evidence,
        "evidence_limit": evidence_limit,
        "embedded": set(evidence_ids),
        "requests_index": _request_index(frames, set(evidence_ids)),
        "sources": {frames.redactor.source(k): v for k, v in store.source_stats().items()},
        "problems": [str(p) for p in store.problems()],
        "unseen": [{**u, "first": _when(u["first"]), "last": _when(u["last"]),
                    "app_evidence": frames.redactor.text(u["app_evidence"] or "")} for u in store.unseen()],
        **identifiers_context(store, frames.redactor),
        "third_parties": third_party_context(req, findings, frames.fields),
        "replays": [recording_view(summary, frames.hider, frames.redactor.value if redact else None, f"rec-{n}")
                    for n, summary in enumerate(store.replays(), 1)],
    }


def identifiers_context(store: Store, redactor: Redactor) -> dict[str, Any]:
    """The Identifiers section (reports/_identifiers.html.j2): identifiers, fingerprints, graph."""
    result = identifiers.build(store, redactor.value if redactor.enabled else None)
    return {"identifiers": result, "ids_graph": identifiers.graph(result)}


def render(context: dict[str, Any]) -> str:
    """Fill the template; the script and style are inlined verbatim, so their hashes in the
    CSP (computed here, from the very text inlined) match."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["sens_of"] = _sensitivity
    script, style = _asset("report.js"), _asset("report.css")
    return env.get_template("report.html.j2").render(
        **context, csp=content_security_policy(script, style), script=Markup(script), style=Markup(style))


def write_report(store: Store, path: Path, redact: bool = False, evidence_limit: int = EVIDENCE_LIMIT,
                 extra: dict[str, Any] | None = None, show_secrets: bool = False) -> None:
    """*extra*: context for the optional sections other commands add (`leakmap check`'s
    policy_violations and policy_file, shown by report_policy.html.j2). The page is built
    before the file is touched, so a store fault leaves no empty file behind."""
    page = render({**build_context(store, redact, evidence_limit, show_secrets), **(extra or {})})
    make_private(path)
    Path(path).write_text(page, encoding="utf-8")
