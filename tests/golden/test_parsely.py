"""Golden tests: Parse.ly hits in the shape of the captured requests that Omnibug's Parse.ly
provider tests (MisterPhilip/omnibug test/providers/Parsely.js@ce9a0aac) and of the AMP
project's configuration (ampproject/amphtml vendors/parsely.json@7b2e12aa)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "parsely"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
VISITOR = "s1qszb2j-q5wm-17do-aufa-8bokudx1gbcc"


def test_heartbeat(analyzer):
    query = {"rand": "1234567890123", "plid": "w8a7jtgi-q7zy-gb47-b8sc-op8kqqcbzl96", "idsite": "news.example",
             "url": "https://news.example/politics/story", "urlref": "https://www.search.example/",
             "screen": "3360x1890|3360x1865|24", "data": compact_json({"subscriber_email": "reader@example.org"}),
             "sid": "12", "surl": "https://news.example/", "sts": "1685526045351", "action": "heartbeat", "inc": "5",
             "tt": "4908", "pvid": "dh52q4j0-sb98-9k01-14ql-k7471gzggc15", "u": f"pid={VISITOR}"}
    a = analyze(analyzer, make_request("GET", "https://p1.parsely.com/plogger/?" + urlencode(query)), "plogger")
    has(a, "project_key", "news.example", "query.idsite")
    has(a, "page_url", "https://news.example/politics/story", "query.url")
    has(a, "referrer", "https://www.search.example/", "query.urlref")
    has(a, "event_name", "heartbeat", "query.action")
    has(a, "browser_id", VISITOR, "query.u.pid")
    has(a, "time_spent", "4908", "query.tt")
    has(a, "email", "reader@example.org", "query.data.subscriber_email", detector="pattern")


def test_amp_page_view_with_metadata(analyzer):
    query = {"rand": "1767225600000", "idsite": "news.example", "url": "https://news.example/amp/x",
             "title": "Big story", "ampid": "amp-Wq3rT5yU7iO9pA1sD3fG5h", "action": "pageview",
             "metadata": compact_json({"canonical_url": "https://news.example/x"})}
    a = analyze(analyzer, make_request("GET", "https://srv.pixel.parsely.com/plogger/?" + urlencode(query)), "plogger")
    has(a, "browser_id", "amp-Wq3rT5yU7iO9pA1sD3fG5h", "query.ampid")
    has(a, "page_url", "https://news.example/x", "query.metadata.canonical_url")
    has(a, "screen_name", "Big story", "query.title")
