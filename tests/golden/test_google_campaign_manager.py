"""Golden tests: Floodlight activities in the shape of Omnibug's captured requests
(MisterPhilip/omnibug test/providers/GoogleDoubleClick.js@ce9a0aac): `;`-separated parameters
in the URL path, opened by the rule's {form: {sep: ";"}} step."""

from __future__ import annotations

from pathlib import Path

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, make_request

TRACKER = "google_campaign_manager"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def test_sales_activity(analyzer):
    url = ("https://1234567.fls.doubleclick.net/activityi;src=1234567;type=group1;cat=thank123;qty=1;cost=666.66;"
           "ord=xact111;gtm=2ou430;u3=customer-99;auiddc=890045014.1556389977;gdpr=1;gdpr_consent=CQH2gAAQ;"
           "~oref=https%3A%2F%2Fshop.example%2Fthanks?")
    a = analyze(analyzer, make_request("GET", url, headers=[("Cookie", "IDE=AHWqTUm1a2b3c4d5e6f7g8h9")]), "activity")
    assert a.decode_chain[-1:] == ["path.params: form"], a.decode_chain  # after the status line
    has(a, "project_key", "1234567", "path.params.src")
    has(a, "event_name", "group1", "path.params.type")
    has(a, "event_name", "thank123", "path.params.cat")
    has(a, "revenue", "666.66", "path.params.cost")
    has(a, "custom_property", "customer-99", "path.params.u3")
    has(a, "browser_id", "890045014.1556389977", "path.params.auiddc")
    has(a, "consent_state", "CQH2gAAQ", "path.params.gdpr_consent")
    has(a, "page_url", "https://shop.example/thanks", "path.params.~oref")
    has(a, "browser_id", "AHWqTUm1a2b3c4d5e6f7g8h9", "cookie.IDE")


def test_ddm_activity_in_an_app(analyzer):
    url = ("https://ad.doubleclick.net/ddm/activity/src=7654321;type=invmedia;cat=appopen;ord=1;num=42;"
           "dc_rdid=38400000-8cf0-11bd-b23e-10b96e40000d;dc_lat=0;tag_for_child_directed_treatment=0")
    a = analyze(analyzer, make_request("GET", url, headers=[("X-Requested-With", "com.shop.example")]), "activity")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "path.params.dc_rdid")
    has(a, "app_id", "com.shop.example", "header.x-requested-with")
