"""Golden tests: Yandex Metrica hits built as the AMP project's Metrica vendor configuration
builds them (ampproject/amphtml extensions/amp-analytics/0.1/vendors/metrika.json@34d7b5fe):
browser-info is one text of key:value pairs joined by ':'."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels, make_request

TRACKER = "yandex_metrica"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
YM_UID = "1701234567123456789"
BROWSER_INFO = ("pv:1:amp:1:z:180:i:20261207184500:rn:738201:la:ru-RU:en:utf-8:rqn:1:s:2560x1440x24:w:1280x720"
                f":ds:0,0,12,30,0,0,0,5,2,400,410,3,350:u:{YM_UID}:hid:987654321:t:Checkout")


def test_page_view(analyzer):
    query = {"browser-info": BROWSER_INFO, "site-info": compact_json({"user_email": "ivan@example.org", "tier": "vip"}),
             "page-url": "https://shop.example/checkout", "page-ref": "https://ya.example/search?text=shoes"}
    a = analyze(analyzer, make_request("GET", "https://mc.yandex.ru/watch/98765432?" + urlencode(query),
                                       headers=[("Cookie", "yandexuid=4815162342101112131")]), "watch")
    assert "query.browser-info: pairs" in a.decode_chain, a.decode_chain
    has(a, "project_key", "98765432", "path.counter")
    has(a, "browser_id", YM_UID, "query.browser-info.u")
    has(a, "language", "ru-RU", "query.browser-info.la")
    has(a, "screen_resolution", "2560x1440x24", "query.browser-info.s")
    has(a, "viewport_size", "1280x720", "query.browser-info.w")
    has(a, "timezone", "180", "query.browser-info.z")
    has(a, "screen_name", "Checkout", "query.browser-info.t")
    has(a, "page_url", "https://shop.example/checkout", "query.page-url")
    has(a, "referrer", "https://ya.example/search?text=shoes", "query.page-ref")
    has(a, "email", "ivan@example.org", "query.site-info.user_email", detector="key_name")
    has(a, "custom_property", "vip", "query.site-info.tier")
    has(a, "browser_id", "4815162342101112131", "cookie.yandexuid")
    assert labels(a)["query.browser-info.hid"] == ""


def test_goal_and_trailing_separator(analyzer):
    query = {"browser-info": f"ar:1:z:180:u:{YM_UID}:", "page-url": "goal://shop.example/signup",
             "page-ref": "https://shop.example/"}
    a = analyze(analyzer, make_request("POST", "https://mc.yandex.com/watch/98765432/1?" + urlencode(query)), "watch")
    has(a, "browser_id", YM_UID, "query.browser-info.u")
    has(a, "page_url", "goal://shop.example/signup", "query.page-url")


def test_tag_loader(analyzer):
    a = analyze(analyzer, make_request("GET", "https://mc.yandex.ru/metrika/tag.js",
                                       headers=[("Referer", "https://shop.example/")]), "tag")
    has(a, "page_url", "https://shop.example/", "header.referer")
