"""Golden tests for tracker_rules/unity_ads.yaml: each Unity Ads request built the way the SDK
source builds it (cited beside each builder), checked for endpoint, decode status and precise
(data type, value, path, detector) findings.

Sources: Unity-Technologies/unity-ads-android@2bcaa8a1 (native SDK 4.9.1), the Unity Ads
WebView TypeScript (Applifier/unity-ads-webview, public copy TinaHanAtUnity/CreativeRenderTool@952adcc1)
and, for the 4.10+ protobuf gateway, Unity Ads 4.15.1 decompiled in Elkalubi1/DLS-25-@c1a8f57b
(gatewayprotocol/v1 message classes, CommonGatewayClient).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from leakmap.model import Analysis, Request
from leakmap.rules import NOT_PERSONAL
from golden_support import (analyze, assert_finding, labels, pb_encode, analyzer_fixture, encode_uri_component,
                            org_json, request_via_mitmproxy as via_mitmproxy, summary)

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


# Only this tracker's rule: fast, and a lookalike host cannot hide behind another rule.
analyzer = analyzer_fixture(only=RULE)


def assert_decoded(a: Analysis, endpoint: str) -> None:
    assert (a.tracker, a.endpoint, a.status, a.error) == ("unity_ads", endpoint, "decoded", ""), summary(a)


def add_parameters(url: str, params: dict[str, Any]) -> str:
    """WebView Core/Utilities/Url.ts addParameters: encodeURIComponent(key)=encodeURIComponent(value),
    undefined values skipped, '?' then '&'. JS String(true) is 'true'."""
    def js(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    pairs = [f"{encode_uri_component(k)}={encode_uri_component(js(v))}" for k, v in params.items() if v is not None]
    return url + ("&" if "?" in url else "?") + "&".join(pairs)


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
# SDK 4.10+: protobuf UniversalRequest to gateway.unityads.unity3d.com/v1 (4.15.1)

# The messages as the SDK's generated classes declare them: {field: (number, kind)}
# (gatewayprotocol/v1/*OuterClass$*.smali *_FIELD_NUMBER constants and field types).
SCHEMA: dict[str, dict[str, tuple[int, str]]] = {
    "UniversalRequest": {"shared_data": (1, "SharedData"), "payload": (2, "Payload")},
    "SharedData": {"session_token": (1, "bytes"), "timestamps": (2, "Timestamps"), "pii": (3, "Pii"),
                   "developer_consent": (4, "DeveloperConsent"), "webview_version": (5, "varint"),
                   "current_state": (6, "bytes"), "test_data": (7, "TestData"), "app_start_time": (8, "Timestamp"),
                   "sdk_start_time": (9, "Timestamp"), "limited_session_token": (10, "LimitedSessionToken")},
    "Timestamp": {"seconds": (1, "varint"), "nanos": (2, "varint")},
    "Timestamps": {"timestamp": (1, "Timestamp"), "session_timestamp": (2, "varint")},
    "Pii": {"advertising_id": (1, "bytes"), "vendor_id": (2, "bytes"), "open_advertising_tracking_id": (3, "bytes"),
            "fid": (4, "string")},
    "DeveloperConsent": {"options": (1, "DeveloperConsentOption")},
    "DeveloperConsentOption": {"type": (1, "varint"), "custom_type": (2, "string"), "value": (3, "varint")},
    "TestData": {"force_campaign_id": (1, "string"), "force_country": (2, "string")},
    "LimitedSessionToken": {"device_make": (1, "string"), "device_model": (2, "string"), "os_version": (3, "string"),
                            "idfi": (4, "string"), "sdk_version": (5, "varint"), "sdk_version_name": (7, "string"),
                            "game_id": (8, "string"), "platform": (9, "varint"), "mediation_provider": (10, "varint"),
                            "custom_mediation_name": (11, "string"), "mediation_version": (12, "string"),
                            "session_id": (13, "bytes")},
    "Payload": {"initialization_request": (2, "InitializationRequest"), "ad_request": (3, "AdRequest"),
                "operative_event": (4, "OperativeEventRequest"), "diagnostic_event_request": (5, "DiagnosticEventRequest")},
    "InitializationRequest": {"client_info": (1, "ClientInfo"), "privacy": (2, "bytes"), "idfi": (3, "string"),
                              "session_id": (4, "bytes"), "cache": (5, "bytes"), "legacy_flow_user_consent": (6, "string"),
                              "auid": (7, "bytes"), "analytics_user_id": (8, "string"),
                              "device_info": (9, "InitializationDeviceInfo"), "is_first_init": (10, "bool"),
                              "auid_string": (11, "string")},
    "ClientInfo": {"sdk_version": (1, "varint"), "sdk_version_name": (2, "string"), "game_id": (3, "string"),
                   "test": (4, "bool"), "platform": (5, "varint"), "mediation_provider": (6, "varint"),
                   "custom_mediation_name": (7, "string"), "mediation_version": (8, "string"),
                   "omid_partner_version": (9, "string"), "omid_version": (10, "string"),
                   "sdk_development_platform": (11, "string"), "scar_version_name": (12, "string"),
                   "is_fid_available": (14, "bool")},
    "InitializationDeviceInfo": {"bundle_id": (1, "string"), "device_make": (2, "string"), "device_model": (3, "string"),
                                 "os_version": (4, "string"), "total_disk_space": (6, "varint"),
                                 "total_ram_memory": (7, "varint"), "current_ui_theme": (9, "varint"),
                                 "network_operator": (10, "string"), "battery_level": (11, "double"),
                                 "battery_status": (12, "varint"), "system_boot_time": (13, "varint"),
                                 "language": (14, "string"), "local_list": (15, "string"), "connection_type": (16, "string")},
    "AdRequest": {"session_counters": (1, "SessionCounters"), "static_device_info": (2, "StaticDeviceInfo"),
                  "dynamic_device_info": (3, "DynamicDeviceInfo"), "impression_opportunity_id": (5, "bytes"),
                  "placement_id": (6, "string"), "webview_version": (9, "varint"), "tcf": (10, "bytes"),
                  "ad_request_type": (11, "varint"), "ad_format": (13, "varint")},
    "SessionCounters": {"load_requests": (1, "varint"), "load_requests_adm": (2, "varint")},
    "StaticDeviceInfo": {"bundle_id": (1, "string"), "bundle_version": (2, "string"), "app_debuggable": (3, "bool"),
                         "rooted": (4, "bool"), "os_version": (5, "string"), "device_make": (6, "string"),
                         "device_model": (7, "string"), "webview_ua": (8, "string"), "screen_density": (9, "varint"),
                         "screen_width": (10, "varint"), "screen_height": (11, "varint"), "screen_size": (12, "varint"),
                         "stores": (13, "string"), "total_disk_space": (14, "varint"), "total_ram_memory": (15, "varint"),
                         "cpu_model": (16, "string"), "cpu_count": (17, "varint"), "gpu_model": (18, "string"),
                         "android": (19, "StaticAndroid")},
    "StaticAndroid": {"api_level": (1, "varint"), "version_code": (2, "varint"), "android_fingerprint": (3, "string"),
                      "app_installer": (4, "string"), "apk_developer_signing_certificate_hash": (5, "string"),
                      "build_brand": (7, "string"), "build_device": (8, "string"), "build_product": (14, "string"),
                      "sim_operator": (18, "string")},
    "DynamicDeviceInfo": {"language": (1, "string"), "network_operator": (2, "string"),
                          "network_operator_name": (3, "string"), "free_disk_space": (5, "varint"),
                          "free_ram_memory": (6, "varint"), "wired_headset": (7, "bool"), "time_zone": (8, "string"),
                          "time_zone_offset": (9, "varint"), "limited_tracking": (10, "bool"),
                          "android": (12, "DynamicAndroid"), "battery_level": (14, "double"), "battery_status": (15, "varint"),
                          "connection_type": (16, "varint"), "app_active": (17, "bool"), "screen_width": (20, "varint"),
                          "screen_height": (21, "varint")},
    "DynamicAndroid": {"network_connected": (1, "bool"), "network_type": (2, "varint"), "network_metered": (3, "bool"),
                       "telephony_manager_network_type": (4, "varint"), "volume": (7, "double"), "max_volume": (8, "double"),
                       "device_up_time": (9, "varint"), "device_elapsed_realtime": (10, "varint"), "charging_type": (15, "varint")},
    "OperativeEventRequest": {"event_id": (1, "bytes"), "event_type": (2, "varint"), "impression_opportunity_id": (3, "bytes"),
                              "tracking_token": (4, "bytes"), "additional_data": (5, "bytes"), "sid": (6, "string"),
                              "static_device_info": (8, "StaticDeviceInfo"), "dynamic_device_info": (9, "DynamicDeviceInfo")},
    "DiagnosticEventRequest": {"batch": (1, "DiagnosticEvent")},
    "DiagnosticEvent": {"event_type": (1, "varint"), "custom_event_type": (2, "string"), "timestamps": (3, "Timestamps"),
                        "time_value": (4, "double"), "string_tags": (5, "StringTag"), "placement_id": (9, "string")},
    "StringTag": {"key": (1, "string"), "value": (2, "string")},
}

# A GAID whose 16 bytes also parse as a protobuf message (field 1 varint 1, eight times):
# only the rule's `raw` list keeps it from being read as a sub-message.
GW_GAID = "08010801-0801-0801-0801-080108010801"
OAID = "5e3f9c1a-7b2d-4e8f-a1c3-d5e7f9b1c3e5"
FID = "cX3hE-2sQ4uJk7Yp1RtZ0a"
GW_SESSION = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
AUID = "e2d4c6b8-a0f1-4e3d-9c5b-7a9f1e3d5c7b"
SERVER_ID = "player-4711"


def uuid_bytes(text: str) -> bytes:
    """ProtobufExtensions.toByteString(UUID): most then least significant 64 bits, big-endian."""
    import uuid
    return uuid.UUID(text).bytes


def shared_data() -> dict[str, Any]:
    """AndroidGetUniversalRequestSharedData + AndroidPrivacyDeviceInfoDataSource (PII allowed)."""
    return {"session_token": b"\x9a\x01opaque-token\xff", "timestamps": {"timestamp": {"seconds": 1767225600, "nanos": 123000000},
                                                                        "session_timestamp": 1234},
            "pii": {"advertising_id": uuid_bytes(GW_GAID), "open_advertising_tracking_id": uuid_bytes(OAID), "fid": FID},
            "developer_consent": {"options": [{"type": 2, "value": 1}, {"type": 1, "custom_type": "gdpr", "value": 2}]},
            "webview_version": 4151, "app_start_time": {"seconds": 1767225590},
            "limited_session_token": {"device_make": "Google", "device_model": "Pixel 8", "os_version": "14", "idfi": IDFI,
                                      "sdk_version": 41501, "sdk_version_name": "4.15.1", "game_id": GAME_ID,
                                      "platform": 1, "mediation_provider": 3, "mediation_version": "12.1.0",
                                      "session_id": uuid_bytes(GW_SESSION)}}


STATIC_ANDROID = {"bundle_id": BUNDLE, "bundle_version": "2.3.1", "app_debuggable": False, "rooted": False, "os_version": "14",
                  "device_make": "Google", "device_model": "Pixel 8", "webview_ua": WEBVIEW_UA, "screen_density": 420,
                  "screen_width": 1080, "screen_height": 2400, "screen_size": 268435810, "stores": ["google"],
                  "total_disk_space": 119185342464, "total_ram_memory": 7823589376, "cpu_model": "Tensor G3", "cpu_count": 9,
                  "gpu_model": "Mali-G715",
                  "android": {"api_level": 34, "version_code": 41501, "android_fingerprint": "google/shiba/shiba:14/UQ1A/1:user/release-keys",
                              "app_installer": "com.android.vending", "apk_developer_signing_certificate_hash": "a1b2c3d4e5f6",
                              "build_brand": "google", "build_device": "shiba", "build_product": "shiba", "sim_operator": "26201"}}
DYNAMIC_ANDROID = {"language": "de_DE", "network_operator": "26201", "network_operator_name": "Telekom.de",
                   "free_disk_space": 52428800, "free_ram_memory": 2147483648, "wired_headset": False, "time_zone": "Europe/Berlin",
                   "time_zone_offset": 3600, "limited_tracking": False, "battery_level": 0.8, "battery_status": 2,
                   "connection_type": 1, "app_active": True, "screen_width": 1080, "screen_height": 2400,
                   "android": {"network_connected": True, "network_type": 13, "network_metered": False,
                               "telephony_manager_network_type": 13, "volume": 7.0, "max_volume": 15.0,
                               "device_up_time": 86400123, "device_elapsed_realtime": 86400999, "charging_type": 2}}
# What each device-info field is (the SDK's own field names), "" for not personal.
STATIC_TYPES = {"bundle_id": "app_id", "bundle_version": "app_version", "rooted": "is_rooted", "os_version": "os_version",
                "device_make": "manufacturer", "device_model": "device_model", "webview_ua": "user_agent",
                "screen_density": "screen_density", "screen_width": "screen_width", "screen_height": "screen_height",
                "total_disk_space": "disk", "total_ram_memory": "ram", "android.api_level": "os_version",
                "android.version_code": "sdk_version", "android.build_brand": "manufacturer",
                "android.build_device": "device_model", "android.build_product": "device_model", "android.sim_operator": "carrier"}
DYNAMIC_TYPES = {"language": "language", "network_operator": "carrier", "network_operator_name": "carrier",
                 "free_disk_space": "disk", "free_ram_memory": "ram", "time_zone": "timezone", "time_zone_offset": "timezone",
                 "limited_tracking": "consent_state", "battery_level": "battery", "battery_status": "is_charging",
                 "connection_type": "network_type", "screen_width": "screen_width", "screen_height": "screen_height",
                 "android.network_type": "network_type", "android.network_metered": "network_type",
                 "android.telephony_manager_network_type": "network_type", "android.volume": "volume",
                 "android.max_volume": "volume", "android.device_up_time": "uptime", "android.device_elapsed_realtime": "uptime",
                 "android.charging_type": "is_charging"}


def gateway_request(payload: dict[str, Any]) -> Request:
    """CommonGatewayClient.buildHttpRequest: POST UniversalRequest.toByteArray(), Content-Type
    application/x-protobuf, to GATEWAY_URL."""
    body = pb_encode(SCHEMA, "UniversalRequest", {"shared_data": shared_data(), "payload": payload})
    return Request(flow_id="g", source="golden", timestamp=0.0, method="POST", url="https://gateway.unityads.unity3d.com/v1",
                   headers=[("Content-Type", "application/x-protobuf")], body=body)


def number_path(message: str, dotted: str) -> str:
    """'android.build_brand' in StaticDeviceInfo → '19.7' (field numbers from SCHEMA)."""
    out = []
    for name in dotted.split("."):
        number, kind = SCHEMA[message][name]
        out.append(str(number))
        message = kind
    return ".".join(out)


def test_gateway_initialization_request(analyzer):
    """AndroidGetInitializationRequestPayload: client info, idfi, analytics user id, session id
    (UUID bytes), device info, auid (UUID bytes) and its string form."""
    init = {"client_info": {"sdk_version": 41501, "sdk_version_name": "4.15.1", "game_id": GAME_ID, "test": False, "platform": 1,
                            "mediation_provider": 3, "mediation_version": "12.1.0", "omid_partner_version": "1.0",
                            "sdk_development_platform": "Unity", "is_fid_available": True},
            "privacy": b"\x08\x01\x12\x04\xde\xad\xbe\xef", "idfi": IDFI, "session_id": uuid_bytes(GW_SESSION),
            "auid": uuid_bytes(AUID), "analytics_user_id": ANALYTICS_USER_ID, "is_first_init": True, "auid_string": AUID,
            "device_info": {"bundle_id": BUNDLE, "device_make": "Google", "device_model": "Pixel 8", "os_version": "14",
                            "total_disk_space": 119185342464, "total_ram_memory": 7823589376, "current_ui_theme": 32,
                            "network_operator": "26201", "battery_level": 0.8, "battery_status": 2,
                            "system_boot_time": 1767139200, "language": "de_DE", "local_list": "de_DE,en_US",
                            "connection_type": "wifi"}}
    a = analyze(analyzer, gateway_request({"initialization_request": init}))
    assert_decoded(a, "gateway")
    assert_finding(a, "advertising_id", GW_GAID, "body.1.3.1")
    assert_finding(a, "advertising_id", OAID, "body.1.3.3")
    assert_finding(a, "installation_id", FID, "body.1.3.4")
    assert_finding(a, "session_id", GW_SESSION, "body.1.10.13")
    assert_finding(a, "project_key", GAME_ID, "body.1.10.8")
    assert_finding(a, "installation_id", IDFI, "body.1.10.4")
    assert_finding(a, "installation_id", AUID, "body.2.2.7")
    assert_finding(a, "installation_id", ANALYTICS_USER_ID, "body.2.2.8")
    assert_finding(a, "app_id", BUNDLE, "body.2.2.9.1")
    assert_finding(a, "carrier", "26201", "body.2.2.9.10")
    assert_finding(a, "battery", "0.8", "body.2.2.9.11")
    assert_finding(a, "language", "de_DE,en_US", "body.2.2.9.15")
    fields = labels(a)
    # the same values again: one finding per value, but each place is labelled
    assert (fields["body.2.2.11"], fields["body.2.2.4"], fields["body.2.2.1.2"]) == ("installation_id", "session_id", "sdk_version")
    assert ("body.2.2.4", GW_SESSION, "session_id") in a.fields
    assert fields["body.1.4.1[1].2"] == "consent_state" and fields["body.1.1"] == ""  # consent option; opaque token
    assert ("body.2.2.2", "<8 bytes not decoded>", "") in a.fields        # privacy blob kept as bytes
    assert a.identity["app_id"] == BUNDLE


def test_gateway_ad_request_device_infos_are_mapped(analyzer):
    """AndroidGetAdRequest: session counters, StaticDeviceInfo, DynamicDeviceInfo, placement,
    tcf (IABTCF_TCString as UTF-8 bytes). Every personal device-info field has its type."""
    ad = {"session_counters": {"load_requests": 3}, "static_device_info": STATIC_ANDROID, "dynamic_device_info": DYNAMIC_ANDROID,
          "impression_opportunity_id": uuid_bytes("0a0b0c0d-0e0f-4010-8112-131415161718"), "placement_id": "Rewarded_Android",
          "webview_version": 4151, "tcf": b"CPzHq4APzHq4AAHABBENAXEgAP_gAEPgAAAAJYNV", "ad_request_type": 1, "ad_format": 2}
    a = analyze(analyzer, gateway_request({"ad_request": ad}))
    assert_decoded(a, "gateway")
    assert_finding(a, "user_agent", WEBVIEW_UA, "body.2.3.2.8")
    assert_finding(a, "consent_state", "CPzHq4APzHq4AAHABBENAXEgAP_gAEPgAAAAJYNV", "body.2.3.10")
    assert_finding(a, "timezone", "Europe/Berlin", "body.2.3.3.8")
    fields = labels(a)
    for name, data_type in STATIC_TYPES.items():
        assert fields[f"body.2.3.2.{number_path('StaticDeviceInfo', name)}"] == data_type, name
    for name, data_type in DYNAMIC_TYPES.items():
        assert fields[f"body.2.3.3.{number_path('DynamicDeviceInfo', name)}"] == data_type, name


def test_gateway_operative_event_and_diagnostics(analyzer):
    """GetOperativeEventRequest: event type, ids, player server id (sid), device infos;
    DiagnosticEventRequest: a batch of events."""
    op = {"event_id": uuid_bytes("11111111-2222-4333-8444-555555555555"), "event_type": 3,
          "impression_opportunity_id": uuid_bytes("0a0b0c0d-0e0f-4010-8112-131415161718"),
          "tracking_token": b"\x01\x02tracking", "additional_data": b"\x00\x01", "sid": SERVER_ID,
          "static_device_info": STATIC_ANDROID, "dynamic_device_info": DYNAMIC_ANDROID}
    a = analyze(analyzer, gateway_request({"operative_event": op}))
    assert_decoded(a, "gateway")
    assert_finding(a, "user_id", SERVER_ID, "body.2.4.6")
    assert_finding(a, "event_name", "3", "body.2.4.2")
    assert_finding(a, "app_id", BUNDLE, "body.2.4.8.1")
    assert_finding(a, "carrier", "Telekom.de", "body.2.4.9.3")
    diag = {"batch": [{"event_type": 12, "time_value": 250.5, "string_tags": [{"key": "operation", "value": "load"}]},
                      {"event_type": 0, "custom_event_type": "native_show_started", "placement_id": "Rewarded_Android"}]}
    b = analyze(analyzer, gateway_request({"diagnostic_event_request": diag}))
    assert_decoded(b, "gateway")
    assert_finding(b, "event_name", "native_show_started", "body.2.5.1[1].2")
    assert_finding(b, "event_name", "12", "body.2.5.1[0].1")


def test_gateway_rejects_lookalike_host(analyzer):
    body = gateway_request({"diagnostic_event_request": {"batch": [{"event_type": 1}]}}).body
    a = analyzer.analyze(Request(flow_id="g", source="golden", timestamp=0.0, method="POST",
                                 url="https://gateway.unityads.unity3d.com.evil.example/v1", headers=[], body=body))
    assert a is None or a.tracker != "unity_ads"


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
