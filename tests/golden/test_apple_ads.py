"""Golden tests: Apple's ad attribution requests, built from Apple's documentation (the
SKAdNetwork install-validation postback parameters, the AdAttributionKit postback stanza and JWS
claims, the AdServices token POST) and TrackHAR's iAd adapter (apple.ts@742e2ab1). Postbacks
come from iOS to an ad network's own domain: they are matched by path and body, on any host."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from golden_support import (JSON_CT, analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            compact_json, labels, make_request)

TRACKER = "apple_ads"
pytestmark = pytest.mark.no_real_client("apple_ads", "sent by iOS itself (postbacks) or by iOS apps through the AdServices framework")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)


def b64url(value: object) -> str:
    return base64.urlsafe_b64encode(compact_json(value).encode()).decode().rstrip("=")


def test_skadnetwork_postback_on_an_ad_networks_domain(analyzer):
    postback = {"version": "4.0", "ad-network-id": "example123.skadnetwork", "source-identifier": "5239",
                "app-id": 525463029, "transaction-id": "6aafb7a5-0170-41b5-bbe4-fe71dedf1e31", "redownload": False,
                "source-app-id": 1234567891, "fidelity-type": 1, "did-win": True, "conversion-value": 20,
                "postback-sequence-index": 0, "attribution-signature": "MEUCIQD4rX6eh38qEhuUKHdap345UbmlzA7KEZ1bhWZuYM8MJwIgMUmsRYmN"}
    url = "https://postbacks.adnetwork.example/.well-known/skadnetwork/report-attribution/"
    a = analyze(analyzer, make_request("POST", url, compact_json(postback), [JSON_CT]), "skadnetwork_postback",
                via="payload_shape")
    has(a, "app_id", "525463029", "body.app-id")
    has(a, "referrer", "1234567891", "body.source-app-id")
    has(a, "custom_property", "20", "body.conversion-value")
    assert_every_key_mapped(analyzer, a, TRACKER, "skadnetwork_postback",
                            [k for k, v in postback.items() if not isinstance(v, bool)], "body.")


def test_adattributionkit_postback_opens_its_jws(analyzer):
    claims = {"postback-identifier": "85546EB7-FD39-44BC-8990-C98A4AC36A49", "publisher-item-identifier": 0,
              "marketplace-identifier": "com.apple.AppStore", "impression-type": "app-impression",
              "ad-network-identifier": "development.adattributionkit", "did-win": True, "postback-sequence-index": 0,
              "conversion-type": "re-engagement", "source-identifier": "1234", "advertised-item-identifier": 10738027756}
    jws = f"{b64url({'kid': 'apple-development-identifier/1', 'alg': 'ES256'})}.{b64url(claims)}.c2lnbmF0dXJl"
    body = {"jws-string": jws, "conversion-value": 24, "ad-interaction-type": "click", "country-code": "DE"}
    url = "https://adnetwork.example/.well-known/appattribution/report-attribution/"
    a = analyze(analyzer, make_request("POST", url, compact_json(body), [JSON_CT]), "adattributionkit_postback",
                via="payload_shape")
    has(a, "app_id", "10738027756", "body.jws-string.payload.advertised-item-identifier")
    has(a, "country", "DE", "body.country-code")
    has(a, "project_key", "development.adattributionkit", "body.jws-string.payload.ad-network-identifier")
    assert labels(a)["body.jws-string.payload.conversion-type"] == ""


def test_adservices_token_and_iad(analyzer):
    token = base64.b64encode(b"\x01" * 48).decode()
    a = analyze(analyzer, make_request("POST", "https://api-adservices.apple.com/api/v1/", token,
                                       [("Content-Type", "text/plain")]), "adservices_token")
    has(a, "other_id", token, "body")
    iad = {"bundleId": "com.example.notes", "toroId": "1C6B4A5E-5B1A-4A48-9D6B-2D1F7B7A9C10",
           "anonymousDemandId": "F3A9C1B2-7E44-4E9A-8C2D-0B1A2C3D4E5F"}
    a = analyze(analyzer, make_request("POST", "https://ca.iadsdk.apple.com/adserver/attribution/v2", compact_json(iad),
                                       [JSON_CT]), "iad_attribution")
    has(a, "other_id", iad["toroId"], "body.toroId")
    assert a.app == "com.example.notes"


def test_a_report_attribution_path_without_the_postbacks_keys_is_not_apple(analyzer):
    url = "https://shop.example/api/report-attribution"
    a = analyzer.analyze(make_request("POST", url, compact_json({"order": 1}), [JSON_CT]))
    assert a is None or a.tracker != TRACKER
