"""Golden tests for tracker_rules/unity_ads.yaml: each Unity Ads request built the way the SDK
source builds it (cited beside each builder), checked for endpoint, decode status and precise
(data type, value, path, detector) findings.

Sources: Unity-Technologies/unity-ads-android@2bcaa8a1 (native SDK 4.9.1) and the Unity Ads
WebView TypeScript (Applifier/unity-ads-webview, public copy TinaHanAtUnity/CreativeRenderTool@952adcc1).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from leakmap.decode import Limits
from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.read import request_from_flow
from leakmap.rules import NOT_PERSONAL, load_rules
from golden_support import analyze, assert_finding, labels

RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / "unity_ads.yaml"

GAME_ID = "3268074"
BUNDLE = "com.example.puzzlegame"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFV = "6D1A2B3C-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
IDFI = "7f3c2b1a-9e8d-4c6b-a5f4-3e2d1c0b9a87"
ANDROID_ID = "9774d56d682e549c"
GAME_SESSION_ID = 1767225600123456
SESSION_ID = "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
ANALYTICS_USER_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
WEBVIEW_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36")


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    # Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
    rules, problems = load_rules([RULE], bundled=False)
    assert problems == []
    return Analyzer(rules)


def summary(a: Analysis) -> str:
    lines = [f"status={a.status} endpoint={a.endpoint} error={a.error!r}"]
    lines += [f"  {f.data_type} {f.value!r} @ {f.path} [{f.detector}: {f.detail}]" for f in a.findings]
    return "\n".join(lines)


def assert_decoded(a: Analysis, endpoint: str) -> None:
    assert (a.tracker, a.endpoint, a.status, a.error) == ("unity_ads", endpoint, "decoded", ""), summary(a)


def org_json(value: Any) -> str:
    """Android org.json JSONObject.toString(): compact, '/' escaped as '\\/'."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def encode_uri_component(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


def add_parameters(url: str, params: dict[str, Any]) -> str:
    """WebView Core/Utilities/Url.ts addParameters: encodeURIComponent(key)=encodeURIComponent(value),
    undefined values skipped, '?' then '&'. JS String(true) is 'true'."""
    def js(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    pairs = [f"{encode_uri_component(k)}={encode_uri_component(js(v))}" for k, v in params.items() if v is not None]
    return url + ("&" if "?" in url else "?") + "&".join(pairs)


def via_mitmproxy(method: str, url: str, raw_body: bytes, headers: dict[str, str]) -> Request:
    flow = tflow.tflow()
    flow.request = http.Request.make(method, url, b"", headers)
    flow.request.raw_content = raw_body
    return request_from_flow(flow, "golden", Limits())


# ------------------------------------------------------------------------------------------
# Native SDK 4.x configuration POST (configv2)

def native_profile() -> dict[str, Any]:
    """The token_srr device profile: MinimalDeviceInfoReader + WithSessionId + WithAuid +
    DeviceInfoReaderExtended + WithLifecycle + flattened storage + WithPrivacy
    (unity-ads-android@2bcaa8a1 core/device/reader/*)."""
    return {
        # MinimalDeviceInfoReader + DeviceInfoReaderWithRequestType
        "platform": "android", "sdkVersion": 4910, "sdkVersionName": "4.9.1", "idfi": IDFI,
        "unifiedconfig.data.gameSessionId": GAME_SESSION_ID, "ts": 1767225600123, "gameId": GAME_ID,
        # DeviceInfoReaderWithSessionId, DeviceInfoReaderWithAuid
        "sessionId": SESSION_ID, "auid": "e2d4c6b8-a0f1-4e3d-9c5b-7a9f1e3d5c7b",
        # DeviceInfoReaderExtended
        "bundleId": BUNDLE, "encrypted": True, "rooted": False, "osVersion": "14", "deviceModel": "Pixel 8",
        "language": "de_DE", "connectionType": "wifi", "screenHeight": 2400, "screenWidth": 1080,
        "deviceMake": "Google", "screenDensity": 420, "screenSize": 268435810, "limitAdTracking": False,
        "networkOperator": "26201", "volume": 7, "deviceFreeSpace": 52428800, "apiLevel": "34",
        "networkType": 13, "bundleVersion": "2.3.1", "timeZone": "CET", "timeZoneOffset": 3600,
        "webviewUa": WEBVIEW_UA, "networkOperatorName": "Telekom.de", "wiredHeadset": False,
        "versionCode": 4910, "stores": "google", "appStartTime": 1767225590, "eventTimeStamp": 1767225600,
        "cpuCount": 8, "usbConnected": False, "apkDeveloperSigningCertificateHash": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0",
        "deviceUpTime": 86400123, "deviceElapsedRealtime": 86400999, "adbEnabled": False,
        "androidFingerprint": "google/shiba/shiba:14/UQ1A.240205.004/11269751:user/release-keys",
        "batteryStatus": 2, "batteryLevel": 0.8, "networkMetered": False, "test": False, "callType": "token_srr",
        # DeviceInfoReaderWithLifecycle
        "appActive": True,
        # flattened publisher metadata (gdpr.consent {value, ts} → "gdpr.consent")
        "gdpr.consent": True, "privacy.consent": True, "mediation.name": "AppLovin", "mediation.version": "12.1.0",
        "framework.name": "Unity", "framework.version": "2022.3.10f1",
        # DeviceInfoReaderWithPrivacy (PII allowed)
        "unifiedconfig.pii.advertisingTrackingId": GAID, "user.nonBehavioral": False,
    }


def native_config_request(profile: dict[str, Any]) -> Request:
    """ConfigurationRequestFactory: POST to SdkProperties.getDefaultConfigUrl("release"),
    header Content-Encoding: gzip, body = gzip(JSONObject(map).toString())."""
    url = "https://configv2.unityads.unity3d.com/webview/4.9.1/release/config.json"
    return via_mitmproxy("POST", url, gzip.compress(org_json(profile).encode()), {"Content-Encoding": "gzip"})


def test_native_config_post_gzip(analyzer):
    a = analyze(analyzer, native_config_request(native_profile()))
    assert_decoded(a, "sdk_config")
    assert_finding(a, "advertising_id", GAID, 'body["unifiedconfig.pii.advertisingTrackingId"]')
    assert_finding(a, "app_id", BUNDLE, "body.bundleId")
    assert_finding(a, "project_key", GAME_ID, "body.gameId")
    assert_finding(a, "installation_id", IDFI, "body.idfi")
    assert_finding(a, "session_id", str(GAME_SESSION_ID), 'body["unifiedconfig.data.gameSessionId"]')
    assert_finding(a, "user_agent", WEBVIEW_UA, "body.webviewUa")
    assert_finding(a, "carrier", "Telekom.de", "body.networkOperatorName")
    # true/false carry no finding of their own, but the field is labelled
    assert labels(a)['body["gdpr.consent"]'] == "consent_state"
    assert_finding(a, "sdk_version", "4.9.1", "path.sdk_version")
    assert a.identity["app_id"] == BUNDLE


def test_native_config_every_sdk_key_is_mapped(analyzer):
    """Every key the native SDK sets has its own mapping (a data type or `uploaded`):
    removing any from unity_ads.yaml fails this test."""
    a = analyze(analyzer, native_config_request(native_profile()))
    endpoint = analyzer.endpoints[("unity_ads", "sdk_config")]
    fields = labels(a)
    for key in native_profile():
        path = f'body["{key}"]' if "." in key else f"body.{key}"
        mapped = endpoint.fields.lookup(path)
        assert mapped is not None and "*" not in mapped[1], f"{key} has no mapping of its own"
        expected = "" if mapped[0] == NOT_PERSONAL else mapped[0]
        assert fields[path] == expected, (key, fields.get(path), mapped)


def test_native_config_privacy_call_and_china_host(analyzer):
    """The privacy call (DeviceInfoReaderPrivacyBuilder): minimal profile, callType privacy."""
    profile = {"platform": "android", "sdkVersion": 4910, "sdkVersionName": "4.9.1", "idfi": IDFI,
               "unifiedconfig.data.gameSessionId": GAME_SESSION_ID, "ts": 1767225600123, "gameId": GAME_ID,
               "callType": "privacy", "user.nonBehavioral": True}
    req = via_mitmproxy("POST", "https://configv2.unityads.unitychina.cn/webview/4.9.1/release/config.json",
                        gzip.compress(org_json(profile).encode()), {"Content-Encoding": "gzip"})
    a = analyze(analyzer, req)
    assert_decoded(a, "sdk_config")
    assert_finding(a, "installation_id", IDFI, "body.idfi")
    assert labels(a)['body["user.nonBehavioral"]'] == "consent_state"


# ------------------------------------------------------------------------------------------
# WebView: publisher-config GET

def android_config_url() -> str:
    """ConfigManager.createConfigUrl (Android): base params, then deviceMake/screenDensity/
    screenSize, then TrackingIdentifierFilter, then framework and adapter DTOs."""
    url = f"https://publisher-config.unityads.unity3d.com/games/{GAME_ID}/configuration"
    url = add_parameters(url, {
        "bundleId": BUNDLE, "encrypted": True, "rooted": False, "platform": "android", "sdkVersion": 3700,
        "osVersion": "14", "deviceModel": "Pixel 8", "language": "de_DE", "connectionType": "wifi",
        "screenHeight": 2400, "screenWidth": 1080, "test": False, "analyticsUserId": ANALYTICS_USER_ID,
        "analyticsSessionId": "5871906374211254337", "forceAbGroup": None})
    url = add_parameters(url, {"deviceMake": "Google", "screenDensity": 420, "screenSize": 268435810})
    url = add_parameters(url, {"advertisingTrackingId": GAID, "limitAdTracking": False})
    url = add_parameters(url, {"frameworkName": "Unity", "frameworkVersion": "2022.3.10f1"})
    return add_parameters(url, {"adapterName": "AssetStore", "adapterVersion": "3.7.0"})


def test_publisher_config_android(analyzer):
    a = analyze(analyzer, Request(flow_id="g", source="golden", timestamp=0.0, method="GET",
                                  url=android_config_url(), headers=[], body=b""))
    assert_decoded(a, "configuration")
    assert_finding(a, "advertising_id", GAID, "query.advertisingTrackingId")
    assert_finding(a, "app_id", BUNDLE, "query.bundleId")
    assert_finding(a, "project_key", GAME_ID, "path.game_id")
    assert_finding(a, "installation_id", ANALYTICS_USER_ID, "query.analyticsUserId")
    assert_finding(a, "manufacturer", "Google", "query.deviceMake")
    assert labels(a)["query.rooted"] == "is_rooted"
    unmapped = [p for p, _, label in a.fields if p.startswith("query.") and
                analyzer.endpoints[("unity_ads", "configuration")].fields.lookup(p) is None]
    assert unmapped == []


def test_publisher_config_ios_without_ad_id(analyzer):
    """iOS: configIosDeviceParams + IDFV, device name, locale list, ATT status; no IDFA."""
    url = f"https://publisher-config.unityads.unity3d.com/games/{GAME_ID}/configuration"
    url = add_parameters(url, {"bundleId": BUNDLE, "encrypted": True, "rooted": False, "platform": "ios",
                               "sdkVersion": 3700, "osVersion": "17.2", "deviceModel": "iPhone15,2",
                               "language": "de_DE", "connectionType": "wifi", "screenHeight": 852,
                               "screenWidth": 393, "test": False})
    url = add_parameters(url, {"networkOperator": "26202", "freeMemory": 1234567, "batteryStatus": 2,
                               "batteryLevel": 0.55, "screenBrightness": 0.4, "volume": 0.5,
                               "deviceFreeSpace": 9876543, "totalSpace": 128000000, "totalMemory": 6000000,
                               "deviceName": "Janes iPhone", "vendorIdentifier": IDFV, "localeList": "de-DE,en-US",
                               "currentUiTheme": 2, "adNetworkPlist": "su67r6k2v3.skadnetwork",
                               "systemBootTime": 1767139200, "trackingAuthStatus": 2})
    a = analyze(analyzer, Request(flow_id="g", source="golden", timestamp=0.0, method="GET", url=url,
                                  headers=[], body=b""))
    assert_decoded(a, "configuration")
    assert_finding(a, "vendor_id", IDFV, "query.vendorIdentifier")
    assert_finding(a, "device_name", "Janes iPhone", "query.deviceName")
    assert_finding(a, "consent_state", "2", "query.trackingAuthStatus")
    assert not [f for f in a.findings if f.data_type == "advertising_id"]


# ------------------------------------------------------------------------------------------
# WebView: auction POST

def auction_request(host: str = "auction.unityads.unity3d.com", version: str = "v6") -> Request:
    """CampaignManager.createRequestUrl (query) + createRequestBody (JSON.stringify), POSTed by
    RequestManager.post to <base>/<gameId>/requests (LegacyCampaignManager.constructBaseUrl)."""
    url = add_parameters(f"https://{host}/{version}/games/{GAME_ID}/requests",
                         {"advertisingTrackingId": GAID, "limitAdTracking": False})
    url = add_parameters(url, {"deviceModel": "Pixel 8", "platform": "android", "sdkVersion": 3700, "stores": "google"})
    url = add_parameters(url, {"deviceMake": "Google", "screenSize": 268435810, "screenDensity": 420, "apiLevel": 34})
    url = add_parameters(url, {"screenWidth": 1080, "screenHeight": 2400, "connectionType": "wifi", "networkType": 13})
    body = {
        "bundleVersion": "2.3.1", "bundleId": BUNDLE, "coppa": False, "language": "de_DE",
        "gameSessionId": GAME_SESSION_ID, "timeZone": "+0100", "token": "eyJ0b2tlbiI6InNlcnZlciJ9",
        "legalFramework": "gdpr", "agreedOverAgeLimit": "yes", "webviewUa": WEBVIEW_UA,
        "deviceFreeSpace": 52428800, "networkOperator": "26201", "networkOperatorName": "Telekom.de",
        "wiredHeadset": False, "volume": 7, "requestSignal": "CgQIARAB", "ext": {},
        "cachedCampaigns": ["5f0c1a2b3c4d5e6f"], "versionCode": 231, "mediationName": "AppLovin",
        "mediationVersion": "12.1.0", "frameworkName": "Unity", "frameworkVersion": "2022.3.10f1",
        "placements": {"rewardedVideo": {"adTypes": ["VIDEO"], "allowSkip": False, "auctionType": "cpm"}},
        "properties": "opaque-config-properties", "sessionDepth": 3, "projectId": "24295855-8602-4efc-a30d-a9d84b275eda",
        "gameSessionCounters": {"adRequests": 3, "starts": 1, "views": 1},
        "gdprEnabled": True, "optOutEnabled": False, "optOutRecorded": True,
        "privacy": {"method": "developer_consent", "firstRequest": False, "permissions": {"ads": True}},
        "abGroup": 7, "isLoadEnabled": False, "omidPartnerName": "Unity3d", "omidJSVersion": "1.3.0",
    }
    return Request(flow_id="g", source="golden", timestamp=0.0, method="POST", url=url,
                   headers=[("Content-Type", "application/json")], body=json.dumps(body, separators=(",", ":")).encode())


def test_auction_v6_request(analyzer):
    a = analyze(analyzer, auction_request())
    assert_decoded(a, "auction")
    assert_finding(a, "advertising_id", GAID, "query.advertisingTrackingId")
    assert_finding(a, "app_id", BUNDLE, "body.bundleId")
    assert_finding(a, "user_agent", WEBVIEW_UA, "body.webviewUa")
    assert_finding(a, "project_key", "24295855-8602-4efc-a30d-a9d84b275eda", "body.projectId")
    assert labels(a)["body.gdprEnabled"] == "consent_state"
    assert_finding(a, "consent_state", "gdpr", "body.legalFramework")
    assert_finding(a, "timezone", "+0100", "body.timeZone")


@pytest.mark.parametrize("host,version", [("auction-load.unityads.unity3d.com", "v5"),
                                          ("auction.unityads.unity.cn", "v4"),
                                          ("auction.unityads.unity3d.com", "v4/test")])
def test_auction_variants(analyzer, host, version):
    a = analyze(analyzer, auction_request(host, version))
    assert_decoded(a, "auction")
    assert_finding(a, "project_key", GAME_ID, "path.game_id")


# ------------------------------------------------------------------------------------------
# httpkafka events (NDJSON) and metrics

def test_httpkafka_events_ndjson(analyzer):
    """HttpKafka.sendEvent: common object (ClientInfo.getDTO + platform, DeviceInfo personal DTO
    with navigator.userAgent, country), then one {type, msg} line, joined with '\\n'."""
    common = {"common": {
        "client": {"gameId": GAME_ID, "testMode": False, "bundleId": BUNDLE, "bundleVersion": "2.3.1",
                   "sdkVersion": 3700, "sdkVersionName": "3.7.0", "encrypted": True,
                   "configUrl": "https://config.unityads.unity3d.com/webview/3.7.0/release/config.json",
                   "webviewUrl": "https://webview.unityads.unity3d.com/webview/3.7.0/abc/release/index.html",
                   "webviewHash": "abc123", "webviewVersion": "3.7.0", "initTimestamp": 1767225590000,
                   "reinitialized": False, "monetizationInUse": False, "usePerPlacementLoad": False,
                   "platform": "android"},
        "device": {"osVersion": "14", "deviceModel": "Pixel 8", "connectionType": "wifi", "networkType": 13,
                   "screenWidth": 1080, "screenHeight": 2400, "networkOperator": "26201",
                   "networkOperatorName": "Telekom.de", "timeZone": "+0100", "headset": False,
                   "language": "de_DE", "deviceVolume": 7, "screenBrightness": 120, "freeSpaceInternal": 52428800,
                   "totalSpaceInternal": 118000000, "batteryLevel": 0.8, "batteryStatus": 2, "freeMemory": 3000000,
                   "totalMemory": 8000000, "rooted": False, "apiLevel": 34, "deviceMake": "Google",
                   "screenLayout": 268435810, "screenDensity": 420, "displayMetricDensity": 2.625,
                   "totalSpaceExternal": 118000000, "freeSpaceExternal": 52428800, "ringerMode": 2,
                   "usbConnected": False, "networkMetered": False, "advertisingTrackingId": GAID,
                   "limitAdTracking": False, "userAgent": WEBVIEW_UA},
        "country": "DE"}}
    event = {"type": "ads.sdk2.diagnostics", "msg": {"type": "config_parsing_failed", "timestamp": 1767225600123}}
    body = "\n".join(json.dumps(m, separators=(",", ":")) for m in (common, event))
    a = analyze(analyzer, Request(flow_id="g", source="golden", timestamp=0.0, method="POST",
                                  url="https://httpkafka.unityads.unity3d.com/v1/events", headers=[],
                                  body=body.encode()))
    assert_decoded(a, "events")
    assert_finding(a, "advertising_id", GAID, "body[0].common.device.advertisingTrackingId")
    assert_finding(a, "app_id", BUNDLE, "body[0].common.client.bundleId")
    assert_finding(a, "country", "DE", "body[0].common.country")
    assert_finding(a, "event_name", "ads.sdk2.diagnostics", "body[1].type")
    endpoint = analyzer.endpoints[("unity_ads", "events")]
    for section in ("client", "device"):
        for key in common["common"][section]:
            assert endpoint.fields.lookup(f"common.{section}.{key}") is not None, key


def test_native_metrics(analyzer):
    """MetricSender.sendMetrics: JSONObject(MetricsContainer.toMap()) POSTed to the config's murl."""
    body = {"msr": "100", "m": [{"n": "native_config_request_success", "v": 250, "t": {"rsn": "ok"}}],
            "t": {"iso": "de", "plt": "android", "sdk": "4.9.1", "system": "14", "prvc": "allowed",
                  "src": "remote", "tm": "false"},
            "shSid": SESSION_ID, "apil": "34", "sTkn": "session-token", "deviceModel": "Pixel 8",
            "deviceName": "shiba", "deviceMake": "Google", "gameId": GAME_ID}
    a = analyze(analyzer, Request(flow_id="g", source="golden", timestamp=0.0, method="POST",
                                  url="https://sdk-diagnostics.prd.mz.internal.unity3d.com/v1/metrics",
                                  headers=[], body=org_json(body).encode()))
    assert_decoded(a, "metrics")
    assert_finding(a, "event_name", "native_config_request_success", "body.m[0].n")
    assert_finding(a, "session_id", SESSION_ID, "body.shSid")
    assert_finding(a, "project_key", GAME_ID, "body.gameId")
    assert_finding(a, "consent_state", "allowed", "body.t.prvc")


# ------------------------------------------------------------------------------------------
# Negative cases

@pytest.mark.parametrize("url", [
    f"https://auction.unityads.unity3d.com.evil.example/v6/games/{GAME_ID}/requests",
    f"https://unityads-unity3d.example.com/games/{GAME_ID}/configuration",
])
def test_lookalike_hosts_are_not_unity(analyzer, url):
    req = Request(flow_id="g", source="golden", timestamp=0.0, method="POST", url=url, headers=[], body=b"{}")
    a = analyzer.analyze(req)
    assert a is None or a.tracker != "unity_ads"


def test_unknown_path_on_unity_host_is_not_decoded(analyzer):
    a = analyze(analyzer, Request(flow_id="g", source="golden", timestamp=0.0, method="GET",
                                  url="https://auction.unityads.unity3d.com/check", headers=[], body=b""))
    assert (a.tracker, a.endpoint, a.status) == ("unity_ads", "(no endpoint rule)", "not_decoded")
