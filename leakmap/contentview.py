"""leakmap inside mitmproxy's UI: a `leakmap` content view and the marks on tracker flows.

The content view shows a request as leakmap decodes it: the receiver, the decoding chain,
every finding with its data type, sensitivity and the detector or rule that decided, the
other uploaded fields, and the decoded payload. mitmweb and the console pick it
automatically for requests a tracker rule matches (its render priority beats the JSON and
form views there) and offer it by name for any other flow.

It runs its own `Analyzer` over the rules the addon loaded, so showing a flow never writes
to the findings store and never changes the live attribution state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml
from mitmproxy import contentviews, http

from .datatypes import DATA_TYPES
from .live_wire import printable
from .decode import Limits
from .model import Analysis
from .pipeline import Analyzer
from .read import request_from_flow

#: Above mitmproxy's own views for the same data (JSON 1, form and query views below it).
TRACKER_PRIORITY = 3.0
MAX_COMMENT_TYPES = 8
VIEW_SOURCE = "contentview"


def flow_comment(analysis: Analysis, receiver: str) -> str:
    """`Mixpanel: email, user_id, device_model`: what the flow list shows for a tracker
    request (*receiver*: the rule's product name), most sensitive types first, so a reader
    sees at once who got what."""
    types = sorted({f.data_type for f in analysis.findings}, key=_sensitivity_first)
    shown = ", ".join(types[:MAX_COMMENT_TYPES])
    if len(types) > MAX_COMMENT_TYPES:
        shown += f", +{len(types) - MAX_COMMENT_TYPES} more"
    if analysis.status == "not_decoded":
        return f"{receiver}: not decoded ({analysis.error[:80]})"
    return f"{receiver}: {shown or 'no personal data found'}"


def _sensitivity_first(data_type: str) -> tuple[int, str]:
    info = DATA_TYPES.get(data_type)
    rank = {"special": -1, "high": 0, "medium": 1, "low": 2}.get(info.sensitivity if info else "", 3)
    return rank, data_type


def console_line(analysis: Analysis, receiver: str, color: bool = False) -> str:
    """One line per tracker request for `leakmap capture`'s console: time, app, receiver and
    data types, the high-sensitivity ones in bold red on a terminal (marked `!` otherwise),
    special categories in bold magenta (`!!`).
    Captured text (app, receiver, error) is made printable, so no escape sequence an app
    sends can reach the terminal; only the colour codes are ours."""
    when = time.strftime("%H:%M:%S", time.localtime(analysis.request.timestamp or time.time()))
    types = sorted({f.data_type for f in analysis.findings}, key=_sensitivity_first)
    shown = ", ".join(_highlight(t, color) for t in types) or "no personal data found"
    if analysis.status == "not_decoded":
        shown += f" (not decoded: {printable(analysis.error, 80)})"
    return f"{when}  {printable(analysis.app or 'unattributed', 80)} → {printable(receiver, 80)}: {shown}"


def _highlight(data_type: str, color: bool) -> str:
    """High sensitivity in bold red (`!`), special categories (health, religion…) in bold
    magenta (`!!`): they rank above high."""
    level = _sensitivity(data_type)
    if level not in ("high", "special"):
        return data_type
    if color:
        return f"\x1b[1;{35 if level == 'special' else 31}m{data_type}\x1b[0m"
    return f"{data_type}{'!!' if level == 'special' else '!'}"


def mark_flow(flow: http.HTTPFlow, status: str, comment: str) -> None:
    """Mark a tracker flow and comment it with receiver and data types (`flow_comment`:
    mitmweb's flow list shows both; `~marked` and `~comment Mixpanel` filter on them). A
    mark or comment the user set is kept."""
    if not flow.marked:
        flow.marked = ":grey_question:" if status == "not_decoded" else ":eye:"
    if not flow.comment:
        flow.comment = comment


class LeakmapContentview(contentviews.Contentview):
    """The request as leakmap sees it. *analyzer* is called lazily: the addon's rules are
    loaded in `configure`, after mitmproxy has registered its views."""

    def __init__(self, analyzer: Callable[[], tuple[Analyzer, Limits] | None]) -> None:
        self._analyzer = analyzer

    @property
    def name(self) -> str:
        return "leakmap"

    @property
    def syntax_highlight(self) -> contentviews.SyntaxHighlight:
        return "yaml"

    def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
        flow, found = metadata.flow, self._analyzer()
        if found is None or not isinstance(flow, http.HTTPFlow) or metadata.http_message is not flow.request:
            return -1
        analyzer, limits = found
        request = request_from_flow(flow, VIEW_SOURCE, limits)
        return TRACKER_PRIORITY if analyzer.index.match(request) is not None else -1

    def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
        flow, found = metadata.flow, self._analyzer()
        if found is None:
            raise ValueError("the leakmap addon has not loaded its rules yet")
        if not isinstance(flow, http.HTTPFlow) or metadata.http_message is not flow.request:
            raise ValueError("leakmap decodes HTTP requests (what an app uploads), not responses")
        analyzer, limits = found
        analysis = analyzer.analyze(request_from_flow(flow, VIEW_SOURCE, limits))
        return yaml.safe_dump(describe(analysis), allow_unicode=True, sort_keys=False, width=120)


def describe(analysis: Analysis | None) -> dict[str, Any]:
    """The analysis as the document the view prints."""
    if analysis is None:
        return {"leakmap": "no tracker rule matches this request and no detector found personal data in it"}
    labelled = {f.path for f in analysis.findings}
    return {
        "receiver": analysis.company or analysis.tracker,
        "rule": "(no rule)" if analysis.status == "no_rule" else f"{analysis.tracker}/{analysis.endpoint}",
        "status": analysis.status + (f": {analysis.error}" if analysis.error else ""),
        "decoding": analysis.decode_chain,
        "findings": [{"type": f.data_type, "sensitivity": _sensitivity(f.data_type), "value": f.value,
                      "path": f.path, "detector": f.detector + (f" ({f.detail})" if f.detail else "")}
                     for f in sorted(analysis.findings, key=lambda f: _sensitivity_first(f.data_type))],
        "other fields": {path: value for path, value, _ in analysis.fields if path not in labelled},
        "sources": analysis.rule_source.split() if analysis.rule_source else [],
        "payload": analysis.payload,
    }


def _sensitivity(data_type: str) -> str:
    info = DATA_TYPES.get(data_type)
    return info.sensitivity if info else ""
