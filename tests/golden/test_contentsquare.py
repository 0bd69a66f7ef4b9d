"""Golden tests: Contentsquare page views built as the AMP project's Contentsquare
configuration builds them (ampproject/amphtml vendors/contentsquare.js@a4113cb3) and a
recording request in the shape of public captures (k-<region>.contentsquare.net/v2/recording)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "contentsquare"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
UU = "a24ee269-794f-ab95-a716-3eed629077c0"


def test_pageview(analyzer):
    query = {"pid": "4451", "pn": "2", "hd": "1767225600000", "dw": "1280", "dh": "4200", "sw": "2560", "sh": "1440",
             "dr": "https://search.example/", "url": "https://shop.example/p/9", "la": "fr-FR", "v": "amp-0.0.1",
             "sn": "3", "uu": UU}
    a = analyze(analyzer, make_request("GET", "https://c.contentsquare.net/pageview?" + urlencode(query)), "pageview")
    has(a, "project_key", "4451", "query.pid")
    has(a, "browser_id", UU, "query.uu")
    has(a, "page_url", "https://shop.example/p/9", "query.url")
    has(a, "referrer", "https://search.example/", "query.dr")
    has(a, "language", "fr-FR", "query.la")
    has(a, "screen_width", "2560", "query.sw")


def test_recording(analyzer):
    a = analyze(analyzer, make_request("POST", f"https://k-aus1.contentsquare.net/v2/recording?rt=5&v=11.6.3&pid=10304"
                                               f"&uu={UU}&sn=13&pn=10&ri=6", b"\x1f\x8b\x08\x00binary"), "recording")
    has(a, "project_key", "10304", "query.pid")
    has(a, "browser_id", UU, "query.uu")
