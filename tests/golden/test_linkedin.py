"""Golden tests: LinkedIn Insight Tag hits in the shape of the captured requests that
Omnibug's LinkedIn provider tests (MisterPhilip/omnibug test/providers/LinkedIn.js@ce9a0aac)."""

from __future__ import annotations

from pathlib import Path

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "linkedin"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_js_page_view_with_member_cookies(analyzer):
    url = ("https://px.ads.linkedin.com/collect?v=2&fmt=js&pid=4471890&url=https%3A%2F%2Fshop.example%2Fpricing"
           "&time=1767225600000&li_fat_id=7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6")
    cookies = 'bcookie="v=2&3f6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"; li_sugr=0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d'
    a = analyze(analyzer, make_request("GET", url, headers=[("Cookie", cookies)]), "collect")
    has(a, "project_key", "4471890", "query.pid")
    has(a, "page_url", "https://shop.example/pricing", "query.url")
    has(a, "other_id", "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", "query.li_fat_id")
    has(a, "browser_id", "0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d", "cookie.li_sugr")


def test_image_conversion(analyzer):
    a = analyze(analyzer, make_request("GET", "https://px.ads.linkedin.com/collect/?pid=4471890&conversionId=9876543"
                                              "&fmt=gif"), "collect")
    has(a, "event_name", "9876543", "query.conversionId")
