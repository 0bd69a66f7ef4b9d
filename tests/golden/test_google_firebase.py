"""Golden tests: the Firebase wire formats, built the way each SDK builds them.

Open-source builders are cited as repo:path@commit (firebase-android-sdk a089298ed9,
firebase-js-sdk 6f865964ba). The Analytics upload to app-measurement.com is produced by closed
code (Google Play services / GoogleAppMeasurement): its protobuf is built here by hand with a
tiny wire-format encoder, following the measurement service's own nano-proto classes in
decompiled Play services code (FabianPastor/TGDecompiledBeta:com/google/android/gms/internal/
zzcjz.java, zzcjw.java, zzcjx.java, zzckb.java and the zzcfj.java debug printer @0d0062b109), the
community proto (lari/firebase-ga4-app-measurement-protobuf:app-measurement.proto) and TrackHAR's
observed paths (tweaselORG/TrackHAR:src/adapters/google.ts@b018948), gzip'd as the SDK uploads it.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from leakmap.model import Analysis
from golden_support import (analyze_for, make_request, pb_bytes, pb_double, pb_float, pb_int, pb_msg,
                            request_via_mitmproxy as via_mitmproxy, analyzer_fixture)

# ------------------------------------------------------------------------------------------
# Test identities

PACKAGE = "com.example.shop"
BUNDLE_ID = "com.example.ShopApp"
GMP_APP_ID = "1:123456789012:android:0a1b2c3d4e5f60718293a4"
WEB_APP_ID = "1:123456789012:web:9f8e7d6c5b4a39281706f5"
API_KEY = "AIzaSyA-leakmapTestKey0123456789abcdefg"
PROJECT = "shop-example-4f2a1"
FID = "cK3mQ1xZTn2Yb8w7Vq0pRs"            # 22 chars, FIS format
APP_INSTANCE_ID = "b3f1c2d4e5a60718293a4b5c6d7e8f90"
AAID = "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"
IDFV = "A1B2C3D4-E5F6-4789-9ABC-DEF012345678"
USER_ID = "honey-user-9d41"
CERT_SHA1 = "3A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D"
FIS_TOKEN = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBJZCI6IjEifQ.sig"
REFRESH_TOKEN = "3_AS3qfwJ9leakmapRefreshToken"
NOW_MS = 1767225600123
ANDROID_ID = 0x3F8A1C2B4D5E6F70            # Settings.Secure.ANDROID_ID as the int64 of field 36


analyzer = analyzer_fixture()


def summary(a: Analysis) -> str:
    lines = [f"status={a.status} endpoint={a.endpoint} error={a.error!r} chain={a.decode_chain}"]
    lines += [f"  {f.data_type} {f.value!r} @ {f.path} [{f.detector}: {f.detail}]" for f in a.findings]
    lines += [f"  field {p} = {v!r} [{label}]" for p, v, label in a.fields]
    return "\n".join(lines)


analyze = analyze_for("google_firebase", check_via=False)


def assert_finding(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule") -> None:
    """golden_support.assert_finding, failing with this module's fuller summary (fields too)."""
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) finding in\n{summary(a)}"
    assert (hits[0].path, hits[0].detector) == (path, detector), f"({data_type}, {value!r}):\n{summary(a)}"


# ------------------------------------------------------------------------------------------
# Protocol Buffers wire format, by hand (no schema): golden_support's field encoders


def param(name: str, *, s: str | None = None, i: int | None = None, f: float | None = None,
          d: float | None = None) -> bytes:
    """Event parameter (zzcjx.java@0d0062b109): {1 name, 2 string | 3 int64 | 4 float | 5 double}."""
    value = (pb_bytes(2, s) if s is not None else pb_int(3, i) if i is not None
             else pb_float(4, f) if f is not None else pb_double(5, d or 0.0))
    return pb_msg(1, pb_bytes(1, name), value)


def event(name: str, *params: bytes, ts: int = NOW_MS, count: int | None = None) -> bytes:
    """Bundle field 2 (zzcjw): {1 params..., 2 name, 3 timestamp millis, 4 previous timestamp, 5 count}."""
    tail = pb_int(5, count) if count is not None else b""
    return pb_msg(2, *params, pb_bytes(2, name), pb_int(3, ts), pb_int(4, ts - 60_000), tail)


def user_property(name: str, value: str | float) -> bytes:
    """Bundle field 3 (zzckb.java@0d0062b109): {1 set timestamp, 2 name, 3 string | 6 double}."""
    encoded = pb_bytes(3, value) if isinstance(value, str) else pb_double(6, value)
    return pb_msg(3, pb_int(1, NOW_MS - 5000), pb_bytes(2, name), encoded)


def android_bundle(*, language: str = "en-us") -> bytes:
    """One Bundle (Batch field 1) as Android's measurement service fills it."""
    return pb_msg(
        1,
        pb_int(1, 1),
        event("_vs", param("_o", s="auto"), param("_sn", s="CheckoutActivity"), param("_si", i=-3141592653)),
        event("purchase", param("_o", s="app"), param("coupon", s="SPRING-HONEY"), param("value", d=9.99),
              param("discount", f=2.5), count=2),
        user_property("_id", USER_ID),
        user_property("_fot", "1767225000000"),
        user_property("ltv", 42.75),
        pb_int(4, NOW_MS), pb_int(5, NOW_MS - 120_000), pb_int(6, NOW_MS - 1000), pb_int(7, NOW_MS - 3_600_000),
        pb_bytes(8, "android"), pb_bytes(9, "14"), pb_bytes(10, "Pixel 8"), pb_bytes(11, language),
        pb_int(12, 60), pb_bytes(13, "com.android.vending"), pb_bytes(14, PACKAGE), pb_bytes(16, "3.4.1"),
        pb_int(17, 241807), pb_int(18, 241807), pb_bytes(19, AAID), pb_int(20, 1),
        pb_bytes(21, APP_INSTANCE_ID), pb_int(22, 5123456789012345678), pb_int(23, 7), pb_bytes(24, "H"),
        pb_bytes(25, GMP_APP_ID), pb_int(26, NOW_MS - 7_200_000), pb_int(28, 1),
        pb_msg(29, pb_int(1, 3), pb_int(4, 1)),
        pb_bytes(30, FID), pb_int(31, 341), pb_int(35, 1767000000000), pb_int(36, ANDROID_ID),
    )


def ios_bundle() -> bytes:
    """iOS adds field 27, the identifierForVendor (TrackHAR developerScopedId, 1.*.27)."""
    return pb_msg(1, pb_int(1, 1), event("_s", param("_o", s="auto")), pb_bytes(8, "ios"),
                  pb_bytes(9, "17.6.1"), pb_bytes(10, "iPhone14,5"), pb_int(12, -300), pb_bytes(14, BUNDLE_ID),
                  pb_bytes(16, "5.1.0"), pb_bytes(19, AAID.upper()), pb_bytes(21, APP_INSTANCE_ID),
                  pb_bytes(25, "1:123456789012:ios:77aa88bb99cc00dd"), pb_bytes(27, IDFV))


MEASUREMENT_URL = "https://app-measurement.com/a"

# ------------------------------------------------------------------------------------------
# app-measurement.com/a


def test_measurement_upload_gzip_content_encoding(analyzer) -> None:
    body = gzip.compress(android_bundle())
    request = via_mitmproxy("POST", MEASUREMENT_URL, body, {
        "Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip",
        "User-Agent": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A.240805.005)"})
    a = analyze(analyzer, request, "measurement_upload")
    assert_finding(a, "app_id", PACKAGE, "body.1.14")
    assert_finding(a, "advertising_id", AAID, "body.1.19")
    assert_finding(a, "installation_id", APP_INSTANCE_ID, "body.1.21")
    assert_finding(a, "installation_id", FID, "body.1.30")
    assert_finding(a, "project_key", GMP_APP_ID, "body.1.25")
    assert_finding(a, "os_name", "android", "body.1.8")
    assert_finding(a, "os_version", "14", "body.1.9")
    assert_finding(a, "device_model", "Pixel 8", "body.1.10")
    assert_finding(a, "timezone", "60", "body.1.12")
    assert_finding(a, "app_version", "3.4.1", "body.1.16")
    assert_finding(a, "app_build", "341", "body.1.31")
    assert_finding(a, "sdk_version", "241807", "body.1.17")
    assert_finding(a, "consent_state", "1", "body.1.20")   # limited_ad_tracking (bool)
    assert_finding(a, "android_id", str(ANDROID_ID), "body.1.36")
    assert_finding(a, "event_name", "_vs", "body.1.2[0].2")
    assert_finding(a, "event_name", "purchase", "body.1.2[1].2")
    assert_finding(a, "custom_property", "CheckoutActivity", "body.1.2[0].1[1].2")
    assert_finding(a, "custom_property", "SPRING-HONEY", "body.1.2[1].1[1].2")
    assert_finding(a, "custom_property", USER_ID, "body.1.3[0].3")
    # Attribution: the package name inside the payload.
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_measurement_upload_raw_gzip_and_every_field_mapped(analyzer) -> None:
    """Body gzip'd without Content-Encoding: the rule's own gzip step. Every leaf of the
    bundle is labelled by the rule (no field left to guessing)."""
    a = analyze(analyzer, make_request("POST", MEASUREMENT_URL, gzip.compress(android_bundle())),
                "measurement_upload")
    assert a.decode_chain == ["body: gzip → protobuf"], a.decode_chain
    fields = analyzer.endpoints[("google_firebase", "measurement_upload")].fields
    unmapped = []
    for path, value, _ in a.fields:
        relative = path.removeprefix("body.1.")
        if relative.startswith("11."):  # field 11 misread as a message: test_measurement_language_string
            continue
        if fields.lookup(relative) is None:
            unmapped.append((path, value))
    assert unmapped == [], summary(a)


def test_measurement_upload_ios_vendor_id(analyzer) -> None:
    a = analyze(analyzer, make_request("POST", "https://region1.app-measurement.com/a", gzip.compress(ios_bundle())),
                "measurement_upload")
    assert_finding(a, "vendor_id", IDFV, "body.1.27")
    assert_finding(a, "app_id", BUNDLE_ID, "body.1.14")
    assert_finding(a, "os_name", "ios", "body.1.8")
    assert_finding(a, "advertising_id", AAID.upper(), "body.1.19")


def test_measurement_upload_two_bundles(analyzer) -> None:
    """Batch field 1 repeats: one bundle per app/upload window."""
    body = gzip.compress(android_bundle() + ios_bundle())
    a = analyze(analyzer, make_request("POST", MEASUREMENT_URL, body), "measurement_upload")
    assert_finding(a, "app_id", PACKAGE, "body.1[0].14")
    assert_finding(a, "app_id", BUNDLE_ID, "body.1[1].14")


def test_measurement_language_string(analyzer) -> None:
    a = analyze(analyzer, make_request("POST", MEASUREMENT_URL, gzip.compress(android_bundle())), "measurement_upload")
    assert_finding(a, "language", "en-us", "body.1.11")


def test_measurement_float_and_double_values(analyzer) -> None:
    """Param 4 float (fixed32) and 5 double (fixed64); user property 6 double (zzcjx, zzckb)."""
    a = analyze(analyzer, make_request("POST", MEASUREMENT_URL, gzip.compress(android_bundle())), "measurement_upload")
    assert_finding(a, "custom_property", "9.99", "body.1.2[1].1[2].5")
    assert_finding(a, "custom_property", "2.5", "body.1.2[1].1[3].4")
    assert_finding(a, "custom_property", "42.75", "body.1.3[2].6")


def test_measurement_config(analyzer) -> None:
    url = f"https://app-measurement.com/config/app/{GMP_APP_ID}?platform=android&gmp_version=241807&runtime_version=0&app_instance_id={APP_INSTANCE_ID}"
    a = analyze(analyzer, make_request("GET", url), "measurement_config")
    assert_finding(a, "project_key", GMP_APP_ID, "path.gmp_app_id")
    assert_finding(a, "installation_id", APP_INSTANCE_ID, "query.app_instance_id")
    assert_finding(a, "os_name", "android", "query.platform")


# ------------------------------------------------------------------------------------------
# Firebase Installations


def android_heartbeat() -> str:
    """DefaultHeartBeatController.getHeartBeatsHeader@a089298ed9: JSON {heartbeats:[{agent,
    dates}], version:"2"}, gzip'd, base64 URL_SAFE|NO_PADDING|NO_WRAP."""
    agent = ("fire-android/34 fire-core/21.0.0 device-name/shiba device-brand/google device-model/shiba "
             "android-installer/com.android.vending fire-installations/18.0.0 android-platform/ "
             "android-target-sdk/34 android-min-sdk/23 kotlin/1.9.22")
    payload = json.dumps({"heartbeats": [{"agent": agent, "dates": ["2026-01-01"]}], "version": "2"},
                         separators=(",", ":"))
    return base64.urlsafe_b64encode(gzip.compress(payload.encode())).decode().rstrip("=")


def test_installations_android(analyzer) -> None:
    """FirebaseInstallationServiceClient.createFirebaseInstallation@a089298ed9: JSON body
    {fid, appId, authVersion, sdkVersion: "a:<ver>"}, gzip Content-Encoding, headers."""
    body = json.dumps({"fid": FID, "appId": GMP_APP_ID, "authVersion": "FIS_v2", "sdkVersion": "a:18.0.0"},
                      separators=(",", ":")).encode()
    request = via_mitmproxy(
        "POST", f"https://firebaseinstallations.googleapis.com/v1/projects/{PROJECT}/installations",
        gzip.compress(body),
        {"Content-Type": "application/json", "Accept": "application/json", "Content-Encoding": "gzip",
         "Cache-Control": "no-cache", "X-Android-Package": PACKAGE, "x-firebase-client": android_heartbeat(),
         "X-Android-Cert": CERT_SHA1, "x-goog-api-key": API_KEY})
    a = analyze(analyzer, request, "installations")
    assert_finding(a, "installation_id", FID, "body.fid")
    assert_finding(a, "project_key", GMP_APP_ID, "body.appId")
    assert_finding(a, "sdk_version", "a:18.0.0", "body.sdkVersion")
    assert_finding(a, "app_id", PACKAGE, "header.x-android-package")
    assert_finding(a, "project_key", API_KEY, "header.x-goog-api-key")
    assert_finding(a, "project_key", PROJECT, "path.project")
    assert_finding(a, "device_model", "shiba", "header.x-firebase-client.heartbeats[0].agent.device-model")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_installations_heartbeat_device_model(analyzer) -> None:
    request = make_request("POST", f"https://firebaseinstallations.googleapis.com/v1/projects/{PROJECT}/installations",
                           json.dumps({"fid": FID}), [("x-firebase-client", android_heartbeat())])
    a = analyze(analyzer, request, "installations")
    assert [f for f in a.findings if (f.data_type, f.value) == ("device_model", "shiba")], summary(a)


def test_installations_web_and_auth_token(analyzer) -> None:
    """firebase-js-sdk installations: generateAuthToken body {installation: {sdkVersion,
    appId}}, `Authorization: FIS_v2 <refresh token>`; heartbeat = base64url(JSON), no gzip
    (packages/app/src/heartbeatService.ts@6f865964ba)."""
    heartbeat = base64.urlsafe_b64encode(json.dumps(
        {"version": 2, "heartbeats": [{"agent": "fire-core/0.13.0 fire-js/ fire-iid/0.6.0 fire-gcl/0.2.0",
                                      "dates": ["2026-01-01"]}]}).encode()).decode().rstrip("=")
    url = f"https://firebaseinstallations.googleapis.com/v1/projects/{PROJECT}/installations/{FID}/authTokens:generate"
    body = json.dumps({"installation": {"sdkVersion": "w:0.6.19", "appId": WEB_APP_ID}})
    a = analyze(analyzer, make_request("POST", url, body, [
        ("Content-Type", "application/json"), ("Accept", "application/json"), ("x-goog-api-key", API_KEY),
        ("Authorization", f"FIS_v2 {REFRESH_TOKEN}"), ("x-firebase-client", heartbeat),
        ("Origin", "https://shop.example")]), "installations")
    assert_finding(a, "installation_id", FID, "path.fid")
    assert_finding(a, "project_key", WEB_APP_ID, "body.installation.appId")
    assert_finding(a, "auth_token", f"FIS_v2 {REFRESH_TOKEN}", "header.authorization")
    assert_finding(a, "sdk_version", "0.13.0", "header.x-firebase-client.heartbeats[0].agent.fire-core")
    assert (a.app, a.app_signal) == ("shop.example", "first_party_site")


def test_installations_plain_heartbeat_header(analyzer) -> None:
    """Older SDKs send x-firebase-client as plain tokens: the optional decode leaves it."""
    a = analyze(analyzer, make_request(
        "POST", f"https://firebaseinstallations.googleapis.com/v1/projects/{PROJECT}/installations",
        json.dumps({"fid": FID, "appId": GMP_APP_ID, "authVersion": "FIS_v2", "sdkVersion": "i:10.20.0"}),
        [("X-Ios-Bundle-Identifier", BUNDLE_ID), ("x-firebase-client", "apple-platform/ios apple-sdk/21C52 fire-ios/10.20.0")]),
        "installations")
    assert_finding(a, "app_id", BUNDLE_ID, "header.x-ios-bundle-identifier")
    assert_finding(a, "sdk_version", "10.20.0", "header.x-firebase-client.fire-ios")


# ------------------------------------------------------------------------------------------
# Remote Config


def test_remote_config_android(analyzer) -> None:
    """ConfigFetchHttpClient.createFetchRequestBody@a089298ed9 + setFetchRequestHeaders."""
    body = {"appInstanceId": FID, "appInstanceIdToken": FIS_TOKEN, "appId": GMP_APP_ID, "countryCode": "DE",
            "languageCode": "de-DE", "platformVersion": "34", "timeZone": "Europe/Berlin", "appVersion": "3.4.1",
            "appBuild": "341", "packageName": PACKAGE, "sdkVersion": "22.0.0",
            "analyticsUserProperties": {"loyalty_tier": "gold"}, "firstOpenTime": "2026-01-01T00:00:00.000Z"}
    url = "https://firebaseremoteconfig.googleapis.com/v1/projects/123456789012/namespaces/firebase:fetch"
    a = analyze(analyzer, make_request("POST", url, json.dumps(body), [
        ("X-Goog-Api-Key", API_KEY), ("X-Android-Package", PACKAGE), ("X-Android-Cert", CERT_SHA1),
        ("X-Google-GFE-Can-Retry", "yes"), ("X-Goog-Firebase-Installations-Auth", FIS_TOKEN),
        ("Content-Type", "application/json")]), "remote_config_fetch")
    assert_finding(a, "installation_id", FID, "body.appInstanceId")
    assert_finding(a, "auth_token", FIS_TOKEN, "body.appInstanceIdToken")
    assert_finding(a, "app_id", PACKAGE, "body.packageName")
    assert_finding(a, "country", "DE", "body.countryCode")
    assert_finding(a, "language", "de-DE", "body.languageCode")
    assert_finding(a, "timezone", "Europe/Berlin", "body.timeZone")
    assert_finding(a, "os_version", "34", "body.platformVersion")
    assert_finding(a, "first_launch", "2026-01-01T00:00:00.000Z", "body.firstOpenTime")
    assert_finding(a, "custom_property", "gold", "body.analyticsUserProperties.loyalty_tier")


def test_remote_config_web(analyzer) -> None:
    """firebase-js-sdk remote-config rest_client.ts@6f865964ba: snake_case body, ?key=."""
    url = f"https://firebaseremoteconfig.googleapis.com/v1/projects/{PROJECT}/namespaces/firebase:fetch?key={API_KEY}"
    body = {"sdk_version": "0.6.0", "app_instance_id": FID, "app_instance_id_token": FIS_TOKEN,
            "app_id": WEB_APP_ID, "language_code": "en-US"}
    a = analyze(analyzer, make_request("POST", url, json.dumps(body)), "remote_config_fetch")
    assert_finding(a, "installation_id", FID, "body.app_instance_id")
    assert_finding(a, "language", "en-US", "body.language_code")
    assert_finding(a, "project_key", API_KEY, "query.key")


# ------------------------------------------------------------------------------------------
# Cloud Messaging


def test_fcm_web_registration(analyzer) -> None:
    """firebase-js-sdk messaging requests.ts@6f865964ba getBody/getHeaders."""
    endpoint = "https://fcm.googleapis.com/fcm/send/dGVzdC1wdXNoLXN1YnNjcmlwdGlvbg:APA91bHoney"
    body = {"web": {"origin": "shop.example", "endpoint": endpoint, "auth": "c2VjcmV0LWF1dGg",
                    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"}}
    a = analyze(analyzer, make_request("POST", f"https://fcmregistrations.googleapis.com/v1/projects/{PROJECT}/registrations",
                                       json.dumps(body), [("x-goog-api-key", API_KEY),
                                                          ("x-goog-firebase-installations-auth", f"FIS {FIS_TOKEN}")]),
                "fcm_registrations")
    assert_finding(a, "push_token", endpoint, "body.web.endpoint")
    assert_finding(a, "auth_token", f"FIS {FIS_TOKEN}", "header.x-goog-firebase-installations-auth")


def test_fcm_android_register3(analyzer) -> None:
    """GmsRpc.setDefaultAttributesToBundle@a089298ed9 extras, as Google Play services posts
    them (X- prefixed) with its own app/device/sender/cert keys."""
    form = [("X-subtype", "123456789012"), ("sender", "123456789012"), ("X-app_ver", "341"),
            ("X-osv", "34"), ("X-cliv", "fcm-24.0.0"), ("X-gmsv", "241807035"), ("X-appid", FID),
            ("X-scope", "*"), ("X-Goog-Firebase-Installations-Auth", FIS_TOKEN), ("X-gmp_app_id", GMP_APP_ID),
            ("X-firebase-app-name-hash", "R1dAH9Ui7M-ynoznwBdw01tLxhI"), ("X-app_ver_name", "3.4.1"),
            ("app", PACKAGE), ("device", "3876543210987654321"), ("app_ver", "341"), ("gcm_ver", "241807035"),
            ("cert", CERT_SHA1.lower())]
    from urllib.parse import urlencode
    a = analyze(analyzer, make_request("POST", "https://android.clients.google.com/c2dm/register3", urlencode(form),
                                       [("Authorization", "AidLogin 3876543210987654321:1234567890123456789"),
                                        ("Content-Type", "application/x-www-form-urlencoded")]), "fcm_register")
    assert_finding(a, "app_id", PACKAGE, "body.app")
    assert_finding(a, "device_id", "3876543210987654321", "body.device")
    assert_finding(a, "installation_id", FID, "body.X-appid")
    assert_finding(a, "project_key", "123456789012", "body.X-subtype")
    assert_finding(a, "os_version", "34", "body.X-osv")
    assert_finding(a, "auth_token", "AidLogin 3876543210987654321:1234567890123456789", "header.authorization")


# ------------------------------------------------------------------------------------------
# Crashlytics and DataTransport


def test_crashlytics_settings(analyzer) -> None:
    """DefaultSettingsSpiCall@a089298ed9: query params and X-CRASHLYTICS-* headers."""
    url = (f"https://firebase-settings.crashlytics.com/spi/v2/platforms/android/gmp/{GMP_APP_ID}/settings"
           "?build_version=341&display_version=3.4.1&source=4&instance=8f2b1e0c7d6a5b4c3e2f1a0b9c8d7e6f5a4b3c2d")
    a = analyze(analyzer, make_request("GET", url, headers=[
        ("X-CRASHLYTICS-GOOGLE-APP-ID", GMP_APP_ID), ("X-CRASHLYTICS-API-CLIENT-TYPE", "android"),
        ("X-CRASHLYTICS-API-CLIENT-VERSION", "19.0.3"), ("User-Agent", "Crashlytics Android SDK/19.0.3"),
        ("X-CRASHLYTICS-DEVICE-MODEL", "Google/Pixel 8"), ("X-CRASHLYTICS-OS-BUILD-VERSION", "AP2A.240805.005"),
        ("X-CRASHLYTICS-OS-DISPLAY-VERSION", "14"), ("X-CRASHLYTICS-INSTALLATION-ID", "0f8b5e2c7a414c3e9d2b6e1f4a9c8b37")]),
        "crashlytics_settings")
    assert_finding(a, "project_key", GMP_APP_ID, "path.gmp_app_id")
    assert_finding(a, "app_version", "3.4.1", "query.display_version")
    assert_finding(a, "device_model", "Google/Pixel 8", "header.x-crashlytics-device-model")
    assert_finding(a, "installation_id", "0f8b5e2c7a414c3e9d2b6e1f4a9c8b37", "header.x-crashlytics-installation-id")


def crashlytics_report() -> dict[str, Any]:
    """CrashlyticsReport JSON (model/CrashlyticsReport.java@a089298ed9 property names)."""
    return {"sdkVersion": "19.0.3", "gmpAppId": GMP_APP_ID, "platform": 4,
            "installationUuid": "0f8b5e2c7a414c3e9d2b6e1f4a9c8b37", "firebaseInstallationId": FID,
            "buildVersion": "341", "displayVersion": "3.4.1",
            "session": {"generator": "Crashlytics Android SDK/19.0.3", "identifier": "67A1B2C3D4E5F6070809AABBCCDDEEFF",
                        "startedAt": 1767225600, "generatorType": 3,
                        "app": {"identifier": PACKAGE, "version": "341", "displayVersion": "3.4.1",
                                "installationUuid": "0f8b5e2c7a414c3e9d2b6e1f4a9c8b37"},
                        "os": {"platform": 3, "version": "14", "buildVersion": "AP2A.240805.005", "jailbroken": False},
                        "device": {"arch": 9, "model": "Pixel 8", "cores": 8, "ram": 7823466496, "diskSpace": 115343360000,
                                   "simulator": False, "state": 0, "manufacturer": "Google", "modelClass": "shiba"},
                        "user": {"identifier": USER_ID},
                        "events": [{"timestamp": 1767225605, "type": "crash",
                                    "app": {"execution": {"exception": {"type": "java.lang.IllegalStateException",
                                                                        "reason": "cart empty"}},
                                            "customAttributes": [{"key": "cart_id", "value": "cart-honey-77"}],
                                            "background": False, "uiOrientation": 1},
                                    "device": {"batteryLevel": 0.55, "batteryVelocity": 1, "proximityOn": False,
                                               "orientation": 1, "ramUsed": 123456789, "diskUsed": 987654321}}]}}


def android_client_info() -> dict[str, Any]:
    """CctTransportBackend.decorate@a089298ed9 metadata → AndroidClientInfo JSON names."""
    return {"clientType": "ANDROID_FIREBASE", "androidClientInfo": {
        "sdkVersion": 34, "model": "Pixel 8", "hardware": "shiba", "device": "shiba", "product": "shiba",
        "osBuild": "AP2A.240805.005", "manufacturer": "Google", "fingerprint": "google/shiba/shiba:14/AP2A/1:user/release-keys",
        "locale": "de", "country": "DE", "mccMnc": "26201", "applicationBuild": "341"}}


def test_datatransport_json_crashlytics(analyzer) -> None:
    """BatchedLogRequest JSON as CctTransportBackend sends it (gzip, Content-Encoding) with one
    FIREBASE_CRASHLYTICS_REPORT event whose payload is sourceExtensionJsonProto3."""
    batch = {"logRequest": [{"requestTimeMs": NOW_MS, "requestUptimeMs": 81234567, "clientInfo": android_client_info(),
                             "logSourceName": "FIREBASE_CRASHLYTICS_REPORT",
                             "logEvent": [{"eventTimeMs": NOW_MS - 2000, "eventUptimeMs": 81230000,
                                           "sourceExtensionJsonProto3": json.dumps(crashlytics_report()),
                                           "timezoneOffsetSeconds": 3600,
                                           "networkConnectionInfo": {"networkType": "WIFI", "mobileSubtype": "UNKNOWN_MOBILE_SUBTYPE"}}],
                             "qosTier": "DEFAULT"}]}
    request = via_mitmproxy("POST", "https://crashlyticsreports-pa.googleapis.com/v1/firelog/legacy/batchlog",
                            gzip.compress(json.dumps(batch).encode()),
                            {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Goog-Api-Key": API_KEY})
    a = analyze(analyzer, request, "datatransport_batchlog")
    ext = "body.logRequest[0].logEvent[0].sourceExtensionJsonProto3"
    assert_finding(a, "device_model", "Pixel 8", "body.logRequest[0].clientInfo.androidClientInfo.model")
    assert_finding(a, "carrier", "26201", "body.logRequest[0].clientInfo.androidClientInfo.mccMnc")
    assert_finding(a, "app_id", PACKAGE, f"{ext}.session.app.identifier")
    assert_finding(a, "user_id", USER_ID, f"{ext}.session.user.identifier")
    assert_finding(a, "installation_id", FID, f"{ext}.firebaseInstallationId")
    assert_finding(a, "error_report", "cart empty", f"{ext}.session.events[0].app.execution.exception.reason")
    assert_finding(a, "custom_property", "cart-honey-77", f"{ext}.session.events[0].app.customAttributes[0].value")
    assert_finding(a, "battery", "0.55", f"{ext}.session.events[0].device.batteryLevel")
    assert (a.app, a.app_signal) == (PACKAGE, "payload_app_id")


def test_datatransport_protobuf_ios(analyzer) -> None:
    """GoogleDataTransport (iOS) protobuf BatchedLogRequest: LogRequest {1 client_info {1 type,
    4 ios {3, 4 OS version, 5 app build, 6 country, 7 model, 8 language, 11 bundle id}},
    6 log source name, 3 event {1 time, 15 tz offset}} (google_cct.proto numbers)."""
    ios_info = pb_msg(4, pb_bytes(3, "17"), pb_bytes(4, "17.6.1"), pb_bytes(5, "1207"), pb_bytes(6, "US"),
                      pb_bytes(7, "iPhone14,5"), pb_bytes(8, "en"), pb_bytes(11, BUNDLE_ID))
    log_request = pb_msg(1, pb_msg(1, pb_int(1, 15), ios_info), pb_int(2, 1974),
                         pb_msg(3, pb_int(1, NOW_MS), pb_int(15, 7200)), pb_int(4, NOW_MS))
    a = analyze(analyzer, make_request("POST", "https://firebaselogging-pa.googleapis.com/v1/firelog/legacy/batchlog",
                                       gzip.compress(log_request), [("Content-Type", "application/x-protobuf")]),
                "datatransport_batchlog")
    assert_finding(a, "app_id", BUNDLE_ID, "body.1.1.4.11")
    assert_finding(a, "device_model", "iPhone14,5", "body.1.1.4.7")
    assert_finding(a, "os_version", "17.6.1", "body.1.1.4.4")


def perf_metric(app_info: bytes, *metric: bytes) -> bytes:
    """PerfMetric (firebase-perf perf_metric.proto@a089298ed9): 1 application_info, 2
    trace_metric, 3 network_request_metric; map<string, V> entries are {1 key, 2 value}."""
    return pb_msg(1, app_info) + b"".join(metric)


ANDROID_PERF_APP = pb_bytes(1, GMP_APP_ID) + pb_bytes(2, FID) + pb_msg(
    3, pb_bytes(1, PACKAGE), pb_bytes(2, "21.0.1"), pb_bytes(3, "3.4.1")) + pb_int(5, 1)
PERF_TRACE = pb_msg(2, pb_bytes(1, "checkout_flow"), pb_int(2, 0), pb_int(4, NOW_MS * 1000), pb_int(5, 812_000),
                    pb_msg(6, pb_bytes(1, "items"), pb_int(2, 3)),
                    pb_msg(8, pb_bytes(1, "coupon"), pb_bytes(2, "SPRING-HONEY")),
                    pb_msg(9, pb_bytes(1, "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f"), pb_int(2, 1)))
PERF_NETWORK = pb_msg(3, pb_bytes(1, "https://api.shop.example/v1/cart"), pb_int(2, 3), pb_int(5, 200),
                      pb_bytes(6, "application/json"), pb_int(7, NOW_MS * 1000), pb_int(10, 64_000))


def test_datatransport_json_fireperf(analyzer) -> None:
    """firebase-perf FlgTransport.java@a089298ed9: log source FIREPERF, Encoding proto, so
    CctTransportBackend puts the PerfMetric bytes in sourceExtension (base64 in JSON)."""
    events = [{"eventTimeMs": NOW_MS, "eventUptimeMs": 81230000, "timezoneOffsetSeconds": 3600,
               "sourceExtension": base64.b64encode(perf_metric(ANDROID_PERF_APP, metric)).decode()}
              for metric in (PERF_TRACE, PERF_NETWORK)]
    batch = {"logRequest": [{"requestTimeMs": NOW_MS, "requestUptimeMs": 81234567, "clientInfo": android_client_info(),
                             "logSourceName": "FIREPERF", "logEvent": events, "qosTier": "DEFAULT"}]}
    request = via_mitmproxy("POST", "https://firebaselogging-pa.googleapis.com/v1/firelog/legacy/batchlog",
                            gzip.compress(json.dumps(batch).encode()),
                            {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Goog-Api-Key": API_KEY})
    a = analyze(analyzer, request, "datatransport_batchlog")
    ext = "body.logRequest[0].logEvent[0].sourceExtension"
    assert_finding(a, "project_key", GMP_APP_ID, f"{ext}.1.1")
    assert_finding(a, "installation_id", FID, f"{ext}.1.2")
    assert_finding(a, "app_id", PACKAGE, f"{ext}.1.3.1")
    assert_finding(a, "event_name", "checkout_flow", f"{ext}.2.1")
    assert_finding(a, "custom_property", "SPRING-HONEY", f"{ext}.2.8.2")
    assert_finding(a, "session_id", "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f", f"{ext}.2.9.1")
    assert_finding(a, "page_url", "https://api.shop.example/v1/cart", "body.logRequest[0].logEvent[1].sourceExtension.3.1")
    assert dict((p, label) for p, _, label in a.fields)[f"{ext}.2.8.1"] == ""


def test_datatransport_protobuf_fireperf_ios(analyzer) -> None:
    """GoogleDataTransport GDTCCTNanopbHelpers.m@960eeeab61: LogRequest {2 log_source = the
    mapping id (462 for Performance), 3 LogEvent {1 time, 6 source_extension = PerfMetric}}."""
    ios_app = pb_bytes(1, "1:123456789012:ios:77aa88bb99cc00dd") + pb_bytes(2, FID) + pb_msg(
        4, pb_bytes(2, "11.6.0"), pb_bytes(3, "5.1.0"), pb_bytes(4, "310004"), pb_msg(5, pb_int(1, 1))) + pb_int(5, 1)
    log_request = pb_msg(1, pb_msg(1, pb_int(1, 15), pb_msg(4, pb_bytes(11, BUNDLE_ID))), pb_int(2, 462),
                         pb_msg(3, pb_int(1, NOW_MS), pb_bytes(6, perf_metric(ios_app, PERF_TRACE)), pb_int(15, 7200)),
                         pb_int(4, NOW_MS))
    a = analyze(analyzer, make_request("POST", "https://firebaselogging-pa.googleapis.com/v1/firelog/legacy/batchlog",
                                       gzip.compress(log_request), [("Content-Type", "application/x-protobuf")]),
                "datatransport_batchlog")
    assert_finding(a, "installation_id", FID, "body.1.3.6.1.2")
    assert_finding(a, "carrier", "310004", "body.1.3.6.1.4.4")
    assert_finding(a, "app_version", "5.1.0", "body.1.3.6.1.4.3")
    assert_finding(a, "custom_property", "SPRING-HONEY", "body.1.3.6.2.8.2")
    assert_finding(a, "app_id", BUNDLE_ID, "body.1.1.4.11")


def test_datatransport_other_log_source_gets_no_perf_labels(analyzer) -> None:
    """FCM client events (firebase-messaging messaging_event_extension.proto@a089298ed9) reuse
    the numbers: {1 {1 project_number, 2 message_id, 3 instance_id, 6 package_name}}. Without
    the FIREPERF variant, the message id is not called an installation id."""
    fcm = pb_msg(1, pb_int(1, 123456789012), pb_bytes(2, "0:1767225600123%honeymsg"), pb_bytes(3, FID),
                 pb_bytes(6, PACKAGE))
    batch = {"logRequest": [{"requestTimeMs": NOW_MS, "clientInfo": android_client_info(),
                             "logSourceName": "FCM_CLIENT_EVENT_LOGGING",
                             "logEvent": [{"eventTimeMs": NOW_MS, "sourceExtension": base64.b64encode(fcm).decode()}]}]}
    a = analyze(analyzer, make_request("POST", "https://firebaselogging-pa.googleapis.com/v1/firelog/legacy/batchlog",
                                       json.dumps(batch)), "datatransport_batchlog")
    labels = {p: label for p, _, label in a.fields}
    assert labels["body.logRequest[0].logEvent[0].sourceExtension.1.2"] == "", summary(a)
    assert not [f for f in a.findings if f.value == "0:1767225600123%honeymsg"], summary(a)


# ------------------------------------------------------------------------------------------
# Negative


@pytest.mark.parametrize("url", [
    "https://app-measurement.com.evil.example/a",
    "https://app-measurement.example/a",
    "https://firebaseinstallations.googleapis.com.attacker.example/v1/projects/p/installations",
])
def test_lookalike_hosts_do_not_match(analyzer, url: str) -> None:
    a = analyzer.analyze(make_request("POST", url, gzip.compress(android_bundle())))
    assert a is None or a.tracker != "google_firebase", summary(a)


def test_other_path_on_measurement_host_is_not_upload(analyzer) -> None:
    a = analyzer.analyze(make_request("POST", "https://app-measurement.com/other", b"x"))
    assert a is not None and a.tracker == "google_firebase" and a.endpoint == "(no endpoint rule)"
