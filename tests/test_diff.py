"""`diff.compare` on two small stores: rows per level, identifiers changed and unchanged,
counts that are not a difference, and a page that shows hostile values as text."""

from __future__ import annotations

import html
from pathlib import Path

from leakmap.diff import compare, render_html, summarize
from leakmap.model import Analysis, Finding, Request
from leakmap.store import Store

XSS = '<img src=x onerror=alert(1)>"\'&'


def store(path: Path, sent: list[tuple[str, str, str, str]]) -> Store:
    """A store with one request per (app, tracker, data type, value)."""
    s = Store(path)
    s.set_trackers([("mixpanel", "Mixpanel", "Mixpanel, Inc.", "analytics", "US", ""),
                    ("sentry", "Sentry", "Functional Software, Inc.", "error_reporting", "US", "")])
    for i, (app, tracker, data_type, value) in enumerate(sent):
        company = {"mixpanel": "Mixpanel, Inc.", "sentry": "Functional Software, Inc."}[tracker]
        request = Request(f"f{i}", "t.mitm", float(i), "POST", f"https://{tracker}.example/x", [])
        s.add(Analysis(request, "decoded", tracker, company, "analytics", "e", app=app,
                       findings=[Finding(data_type, value, "body.v", "body", "rule")]))
    return s


def test_compare_lists_each_level_and_identifiers(tmp_path):
    base = summarize(store(tmp_path / "a.db", [
        ("Notes", "mixpanel", "user_id", "u-1"), ("Notes", "mixpanel", "advertising_id", "ad-1"),
        ("Notes", "mixpanel", "phone", "+15550100"), ("Notes", "mixpanel", "event_name", "Open"),
        ("Old App", "mixpanel", "event_name", "Open")]))
    new = summarize(store(tmp_path / "b.db", [
        ("Notes", "mixpanel", "user_id", "u-1"), ("Notes", "mixpanel", "advertising_id", "ad-2"),
        ("Notes", "mixpanel", "event_name", "Open"), ("Notes", "mixpanel", "event_name", "Share"),
        ("Notes", "sentry", "error_report", "boom")]))
    diff = compare(base, new, show_values=True)
    assert diff.differs
    assert [(r["what"], r["app"], r["receiver"], r["data_type"]) for r in diff.added] == [
        ("receiver", "Notes", "Sentry", None), ("data_type", "Notes", "Sentry", "error_report")]
    assert [(r["what"], r["app"], r["receiver"], r["data_type"]) for r in diff.removed] == [
        ("app", "Old App", None, None), ("data_type", "Notes", "Mixpanel", "phone"),
        ("receiver", "Old App", "Mixpanel", None), ("data_type", "Old App", "Mixpanel", "event_name")]
    assert [(r["data_type"], r["base_value"], r["value"]) for r in diff.changed] == [
        ("advertising_id", ["ad-1"], ["ad-2"])]
    assert [(r["data_type"], r["value"]) for r in diff.unchanged] == [("user_id", ["u-1"])]
    counts = {(c["app"], c["receiver"]): (c["base_requests"], c["new_requests"]) for c in diff.counts}
    assert counts[("Notes", "Mixpanel")] == (4, 4) and counts[("Notes", "Sentry")] == (0, 1)


def test_same_run_is_no_difference_even_with_other_counts(tmp_path):
    one = summarize(store(tmp_path / "a.db", [("Notes", "mixpanel", "event_name", "Open")]))
    two = summarize(store(tmp_path / "b.db", [("Notes", "mixpanel", "event_name", "Open")] * 3))
    diff = compare(one, two)
    assert not diff.differs and diff.counts[0]["new_requests"] == 3


def test_page_shows_hostile_values_as_text(tmp_path):
    base = summarize(store(tmp_path / "a.db", []))
    new = summarize(store(tmp_path / "b.db", [(XSS, "mixpanel", "email", XSS)]))
    page = render_html(compare(base, new, show_values=True), [XSS], [XSS], show_values=True)
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    policy = html.unescape(page.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0])
    assert policy.startswith("default-src 'none'; script-src 'sha256-") and "style-src 'sha256-" in policy
