"""Golden tests: Adobe Analytics hits (AEP Mobile POST form with context data, AppMeasurement GET), Edge Network and ECID service."""

from __future__ import annotations

from urllib.parse import quote

from golden_support import (FORM_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "adobe_analytics"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


ECID = "12345678901234567890123456789012345678"
AAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def _tree(data: dict[str, str]) -> dict[str, dict]:
    """ContextDataUtil.translateContextData: keys split on dots into nodes {value, children}."""
    root: dict[str, dict] = {}
    for key, value in data.items():
        nodes = root
        *parents, last = key.split(".")
        for part in parents:
            nodes = nodes.setdefault(part, {"value": None, "children": {}})["children"]
        nodes.setdefault(last, {"value": None, "children": {}})["value"] = value
    return root


def _serialize(params: dict[str, object]) -> str:
    """ContextDataUtil.serializeToQueryString: `&key=value`; a context-data node writes its own
    value, then its children between `&key.` and `&.key` (keys and values UrlEncoder-encoded)."""
    out = ""
    for key, value in params.items():
        key = quote(key, safe="-._~")
        if isinstance(value, dict) and "children" in value:
            if value["value"] is not None:
                out += f"&{key}={quote(value['value'], safe='-._~')}"
            if value["children"]:
                out += f"&{key}.{_serialize(value['children'])}&.{key}"
        elif isinstance(value, dict):  # a whole tree under one var ("c", "cid")
            out += _serialize({key: {"value": None, "children": value}})
        else:
            out += f"&{key}={quote(str(value), safe='-._~')}"
    return out


CONTEXT_DATA = {  # AnalyticsState.defaultData + lifecycle context data + the app's own keys
    "a.AppID": "Example Bank 5.4.0 (540)", "a.CarrierName": "Vodafone", "a.DeviceName": "SM-S918B",
    "a.OSVersion": "Android 14", "a.Resolution": "1440x3088", "a.locale": "en-GB", "a.systemLocale": "en-GB",
    "a.LaunchEvent": "LaunchEvent", "a.Launches": "12", "a.DaysSinceFirstUse": "40", "a.DaysSinceLastUse": "1",
    "a.HourOfDay": "10", "a.DayOfWeek": "5", "a.RunMode": "Application", "a.adid": AAID,
    "a.PrevSessionLength": "95", "a.TimeSinceLaunch": "31", "a.internalaction": "Lifecycle",
    "a.privacy.mode": "unknown", "a.loc.poi": "Store 12 Berlin", "a.loc.poi.id": "poi-5521",
    "account_type": "premium", "myapp.tier": "gold"}


def mobile_hit_body() -> str:
    """aepsdk-analytics-android AnalyticsRequestSerializer.buildRequest@c9e67af: `ndh=1`, the
    serialized customer-id list (generateAnalyticsCustomerIdString), then the vars with the
    context data tree under `c`."""
    customer_ids = _serialize({"cid": _tree({"DSID_20914.id": "bank-user-31", "DSID_20914.as": "1"})})
    variables = {"c": _tree(CONTEXT_DATA), "mid": ECID, "aamb": "j8Odv6LonN4r3an7LhD3WZrU1bUpAkFkkiY1ncBR96t2PTI",
                 "aamlh": "6", "vid": "bank-visitor-7", "ce": "UTF-8", "t": "00/00/0000 00:00:00 0 -60",
                 "pageName": "Accounts Overview", "pe": "lnk_o", "pev2": "ADBINTERNAL:Lifecycle", "cp": "foreground"}
    return "ndh=1" + customer_ids + _serialize(variables)


def test_mobile_lifecycle_hit_post_keeps_the_context_data_nesting(analyze):
    body = mobile_hit_body()
    assert "&c.&a.&AppID=Example%20Bank%205.4.0%20%28540%29" in body and "&.a" in body
    req = make_request("POST", "https://examplebank.sc.omtrdc.net/b/ss/exbankprod,exbankglobal/0/JAVA-3.0.2-AN/s48213756",
                       body, [FORM_CT])
    a = analyze(req)
    assert_decoded(a, "hit")
    assert_finding(a, "project_key", "exbankprod,exbankglobal", "path.rsid")
    assert_finding(a, "installation_id", ECID, "body.mid")
    assert_finding(a, "user_id", "bank-visitor-7", "body.vid")
    assert_finding(a, "user_id", "bank-user-31", "body.cid.DSID_20914.id")
    assert_finding(a, "app_name", "Example Bank 5.4.0 (540)", "body.c.a.AppID")
    assert_finding(a, "device_model", "SM-S918B", "body.c.a.DeviceName")
    assert_finding(a, "os_version", "Android 14", "body.c.a.OSVersion")
    assert_finding(a, "carrier", "Vodafone", "body.c.a.CarrierName")
    assert_finding(a, "screen_resolution", "1440x3088", "body.c.a.Resolution")  # "WxH" under a width
    assert_finding(a, "language", "en-GB", "body.c.a.locale")
    assert_finding(a, "advertising_id", AAID, "body.c.a.adid")
    assert_finding(a, "session_count", "12", "body.c.a.Launches")
    assert_finding(a, "time_spent", "95", "body.c.a.PrevSessionLength")
    assert_finding(a, "event_name", "Lifecycle", "body.c.a.internalaction")
    assert_finding(a, "consent_state", "unknown", "body.c.a.privacy.mode")
    # `a.loc.poi` has a value and a child: the serializer writes both, the decoder keeps both.
    assert_finding(a, "region", "Store 12 Berlin", "body.c.a.loc.poi[0]")
    assert_finding(a, "region", "poi-5521", "body.c.a.loc.poi[1].id")
    assert_finding(a, "screen_name", "Accounts Overview", "body.pageName")
    assert_finding(a, "custom_property", "premium", "body.c.account_type")
    assert_finding(a, "custom_property", "gold", "body.c.myapp.tier")
    assert a.app == "Example Bank 5.4.0 (540)"


def test_every_lifecycle_key_is_mapped_by_the_rule(analyze):
    a = analyze(make_request("POST", "https://examplebank.sc.omtrdc.net/b/ss/exbankprod/0/JAVA-3.0.2-AN/s1",
                             mobile_hit_body(), [FORM_CT]))
    got = {k: v for k, v in labels(a).items() if k not in ("body.c.account_type", "body.c.myapp.tier")}
    assert "custom_property" not in got.values(), got
    assert not any(key.startswith('body["') for key in got), got  # no marker left as a key


def test_appmeasurement_get(analyze):
    """AppMeasurement.js 2.23.0 _makeRequest + getQueryString: AQB/ndh/pf, t, customer ids
    (cid.), client hints (h.), vars, context data (c.), the ActivityMap fragment after pev3
    (a second c. level), AQE."""
    head = "AQB=1&ndh=1&pf=1&t=" + quote("1/0/2026 10:00:00 4 -60", safe="")
    customer_ids = _serialize({"cid": _tree({"crm.id": "cust-8841", "crm.as": "1"})})
    hints = _serialize({"h": _tree({"architecture": "arm", "bitness": "64", "model": "Pixel 8",
                                    "platformVersion": "14.0.0", "wow64": "false"})})
    variables = _serialize({"mid": ECID, "pageName": "home", "g": "https://www.shop.example/",
                            "r": "https://www.google.com/", "events": "event1,prodView", "v1": "campaign-77",
                            "c2": "logged-in", "s": "1920x1080", "bw": "1600", "bh": "900"})
    context = _serialize({"c": _tree({"cm.ssf": "1", "loyalty.level": "gold"})})
    activity_map = _serialize({"c": _tree({"a.activitymap.page": "home", "a.activitymap.link": "Checkout now",
                                           "a.activitymap.region": "cart-panel", "a.activitymap.pageIDType": "1"})})
    query = head + customer_ids + hints + variables + context + "&pe=lnk_o&pev2=Checkout" + activity_map + "&AQE=1"
    a = analyze(make_request("GET", f"https://smetrics.shop.example.2o7.net/b/ss/shopprod/1/JS-2.23.0/s9876?{query}"))
    assert_decoded(a, "hit")
    assert_finding(a, "page_url", "https://www.shop.example/", "query.g")
    assert_finding(a, "referrer", "https://www.google.com/", "query.r")
    assert_finding(a, "viewport_width", "1600", "query.bw")
    assert_finding(a, "custom_property", "campaign-77", "query.v1")
    assert_finding(a, "user_id", "cust-8841", "query.cid.crm.id")
    assert_finding(a, "device_model", "Pixel 8", "query.h.model")
    assert_finding(a, "os_version", "14.0.0", "query.h.platformVersion")
    assert_finding(a, "cpu_architecture", "arm", "query.h.architecture")
    assert_finding(a, "consent_state", "1", "query.c.cm.ssf")
    assert_finding(a, "custom_property", "gold", "query.c.loyalty.level")
    assert_finding(a, "interaction", "Checkout now", "query.c.a.activitymap.link")
    assert_finding(a, "page_url", "home", "query.c.a.activitymap.page")
    assert_finding(a, "event_name", "Checkout", "query.pev2")


def test_edge_interact(analyze):
    body = {"events": [{"xdm": {
        "eventType": "web.webpagedetails.pageViews", "timestamp": "2026-01-01T00:00:00Z", "_id": "e-1",
        "identityMap": {"ECID": [{"id": ECID, "authenticatedState": "ambiguous", "primary": True}]},
        "web": {"webPageDetails": {"URL": "https://www.shop.example/cart", "name": "cart"},
                "webReferrer": {"URL": "https://www.google.com/"}},
        "device": {"screenHeight": 1080, "screenWidth": 1920, "screenOrientation": "landscape"},
        "environment": {"type": "browser", "browserDetails": {"viewportWidth": 1600, "viewportHeight": 900},
                        "_dc": {"language": "en-GB"}},
        "placeContext": {"localTime": "2026-01-01T10:00:00.000+01:00", "localTimezoneOffset": -60},
        "implementationDetails": {"name": "https://ns.adobe.com/experience/alloy", "version": "2.24.0"}},
        "data": {"loyalty": "gold"}}], "meta": {"state": {"domain": "shop.example"}}}
    a = analyze(make_request("POST", "https://edge.adobedc.net/ee/v1/interact?configId=ebebf826-a01f-4458-8cec-ef61de241c93",
                             compact_json(body), [("Content-Type", "text/plain")]))
    assert_decoded(a, "edge")
    assert_finding(a, "installation_id", ECID, "body.events[0].xdm.identityMap.ECID[0].id")
    assert_finding(a, "page_url", "https://www.shop.example/cart", "body.events[0].xdm.web.webPageDetails.URL")
    assert_finding(a, "project_key", "ebebf826-a01f-4458-8cec-ef61de241c93", "query.configId")
    assert_finding(a, "custom_property", "gold", "body.events[0].data.loyalty")


def test_edge_via_the_third_party_id_domain_with_transferred_cookies(analyze):
    """@adobe/alloy 2.33.1 dist/alloy.js: the first request of a Chrome visitor goes to
    adobedc.demdex.net; cookiesToPayload copies the kndctr_<org>_* cookies into
    meta.state.entries when the edge domain is not the site's own."""
    cookie = "CiYxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OFIQCPjRsq_SMxgBKgNJUkwwAfAB-NGyr9Iz"
    body = {"events": [{"xdm": {"placeContext": {"ianaTimezone": "Europe/Berlin", "localTimezoneOffset": -60}},
                        "data": {}}],
            "query": {"identity": {"fetch": ["ECID", "CORE"]}},
            "meta": {"state": {"domain": "shop.example", "cookiesEnabled": True,
                               "entries": [{"key": "kndctr_0123456789ABCDEF01234567_AdobeOrg_identity", "value": cookie}]}}}
    a = analyze(make_request("POST", "https://adobedc.demdex.net/ee/v1/interact?configId=0f2c8a9e&requestId=r1",
                             compact_json(body), [("Content-Type", "text/plain; charset=UTF-8")]))
    assert_decoded(a, "edge")
    assert_finding(a, "browser_id", cookie, "body.meta.state.entries[0].value")
    assert_finding(a, "timezone", "Europe/Berlin", "body.events[0].xdm.placeContext.ianaTimezone")


def test_visitor_id_service(analyze):
    a = analyze(make_request("GET", f"https://dpm.demdex.net/id?d_visid_ver=5.5.0&d_fieldgroup=MC&d_rtbd=json&d_ver=2"
                             f"&d_orgid=ABC123%40AdobeOrg&d_mid={ECID}"))
    assert_decoded(a, "visitor_id")
    assert_finding(a, "installation_id", ECID, "query.d_mid")


def test_lookalike_host_is_not_adobe(analyzer):
    a = analyzer.analyze(make_request("GET", "https://sc.omtrdc.net.example.org/b/ss/x/1/JS/s1?ndh=1"))
    assert a is None or a.tracker != TRACKER
