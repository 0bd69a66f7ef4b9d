"""Golden tests: Mouseflow's per-site script (cdn.mouseflow.com/projects/<website id>.js, as
public snippets load it) and an upload to another mouseflow.com host (generic decoding)."""

from __future__ import annotations

from pathlib import Path

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "mouseflow"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
SITE = "ce83d290-2d2c-4585-8eb3-479458dcd50b"


def test_script_and_upload(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://cdn.mouseflow.com/projects/{SITE}.js"), "script")
    has(a, "project_key", SITE, "path.website_id")
    a = analyze(analyzer, make_request("POST", f"https://o2.mouseflow.com/events?website={SITE}&session=9f8e7d6c",
                                       b"page=%2Fcheckout&typed=4111", [("Content-Type", "application/x-www-form-urlencoded")]),
                "recording")
    has(a, "project_key", SITE, "query.website")
    has(a, "session_id", "9f8e7d6c", "query.session")
