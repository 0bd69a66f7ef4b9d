"""Golden tests: ID5 requests in the shapes TrackHAR documents (tweaselORG/TrackHAR
src/adapters/id5.ts@b0189485): the partner data pd, base64 of a query string with numbered
keys, inside /g/v2 and /gm/v3 bodies; the cookie-sync pixel."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json,
                            make_request)

TRACKER = "id5"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

HEM = hashlib.sha256(b"id5.reader@example.org").hexdigest()
PD = base64.b64encode(urlencode({"1": HEM, "8": "https://news.example/a", "10": "198.51.100.142",
                                 "12": "Mozilla/5.0 (X11) Firefox/140.0"}).encode()).decode()


def test_g_v2_with_partner_data(analyzer):
    body = {"partner": 1234, "v": "1.3.0", "o": "pbjs", "tml": "https://news.example/a", "ref": "https://search.example/",
            "u": "https://news.example/a", "top": 1, "gdpr": 1, "gdpr_consent": "CQH2gAAQ", "pd": PD}
    a = analyze(analyzer, make_request("POST", "https://id5-sync.com/g/v2/1234.json", compact_json(body), [JSON_CT]),
                "fetch")
    has(a, "project_key", "1234", "path.partner")
    has(a, "hashed_email", HEM, "body.pd.1")
    has(a, "public_ip", "198.51.100.142", "body.pd.10")
    has(a, "user_agent", "Mozilla/5.0 (X11) Firefox/140.0", "body.pd.12")
    has(a, "page_url", "https://news.example/a", "body.tml")
    has(a, "consent_state", "CQH2gAAQ", "body.gdpr_consent")


def test_gm_v3_and_sync(analyzer):
    body = {"requests": [{"partner": 99, "tml": "https://blog.example/", "ua": "Mozilla/5.0 (Android 15)",
                          "gdpr_consent": "CQH2gAAQ", "pd": PD}]}
    a = analyze(analyzer, make_request("POST", "https://id5-sync.com/gm/v3", compact_json(body), [JSON_CT]), "fetch")
    has(a, "project_key", "99", "body.requests[0].partner")
    has(a, "hashed_email", HEM, "body.requests[0].pd.1")
    a = analyze(analyzer, make_request("GET", "https://id5-sync.com/s/1234/7.gif?puid=partner-u-5&gdpr_consent=CQH2gAAQ",
                                       headers=[("Cookie", "id5=ID5*cookieval")]), "sync")
    has(a, "user_id", "partner-u-5", "query.puid")
    has(a, "other_id", "ID5*cookieval", "cookie.id5")
