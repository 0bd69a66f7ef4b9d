"""Golden tests: Yandex AppMetrica's wire formats.

appmetrica/appmetrica-sdk-android@31138d83: StartupParamsAppender (GET
startup.mobile.yandex.net/analytics/startup with deviceid, uuid, app_platform, app_set_id and
obfuscated feature flags) and ReportParamsAppender (POST <report host>/report with the device
and app in the query, Uri.Builder.appendQueryParameter encoding) — the report body is gzip'd
protobuf encrypted with AES/RSA (encrypted_request=1): left undecoded.
"""

from __future__ import annotations

from urllib.parse import quote

from leakmap.model import Request
from leakmap.rules import NOT_PERSONAL
from golden_support import assert_finding, analyzer_fixture, summary

DEVICE_ID = "3b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e"
UUID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PACKAGE = "com.example.shop"
API_KEY = "4b5c6d7e-8f90-41a2-b3c4-d5e6f7a8b9c0"


analyzer = analyzer_fixture()


def uri_query(params: dict[str, str]) -> str:
    """android.net.Uri.Builder.appendQueryParameter (Uri.encode keeps letters, digits and -_.!~*'())."""
    return "&".join(f"{quote(k, safe='-_.!~*()')}={quote(v, safe='-_.!~*()')}" for k, v in params.items())


# ReportParamsAppender.appendParamsFromDatabase + appendParamsFromCurrentConfiguration + adv ids
REPORT_QUERY = {
    "encrypted_request": "1", "deviceid": DEVICE_ID, "uuid": UUID, "analytics_sdk_version_name": "7.14.0",
    "app_version_name": "3.4.1", "app_build_number": "341", "os_version": "14", "os_api_level": "34",
    "analytics_sdk_build_number": "123456", "analytics_sdk_build_type": "public", "app_debuggable": "0",
    "locale": "en_US", "is_rooted": "0", "app_framework": "native", "attribution_id": "1",
    "api_key_128": API_KEY, "app_id": PACKAGE, "app_platform": "android", "model": "Pixel 8",
    "manufacturer": "Google", "screen_width": "1080", "screen_height": "2400", "screen_dpi": "420",
    "scalefactor": "2.625", "device_type": "phone", "app_set_id": "6f1c2b3a-7d8e-4f90-a1b2-c3d4e5f60718",
    "app_set_id_scope": "app", "is_main": "1", "adv_id": GAID, "limit_ad_tracking": "0", "request_id": "7",
}


def test_report_query_and_encrypted_body(analyzer):
    url = "https://report.appmetrica.yandex.net/report?" + uri_query(REPORT_QUERY)
    body = bytes(range(256)) * 2  # opaque ciphertext stand-in: not text, not gzip
    a = analyzer.analyze(Request("golden", "golden", 0.0, "POST", url,
                                 [("Content-Type", "application/octet-stream"), ("Accept-Encoding", "encrypted")], body))
    assert a is not None and (a.tracker, a.endpoint, a.status) == ("appmetrica", "report", "decoded"), summary(a)
    assert ("body", "<512 bytes not decoded>", "") in a.fields
    assert_finding(a, "device_id", DEVICE_ID, "query.deviceid")
    assert_finding(a, "installation_id", UUID, "query.uuid")
    assert_finding(a, "advertising_id", GAID, "query.adv_id")
    assert_finding(a, "project_key", API_KEY, "query.api_key_128")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")
    endpoint = analyzer.endpoints[("appmetrica", "report")]
    labels = {path: label for path, _, label in a.fields}
    for key in REPORT_QUERY:
        mapped = endpoint.fields.lookup(f"query.{key}")
        assert mapped is not None and mapped[1] == f"query.{key}", key
        assert labels[f"query.{key}"] == ("" if mapped[0] == NOT_PERSONAL else mapped[0]), key


def test_startup_get(analyzer):
    query = {"deviceid": DEVICE_ID, "app_set_id": "6f1c2b3a-7d8e-4f90-a1b2-c3d4e5f60718", "app_platform": "android",
             "protocol_version": "2", "analytics_sdk_version_name": "7.14.0", "model": "Pixel 8",
             "manufacturer": "Google", "os_version": "14", "screen_width": "1080", "screen_height": "2400",
             "screen_dpi": "420", "scalefactor": "2.625", "locale": "en_US", "device_type": "phone",
             "queries": "1", "query_hosts": "2", "features": "g,h,si", "country_init": "US", "time": "1",
             "rp": "1", "cc": "1", "at": "1", "su": "1"}
    url = "https://startup.mobile.yandex.net/analytics/startup?" + uri_query(query)
    a = analyzer.analyze(Request("golden", "golden", 0.0, "GET", url, []))
    assert a is not None and (a.tracker, a.endpoint, a.status, a.error) == ("appmetrica", "startup", "decoded", ""), summary(a)
    assert_finding(a, "device_id", DEVICE_ID, "query.deviceid")
    assert_finding(a, "device_model", "Pixel 8", "query.model")


def test_ios_query_keys(analyzer):
    # TrackHAR yandex.ts [T]: iOS sends ifa / ifv.
    url = ("https://report.appmetrica.yandex.net/report?deviceid=" + DEVICE_ID + "&uuid=" + UUID +
           "&ifa=6D92078A-8246-4BA4-AE5B-76104861E7DC&ifv=B7E1D2C3-4F5A-4B6C-8D7E-9F0A1B2C3D4E&app_platform=iPhone"
           "&app_id=com.example.iosapp")
    a = analyzer.analyze(Request("golden", "golden", 0.0, "POST", url, [], b"\x8a\x01\xff\xfe"))
    assert a is not None and a.endpoint == "report", a
    assert_finding(a, "advertising_id", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "query.ifa")
    assert_finding(a, "vendor_id", "B7E1D2C3-4F5A-4B6C-8D7E-9F0A1B2C3D4E", "query.ifv")


def test_lookalike_host_is_not_appmetrica(analyzer):
    a = analyzer.analyze(Request("golden", "golden", 0.0, "POST", "https://report.appmetrica.yandex.net.evil.example/report?deviceid=x", []))
    assert a is None or a.tracker != "appmetrica"
