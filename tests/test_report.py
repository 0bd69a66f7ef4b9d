"""The HTML report and the exports, from the findings of the real sample capture and from a
hostile store whose every captured string is an XSS vector.

The browser half (the page in Debian's Chromium) is tests/e2e/test_report_browser.py; it
imports the corpus and the hostile store from here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from leakmap import paths
from leakmap.cli import main
from leakmap.decode import Limits
from leakmap.export import evidence_har, export_findings, findings_frame, spreadsheet_safe
from leakmap.model import Analysis, Finding, Problem, Request
from leakmap.report import CSP, build_context, payload_tree, redact_value, render, write_report
from leakmap.session import Session
from leakmap.store import EXPORT_COLUMNS, Store

SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
SAMPLE_APP = "mixpanel project 3f9c2a7e51b04d88a1c6e0f2b7d4a913"
MIXPANEL = "Mixpanel, Inc."
# Personal values the official SDK sent in the sample capture.
PERSONAL = ["jane.doe@example.com", "Jane Doe", "+14155550123", "u-58213", "Doctor appointment",
            "runner-jane@example.com"]

# Each vector tries to run script (calling alert/prompt/confirm, or setting window.__xss or the
# title) or to inject markup, from any place a captured string can reach.
XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<script>window.__xss=1</script>",
    "</script><script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script src=data:,alert(1)></script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=window.__xss=1>",
    '"><img src=x onerror=alert(1)>',
    "'><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "</text><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<style>body{display:none}</style>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="jAvAsCrIpT:alert(1)">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '" onmouseover="alert(1)',
    "' onmouseover='alert(1)",
    '" autofocus onfocus="alert(1)" x="',
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "{{7*7}}{% raw %}${alert(1)}",
    "\u2028\u2029<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=`x`onerror=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<svg/onload=alert`1`>",
    "<x contenteditable onblur=alert(1)>lose focus",
    "<link rel=stylesheet href=data:,*{display:none}>",
    "<img src=x onerror=\"document.title='XSS'\">",
    "\"></td></tr></tbody></table><script>window.__xss=1</script>",
    "<a id=filters>shadow</a><form id=f-app>",
]

# Everything the report's own markup is made of; anything else in the page was injected.
ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "main", "nav", "section", "div", "p",
    "b", "i", "h1", "h2", "h3", "h4", "a", "span", "code", "br", "label", "select", "option", "optgroup", "input",
    "button", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "svg", "text", "rect",
    "line", "details", "summary", "dl", "dt", "dd", "ul", "li", "script", "template",
}
ALLOWED_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "rel", "href", "id", "class", "hidden", "type",
    "placeholder", "value", "label", "role", "aria-label", "viewbox", "width", "height", "x", "y", "x1", "y1",
    "x2", "y2", "text-anchor", "rowspan", "open", "aria-sort", "disabled",
}


class _Markup(HTMLParser):
    """Collects every tag and attribute, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def markup_problems(page: str) -> list[str]:
    """Tags, attributes or links the report's template does not produce."""
    parser = _Markup()
    parser.feed(page)
    problems = []
    for tag, attrs in parser.tags:
        if tag not in ALLOWED_TAGS:
            problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRS and not name.startswith("data-"):
                problems.append(f"attribute {name} on <{tag}>")
            if name == "href" and value not in ("data:,",) and not (value or "").startswith("#"):
                problems.append(f"link {value!r}")
    if sum(tag == "script" for tag, _ in parser.tags) != 1:
        problems.append("more than one <script>")
    return problems


def hostile_store(path: Path) -> Store:
    """A store in which every captured string (app, host, URL, headers, cookies, field names
    and values, finding values and paths, decode chain, errors, rule text, sources) is an
    XSS vector."""
    store = Store(path)
    for i, v in enumerate(XSS_VECTORS):
        request = Request(flow_id=v, source=v, timestamp=1_700_000_000 + i, method="POST",
                          url=f"https://t{i % 3}.example/{v}?q={v}#{v}", headers=[(v, v), ("cookie", v)], client=v)
        status = ("decoded", "not_decoded", "no_rule")[i % 3]
        field_path = paths.child(paths.child("body", v), v)
        analysis = Analysis(
            request, status, tracker=v if status != "no_rule" else "", company=v if status != "no_rule" else "",
            category=v, endpoint=v, rule_source=f"{v} https://github.com/x/{v}", match_via=v, error=v,
            decode_chain=[v, f"body: {v}"], app=v if i % 4 else "Hostile <App>", app_signal=v,
            app_evidence=f"{v} = {v}",
            payload={"body": {v: {v: v}, "list": [v, {v: [v]}]}, "header": {v: v, "referer": v},
                     "cookie": {v: v}, "query": {"q": v}},
            fields=[(field_path, v, "email"), ("body.list[0]", v, ""), (v, v, v)],
            findings=[Finding("email", v, field_path, "body", "rule", v), Finding(v, v, v, v, v, v),
                      Finding("latitude", v, "body.list[0]", "body", "pattern", v)])
        store.add(analysis)
    store.set_stats(XSS_VECTORS[0], {"flows_read": 1, "skipped": {XSS_VECTORS[1]: 1}, "tracker_requests": 1,
                                     "decoded": 1, "not_decoded": {XSS_VECTORS[2]: 1}, "findings": 1})
    store.add_problem(Problem(XSS_VECTORS[3], XSS_VECTORS[4], XSS_VECTORS[5]))
    store.commit()
    return store


def sample_store(path: Path) -> Store:
    """The findings of the bundled real capture (the official Python SDK through mitmdump)."""
    store = Store(path)
    Session(store).replay(SAMPLE, Limits())
    return store


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Store:
    return sample_store(tmp_path_factory.mktemp("sample") / "s.db")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Store:
    return hostile_store(tmp_path_factory.mktemp("hostile") / "h.db")


# --- content -----------------------------------------------------------------------------------------

def test_matrix_and_evidence_of_the_real_capture(sample):
    context = build_context(sample)
    cell = context["matrix"][(SAMPLE_APP, MIXPANEL)]
    assert {"email", "name", "phone", "user_id", "event_name"} <= set(cell["types"])
    assert cell["level"] == "high" and cell["types"][0] in ("email", "name", "phone")
    first = next(e for e in context["evidence"] if e["id"] == 1)
    email = next(f for f in first["findings"] if f["data_type"] == "email")
    assert email["value"] == "jane.doe@example.com" and email["path"] == "body.data.properties.user_email"
    assert f'id="{email["node"]}" class="hit s-high"' in first["tree"]
    assert first["decode_chain"] == ["body: form", "body.data: json"]
    assert first["app_signal"] == "payload_project_key" and first["rule_sources"]
    # every uploaded field is listed, labelled where known
    fields = {f["path"]: f for f in first["fields"]}
    assert fields["body.data.properties.$insert_id"]["data_type"] == ""
    assert fields["body.data.properties.mp_lib"]["data_type"] == "sdk_name"


def test_overview_puts_the_most_sensitive_first_and_sections_carry_metadata(sample):
    context = build_context(sample)
    key = context["key_findings"]
    # the sample's fitness app sends a heart rate: special categories come first (GDPR Art. 9)
    assert [k["category"] for k in key][:7] == ["special"] * 3 + ["contact"] * 4
    assert {k["data_type"] for k in key} >= {"health", "email", "latitude", "advertising_id"}
    section = next(s for s in context["app_sections"] if s["app"] == SAMPLE_APP)
    party = section["parties"][0]
    assert party["party"] == MIXPANEL and party["country"] == "US" and party["category"] == "analytics"
    assert party["requests"] == 3 and section["first"].endswith("UTC")
    assert [c for c, _ in party["categories"]][:2] == ["identifiers", "contact"]
    company = context["company_sections"][0]
    assert company["party"] == MIXPANEL and len(company["apps"]) == 2
    # Column heads name the product readers know (the company's legal name heads its section).
    assert [(p["party"], p["brands"]) for p in context["parties"]] == [(MIXPANEL, "Mixpanel")]
    html = render(context)
    assert '<th class="col"><a href="#co-1">Mixpanel</a></th>' in html and f"<h3>{MIXPANEL} (Mixpanel)</h3>" in html
    assert context["totals"] == {"apps": 2, "companies": 1, "tracker_requests": 5, "not_decoded": 0,
                                 "no_rule_hosts": 0, "no_rule_requests": 0, "findings": 43, "high": 12,
                                 "special": 3}
    assert sum(b["t"] for b in context["time_chart"]["bars"]) == 5
    assert context["types_chart"]["bars"][0]["party"] == MIXPANEL


def test_payload_tree_escapes_and_marks_the_finding_paths():
    payload = {"body": {"a<b": [1, {"$email": "x@y.example"}], "s": "<i>"}}
    path = paths.child(paths.item(paths.child("body", "a<b"), 1), "$email")
    tree, ids = payload_tree(payload, 7, {path: "email"}, {path})
    assert ids == {path: "r7-n0"}
    assert '<li id="r7-n0" class="hit s-high"><span class="k">$email</span>' in tree
    assert "a&lt;b" in tree and "&lt;i&gt;" in tree and "<i>" not in tree


def test_no_rule_hosts_and_undecodable_requests_are_shown(hostile):
    context = build_context(hostile)
    statuses = {q["status"] for q in context["requests_index"]}
    assert statuses == {"decoded", "not_decoded", "no_rule"}
    assert context["totals"]["no_rule_hosts"] == 1 and context["totals"]["not_decoded"] > 0
    assert any(p["party"].endswith(" (no rule)") for p in context["parties"])


def test_evidence_is_limited_but_every_request_is_listed(sample):
    context = build_context(sample, evidence_limit=2)
    assert len(context["evidence"]) == 2 and len(context["requests_index"]) == 5
    cited = {r["first_request"] for r in context["rows"]}
    assert {e["id"] for e in context["evidence"]} <= cited
    assert sum(q["embedded"] for q in context["requests_index"]) == 2


# --- security ----------------------------------------------------------------------------------------

def test_corpus_is_large_enough():
    assert len(set(XSS_VECTORS)) >= 50


def test_hostile_values_inject_no_markup(hostile):
    page = render(build_context(hostile))
    assert markup_problems(page) == []
    injected = markup_problems(page.replace("</main>", XSS_VECTORS[5] + "</main>"))  # the check itself works
    assert "tag <img>" in injected and "attribute onerror on <img>" in injected
    for vector in XSS_VECTORS:
        assert html.escape(vector, quote=False) in page or vector not in page
    assert "\u2028" not in page.split("<script>")[1]  # nothing captured inside the script


@pytest.mark.parametrize("redact", [False, True])
def test_csp_allows_only_our_inline_script_and_style(sample, redact):
    page = render(build_context(sample, redact=redact))
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    assert csp == CSP and "default-src 'none'" in csp and "unsafe-inline" not in csp
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    for text, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page must load nothing"
    assert " style=" not in page


# --- redaction ---------------------------------------------------------------------------------------

def test_redaction_covers_report_and_every_export(sample, tmp_path):
    page = render(build_context(sample, redact=True))
    har = json.dumps(evidence_har(sample, redact=True), ensure_ascii=False)
    for fmt in ("csv", "json", "parquet"):
        assert export_findings(sample, tmp_path / f"f.{fmt}", fmt, redact=True) == 43
    exported = [(tmp_path / "f.csv").read_text(), (tmp_path / "f.json").read_text(),
                pd.read_parquet(tmp_path / "f.parquet").to_csv()]
    for text in (page, har, *exported):
        for value in PERSONAL:
            assert value not in text, value
    assert redact_value("jane.doe@example.com") in page and redact_value("jane.doe@example.com") in exported[0]
    assert "python-requests/2.34.2" in page and ">sdk_name<" in page  # device/app facts stay readable


def test_redaction_masks_cookies_credentials_urls_and_client(tmp_path):
    store = Store(tmp_path / "c.db")
    request = Request("f1", "/home/tester/capture.mitm", 1.0, "GET",
                      "https://t.example/u/alice@example.org/x?email=alice@example.org",
                      [("Cookie", "sid=SESSIONSECRET"), ("Authorization", "Bearer TOKENSECRET")], client="192.168.1.23")
    store.add(Analysis(request, "decoded", "t", "T Inc.", "analytics", "e", app="App",
                       payload={"header": {"authorization": "Bearer TOKENSECRET", "x-custom-id": "CUSTOMSECRET"},
                                "cookie": {"sid": "SESSIONSECRET"}, "query": {"email": "alice@example.org"}},
                       findings=[Finding("email", "alice@example.org", "query.email", "query", "pattern")]))
    page = render(build_context(store, redact=True))
    har = json.dumps(evidence_har(store, redact=True))
    for secret in ("SESSIONSECRET", "TOKENSECRET", "CUSTOMSECRET", "alice@example.org", "192.168.1.23", "/home/tester"):
        assert secret not in page and secret not in har, secret
    assert "capture.mitm" in page


# --- exports -----------------------------------------------------------------------------------------

def test_exports_hold_the_same_rows_in_every_format(sample, tmp_path):
    frame = findings_frame(sample, redact=False)
    assert list(frame.columns) == EXPORT_COLUMNS and len(frame) == 43
    for fmt in ("csv", "json", "parquet"):
        assert export_findings(sample, tmp_path / f"f.{fmt}", fmt) == 43
    csv = pd.read_csv(tmp_path / "f.csv", dtype=str, keep_default_na=False)
    records = json.loads((tmp_path / "f.json").read_text())
    parquet = pd.read_parquet(tmp_path / "f.parquet")
    assert [r["value"] for r in records] == list(parquet["value"])  # the exact values
    # the CSV defuses cells a spreadsheet would run as formulas ("+14155550123" among them)
    assert list(csv["value"]) == [spreadsheet_safe(r["value"]) for r in records]
    assert "'+14155550123" in list(csv["value"])
    assert list(parquet.columns) == EXPORT_COLUMNS


def test_evidence_har_holds_only_tracker_requests(hostile):
    har = evidence_har(hostile)
    log = har["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "leakmap"
    statuses = {e["_leakmap"]["status"] for e in log["entries"]}
    assert statuses == {"decoded", "not_decoded"}
    entry = log["entries"][0]
    assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
    assert entry["request"]["postData"]["comment"].startswith("decoded by leakmap")
    assert entry["_leakmap"]["findings"]


def test_cli_writes_parquet_and_har(tmp_path):
    result = CliRunner().invoke(main, ["analyze", str(SAMPLE), "-o", str(tmp_path / "r.html"), "-q",
                                       "--findings", str(tmp_path / "f.parquet"),
                                       "--evidence-har", str(tmp_path / "e.har"), "--redact"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "f.parquet")) == 43
    assert len(json.loads((tmp_path / "e.har").read_text())["log"]["entries"]) == 5


def test_parquet_without_pyarrow_is_a_clear_usage_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails as if not installed
    result = CliRunner().invoke(main, ["analyze", str(SAMPLE), "-o", str(tmp_path / "r.html"), "-q",
                                       "--format", "parquet", "--findings", str(tmp_path / "f.out")])
    assert result.exit_code == 2
    assert "pyarrow" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()  # checked before any work


def test_write_report_from_a_store_file(sample, tmp_path):
    write_report(sample, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert "jane.doe@example.com" in text and text.count("<script") == 1


def test_other_hosts_contacted_are_listed_even_when_not_stored(tmp_path):
    from mitmproxy import io as mio
    from mitmproxy.test import tflow

    from leakmap.decode import Limits
    from leakmap.report import write_report
    from leakmap.session import Session
    from leakmap.store import Store

    capture = tmp_path / "other.mitm"
    with capture.open("wb") as f:
        writer = mio.FlowWriter(f)
        for host in ("cdn.images.example.net", "api.images.example.net", "fonts.static.example.org"):
            flow = tflow.tflow()
            flow.request.host = host
            flow.request.content = b""  # uploads nothing: counted, not stored (a body goes to the generic path)
            del flow.request.headers["header"]
            writer.add(flow)
    store = Store(tmp_path / "s.db")
    stats = Session(store).replay(capture, Limits())
    assert stats.other_hosts == {"example.net": 2, "example.org": 1}
    write_report(store, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "<code>example.net</code></td><td>2</td>" in html and "<code>example.org</code></td><td>1</td>" in html
