"""Golden tests: Intercom requests, built as intercom-client 7.0.3 (Node) builds its REST calls
(contacts, events; Bearer token, Intercom-Version, Fern headers) and as the web Messenger's
ping carries the documented boot settings (app_id, referer, user_data)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (FORM_CT, JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json,
                            make_request)

TRACKER = "intercom"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

APP_ID = "g0ld3n1c"
REST = [JSON_CT, ("Authorization", "Bearer dG9rOmdvbGRlbg=="), ("Intercom-Version", "2.14"),
        ("X-Fern-SDK-Name", "intercom-client"), ("X-Fern-SDK-Version", "7.0.3")]


def test_rest_create_contact_and_event(analyzer):
    contact = {"role": "user", "external_id": "ic-user-9", "email": "ira.intercom@example.com", "phone": "+441632960961",
               "name": "Ira Com", "signed_up_at": 1767225600, "custom_attributes": {"plan": "pro"}}
    a = analyze(analyzer, make_request("POST", "https://api.intercom.io/contacts", compact_json(contact), REST), "rest_api")
    has(a, "user_id", "ic-user-9", "body.external_id")
    has(a, "email", "ira.intercom@example.com", "body.email")
    has(a, "phone", "+441632960961", "body.phone")
    has(a, "custom_property", "pro", "body.custom_attributes.plan")
    has(a, "auth_token", "Bearer dG9rOmdvbGRlbg==", "header.authorization")
    has(a, "sdk_name", "intercom-client", "header.x-fern-sdk-name")
    event = {"event_name": "ordered-item", "created_at": 1767225601, "user_id": "ic-user-9",
             "metadata": {"order_number": "A-77"}}
    a = analyze(analyzer, make_request("POST", "https://api.eu.intercom.io/events", compact_json(event), REST), "rest_api")
    has(a, "event_name", "ordered-item", "body.event_name")
    has(a, "custom_property", "A-77", "body.metadata.order_number")


def test_update_contact_by_id_in_the_path(analyzer):
    a = analyze(analyzer, make_request("PUT", "https://api.intercom.io/contacts/6a2d1f0e9b8c7d6e5f4a3b2c",
                                       compact_json({"email": "ira.new@example.com"}), REST), "rest_api")
    has(a, "other_id", "6a2d1f0e9b8c7d6e5f4a3b2c", "path.id")
    has(a, "email", "ira.new@example.com", "body.email")


def test_messenger_ping_with_boot_settings(analyzer):
    user_data = {"app_id": APP_ID, "user_id": "ic-user-9", "email": "ira.intercom@example.com", "name": "Ira Com",
                 "created_at": 1767225600, "user_hash": "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0"}
    body = urlencode({"app_id": APP_ID, "referer": "https://shop.example.net/cart", "user_data": compact_json(user_data)})
    a = analyze(analyzer, make_request("POST", "https://api-iam.intercom.io/messenger/web/ping", body, [FORM_CT]),
                "messenger")
    has(a, "project_key", APP_ID, "body.app_id")
    has(a, "page_url", "https://shop.example.net/cart", "body.referer")
    has(a, "user_id", "ic-user-9", "body.user_data.user_id")
    has(a, "email", "ira.intercom@example.com", "body.user_data.email")
    has(a, "auth_token", user_data["user_hash"], "body.user_data.user_hash")
    a = analyze(analyzer, make_request("GET", f"https://widget.intercom.io/widget/{APP_ID}"), "messenger")
    has(a, "project_key", APP_ID, "path.app")
