"""Golden tests: OneTrust's consent receipt as the cookie banner script (otBannerSdk / optanon,
served from cdn.cookielaw.org) posts it, its geolocation lookup and banner configuration, and
the mobile SDK's data request headers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from golden_support import JSON_CT, analyze_for, analyzer_fixture, assert_finding_at as has, compact_json, make_request

TRACKER = "onetrust"
pytestmark = pytest.mark.no_real_client("onetrust", "the banner script is served only from OneTrust's CDN; the mobile SDK is native")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

CONSENT_ID = "7a1c9e52-8d3b-4f60-9e21-3b5d7c9a1f04"


def jwt(claims: dict) -> str:
    part = lambda v: base64.urlsafe_b64encode(compact_json(v).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'RS512'})}.{part(claims)}.c2ln"


def test_consent_receipt(analyzer):
    token = jwt({"otJwtVersion": 1, "processId": "e1430e0d-e358-4d84-a4eb-5f22794fdd0d", "processVersion": 1,
                 "tenantId": "65ca6b46-70b1-4ee1-9074-7a63e800ea4c", "consentType": "COOKIEBANNER"})
    body = {"requestInformation": token, "identifier": CONSENT_ID,
            "customPayload": {"activeGroup": "c0001:1,c0002:0,c0003:1,c0004:0", "Date": "2026-12-07T10:00:00.000Z",
                              "language": "de"},
            "purposes": [{"Id": "eab15d01-cac2-4a38-86da-0c96243b1c0b"}], "test": True}
    req = make_request("POST", "https://privacyportal-eu.onetrust.com/request/v1/consentreceipts", compact_json(body), [JSON_CT])
    a = analyze(analyzer, req, "consent_receipt")
    has(a, "installation_id", CONSENT_ID, "body.identifier")
    has(a, "consent_state", "c0001:1,c0002:0,c0003:1,c0004:0", "body.customPayload.activeGroup")
    has(a, "project_key", "65ca6b46-70b1-4ee1-9074-7a63e800ea4c", "body.requestInformation.payload.tenantId")


def test_banner_config_and_geolocation_name_the_site(analyzer):
    domain_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    headers = [("Referer", "https://shop.example/checkout")]
    a = analyze(analyzer, make_request("GET", f"https://cdn.cookielaw.org/consent/{domain_id}/{domain_id}.json",
                                       headers=headers), "banner_config")
    has(a, "project_key", domain_id, "path.domain_id")
    a = analyze(analyzer, make_request("GET", "https://geolocation.onetrust.com/cookieconsentpub/v1/geo/location?callback=jsonFeed",
                                       headers=headers), "geolocation")
    has(a, "page_url", "https://shop.example/checkout", "header.referer")


def test_mobile_sdk_headers(analyzer):
    headers = [("OT-App-Id", "3c1e5a2b-0d4f-4b6a-9c8d-7e6f5a4b3c2d"), ("OT-SDK-Version", "202409.1.0"),
               ("OT-Identifier", "a9b8c7d6-e5f4-4321-8765-0fedcba98765"), ("OT-Language", "fr")]
    a = analyze(analyzer, make_request("GET", "https://mobile-data.onetrust.io/bannersdk/v2/applicationdata", headers=headers),
                "mobile_data")
    has(a, "installation_id", "a9b8c7d6-e5f4-4321-8765-0fedcba98765", "header.ot-identifier")
