"""Compare two runs: what an app sends, to whom, in BASE and in NEW.

Each side is a findings store (a capture analysed into a temporary store, or a store kept
with `--db`). Both are reduced by SQL to aggregates per app and receiver: requests,
findings, the data types with an example value, and the values of persistent identifiers,
so the comparison holds in memory what differs, never the findings themselves.

The answer keeps stable keys for tools: `added` and `removed` (apps, receivers, data types),
`changed` (a persistent identifier whose values differ, such as a reset advertising id),
`unchanged` (identifiers whose values stayed: they link the two runs to one person) and
`counts` (requests and findings per app and receiver, not a difference by themselves:
two runs of the same build rarely send the same number of events).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import __version__
from .datatypes import DATA_TYPES
from .report import _asset, _type_order, content_security_policy, redact_value, templates_dir
from .store import Store, receiver_name

# Identifiers that persist across sessions: a change between runs is news (a reset, a new
# install), a value that stayed links both runs to one person. Session ids are left out:
# they change every run by design.
PERSISTENT_IDS = ("advertising_id", "hashed_advertising_id", "android_id", "device_id", "vendor_id",
                  "installation_id", "user_id", "browser_id", "push_token", "email", "hashed_email", "phone",
                  "hashed_phone")
MAX_VALUES = 200  # per app, receiver and identifier type: more is a load test, not a person


@dataclass(slots=True)
class Pair:
    """What one app sent one receiver in one run."""

    company: str = ""
    requests: int = 0
    findings: int = 0
    types: dict[str, str] = field(default_factory=dict)  # data type → an example value
    ids: dict[str, set[str]] = field(default_factory=dict)  # persistent id type → values


Run = dict[tuple[str, str], Pair]  # (app, receiver) → Pair


def summarize(store: Store) -> Run:
    """The aggregates of one side, by SQL."""
    trackers = store.trackers()
    run: Run = {}

    def pair(app: str, tracker: str, company: str, host: str) -> Pair:
        key = (app or "unattributed", receiver_name(tracker, company, host, trackers))
        return run.setdefault(key, Pair(company or ""))

    for app, tracker, company, host, n in store.db.execute(
            "SELECT app, tracker, company, host, count(*) FROM requests GROUP BY app, tracker, company, host"):
        pair(app, tracker, company, host).requests += n
    for app, tracker, company, host, data_type, n, example in store.db.execute(
            "SELECT r.app, r.tracker, r.company, r.host, f.data_type, count(*), min(f.value) FROM findings f"
            " JOIN requests r ON r.id = f.request_id GROUP BY r.app, r.tracker, r.company, r.host, f.data_type"):
        p = pair(app, tracker, company, host)
        p.findings += n
        p.types.setdefault(data_type, example)
    marks = ",".join("?" * len(PERSISTENT_IDS))
    for app, tracker, company, host, data_type, value in store.db.execute(
            "SELECT DISTINCT r.app, r.tracker, r.company, r.host, f.data_type, f.value FROM findings f"
            f" JOIN requests r ON r.id = f.request_id WHERE f.data_type IN ({marks})", PERSISTENT_IDS):
        values = pair(app, tracker, company, host).ids.setdefault(data_type, set())
        if len(values) < MAX_VALUES:
            values.add(value)
    return run


@dataclass(slots=True)
class Diff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    counts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self, base: Iterable[str], new: Iterable[str]) -> dict[str, Any]:
        return {"base": list(base), "new": list(new), "added": self.added, "removed": self.removed,
                "changed": self.changed, "unchanged": self.unchanged, "counts": self.counts}


def _row(what: str, app: str, receiver: str | None = None, company: str | None = None,
         data_type: str | None = None, value: list[str] | None = None) -> dict[str, Any]:
    return {"what": what, "app": app, "receiver": receiver, "company": company, "data_type": data_type,
            "value": value}


def compare(base: Run, new: Run, show_values: bool = False) -> Diff:
    """Both runs compared per app, receiver and data type; values redacted (comparable:
    equal values keep equal masks) unless *show_values*."""
    def shown(values: Iterable[str]) -> list[str]:
        return sorted(v if show_values else redact_value(v) for v in values)

    diff = Diff()
    base_apps, new_apps = {a for a, _ in base}, {a for a, _ in new}
    for app in sorted(new_apps - base_apps):
        diff.added.append(_row("app", app))
    for app in sorted(base_apps - new_apps):
        diff.removed.append(_row("app", app))
    for key in sorted(set(base) | set(new)):
        app, receiver = key
        old, now = base.get(key), new.get(key)
        company = now.company if now is not None else old.company if old is not None else ""
        diff.counts.append({"app": app, "receiver": receiver, "company": company,
                            "base_requests": old.requests if old else 0, "new_requests": now.requests if now else 0,
                            "base_findings": old.findings if old else 0, "new_findings": now.findings if now else 0})
        if old is None or now is None:  # a receiver only one side contacted: all its data is new or gone
            rows, only = (diff.added, now) if now is not None else (diff.removed, old)
            assert only is not None
            rows.append(_row("receiver", app, receiver, company))
            rows.extend(_row("data_type", app, receiver, company, t, shown([only.types[t]]))
                        for t in sorted(only.types, key=_type_order))
            continue
        for t in sorted(set(now.types) - set(old.types), key=_type_order):
            diff.added.append(_row("data_type", app, receiver, company, t, shown([now.types[t]])))
        for t in sorted(set(old.types) - set(now.types), key=_type_order):
            diff.removed.append(_row("data_type", app, receiver, company, t, shown([old.types[t]])))
        for t in sorted(set(old.ids) & set(now.ids), key=_type_order):
            stayed, gone, came = old.ids[t] & now.ids[t], old.ids[t] - now.ids[t], now.ids[t] - old.ids[t]
            if stayed:
                diff.unchanged.append(_row("identifier", app, receiver, company, t, shown(stayed)))
            if gone or came:
                row = _row("identifier", app, receiver, company, t, shown(came))
                diff.changed.append({**row, "base_value": shown(gone)})
    return diff


# --- text and HTML ----------------------------------------------------------------------------------

def _who(row: dict[str, Any]) -> str:
    return f"{row['app']} → {row['receiver']}" if row["receiver"] else row["app"]


def text_lines(diff: Diff) -> list[str]:
    """The diff for a terminal: `+` added, `-` removed, `~` changed, `=` identifiers that stayed."""
    lines = []
    for mark, rows in (("+", diff.added), ("-", diff.removed)):
        for row in rows:
            if row["what"] == "data_type":
                lines.append(f"{mark} {_who(row)}: {row['data_type']} (e.g. {row['value'][0]})")
            else:
                lines.append(f"{mark} {_who(row)}" + (f" ({row['company']})" if row["company"] else "")
                             + f": {row['what']} {'added' if mark == '+' else 'gone'}")
    for row in diff.changed:
        lines.append(f"~ {_who(row)}: {row['data_type']} changed: {', '.join(row['base_value']) or '(none)'}"
                     f" → {', '.join(row['value']) or '(none)'}")
    for row in diff.unchanged:
        lines.append(f"= {_who(row)}: {row['data_type']} unchanged: {', '.join(row['value'])}")
    for c in diff.counts:
        lines.append(f"  {c['app']} → {c['receiver']}: requests {c['base_requests']} → {c['new_requests']}, "
                     f"findings {c['base_findings']} → {c['new_findings']}")
    return lines


def render_html(diff: Diff, base: list[str], new: list[str], show_values: bool) -> str:
    """One self-contained page, under the report's Content-Security-Policy (nothing loads,
    no script, only our inline style by hash) and its stylesheet; every captured string
    goes through autoescaping."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    style = _asset("report.css") + "\n" + _asset("diff.css")
    sens = {t: DATA_TYPES[t].sensitivity for t in DATA_TYPES}
    return env.get_template("diff.html.j2").render(
        diff=diff, base=base, new=new, redacted=not show_values, sens=sens, version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        csp=content_security_policy("", style), style=Markup(style))


def write_outputs(diff: Diff, outputs: Iterable[Path], fmt: str, base: list[str], new: list[str],
                  show_values: bool) -> None:
    """Each -o file: JSON when it ends in .json (or --format json), else HTML."""
    for path in outputs:
        if path.suffix.lower() == ".json" or (fmt == "json" and path.suffix.lower() not in (".html", ".htm")):
            path.write_text(json.dumps(diff.to_dict(base, new), indent=2) + "\n",
                            encoding="utf-8")
        else:
            path.write_text(render_html(diff, base, new, show_values), encoding="utf-8")
