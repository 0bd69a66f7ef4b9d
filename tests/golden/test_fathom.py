"""Golden tests: Fathom hits in the shape of public captures of real hits
(cdn.usefathom.com/?h=<scheme and host>&p=<path>&r=&sid=<site id>&qs=<JSON>&cid=)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "fathom"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_page_view_and_event(analyzer):
    query = {"h": "https://docs.example", "p": "/guide/install", "r": "https://search.example/",
             "sid": "PMFMDJGK", "qs": compact_json({"utm_source": "newsletter"}), "cid": "92019760"}
    a = analyze(analyzer, make_request("GET", "https://cdn.usefathom.com/?" + urlencode(query)), "hit")
    has(a, "project_key", "PMFMDJGK", "query.sid")
    has(a, "page_url", "https://docs.example", "query.h")
    has(a, "page_url", "/guide/install", "query.p")
    has(a, "page_url", "newsletter", "query.qs.utm_source")
    query.update(name="Signup", value="1500")
    a = analyze(analyzer, make_request("GET", "https://cdn.usefathom.com/?" + urlencode(query)), "hit")
    has(a, "event_name", "Signup", "query.name")
    has(a, "revenue", "1500", "query.value")
