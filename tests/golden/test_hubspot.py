"""Golden tests: HubSpot requests, built as @hubspot/api-client 13.5.0 builds them (CRM contacts
BasicApi, events send BasicApi), as the Forms API documents its submissions, and as the RSS
tracking pixel carries the portal and the page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from golden_support import (FORM_CT, JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json,
                            labels, make_request)

TRACKER = "hubspot"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)  # this rule file alone: fast
analyze = analyze_for(TRACKER)

TOKEN = [JSON_CT, ("Authorization", "Bearer pat-na1-g0lden")]
HUTK = "1f2e3d4c5b6a79880f1e2d3c4b5a6978"
PORTAL = "2718281"
FORM = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_crm_create_contact_and_batch(analyzer):
    body = {"properties": {"email": "hana.hub@example.com", "firstname": "Hana", "lastname": "Spot",
                           "phone": "+4930123456", "city": "Berlin", "zip": "10115", "favourite_colour": "teal"},
            "associations": []}
    a = analyze(analyzer, make_request("POST", "https://api.hubapi.com/crm/v3/objects/contacts", compact_json(body),
                                       TOKEN), "crm_api")
    has(a, "email", "hana.hub@example.com", "body.properties.email")
    has(a, "name", "Spot", "body.properties.lastname")
    has(a, "postal_code", "10115", "body.properties.zip")
    has(a, "custom_property", "teal", "body.properties.favourite_colour")
    has(a, "auth_token", "Bearer pat-na1-g0lden", "header.authorization")
    batch = {"inputs": [{"properties": {"email": "two@example.com"}}, {"properties": {"email": "three@example.com"}}]}
    a = analyze(analyzer, make_request("POST", "https://api.hubapi.com/crm/v3/objects/contacts/batch/create",
                                       compact_json(batch), TOKEN), "crm_api")
    has(a, "email", "three@example.com", "body.inputs[1].properties.email")


def test_legacy_create_or_update_by_email_in_the_path(analyzer):
    body = {"properties": [{"property": "firstname", "value": "Hana"}]}
    a = analyze(analyzer, make_request("POST", "https://api.hubapi.com/contacts/v1/contact/createOrUpdate/email/"
                                               "hana.hub@example.com", compact_json(body), TOKEN), "crm_api")
    has(a, "email", "hana.hub@example.com", "path.email")
    has(a, "custom_property", "Hana", "body.properties[0].value")
    assert labels(a)["body.properties[0].property"] == ""


def test_behavioral_event(analyzer):
    body = {"eventName": "pe2718281_viewed_pricing", "email": "hana.hub@example.com", "utk": HUTK,
            "occurredAt": "2026-01-01T00:00:00.000Z", "properties": {"plan": "enterprise"}}
    a = analyze(analyzer, make_request("POST", "https://api.hubapi.com/events/v3/send", compact_json(body), TOKEN),
                "events_api")
    has(a, "event_name", "pe2718281_viewed_pricing", "body.eventName")
    has(a, "browser_id", HUTK, "body.utk")
    has(a, "custom_property", "enterprise", "body.properties.plan")


def test_forms_v3_and_legacy_v2(analyzer):
    body = {"fields": [{"objectTypeId": "0-1", "name": "email", "value": "hana.hub@example.com"},
                       {"objectTypeId": "0-1", "name": "message", "value": "Call me"}],
            "context": {"hutk": HUTK, "pageUri": "https://shop.example.net/contact", "pageName": "Contact us",
                        "ipAddress": "203.0.113.50"},
            "legalConsentOptions": {"consent": {"consentToProcess": True, "text": "I agree"}}}
    a = analyze(analyzer, make_request("POST", f"https://api.hsforms.com/submissions/v3/integration/submit/{PORTAL}/{FORM}",
                                       compact_json(body), [JSON_CT]), "forms")
    has(a, "email", "hana.hub@example.com", "body.fields[0].value", detector="pattern")
    has(a, "browser_id", HUTK, "body.context.hutk")
    has(a, "page_url", "https://shop.example.net/contact", "body.context.pageUri")
    has(a, "public_ip", "203.0.113.50", "body.context.ipAddress")
    has(a, "project_key", PORTAL, "path.portal")
    legacy = urlencode({"email": "hana.hub@example.com", "firstname": "Hana",
                        "hs_context": compact_json({"hutk": HUTK, "pageUrl": "https://shop.example.net/contact"})})
    a = analyze(analyzer, make_request("POST", f"https://forms.hubspot.com/uploads/form/v2/{PORTAL}/{FORM}", legacy,
                                       [FORM_CT]), "forms")
    has(a, "email", "hana.hub@example.com", "body.email")
    has(a, "browser_id", HUTK, "body.hs_context.hutk")


def test_tracking_pixel_and_loader(analyzer):
    url = "https://track.hubspot.com/__ptq.gif?" + urlencode(
        {"a": PORTAL, "k": "14", "r": "https://blog.example.net/post-1", "bu": "https://blog.example.net",
         "bvt": "rss", "p": "wordpress"})
    a = analyze(analyzer, make_request("GET", url), "tracking")
    has(a, "project_key", PORTAL, "query.a")
    has(a, "page_url", "https://blog.example.net/post-1", "query.r")
    a = analyze(analyzer, make_request("GET", f"https://js.hs-scripts.com/{PORTAL}.js"), "tracking")
    has(a, "project_key", PORTAL, "path.portal")
