"""Golden tests: AppsFlyer's wire formats.

URL shapes from public decompiled AppsFlyer Android SDK builds (5.2 to 6.18): services on
https://<prefix><service>.<domain> with domain appsflyersdk.com / appsflyer.com and an optional
per-app prefix; events POSTed to /api/v<major.minor>/androidevent?app_id=<package>
[&buildnumber=<sdk>]; ad revenue /api/v2/generic/v<sdk>/android?app_id=; DDL
/v1.0/android/<package>. SDK v6 encrypts the body, so only URL and query are readable:
the endpoint is recognised, the body stays bytes and the request is reported "not decoded"
with the rule's reason. URLs as AppsFlyer 6.14.2 builds them (solors/aaa@fdcbdf65
com/appsflyer/internal/AFj1uSDK.java).
"""

from __future__ import annotations

import pytest

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from golden_support import assert_finding, analyzer_fixture, summary

PACKAGE = "com.example.shop"
# A stand-in for the v6 cipher text: binary, neither JSON nor gzip.
OPAQUE = bytes((i * 37 + 11) % 256 for i in range(300))


analyzer = analyzer_fixture()


OPAQUE_REASON = "opaque: AppsFlyer SDK v6 encrypts the event payload before sending it"


def analyze(analyzer: Analyzer, request: Request, endpoint: str) -> Analysis:
    """Recognised, URL and query read, the encrypted body reported as not decodable (why)."""
    a = analyzer.analyze(request)
    assert a is not None, request.url
    assert (a.tracker, a.endpoint, a.status) == ("appsflyer", endpoint, "not_decoded"), summary(a)
    assert OPAQUE_REASON in a.error and "[json] not" in a.error, a.error
    return a


def post(url: str, body: bytes = OPAQUE) -> Request:
    return Request("golden", "golden", 0.0, "POST", url, [("Content-Type", "application/octet-stream")], body)


@pytest.mark.parametrize("host", [
    "launches.appsflyersdk.com", "inapps.appsflyersdk.com", "conversions.appsflyersdk.com", "attr.appsflyersdk.com",
    "register.appsflyersdk.com", "validate.appsflyersdk.com", "2on2q8-conversions.appsflyersdk.com",
    "stpphi.launches.appsflyersdk.com", "gcgv3a-inapps.appsflyersdk.com", "launches.appsflyer.com",
])
def test_event_endpoints_on_every_service_host(analyzer, host):
    a = analyze(analyzer, post(f"https://{host}/api/v6.17/androidevent?app_id={PACKAGE}&buildnumber=6.17.3"), "event")
    assert_finding(a, "app_id", PACKAGE, "query.app_id")
    assert_finding(a, "sdk_version", "6.17.3", "query.buildnumber")
    assert ("body", "<300 bytes not decoded>", "") in a.fields
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_ios_event(analyzer):
    a = analyze(analyzer, post("https://launches.appsflyersdk.com/api/v6.15/iosevent?app_id=id1234567890&buildnumber=6.15.1"),
                "event")
    assert_finding(a, "app_id", "id1234567890", "query.app_id")
    assert_finding(a, "os_name", "ios", "path.platform")


def test_ad_revenue_v6_and_v5(analyzer):
    a = analyze(analyzer, post(f"https://adrevenue.appsflyersdk.com/api/v2/generic/v6.18.0/android?app_id={PACKAGE}"),
                "adrevenue")
    assert_finding(a, "app_id", PACKAGE, "query.app_id")
    b = analyze(analyzer, post(f"https://adrevenue.appsflyer.com/api/v5.4/android?buildnumber=5.4.0&app_id={PACKAGE}"),
                "adrevenue")
    assert_finding(b, "sdk_version", "5.4.0", "query.buildnumber")


def test_deferred_deeplink(analyzer):
    a = analyze(analyzer, post(f"https://dlsdk.appsflyersdk.com/v1.0/android/{PACKAGE}?af_sig=abc&sdk_version=6.17.3"),
                "deeplink")
    assert_finding(a, "app_id", PACKAGE, "path.app_id")


def test_cdn_settings(analyzer):
    a = analyzer.analyze(Request("golden", "golden", 0.0, "GET",
                                 "https://fjfock-cdn-settings.appsflyersdk.com/android/v1/aBcD123/settings", []))
    assert (a.tracker, a.endpoint, a.status, a.error) == ("appsflyer", "settings", "decoded", ""), summary(a)
    assert a.findings == [] or all(f.data_type == "os_name" for f in a.findings), summary(a)


def test_ad_impression_and_validate_urls_of_6_14(analyzer):
    """AFj1uSDK: adrevenue /api/v2/log/AdImpression/v6.14.2/android?app_id=; validate
    .../androidevent?buildnumber=6.14.2&app_id= (+ &channel= when the app sets one)."""
    a = analyze(analyzer, post(f"https://adrevenue.appsflyersdk.com/api/v2/log/AdImpression/v6.14.2/android?app_id={PACKAGE}"),
                "adrevenue")
    assert_finding(a, "app_id", PACKAGE, "query.app_id")
    assert_finding(a, "sdk_version", "6.14.2", "path.api_version")
    b = analyze(analyzer, post(f"https://validate.appsflyersdk.com/api/v6.14/androidevent?buildnumber=6.14.2&app_id={PACKAGE}"
                               "&channel=googleplay"), "event")
    assert_finding(b, "sdk_version", "6.14.2", "query.buildnumber")
    assert {p: label for p, _, label in b.fields}["query.channel"] == ""


def test_plain_json_body_of_old_sdks_is_decoded(analyzer):
    """Only the encrypted form is opaque: a JSON body (SDK v4) is read, its keys left to the
    generic detectors."""
    body = b'{"appsflyerKey":"AbCdEfGhIjKlMnOp","advertiserId":"38400000-8cf0-11bd-b23e-10b96e40000d"}'
    a = analyzer.analyze(post(f"https://t.appsflyer.com/api/v4/androidevent?buildnumber=4.5.0&app_id={PACKAGE}", body))
    assert (a.endpoint, a.status, a.error) == ("event", "decoded", ""), summary(a)
    assert_finding(a, "app_id", PACKAGE, "query.app_id")


def test_plain_json_launch_and_event_body_of_sdk_v5_is_typed(analyzer):
    """The event map AppsFlyer 5.x puts into its (still plain JSON) body, as a decompiled 5.x
    build writes it: every key typed by the rule, eventValue opened as the JSON it carries."""
    import json
    body = {"appsflyerKey": "AbCdEfGhIjKlMnOp", "appUserId": "shop-user-991", "eventName": "af_purchase",
            "eventValue": json.dumps({"af_revenue": "19.99", "af_content_id": "sku-42"}), "currency": "EUR",
            "imei": "356938035643809", "android_id": "9774d56d682e549c", "uid": "1767225600123-4567890123456789012",
            "lang": "Deutsch", "lang_code": "de", "country": "DE", "platformextension": "android_native",
            "installDate": "2026-12-01_101010+0000", "firstLaunchDate": "2026-12-01_101500+0000",
            "app_version_code": "412", "app_version_name": "4.1.2", "advertiserId": "38400000-8cf0-11bd-b23e-10b96e40000d",
            "advertiserIdEnabled": "true", "counter": "7", "iaecounter": "3", "isFirstCall": "false",
            "deviceData": {"cpu_abi": "arm64-v8a", "build_display_id": "UP1A.231005.007",
                           "loc": {"lat": "52.5200", "lon": "13.4050", "ts": "1767225600000"}, "btl": "87.0"},
            "device": "shiba"}
    a = analyzer.analyze(post(f"https://inapps.appsflyer.com/api/v5.4/androidevent?buildnumber=5.4.1&app_id={PACKAGE}",
                              json.dumps(body).encode()))
    assert (a.endpoint, a.status, a.error) == ("event", "decoded", ""), summary(a)
    assert_finding(a, "project_key", "AbCdEfGhIjKlMnOp", "body.appsflyerKey")
    assert_finding(a, "user_id", "shop-user-991", "body.appUserId")
    assert_finding(a, "device_id", "356938035643809", "body.imei")
    assert_finding(a, "android_id", "9774d56d682e549c", "body.android_id")
    assert_finding(a, "latitude", "52.5200", "body.deviceData.loc.lat")
    assert_finding(a, "custom_property", "sku-42", "body.eventValue.af_content_id")
    assert_finding(a, "session_count", "7", "body.counter")


def test_other_service(analyzer):
    a = analyze(analyzer, post(f"https://monitorsdk.appsflyersdk.com/remote-debug/exception-manager?app_id={PACKAGE}"),
                "other")
    assert_finding(a, "app_id", PACKAGE, "query.app_id")


def test_lookalike_host_is_not_appsflyer(analyzer):
    a = analyzer.analyze(post(f"https://launches.appsflyersdk.com.evil.example/api/v6.17/androidevent?app_id={PACKAGE}"))
    assert a is None or a.tracker != "appsflyer"
    b = analyzer.analyze(post(f"https://appsflyer-sdk.example.org/api/v6.17/androidevent?app_id={PACKAGE}"))
    assert b is None or b.tracker != "appsflyer"
