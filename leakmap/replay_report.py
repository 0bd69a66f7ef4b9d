"""Session replays in the report and as standalone pages (`leakmap replay --html DIR`).

A recording's summary (replay.Recording.summary) becomes a timeline of what the user saw,
typed and clicked, plus a still of each full snapshot. The still is the rebuilt page drawn
as a picture: inert XHTML inside an SVG shown through <img src="data:image/svg+xml…">. A
browser runs no script and fetches nothing for an SVG used as an image, whatever it holds,
so captured markup can neither act nor phone home; the report's own CSP (img-src data:)
stays as strict as before.

Secrets never appear in full (credentials.SecretHider), and `--redact` masks typed values
and page text like every other unlabelled value.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .credentials import SecretHider
from .datatypes import DATA_TYPES, SENSITIVITY_RANK

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def still_url(xhtml: str, width: int, height: int) -> str:
    """A data: URL of an SVG picture of the page (never a document that could run)."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{int(width)}" height="{int(height)}">'
           f'<foreignObject x="0" y="0" width="100%" height="100%">'
           f'<div xmlns="http://www.w3.org/1999/xhtml" style="width:{int(width)}px;height:{int(height)}px;'
           f'overflow:hidden;background:#fff;font-family:sans-serif">{_XML_INVALID.sub("", xhtml)}</div>'
           f'</foreignObject></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()


def _sens_rank(data_type: str) -> int:
    known = DATA_TYPES.get(data_type)
    return SENSITIVITY_RANK[known.sensitivity] if known else 1


def recording_view(summary: dict[str, Any], hider: SecretHider, mask: Any = None, anchor: str = "") -> dict[str, Any]:
    """What the template shows for one recording: a timeline sorted by time and the stills.
    *mask* (the report's Redactor.value when --redact is on) masks typed values and text."""
    def shown(value: Any, data_type: str = "") -> str:
        text = hider.text(str(value))
        return str(mask(text, data_type)) if mask else str(text)

    party = summary.get("receiver", "")
    found_by_path: dict[str, list[str]] = {}
    for f in summary.get("findings", []):
        found_by_path.setdefault(f.get("path", ""), []).append(f["data_type"])
    timeline: list[dict[str, Any]] = []
    for page in summary.get("pages", []):
        timeline.append({"time": page.get("time", ""), "kind": "page", "what": "page shown",
                         "value": shown(page.get("url", ""), "page_url"), "types": ["page_url"]})
    for item in summary.get("text_items", []):
        types = found_by_path.get(item.get("path", ""), []) if _has_finding(summary, item.get("text", "")) else []
        timeline.append({"time": item.get("time", ""), "kind": "text", "what": "text visible", "value":
                         shown(item.get("text", "")), "types": types})
    for entry in summary.get("inputs", []):
        label = entry.get("label") or entry.get("placeholder") or ""
        what = f"typed into {entry.get('selector', '')} ({entry.get('type', '')})" + (f" “{label}”" if label else "")
        types = [f["data_type"] for f in summary.get("findings", []) if f.get("path") == entry.get("path")]
        timeline.append({"time": entry.get("time", ""), "kind": "input", "what": what,
                         "value": shown(entry.get("value", ""), "" if entry.get("masked") else "password"),
                         "masked": bool(entry.get("masked")), "types": types})
    for click in summary.get("clicks", []):
        timeline.append({"time": click.get("time", ""), "kind": "click", "what": f"click on {click.get('target', '')}",
                         "value": shown(click.get("text", ""), "interaction"), "types": ["interaction"]})
    timeline.sort(key=lambda t: t["time"])
    for row in timeline:
        row.setdefault("masked", False)
        row["rank"] = max((_sens_rank(t) for t in row["types"]), default=1)
    stills = [{"time": s.get("time", ""), "page": shown(s.get("page", ""), "page_url"),
               "src": still_url(str(hider.text(s.get("xhtml", ""))), s.get("width", 1024), s.get("height", 768)),
               "width": s.get("width", 1024), "latest": bool(s.get("latest"))} for s in summary.get("stills", [])]
    images = [{"src": i["data_url"], **{k: i.get(k) for k in ("type", "bytes", "width", "height", "time")}}
              for i in summary.get("images", {}).get("items", []) if i.get("data_url")]
    findings = [{**f, "value": shown(f.get("value", ""), f["data_type"]), "rank": _sens_rank(f["data_type"])}
                for f in summary.get("findings", [])]
    if mask:  # --redact: pictures of the page and screenshots would show what the text hides
        stills, images = [], []
    return {"anchor": anchor or "rec-" + hashlib.sha256(str(summary.get("replay_id")).encode()).hexdigest()[:10],
            "party": party, "tracker": summary.get("tracker", ""), "app": summary.get("app") or "unattributed",
            "replay_id": summary.get("replay_id", ""), "first": summary.get("first", ""), "last": summary.get("last", ""),
            "requests": summary.get("requests", 0), "events": summary.get("events", 0), "timeline": timeline,
            "stills": stills, "images": images, "image_count": summary.get("images", {}).get("count", 0),
            "findings": findings, "problems": summary.get("problems", [])}


def _has_finding(summary: dict[str, Any], text: str) -> bool:
    return any(f.get("value") and f["value"] in text for f in summary.get("findings", []))


def secret_values(summaries: list[dict[str, Any]]) -> list[str]:
    return [f["value"] for s in summaries for f in s.get("findings", []) if f.get("secret")]


_PAGE_STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;
vertical-align:top}code{word-break:break-all}.still{max-width:100%;border:1px solid #999}.s-3{background:#fde2e1}
.masked{color:#777}.note{color:#666;font-size:.9em}"""


def _env() -> jinja2.Environment:
    from .report import templates_dir

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def standalone_page(view: dict[str, Any]) -> str:
    """One recording as its own HTML page, as inert as the report: no script at all, a CSP
    of default-src 'none' with only its own style (by hash) and data: images."""
    digest = base64.b64encode(hashlib.sha256(_PAGE_STYLE.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"
    body = _env().get_template("_replays.html.j2").module.recording(view)  # type: ignore[attr-defined]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
            f"<title>Session replay {jinja2.filters.escape(view['replay_id'])}</title>"
            f"<style>{_PAGE_STYLE}</style></head><body>{Markup(body)}</body></html>\n")


def write_pages(views: list[dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for n, view in enumerate(views, 1):
        path = directory / f"replay-{n:03d}-{view['anchor']}.html"
        path.write_text(standalone_page(view), encoding="utf-8")
        written.append(path)
    return written
