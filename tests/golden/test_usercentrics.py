"""Golden tests: Usercentrics consent saving (consent-api.service.consent.usercentrics.eu,
/consent/uw/3 on the web), the billing pixel and the stored-consent lookup, on the hosts the
Android SDK's BuildKonfig (2.25.1) names."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "usercentrics"
pytestmark = pytest.mark.no_real_client("usercentrics", "the web CMP is served from Usercentrics' CDN; the mobile SDKs are native")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

SETTINGS, CONTROLLER = "Hy3Tb8KkQ", "f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f"


def test_save_consents(analyzer):
    consent = {"action": "onAcceptAllServices", "appVersion": "web-3.55.1", "controllerId": CONTROLLER,
               "consentStatus": "true", "consentTemplateId": "HkocEodjb7", "consentTemplateVersion": "9.1.2",
               "language": "de", "processorId": "b5ad3f5a0c", "referrer": "https://www.bank.example/konto",
               "settingsId": SETTINGS, "settingsVersion": "12.0.4"}
    req = make_request("POST", "https://consent-api.service.consent.usercentrics.eu/consent/uw/3",
                       compact_json({"consents": [consent]}), [JSON_CT])
    a = analyze(analyzer, req, "save_consents")
    has(a, "installation_id", CONTROLLER, "body.consents[0].controllerId")
    has(a, "project_key", SETTINGS, "body.consents[0].settingsId")
    has(a, "page_url", "https://www.bank.example/konto", "body.consents[0].referrer")
    has(a, "consent_state", "onAcceptAllServices", "body.consents[0].action")


def test_billing_pixel_and_consent_lookup(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://app.usercentrics.eu/session/1px.png?settingsId={SETTINGS}"),
                "billing_session")
    has(a, "project_key", SETTINGS, "query.settingsId")
    a = analyze(analyzer, make_request("GET", f"https://consent-rt-ret.service.consent.usercentrics.eu/?controllerId={CONTROLLER}"),
                "get_consents")
    has(a, "installation_id", CONTROLLER, "query.controllerId")
