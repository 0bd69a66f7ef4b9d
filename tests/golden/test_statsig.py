"""Golden tests: Statsig requests, built as the SDKs build them: @statsig/js-client 3.33.5
(initialize statsig-encoded with `se=1`, events gzip-compressed with `gz=1`), the Android SDK
(StatsigMetadata.kt@0139ccb8: plain JSON, key in STATSIG-API-KEY) and statsig-node 6.5.2
(/v1/log_event gzip with Content-Encoding, /v1/download_config_specs/<secret key>.json)."""

from __future__ import annotations

from pathlib import Path
import base64
import gzip
from urllib.parse import urlencode

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request, request_via_mitmproxy)

TRACKER = "statsig"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

CLIENT_KEY = "client-G0ldenStatsigClientKey4a5b6c"
SERVER_KEY = "secret-G0ldenStatsigServerKey7d8e9f"
STABLE_ID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
SESSION = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
USER = {"userID": "st-user-88", "email": "sam.statsig@example.com", "country": "NL", "locale": "nl-NL",
        "custom": {"plan": "pro"}, "customIDs": {"stableID": STABLE_ID, "companyID": "acme-7"},
        "statsigEnvironment": {"tier": "production"}}


def js_query(**extra: str) -> str:
    """NetworkCore._getPopulatedURL: k, st, sv, t, sid, then the request's own params."""
    return urlencode({"k": CLIENT_KEY, "st": "javascript-client", "sv": "3.33.5", "t": "1767225600000",
                      "sid": SESSION, **extra})


def statsig_encode(text: str) -> str:
    """NetworkCore._tryEncodeBody: btoa(body), reversed."""
    return base64.b64encode(text.encode()).decode()[::-1]


def test_browser_initialize_statsig_encoded(analyzer):
    body = {"user": USER, "hash": "djb2", "deltasResponseRequested": False, "full_checksum": None,
            "statsigMetadata": {"sdkVersion": "3.33.5", "sdkType": "javascript-client", "stableID": STABLE_ID,
                                "sessionID": SESSION}}
    a = analyze(analyzer, make_request("POST", "https://featureassets.org/v1/initialize?" + js_query(se="1"),
                                       statsig_encode(compact_json(body)), [("Content-Type", "text/plain")]),
                "initialize")
    assert "statsig_encoded → json" in a.decode_chain[0], a.decode_chain
    has(a, "user_id", "st-user-88", "body.user.userID")
    has(a, "email", "sam.statsig@example.com", "body.user.email")
    has(a, "country", "NL", "body.user.country")
    has(a, "language", "nl-NL", "body.user.locale")
    has(a, "custom_property", "pro", "body.user.custom.plan")
    has(a, "installation_id", STABLE_ID, "body.user.customIDs.stableID")
    has(a, "other_id", "acme-7", "body.user.customIDs.companyID")
    has(a, "project_key", CLIENT_KEY, "query.k")
    has(a, "session_id", SESSION, "query.sid")
    has(a, "sdk_name", "javascript-client", "query.st")
    assert labels(a)["body.hash"] == ""


def test_browser_events_gzip_without_content_encoding(analyzer):
    """EventSender._getRequestData + NetworkCore._tryToCompressBody: gzip bytes, `gz=1`, `ec`."""
    events = [{"eventName": "statsig::gate_exposure", "user": USER, "time": 1767225600100,
               "metadata": {"gate": "new_checkout", "gateValue": "false", "ruleID": "default", "reason": "Network"},
               "secondaryExposures": []},
              {"eventName": "add_to_cart", "user": USER, "value": "SKU-9", "time": 1767225600200,
               "metadata": {"price": "9.99"}}]
    body = gzip.compress(compact_json({"events": events, "statsigMetadata": {"stableID": STABLE_ID}}).encode())
    headers = [("Content-Type", "application/json"), ("statsig-event-count", "2"), ("statsig-sdk-type", "javascript-client")]
    a = analyze(analyzer, make_request("POST", "https://prodregistryv2.org/v1/rgstr?" + js_query(ec="2", gz="1"),
                                       body, headers), "events")
    has(a, "event_name", "add_to_cart", "body.events[1].eventName")
    has(a, "custom_property", "SKU-9", "body.events[1].value")
    has(a, "custom_property", "9.99", "body.events[1].metadata.price")
    has(a, "user_id", "st-user-88", "body.events[0].user.userID")
    assert labels(a)["body.events[0].metadata.gate"] == ""
    assert labels(a)["body.statsigMetadata.stableID"] == "installation_id"


def test_android_initialize_plain_json_with_device_metadata(analyzer):
    """Android StatsigMetadata: appIdentifier, appVersion, deviceModel, deviceOS, locale,
    language, systemVersion, systemName; key in STATSIG-API-KEY."""
    meta = {"stableID": STABLE_ID, "sdkType": "android-client", "sdkVersion": "4.38.0", "sessionID": SESSION,
            "appIdentifier": "com.example.shop", "appVersion": "3.1.4", "deviceModel": "Pixel 8", "deviceOS": "Android",
            "locale": "de_DE", "language": "de-DE", "systemVersion": "34", "systemName": "Android"}
    body = {"user": {"userID": "st-user-88"}, "statsigMetadata": meta, "sinceTime": 0, "hash": "djb2"}
    a = analyze(analyzer, make_request("POST", "https://api.statsig.com/v1/initialize", compact_json(body),
                                       [JSON_CT, ("STATSIG-API-KEY", CLIENT_KEY)]), "initialize")
    has(a, "app_id", "com.example.shop", "body.statsigMetadata.appIdentifier")
    has(a, "device_model", "Pixel 8", "body.statsigMetadata.deviceModel")
    has(a, "os_version", "34", "body.statsigMetadata.systemVersion")
    has(a, "language", "de-DE", "body.statsigMetadata.language")
    has(a, "project_key", CLIENT_KEY, "header.statsig-api-key")
    assert a.app == "com.example.shop" and a.app_signal == "payload_app_id"


def test_node_log_event_gzip_with_content_encoding_and_secret_key(analyzer):
    """statsig-node LogEventProcessor.flush + StatsigFetcher headers; the key is a secret."""
    body = {"statsigMetadata": {"sdkType": "statsig-node", "sdkVersion": "6.5.2", "languageVersion": "20.20.2",
                                "sessionID": SESSION},
            "events": [{"eventName": "purchase", "user": {"userID": "st-user-88", "email": "sam.statsig@example.com",
                                                          "ip": "203.0.113.9", "userAgent": "Mozilla/5.0 (X11)"},
                        "value": 12.5, "metadata": {"sku": "A-1"}, "time": 1767225600000, "secondaryExposures": []}]}
    req = request_via_mitmproxy("POST", "https://statsigapi.net/v1/log_event", gzip.compress(compact_json(body).encode()),
                                {"Content-Type": "application/json; charset=UTF-8", "Content-Encoding": "gzip",
                                 "STATSIG-API-KEY": SERVER_KEY, "STATSIG-SERVER-SESSION-ID": SESSION,
                                 "STATSIG-SDK-TYPE": "statsig-node", "STATSIG-SDK-VERSION": "6.5.2"})
    a = analyze(analyzer, req, "log_event")
    has(a, "public_ip", "203.0.113.9", "body.events[0].user.ip")
    has(a, "user_agent", "Mozilla/5.0 (X11)", "body.events[0].user.userAgent")
    has(a, "auth_token", SERVER_KEY, "header.statsig-api-key")
    assert labels(a)["header.statsig-server-session-id"] == "session_id"
    # A secret key is no app identity: nothing names the request after it.
    assert SERVER_KEY not in (a.app or "")


def test_config_specs_and_sdk_exception(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://api.statsigcdn.com/v1/download_config_specs/{SERVER_KEY}.json"
                                              "?sinceTime=1767225600000"), "config_specs")
    has(a, "auth_token", SERVER_KEY, "path.key")
    body = {"exception": "TypeError", "info": "TypeError: x is undefined\n    at checkGate (statsig.js:1:2)",
            "statsigMetadata": {"sdkType": "javascript-client", "sdkVersion": "3.33.5", "stableID": STABLE_ID},
            "tag": "checkGate"}
    a = analyze(analyzer, make_request("POST", "https://statsigapi.net/v1/sdk_exception", compact_json(body),
                                       [JSON_CT, ("STATSIG-API-KEY", CLIENT_KEY)]), "sdk_exception")
    has(a, "error_report", "TypeError", "body.exception")
    has(a, "installation_id", STABLE_ID, "body.statsigMetadata.stableID")


def test_reversed_base64_that_is_not_json_is_reported_not_decoded(analyzer):
    from golden_support import analyze as analyze_any
    a = analyze_any(analyzer, make_request("POST", "https://featureassets.org/v1/initialize?se=1",
                                           statsig_encode("not json at all"), [("Content-Type", "text/plain")]))
    assert (a.tracker, a.endpoint, a.status) == ("statsig", "initialize", "not_decoded"), a.status
    assert "[statsig_encoded → json] not JSON" in a.error, a.error
