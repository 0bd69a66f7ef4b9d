"""Golden tests: Quantcast pixels built as the AMP project's Quantcast configuration builds
them (ampproject/amphtml vendors/quantcast.json@7b2e12aa): `;`-separated parameters in the
URL path."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "quantcast"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_page_view(analyzer):
    url = ("https://pixel.quantserve.com/pixel;r=1583529321;a=p-9xYz3AbCdEfGh;labels=_fp.event.PageView;fpan=0;"
           "fpa=P0-123456789-1767225600000;ns=0;ce=1;cm=;je=0;sr=2560x1440x24;enc=n;et=1767225600000;"
           f"ref={quote('https://search.example/', safe='')};url={quote('https://news.example/a', safe='')}")
    a = analyze(analyzer, make_request("GET", url, headers=[("Cookie", "mc=5f1e2d3c-48a2b-9c1d0-e7f6a")]), "pixel")
    has(a, "project_key", "p-9xYz3AbCdEfGh", "path.params.a")
    has(a, "browser_id", "P0-123456789-1767225600000", "path.params.fpa")
    has(a, "screen_resolution", "2560x1440x24", "path.params.sr")
    has(a, "page_url", "https://news.example/a", "path.params.url")
    has(a, "referrer", "https://search.example/", "path.params.ref")
    has(a, "event_name", "_fp.event.PageView", "path.params.labels")
    has(a, "browser_id", "5f1e2d3c-48a2b-9c1d0-e7f6a", "cookie.mc")


def test_noscript_image(analyzer):
    a = analyze(analyzer, make_request("GET", "https://pixel.quantserve.com/pixel/p-9xYz3AbCdEfGh.gif?labels=Sale"), "pixel")
    has(a, "project_key", "p-9xYz3AbCdEfGh", "path.pcode")
    has(a, "event_name", "Sale", "query.labels")
