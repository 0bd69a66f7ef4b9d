"""Golden tests: Klaviyo requests, built as klaviyo-android-sdk builds them (KlaviyoApiRequest.kt
@8d498f09 headers and company_id, PushTokenApiRequest.kt@160128c9, DeviceProperties.kt@ce74a1aa
event and device metadata) and as klaviyo-api 23.0.0 (Node) builds the private API calls, plus
the legacy base64 Track API."""

from __future__ import annotations

from pathlib import Path
import base64
from urllib.parse import quote

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, labels,
                            make_request, org_json)

TRACKER = "klaviyo"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

PUBLIC_KEY = "Gld3nK"
DEVICE_ID = "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968"
PUSH = "fcm-g0lden-token:APA91bHoneyKlaviyo"
PROFILE = {"email": "kay.klaviyo@example.com", "phone_number": "+15555550123", "external_id": "kl-user-5",
           "anonymous_id": "2f1e0d9c-8b7a-4695-8473-62514f3e2d1c"}
MOBILE = [JSON_CT, ("Revision", "2025-01-15"), ("X-Klaviyo-Mobile", "1"), ("X-Klaviyo-Attempt-Count", "1/50"),
          ("User-Agent", "Notes/5.1.2 (com.example.notes; build:512; Android 34) klaviyo-android/4.1.0")]


def test_android_client_event_with_device_properties(analyzer):
    props = {"custom_value": "200", "Device ID": DEVICE_ID, "Device Manufacturer": "Google", "Device Model": "Pixel 8",
             "OS Name": "Android", "OS Version": "34", "SDK Name": "android", "SDK Version": "4.1.0",
             "App Version": "5.1.2", "App Build": "512", "App ID": "com.example.notes", "App Name": "Notes",
             "Push Token": PUSH}
    body = {"data": {"type": "event", "attributes": {
        "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}},
        "profile": {"data": {"type": "profile", "attributes": PROFILE}},
        "properties": props, "time": "2026-01-01T00:00:00Z", "value": 12.5, "unique_id": "u-1"}}}
    a = analyze(analyzer, make_request("POST", f"https://a.klaviyo.com/client/events/?company_id={PUBLIC_KEY}",
                                       org_json(body), MOBILE), "client_api")
    p = "body.data.attributes."
    has(a, "event_name", "Viewed Product", p + "metric.data.attributes.name")
    has(a, "email", "kay.klaviyo@example.com", p + "profile.data.attributes.email")
    has(a, "phone", "+15555550123", p + "profile.data.attributes.phone_number")
    has(a, "user_id", "kl-user-5", p + "profile.data.attributes.external_id")
    has(a, "installation_id", DEVICE_ID, p + 'properties["Device ID"]')
    has(a, "device_model", "Pixel 8", p + 'properties["Device Model"]')
    has(a, "app_id", "com.example.notes", p + 'properties["App ID"]')
    has(a, "push_token", PUSH, p + 'properties["Push Token"]')
    has(a, "custom_property", "200", p + "properties.custom_value")
    has(a, "project_key", PUBLIC_KEY, "query.company_id")
    has(a, "user_agent", MOBILE[-1][1], "header.user-agent")
    assert a.app == "com.example.notes"


def test_android_push_token_with_device_metadata(analyzer):
    meta = {"device_id": DEVICE_ID, "manufacturer": "Google", "device_model": "Pixel 8", "os_name": "Android",
            "os_version": "34", "klaviyo_sdk": "android", "sdk_version": "4.1.0", "app_name": "Notes",
            "app_id": "com.example.notes", "app_version": "5.1.2", "app_build": "512", "environment": "release"}
    body = {"data": {"type": "push-token", "attributes": {
        "token": PUSH, "platform": "Android", "vendor": "FCM", "enablement_status": "AUTHORIZED",
        "background": "AVAILABLE", "device_metadata": meta, "profile": {"data": {"type": "profile", "attributes": PROFILE}}}}}
    a = analyze(analyzer, make_request("POST", f"https://a.klaviyo.com/client/push-tokens/?company_id={PUBLIC_KEY}",
                                       org_json(body), MOBILE), "client_api")
    p = "body.data.attributes."
    has(a, "push_token", PUSH, p + "token")
    has(a, "consent_state", "AUTHORIZED", p + "enablement_status")
    has(a, "installation_id", DEVICE_ID, p + "device_metadata.device_id")
    has(a, "manufacturer", "Google", p + "device_metadata.manufacturer")
    has(a, "app_version", "5.1.2", p + "device_metadata.app_version")
    has(a, "email", "kay.klaviyo@example.com", p + "profile.data.attributes.email")
    assert labels(a)[p + "device_metadata.environment"] == ""


def test_server_profile_import_with_location(analyzer):
    body = {"data": {"type": "profile", "attributes": {
        "email": "kay.klaviyo@example.com", "first_name": "Kay", "last_name": "Lav", "organization": "Acme",
        "location": {"address1": "1 Main St", "city": "Boston", "country": "US", "region": "MA", "zip": "02110",
                     "timezone": "America/New_York", "latitude": "42.35", "longitude": "-71.06", "ip": "198.51.100.77"},
        "properties": {"shoe_size": "42"}}}}
    a = analyze(analyzer, make_request("POST", "https://a.klaviyo.com/api/profile-import", compact_json(body),
                                       [JSON_CT, ("Authorization", "Klaviyo-API-Key pk_g0lden"),
                                        ("revision", "2026-07-15"), ("User-Agent", "klaviyo-api-node/23.0.0")]),
                "server_api")
    p = "body.data.attributes."
    has(a, "name", "Kay", p + "first_name")
    has(a, "postal_address", "1 Main St", p + "location.address1")
    has(a, "postal_code", "02110", p + "location.zip")
    has(a, "latitude", "42.35", p + "location.latitude")
    has(a, "public_ip", "198.51.100.77", p + "location.ip")
    has(a, "custom_property", "42", p + "properties.shoe_size")
    has(a, "auth_token", "Klaviyo-API-Key pk_g0lden", "header.authorization")


def test_legacy_track_api_base64(analyzer):
    data = {"token": PUBLIC_KEY, "event": "Started Checkout",
            "customer_properties": {"$email": "kay.klaviyo@example.com", "$first_name": "Kay", "$id": "kl-user-5"},
            "properties": {"$value": 59.0, "ItemNames": ["Boots"]}, "time": 1767225600}
    b64 = base64.b64encode(compact_json(data).encode()).decode()
    a = analyze(analyzer, make_request("GET", "https://a.klaviyo.com/api/track?data=" + quote(b64, safe="")),
                "legacy_track")
    has(a, "event_name", "Started Checkout", "query.data.event")
    has(a, "email", "kay.klaviyo@example.com", "query.data.customer_properties.$email")
    has(a, "revenue", "59.0", "query.data.properties.$value")
    has(a, "project_key", PUBLIC_KEY, "query.data.token")
    a = analyze(analyzer, make_request("GET", f"https://static.klaviyo.com/onsite/js/klaviyo.js?company_id={PUBLIC_KEY}"),
                "onsite")
    has(a, "project_key", PUBLIC_KEY, "query.company_id")
