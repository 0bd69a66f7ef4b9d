"""Golden tests for the mobile SDK rules whose formats rest on decompiled copies of closed SDKs
and background knowledge (Instabug, Pangle, Yandex Mobile Ads, Huawei HMS Analytics): each
request is matched to its endpoint, the readable parts are typed, and an encrypted body is
reported as contacted-not-decoded with the SDK's reason instead of being guessed at."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from golden_support import (JSON_CT, analyzer_fixture, assert_finding_at as has, compact_json, make_request,
                            request_via_mitmproxy, summary)

RULES = Path(__file__).resolve().parents[2] / "tracker_rules"
pytestmark = [
    pytest.mark.no_real_client("instabug", "mobile-only SDKs (the npm package wraps the native SDKs)"),
    pytest.mark.no_real_client("pangle", "mobile-only SDK, closed source"),
    pytest.mark.no_real_client("yandex_ads", "mobile-only SDK, closed source"),
    pytest.mark.no_real_client("huawei_hms", "mobile-only SDK inside HMS Core, closed source"),
    pytest.mark.no_real_client("batch", "mobile-only SDKs (the npm packages wrap the native SDKs)"),
    pytest.mark.no_real_client("appodeal", "mobile-only SDKs (Bidon for Android, iOS, Unity)"),
    pytest.mark.no_real_client("inmobi", "mobile-only SDK, closed source; the Prebid.js adapter needs InMobi's live auction"),
]
analyzer = analyzer_fixture()


def run(analyzer, req, tracker, endpoint, status="decoded"):
    a = analyzer.analyze(req)
    assert a is not None and (a.tracker, a.endpoint, a.status) == (tracker, endpoint, status), summary(a)
    return a


def test_instabug_token_and_user_in_query_and_body(analyzer):
    token, uuid = "2f6b1a9e0c8d47b3a5e4f1c2d3b4a596", "6d7e8f90-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
    a = run(analyzer, make_request("GET", f"https://api.instabug.com/api/sdk/v3/features?{urlencode({'application_token': token, 'uuid': uuid})}",
                                   headers=[("IBG-SDK-VERSION", "13.4.1")]), "instabug", "sdk_api")
    has(a, "project_key", token, "query.application_token")
    has(a, "installation_id", uuid, "query.uuid")
    has(a, "sdk_version", "13.4.1", "header.ibg-sdk-version")
    body = {"application_token": token, "uuid": uuid, "email": "ops@example.io", "title": "Checkout crashes on pay"}
    a = run(analyzer, make_request("POST", "https://api.instabug.com/api/sdk/v3/bugs", compact_json(body), [JSON_CT]),
            "instabug", "sdk_api")
    has(a, "email", "ops@example.io", "body.email")
    has(a, "event_name", "bugs", "path.endpoint")


def test_pangle_get_ads_body_is_opaque_query_is_read(analyzer):
    url = "https://api16-access-sg.pangle.io/api/ad/union/sdk/get_ads/?aid=1371&device_platform=android&version_code=4250"
    a = run(analyzer, request_via_mitmproxy("POST", url, bytes(range(256)) * 3, {"Content-Type": "application/octet-stream"}),
            "pangle", "get_ads", status="not_decoded")
    assert "Pangle encrypts" in a.error
    has(a, "sdk_version", "4250", "query.version_code")
    win = "https://api16-event-sg2.pangle.io/api/ad/union/openrtb/win/?req_id=233f1693u1450&rit=980589944&extra=oqveoB"
    a = run(analyzer, make_request("GET", win), "pangle", "events")
    has(a, "project_key", "980589944", "query.rit")


def test_yandex_ads_query(analyzer):
    query = {"uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "mauid": "7f3e2d1c0b9a", "ad_unit_id": "R-M-1234567-1",
             "google_aid": "38400000-8cf0-11bd-b23e-10b96e40000d", "gdpr_consent": "CQF3fAAQF3fAAAHABBENBVFgAP"}
    a = run(analyzer, make_request("GET", "https://mobile.yandexadexchange.net/v4/ad?" + urlencode(query)), "yandex_ads", "ad_request")
    has(a, "installation_id", query["uuid"], "query.uuid")
    has(a, "project_key", "R-M-1234567-1", "query.ad_unit_id")


def test_huawei_collector_headers_and_opaque_body(analyzer):
    headers = {"Content-Type": "application/octet-stream", "App-Id": "104523177", "Package-Name": "com.example.reader",
               "App-Ver": "3.0.1", "Sdk-Name": "hianalytics", "Sdk-Ver": "6.9.0.300", "x-hasdk-clientid": "AAID-0f1e2d3c4b5a"}
    a = run(analyzer, request_via_mitmproxy("POST", "https://metrics1.data.hicloud.com:6447/common/hmshioperqrt",
                                            bytes(range(200)) * 4, headers), "huawei_hms", "collector")
    assert "opaque: HiAnalytics encrypts" in " ".join(a.decode_chain)  # the body is named, not guessed at
    has(a, "app_id", "com.example.reader", "header.package-name")
    has(a, "installation_id", "AAID-0f1e2d3c4b5a", "header.x-hasdk-clientid")
    assert a.app == "com.example.reader"


def test_batch_api_key_in_path_encrypted_body_and_clear_ids(analyzer):
    key = "5D8A1B2C3E4F5061728394A5B6C7D8E9"
    url = f"https://ws.batch.com/a/1.13.0/st/{key}"
    a = run(analyzer, request_via_mitmproxy("POST", url, bytes(range(256)) * 2, {"Content-Type": "application/json"}),
            "batch", "webservices")
    has(a, "project_key", key, "path.api_key")
    assert "opaque: Batch encrypts" in " ".join(a.decode_chain)
    body = {"ids": {"di": "b7e1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "cus": "member-8812", "bid": "com.example.news",
                    "apv": "7.4.0", "dla": "fr", "dtz": "Europe/Paris"}}
    a = run(analyzer, make_request("POST", url, compact_json(body), [JSON_CT]), "batch", "webservices")
    has(a, "user_id", "member-8812", "body.ids.cus")
    assert a.app == "com.example.news"


def test_appodeal_bidon_base_request(analyzer):
    """Bidon's BaseRequest as its server's schema names it (bidon_backend schema/*.go)."""
    body = {"device": {"ua": "Mozilla/5.0 (Linux; Android 14; Pixel 8)", "make": "Google", "model": "Pixel 8", "os": "android",
                       "osv": "14", "hwv": "shiba", "h": 2400, "w": 1080, "ppi": 428, "pxratio": 2.625, "js": 1,
                       "language": "en", "carrier": "T-Mobile", "mccmnc": "310260", "connection_type": "WIFI", "type": "PHONE",
                       "geo": {"lat": 47.6062, "lon": -122.3321, "accuracy": 12.0, "country": "USA", "city": "Seattle",
                               "zip": "98101", "utcoffset": -480}},
            "session": {"id": "4f9e8d7c-6b5a-4a39-8b2c-1d0e9f8a7b6c", "launch_ts": 1767225600000, "ram_used": 512, "ram_size": 8192,
                        "storage_free": 1024, "storage_used": 2048, "battery": 0.71, "cpu_usage": 0.2},
            "app": {"bundle": "com.example.solitaire", "key": "3c7a91f0e2b54d6f8a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d", "framework": "android",
                    "version": "3.3.0", "plugin_version": "0.7.1"},
            "user": {"idfa": "38400000-8cf0-11bd-b23e-10b96e40000d", "tracking_authorization_status": "authorized",
                     "idg": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "coppa": False},
            "regs": {"gdpr": False, "us_privacy": "1YNN"}, "ext": '{"mediation_mode":"bidon"}', "segment": {"uid": "s1"}}
    req = make_request("POST", "https://b.appbaqend.com/v2/auction/interstitial", compact_json(body),
                       [JSON_CT, ("X-Bidon-Version", "0.7.1")])
    a = run(analyzer, req, "appodeal", "bidon")
    has(a, "latitude", "47.6062", "body.device.geo.lat")
    has(a, "postal_code", "98101", "body.device.geo.zip")
    has(a, "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.user.idfa")
    has(a, "project_key", body["app"]["key"], "body.app.key")
    has(a, "event_name", "auction", "path.call")
    assert a.app == "com.example.solitaire"


def test_inmobi_openrtb_request(analyzer):
    body = {"id": "b6e1", "imp": [{"id": "1", "tagid": "1719108420057", "banner": {"w": 320, "h": 50}}],
            "app": {"bundle": "com.example.weather", "name": "Weather Now", "ver": "9.2"},
            "device": {"ua": "Dalvik/2.1.0 (Linux; U; Android 13; SM-A135F)", "ifa": "07745767-e48a-4b2f-bbc8-2e043760310c",
                       "ip": "203.0.113.246", "make": "samsung", "model": "SM-A135F", "os": "android", "osv": "13",
                       "connectiontype": 2, "geo": {"lat": 19.07, "lon": 72.87, "country": "IND"}},
            "regs": {"coppa": 0}, "test": 0, "at": 1}
    a = run(analyzer, make_request("POST", "https://api.w.inmobi.com/ortb/imsdk", compact_json(body),
                                   [JSON_CT, ("X-OpenRTB-Version", "2.5")]), "inmobi", "ortb")
    has(a, "advertising_id", "07745767-e48a-4b2f-bbc8-2e043760310c", "body.device.ifa")
    has(a, "public_ip", "203.0.113.246", "body.device.ip")
    has(a, "project_key", "1719108420057", "body.imp[0].tagid")
    assert a.app == "com.example.weather"
