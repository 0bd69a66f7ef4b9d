"""Report stage: aggregate the store with pandas and render one self-contained HTML file.

The page loads nothing from the network and runs no script: its Content-Security-Policy
forbids both, and every captured string passes through Jinja2's autoescaping, because
captured values are written by whoever controls the app or the tracker.
"""

from __future__ import annotations

import hashlib
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jinja2
import pandas as pd

from . import __version__
from .datatypes import CATEGORIES, DATA_TYPES, SENSITIVITY_RANK
from .store import Store

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
MAX_VALUES_SHOWN = 5
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-api-key"}


def redact_value(value: str) -> str:
    """Mask a value but keep it comparable: 2 characters, then a short hash of the rest."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{value[:2]}…#{digest}" if len(value) > 4 else f"…#{digest}"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…" if parts.query else "", ""))


def redact_tree(node: Any, secrets: set[str], key: str = "") -> Any:
    """Mask every leaf that is a finding value, every undecoded blob and secret header."""
    if isinstance(node, dict):
        if "undecoded_bytes" in node:
            return {"undecoded_bytes": node["undecoded_bytes"], "base64": "[redacted]"}
        return {k: redact_tree(v, secrets, k) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_tree(v, secrets, key) for v in node]
    if isinstance(node, str) and (node in secrets or key.lower() in _SECRET_HEADERS or "@" in node):
        return redact_value(node)
    if not isinstance(node, str) and node is not None and str(node) in secrets:
        return redact_value(str(node))
    return node


def templates_dir() -> Path:
    """Templates inside the installed package, or the checkout's top-level reports/."""
    packaged = Path(str(resources.files("leakmap"))) / "reports"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "reports"


def _sensitivity(data_type: str) -> str:
    return DATA_TYPES[data_type].sensitivity if data_type in DATA_TYPES else "low"


def _type_order(data_type: str) -> tuple[int, int, str]:
    t = DATA_TYPES.get(data_type)
    if t is None:
        return (9, 9, data_type)
    return (-SENSITIVITY_RANK[t.sensitivity], CATEGORIES.index(t.category), data_type)


def build_context(store: Store, redact: bool = False) -> dict[str, Any]:
    """Everything the template shows, computed with pandas from the store."""
    findings = store.findings_frame()
    requests = store.requests_frame()
    fields = store.fields_frame()
    secrets = set(findings["value"].astype(str)) if redact else set()
    if redact:
        findings["value"] = findings["value"].astype(str).map(redact_value)
        fields["value"] = fields["value"].astype(str).map(lambda v: redact_value(v) if v in secrets else v)
        requests["url"] = requests["url"].map(redact_url)
    tracked = requests[requests["status"] != "no_rule"]
    apps = sorted(set(findings["app"]) | set(tracked["app"]), key=lambda a: (a == "unattributed", a.lower()))
    companies = sorted(set(findings["company"].replace("", pd.NA).dropna()) | set(tracked["company"]))

    matrix: dict[tuple[str, str], dict[str, Any]] = {}
    for (app, company), group in findings[findings["company"] != ""].groupby(["app", "company"]):
        types = sorted(set(group["data_type"]), key=_type_order)
        matrix[(app, company)] = {"types": types, "level": _sensitivity(types[0]) if types else "low"}

    app_sections = []
    for app in apps:
        app_findings = findings[findings["app"] == app]
        app_requests = requests[requests["app"] == app]
        by_company = []
        for company, group in app_findings.groupby("company", sort=True):
            rows = []
            for data_type, typed in sorted(group.groupby("data_type"), key=lambda kv: _type_order(kv[0])):
                values = list(dict.fromkeys(typed["value"].astype(str)))
                rows.append({
                    "data_type": data_type,
                    "category": DATA_TYPES[data_type].category if data_type in DATA_TYPES else "",
                    "sensitivity": _sensitivity(data_type),
                    "values": values[:MAX_VALUES_SHOWN],
                    "more_values": max(0, len(values) - MAX_VALUES_SHOWN),
                    "requests": int(typed["request_id"].nunique()),
                    "detectors": sorted(set(typed["detector"])),
                    "first_request": int(typed["request_id"].iloc[0]),
                    "path": str(typed["path"].iloc[0]),
                })
            by_company.append({"company": company or "(no tracker rule: other host)", "rows": rows})
        signals = app_requests.groupby(["app_signal", "app_evidence"]).size().reset_index(name="n")
        app_sections.append({
            "app": app,
            "companies": by_company,
            "signals": signals.head(5).to_dict(orient="records"),
            "requests": int(len(app_requests)),
            "findings": int(len(app_findings)),
        })

    fields_by_request = {rid: g[["path", "value", "data_type"]].to_dict(orient="records")
                         for rid, g in fields.groupby("request_id")}
    evidence = []
    for row in requests.to_dict(orient="records"):
        payload = json.loads(row["payload"]) if row["payload"] else None
        if redact:
            payload = redact_tree(payload, secrets)
        evidence.append({**row, "decode_chain": json.loads(row["decode_chain"] or "[]"),
                         "payload_text": json.dumps(payload, indent=2, ensure_ascii=False),
                         "fields": fields_by_request.get(row["id"], []),
                         "finding_values": findings[findings["request_id"] == row["id"]].to_dict(orient="records")})

    return {
        "version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "csp": CSP,
        "redacted": redact,
        "totals": {
            "apps": len(apps),
            "companies": len(companies),
            "tracker_requests": int(len(tracked)),
            "not_decoded": int((tracked["status"] == "not_decoded").sum()),
            "findings": int(len(findings)),
        },
        "apps": apps,
        "companies": companies,
        "matrix": matrix,
        "app_sections": app_sections,
        "evidence": evidence,
        "sources": store.source_stats(),
        "problems": store.problems(),
    }


def render(context: dict[str, Any]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(**context)


def write_report(store: Store, path: Path, redact: bool = False) -> None:
    Path(path).write_text(render(build_context(store, redact)), encoding="utf-8")
