"""Golden tests: FullStory recorder requests in the shapes of public captures
(rs.fullstory.com/rec/page with {OrgId, Url}; rec/bundle/v2?OrgId=&UserId=), gzip as the
recorder may send bundles, and the @fullstory/browser 2.1.1 script URL."""

from __future__ import annotations

import gzip
from pathlib import Path

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "fullstory"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
TEXT = [("Content-Type", "text/plain")]


def test_page_start_with_identity(analyzer):
    body = {"OrgId": "o-1A2B3C-na1", "Url": "https://shop.example/account", "Referrer": "https://shop.example/",
            "UserId": "5719282936463360:4614219293237248", "Uid": "fs-user-81",
            "UserVars": {"email": "fs.user@example.org", "displayName": "Fay Story", "plan_str": "pro"}}
    a = analyze(analyzer, make_request("POST", "https://rs.fullstory.com/rec/page", compact_json(body), TEXT), "rec")
    has(a, "project_key", "o-1A2B3C-na1", "body.OrgId")
    has(a, "page_url", "https://shop.example/account", "body.Url")
    has(a, "user_id", "fs-user-81", "body.Uid")
    has(a, "email", "fs.user@example.org", "body.UserVars.email")
    has(a, "name", "Fay Story", "body.UserVars.displayName")
    has(a, "browser_id", "5719282936463360:4614219293237248", "body.UserId")


def test_gzip_bundle(analyzer):
    body = {"Seq": 3, "Evts": [{"When": 1200, "Kind": 2, "Args": ["typed text", "#search"]}]}
    a = analyze(analyzer, make_request("POST", "https://rs.fullstory.com/rec/bundle/v2?OrgId=o-1A2B3C-na1"
                                               "&UserId=5719282936463360&SessionId=6340396375752704&PageId=1&Seq=3",
                                       gzip.compress(compact_json(body).encode()), TEXT), "rec")
    has(a, "project_key", "o-1A2B3C-na1", "query.OrgId")
    has(a, "session_id", "6340396375752704", "query.SessionId")
    has(a, "session_replay", "typed text", "body.Evts[0].Args[0]")
