"""Golden tests: Firebase Authentication, App Check, web Performance Monitoring and the web
config fetch, built the way each SDK builds them.

Web formats follow firebase/firebase-js-sdk@6f865964ba (file named in each test), Android
App Check firebase/firebase-android-sdk@a089298ed9, iOS App Check google/app-check@9a36e95bcf
and iOS Auth firebase/firebase-ios-sdk@07311b6e49 and @eed63a35a9 (v3 relyingparty).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

from golden_support import (FORM_CT, JSON_CT, assert_finding_at as has, compact, decoded_for, labels,
                            analyzer_fixture)
from golden_support import make_request as request

decoded = decoded_for("google_firebase")

API_KEY = "AIzaSyHoneyAuthKey-0123456789abcdefghij"
PROJECT = "shop-example-4f2a1"
WEB_APP_ID = "1:123456789012:web:9f8e7d6c5b4a39281706f5"
ANDROID_APP_ID = "1:123456789012:android:0a1b2c3d4e5f60718293a4"
IOS_APP_ID = "1:123456789012:ios:77aa88bb99cc00dd"
EMAIL = "jo.honey@example.com"
PASSWORD = "Honey-Pa55word!"
PHONE = "+15555550123"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ1c2VyX2lkIjoiaG9uZXkifQ.c2lnbmF0dXJl"
REFRESH_TOKEN = "AMf-vBxHoneyRefreshToken0123456789"
APP_CHECK_TOKEN = "eyJraWQiOiJhcHBjaGVjayJ9.eyJzdWIiOiJob25leSJ9.YXBwY2hlY2s"
FID = "cK3mQ1xZTn2Yb8w7Vq0pRs"
CLIENT_VERSION = "Chrome/JsCore/12.7.0/FirebaseCore-web"


analyzer = analyzer_fixture()


def web_heartbeat() -> str:
    """packages/app/src/heartbeatService.ts: base64url(JSON), no gzip on the web."""
    payload = {"heartbeats": [{"agent": "fire-core/0.13.0 fire-core-esm2020/0.13.0 fire-auth/1.12.0 fire-js/",
                               "dates": ["2026-01-01"]}]}
    return base64.urlsafe_b64encode(compact(payload).encode()).decode().rstrip("=")


def auth_headers() -> list[tuple[str, str]]:
    """packages/auth/src/core/auth/auth_impl.ts _getAdditionalHeaders + api/index.ts."""
    return [("X-Client-Version", CLIENT_VERSION), ("X-Firebase-gmpid", WEB_APP_ID),
            ("X-Firebase-Client", web_heartbeat()), ("X-Firebase-AppCheck", APP_CHECK_TOKEN),
            ("X-Firebase-Locale", "de"), JSON_CT, ("Origin", "https://shop.example")]


def identitytoolkit(method: str, body: dict | None = None, query: dict | None = None,
                    headers: list[tuple[str, str]] | None = None):
    url = f"https://identitytoolkit.googleapis.com{method}?" + urlencode({**(query or {}), "key": API_KEY})
    return request("GET" if body is None else "POST", url, compact(body) if body is not None else b"",
                   headers if headers is not None else auth_headers())


# ------------------------------------------------------------------------------------------
# Authentication (identitytoolkit.googleapis.com)


def test_sign_up_with_email_and_password(analyzer) -> None:
    """core/strategies/email_and_password.ts createUserWithEmailAndPassword: {returnSecureToken,
    email, password, clientType} to Endpoint.SIGN_UP."""
    a = analyzer.analyze(identitytoolkit("/v1/accounts:signUp", {
        "returnSecureToken": True, "email": EMAIL, "password": PASSWORD, "clientType": "CLIENT_TYPE_WEB"}))
    decoded(a, "auth")
    has(a, "email", EMAIL, "body.email")
    has(a, "password", PASSWORD, "body.password")
    has(a, "project_key", API_KEY, "query.key")
    has(a, "project_key", WEB_APP_ID, "header.x-firebase-gmpid")
    has(a, "sdk_version", CLIENT_VERSION, "header.x-client-version")
    has(a, "auth_token", APP_CHECK_TOKEN, "header.x-firebase-appcheck")
    has(a, "language", "de", "header.x-firebase-locale")
    has(a, "sdk_version", "1.12.0", "header.x-firebase-client.heartbeats[0].agent.fire-auth")
    assert labels(a)["body.clientType"] == "" and labels(a)["body.returnSecureToken"] == ""
    assert (a.app, a.app_signal) == ("shop.example", "first_party_site")


def test_sign_in_with_password_recaptcha_enterprise(analyzer) -> None:
    """core/credentials/email.ts + platform_browser/recaptcha/recaptcha_enterprise_verifier.ts
    injectRecaptchaFields: captchaResponse, clientType, recaptchaVersion added."""
    a = analyzer.analyze(identitytoolkit("/v1/accounts:signInWithPassword", {
        "returnSecureToken": True, "email": EMAIL, "password": PASSWORD, "clientType": "CLIENT_TYPE_WEB",
        "captchaResponse": "03AFcWeA-honey-recaptcha", "recaptchaVersion": "RECAPTCHA_ENTERPRISE"}))
    decoded(a, "auth")
    has(a, "password", PASSWORD, "body.password")
    has(a, "auth_token", "03AFcWeA-honey-recaptcha", "body.captchaResponse")


def test_lookup_update_and_delete_carry_the_id_token(analyzer) -> None:
    """api/account_management/account.ts getAccountInfo {idToken}; profile.ts updateProfile
    {idToken, displayName, photoUrl, returnSecureToken}; email_and_password.ts updateEmailPassword."""
    a = analyzer.analyze(identitytoolkit("/v1/accounts:lookup", {"idToken": ID_TOKEN}))
    decoded(a, "auth")
    has(a, "auth_token", ID_TOKEN, "body.idToken")
    a = analyzer.analyze(identitytoolkit("/v1/accounts:update", {
        "idToken": ID_TOKEN, "displayName": "Jo Honey", "photoUrl": "https://cdn.example/jo.png",
        "returnSecureToken": True}))
    has(a, "name", "Jo Honey", "body.displayName")
    has(a, "custom_property", "https://cdn.example/jo.png", "body.photoUrl")
    a = analyzer.analyze(identitytoolkit("/v1/accounts:update", {
        "idToken": ID_TOKEN, "password": "N3w-Honey-Pass", "returnSecureToken": True}))
    has(a, "password", "N3w-Honey-Pass", "body.password")


def test_send_oob_code_password_reset(analyzer) -> None:
    """core/strategies/email_and_password.ts sendPasswordResetEmail: {requestType
    PASSWORD_RESET, email, clientType} (+ action code settings: continueUrl, iOSBundleId...)."""
    a = analyzer.analyze(identitytoolkit("/v1/accounts:sendOobCode", {
        "requestType": "PASSWORD_RESET", "email": EMAIL, "clientType": "CLIENT_TYPE_WEB",
        "continueUrl": "https://shop.example/welcome?cart=honey", "iOSBundleId": "com.example.ShopApp",
        "androidPackageName": "com.example.shop", "androidInstallApp": True, "canHandleCodeInApp": True}))
    decoded(a, "auth")
    has(a, "email", EMAIL, "body.email")
    has(a, "page_url", "https://shop.example/welcome?cart=honey", "body.continueUrl")
    has(a, "app_id", "com.example.ShopApp", "body.iOSBundleId")
    has(a, "app_id", "com.example.shop", "body.androidPackageName")


def test_phone_sign_in(analyzer) -> None:
    """api/authentication/sms.ts: sendPhoneVerificationCode {phoneNumber, recaptchaToken,
    captchaResponse, clientType, recaptchaVersion} then signInWithPhoneNumber {sessionInfo, code}."""
    a = analyzer.analyze(identitytoolkit("/v1/accounts:sendVerificationCode", {
        "phoneNumber": PHONE, "recaptchaToken": "v2-honey-recaptcha", "captchaResponse": "NO_RECAPTCHA",
        "clientType": "CLIENT_TYPE_WEB", "recaptchaVersion": "RECAPTCHA_ENTERPRISE"}))
    decoded(a, "auth")
    has(a, "phone", PHONE, "body.phoneNumber")
    has(a, "auth_token", "v2-honey-recaptcha", "body.recaptchaToken")
    a = analyzer.analyze(identitytoolkit("/v1/accounts:signInWithPhoneNumber",
                                         {"sessionInfo": "AJOnW4-honey-session", "code": "123456"}))
    has(a, "auth_token", "AJOnW4-honey-session", "body.sessionInfo")
    has(a, "auth_token", "123456", "body.code")


def test_sign_in_with_idp_and_custom_token(analyzer) -> None:
    """api/authentication/idp.ts {requestUri, postBody, sessionId, returnSecureToken,
    returnIdpCredential}; custom_token.ts {token, returnSecureToken}."""
    post_body = "id_token=eyJhbGciOiJSUzI1NiJ9.Z29vZ2xlLWlk.c2ln&providerId=google.com"
    a = analyzer.analyze(identitytoolkit("/v1/accounts:signInWithIdp", {
        "requestUri": "https://shop.example/__/auth/handler", "postBody": post_body,
        "sessionId": "honey-oauth-session", "returnSecureToken": True, "returnIdpCredential": True}))
    decoded(a, "auth")
    has(a, "auth_token", post_body, "body.postBody")
    has(a, "page_url", "https://shop.example/__/auth/handler", "body.requestUri")
    has(a, "session_id", "honey-oauth-session", "body.sessionId")
    a = analyzer.analyze(identitytoolkit("/v1/accounts:signInWithCustomToken",
                                         {"token": "eyJhbGciOiJSUzI1NiJ9.Y3VzdG9t.c2ln", "returnSecureToken": True}))
    has(a, "auth_token", "eyJhbGciOiJSUzI1NiJ9.Y3VzdG9t.c2ln", "body.token")


def test_mfa_enrollment_v2(analyzer) -> None:
    """api/account_management/mfa.ts startEnrollPhoneMfa: /v2/accounts/mfaEnrollment:start
    {idToken, phoneEnrollmentInfo {phoneNumber, recaptchaToken, captchaResponse, clientType,
    recaptchaVersion}}."""
    a = analyzer.analyze(identitytoolkit("/v2/accounts/mfaEnrollment:start", {
        "idToken": ID_TOKEN, "phoneEnrollmentInfo": {"phoneNumber": PHONE, "recaptchaToken": "mfa-honey-recaptcha",
                                                     "captchaResponse": "NO_RECAPTCHA",
                                                     "clientType": "CLIENT_TYPE_WEB",
                                                     "recaptchaVersion": "RECAPTCHA_ENTERPRISE"}}))
    decoded(a, "auth")
    has(a, "phone", PHONE, "body.phoneEnrollmentInfo.phoneNumber")
    has(a, "auth_token", "mfa-honey-recaptcha", "body.phoneEnrollmentInfo.recaptchaToken")
    has(a, "auth_token", ID_TOKEN, "body.idToken")


def test_recaptcha_config_get(analyzer) -> None:
    """api/authentication/recaptcha.ts getRecaptchaConfig: GET /v2/recaptchaConfig with
    clientType and version in the query (HttpMethod.GET puts the request in the query)."""
    a = analyzer.analyze(identitytoolkit("/v2/recaptchaConfig", None,
                                         {"clientType": "CLIENT_TYPE_WEB", "version": "RECAPTCHA_ENTERPRISE"}))
    decoded(a, "auth")
    has(a, "project_key", API_KEY, "query.key")
    assert labels(a)["query.clientType"] == ""


def test_ios_v2_mfa_sign_in(analyzer) -> None:
    """firebase-ios-sdk IdentityToolkitRequest.swift: useIdentityPlatform calls go to
    identitytoolkit.googleapis.com/v2/<endpoint>?key=, with X-Ios-Bundle-Identifier."""
    a = analyzer.analyze(identitytoolkit("/v2/accounts/mfaSignIn:finalize", {
        "mfaPendingCredential": "AMzJoSk-honey-pending",
        "phoneVerificationInfo": {"sessionInfo": "AJOnW4-honey-mfa", "code": "654321"}},
        headers=[JSON_CT, ("X-Ios-Bundle-Identifier", "com.example.ShopApp"),
                 ("X-Client-Version", "iOS/FirebaseSDK/11.6.0/FirebaseCore-iOS"), ("X-Firebase-GMPID", IOS_APP_ID)]))
    decoded(a, "auth")
    has(a, "auth_token", "AMzJoSk-honey-pending", "body.mfaPendingCredential")
    has(a, "auth_token", "654321", "body.phoneVerificationInfo.code")
    has(a, "app_id", "com.example.ShopApp", "header.x-ios-bundle-identifier")
    assert (a.app, a.app_signal) == ("com.example.ShopApp", "payload_app_id")


IOS_HEADERS = [JSON_CT, ("X-Ios-Bundle-Identifier", "com.example.ShopApp"),
               ("X-Client-Version", "iOS/FirebaseSDK/11.6.0/FirebaseCore-iOS"), ("X-Firebase-GMPID", IOS_APP_ID)]


def relyingparty(method: str, body: dict):
    """IdentityToolkitRequest.swift requestURL() without useIdentityPlatform."""
    return request("POST", f"https://www.googleapis.com/identitytoolkit/v3/relyingparty/{method}?key={API_KEY}",
                   compact(body), IOS_HEADERS)


def test_ios_v3_verify_password_and_phone_code(analyzer) -> None:
    """VerifyPasswordRequest.swift {email, password, returnSecureToken, clientType} and
    SendVerificationTokenRequest.swift {phoneNumber, iosReceipt, iosSecret} (firebase-ios-sdk@eed63a35a9)."""
    a = analyzer.analyze(relyingparty("verifyPassword", {
        "email": EMAIL, "password": PASSWORD, "returnSecureToken": True, "clientType": "CLIENT_TYPE_IOS"}))
    decoded(a, "auth_ios_v3")
    has(a, "email", EMAIL, "body.email")
    has(a, "password", PASSWORD, "body.password")
    has(a, "project_key", API_KEY, "query.key")
    assert (a.app, a.app_signal) == ("com.example.ShopApp", "payload_app_id")
    b = analyzer.analyze(relyingparty("sendVerificationCode", {
        "phoneNumber": PHONE, "iosReceipt": "AEFDNu9-honey-receipt", "iosSecret": "honey-secret-42"}))
    decoded(b, "auth_ios_v3")
    has(b, "phone", PHONE, "body.phoneNumber")
    has(b, "auth_token", "AEFDNu9-honey-receipt", "body.iosReceipt")


def test_www_googleapis_is_shared_so_other_apis_are_not_firebase(analyzer) -> None:
    """www.googleapis.com serves every Google API: only the relyingparty paths are Firebase's."""
    other = request("GET", "https://www.googleapis.com/youtube/v3/videos?part=snippet&id=abc&key=" + API_KEY)
    assert analyzer.analyze(other) is None or analyzer.analyze(other).tracker != "google_firebase"


def test_secure_token_refresh_web_form(analyzer) -> None:
    """api/authentication/token.ts requestStsToken: form grant_type=refresh_token&refresh_token=."""
    a = analyzer.analyze(request("POST", f"https://securetoken.googleapis.com/v1/token?key={API_KEY}",
                                 urlencode({"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}),
                                 [("X-Client-Version", CLIENT_VERSION), FORM_CT]))
    decoded(a, "auth_token_refresh")
    has(a, "auth_token", REFRESH_TOKEN, "body.refresh_token")
    has(a, "project_key", API_KEY, "query.key")
    assert labels(a)["body.grant_type"] == ""


def test_secure_token_refresh_ios_json(analyzer) -> None:
    """firebase-ios-sdk SecureTokenRequest.swift: JSON {grantType, refreshToken}."""
    a = analyzer.analyze(request("POST", f"https://securetoken.googleapis.com/v1/token?key={API_KEY}",
                                 compact({"grantType": "refresh_token", "refreshToken": REFRESH_TOKEN}),
                                 [JSON_CT, ("X-Ios-Bundle-Identifier", "com.example.ShopApp")]))
    decoded(a, "auth_token_refresh")
    has(a, "auth_token", REFRESH_TOKEN, "body.refreshToken")


# ------------------------------------------------------------------------------------------
# App Check


def app_check_url(host: str, app_id: str, method: str) -> str:
    return f"https://{host}/v1/projects/{PROJECT}/apps/{app_id}:{method}?key={API_KEY}"


def test_app_check_web_debug_and_recaptcha(analyzer) -> None:
    """packages/app-check/src/client.ts getExchangeDebugTokenRequest / getExchangeRecaptchaV3TokenRequest:
    BASE_ENDPOINT/projects/<projectId>/apps/<appId>:<method>?key=<apiKey>, JSON body, X-Firebase-Client."""
    headers = [JSON_CT, ("X-Firebase-Client", web_heartbeat()), ("Origin", "https://shop.example")]
    debug = "5b7e4a3c-2d1f-4e6a-9b8c-7d6e5f4a3b2c"
    a = analyzer.analyze(request("POST", app_check_url("content-firebaseappcheck.googleapis.com", WEB_APP_ID,
                                                       "exchangeDebugToken"), compact({"debug_token": debug}), headers))
    decoded(a, "app_check")
    has(a, "auth_token", debug, "body.debug_token")
    has(a, "project_key", WEB_APP_ID, "path.app_id")
    has(a, "project_key", PROJECT, "path.project")
    has(a, "project_key", API_KEY, "query.key")
    a = analyzer.analyze(request("POST", app_check_url("content-firebaseappcheck.googleapis.com", WEB_APP_ID,
                                                       "exchangeRecaptchaV3Token"),
                                 compact({"recaptcha_v3_token": "03AFcWeA-honey-v3"}), headers))
    has(a, "auth_token", "03AFcWeA-honey-v3", "body.recaptcha_v3_token")


def test_app_check_android_play_integrity(analyzer) -> None:
    """NetworkClient.java: firebaseappcheck host, X-Android-Package / X-Android-Cert;
    ExchangePlayIntegrityTokenRequest.java {playIntegrityToken, limited_use}."""
    a = analyzer.analyze(request("POST", app_check_url("firebaseappcheck.googleapis.com", ANDROID_APP_ID,
                                                       "exchangePlayIntegrityToken"),
                                 compact({"playIntegrityToken": "eyJhbGciOiJBMjU2S1ci.honey-integrity",
                                          "limited_use": True}),
                                 [JSON_CT, ("X-Android-Package", "com.example.shop"),
                                  ("X-Android-Cert", "3A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D")]))
    decoded(a, "app_check")
    has(a, "auth_token", "eyJhbGciOiJBMjU2S1ci.honey-integrity", "body.playIntegrityToken")
    has(a, "app_id", "com.example.shop", "header.x-android-package")
    has(a, "project_key", ANDROID_APP_ID, "path.app_id")
    assert (a.app, a.app_signal) == ("com.example.shop", "payload_app_id")


def test_app_check_ios_app_attest(analyzer) -> None:
    """AppCheckCoreAppAttestAPIService.swift: generateAppAttestChallenge (no body), then
    exchangeAppAttestAttestation {key_id, attestation_statement, challenge, limited_use}."""
    a = analyzer.analyze(request("POST", app_check_url("firebaseappcheck.googleapis.com", IOS_APP_ID,
                                                       "generateAppAttestChallenge"), b"",
                                 [("X-Ios-Bundle-Identifier", "com.example.ShopApp")]))
    decoded(a, "app_check")
    key_id = "Vz2n2ZQ0dQ6v0oHoneyKeyId/4w9nq1J7bY8pE3t5r0c="
    a = analyzer.analyze(request("POST", app_check_url("firebaseappcheck.googleapis.com", IOS_APP_ID,
                                                       "exchangeAppAttestAttestation"),
                                 compact({"key_id": key_id, "attestation_statement": "o2NmbXRvYXBwbGUtaG9uZXk=",
                                          "challenge": "aG9uZXktY2hhbGxlbmdl", "limited_use": False}),
                                 [JSON_CT, ("X-Ios-Bundle-Identifier", "com.example.ShopApp")]))
    decoded(a, "app_check")
    has(a, "installation_id", key_id, "body.key_id")
    has(a, "auth_token", "o2NmbXRvYXBwbGUtaG9uZXk=", "body.attestation_statement")


# ------------------------------------------------------------------------------------------
# Performance Monitoring (web) and the Analytics web config


FIRELOG_URL = "https://firebaselogging-pa.googleapis.com/v1/firelog/legacy/log?key=AIzaSyCx80ru6-RXeTi3GvqkFsMVyMf-vpgIoVw"


def perf_event(metric: dict, fid: str = FID) -> dict:
    """perf_logger.ts getApplicationInfo + serializeTrace/serializeNetworkRequest (JSON.stringify),
    one transport_service.ts log_event."""
    application_info = {"google_app_id": WEB_APP_ID, "app_instance_id": fid,
                        "web_app_info": {"sdk_version": "0.7.9", "page_url": "https://shop.example/checkout",
                                         "service_worker_status": 1, "visibility_state": 1,
                                         "effective_connection_type": 4},
                        "application_process_state": 0}
    return {"source_extension_json_proto3": compact({"application_info": application_info, **metric}),
            "event_time_ms": "1767225600123"}


def test_performance_web_trace_and_network_request(analyzer) -> None:
    """transport_service.ts buildPayload {request_time_ms, client_info {client_type 1,
    js_client_info}, log_source 462, log_event[]} sent by sendBeacon (text/plain)."""
    trace = {"trace_metric": {"name": "_wt_https://shop.example/checkout", "is_auto": True,
                              "client_start_time_us": 1767225600000000, "duration_us": 812000,
                              "counters": {"_fp": 120000, "_fcp": 130000},
                              "custom_attributes": {"lcp_element": "div#hero>img", "coupon": "SPRING-HONEY"}}}
    network = {"network_request_metric": {"url": "https://api.shop.example/cart", "http_method": 1,
                                          "http_response_code": 200, "response_payload_bytes": 1234,
                                          "client_start_time_us": 1767225600100000,
                                          "time_to_response_initiated_us": 50000,
                                          "time_to_response_completed_us": 60000}}
    body = {"request_time_ms": "1767225605000", "client_info": {"client_type": 1, "js_client_info": {}},
            "log_source": 462, "log_event": [perf_event(trace), perf_event(network)]}
    a = analyzer.analyze(request("POST", FIRELOG_URL, compact(body),
                                 [("Content-Type", "text/plain;charset=UTF-8"), ("Origin", "https://shop.example")]))
    decoded(a, "firelog_web")
    ext = "body.log_event[0].source_extension_json_proto3"
    has(a, "project_key", WEB_APP_ID, f"{ext}.application_info.google_app_id")
    has(a, "installation_id", FID, f"{ext}.application_info.app_instance_id")
    has(a, "page_url", "https://shop.example/checkout", f"{ext}.application_info.web_app_info.page_url")
    has(a, "sdk_version", "0.7.9", f"{ext}.application_info.web_app_info.sdk_version")
    has(a, "network_type", "4", f"{ext}.application_info.web_app_info.effective_connection_type")
    has(a, "event_name", "_wt_https://shop.example/checkout", f"{ext}.trace_metric.name")
    has(a, "custom_property", "SPRING-HONEY", f"{ext}.trace_metric.custom_attributes.coupon")
    has(a, "page_url", "https://api.shop.example/cart",
        "body.log_event[1].source_extension_json_proto3.network_request_metric.url")
    fields = labels(a)
    assert fields["query.key"] == "" and fields["body.log_source"] == ""
    assert not [f for f in a.findings if f.data_type == "project_key" and f.path == "query.key"]


def test_performance_remote_config_fetch(analyzer) -> None:
    """remote_config_service.ts getRemoteConfig: namespaces/fireperf:fetch?key=, header
    `Authorization: FIREBASE_INSTALLATIONS_AUTH <token>`, body {app_instance_id,
    app_instance_id_token, app_id, app_version (the SDK's version), sdk_version}."""
    token = "eyJhbGciOiJFUzI1NiJ9.eyJhcHBJZCI6IjEifQ.Zmlz"
    url = f"https://firebaseremoteconfig.googleapis.com/v1/projects/{PROJECT}/namespaces/fireperf:fetch?key={API_KEY}"
    a = analyzer.analyze(request("POST", url, compact({"app_instance_id": FID, "app_instance_id_token": token,
                                                       "app_id": WEB_APP_ID, "app_version": "0.7.9",
                                                       "sdk_version": "0.0.1"}),
                                 [("Authorization", f"FIREBASE_INSTALLATIONS_AUTH {token}")]))
    decoded(a, "remote_config_fetch")
    has(a, "sdk_version", "0.7.9", "body.app_version")
    has(a, "auth_token", f"FIREBASE_INSTALLATIONS_AUTH {token}", "header.authorization")
    has(a, "installation_id", FID, "body.app_instance_id")


def test_analytics_web_config(analyzer) -> None:
    """packages/analytics/src/get-config.ts fetchDynamicConfig: GET DYNAMIC_CONFIG_URL with
    Accept and x-goog-api-key."""
    a = analyzer.analyze(request("GET", f"https://firebase.googleapis.com/v1alpha/projects/-/apps/{WEB_APP_ID}/webConfig",
                                 b"", [("Accept", "application/json"), ("x-goog-api-key", API_KEY)]))
    decoded(a, "web_config")
    has(a, "project_key", WEB_APP_ID, "path.app_id")
    has(a, "project_key", API_KEY, "header.x-goog-api-key")


def test_auth_block_reply_parses_as_the_sdk_expects(analyzer) -> None:
    """The block-mode answers hold what the web SDK asserts on: an ID token with an `exp`
    claim, a refresh token, `users[0].localId` (lookup), `token` + protobuf-duration `ttl`."""
    reply = json.loads(analyzer.endpoints[("google_firebase", "auth")].reply({})["body"])
    claims = json.loads(base64.urlsafe_b64decode(reply["idToken"].split(".")[1] + "=="))
    assert claims["exp"] > 4_000_000_000 and reply["refreshToken"] and reply["users"][0]["localId"] == reply["localId"]
    sts = json.loads(analyzer.endpoints[("google_firebase", "auth_token_refresh")].reply({})["body"])
    assert sts["access_token"] and sts["refresh_token"] and sts["expires_in"]
    check = json.loads(analyzer.endpoints[("google_firebase", "app_check")].reply({})["body"])
    assert check["token"] and check["ttl"].endswith("s")
