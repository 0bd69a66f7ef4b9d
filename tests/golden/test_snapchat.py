"""Golden tests: Snap Pixel events in the shape of the captured POST body that Omnibug's
Snapchat provider tests (MisterPhilip/omnibug test/providers/Snapchat.js@ce9a0aac)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

from golden_support import FORM_CT, analyze_for, analyzer_fixture, assert_finding_at as has, labels, make_request

TRACKER = "snapchat"
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)
PIXEL = "b2ade379-a55e-4ca7-893b-b9fac04c843f"
HEM = hashlib.sha256(b"snap.user@example.org").hexdigest()
HPN = hashlib.sha256(b"4915112345678").hexdigest()


def test_purchase_with_advanced_matching(analyzer):
    body = {"pid": PIXEL, "ev": "PURCHASE", "pl": "https://shop.example/thanks", "ts": "1583875341291",
            "rf": "https://snap.example/", "v": "1.4", "if": "false", "bt": "__LIVE__", "e_cur": "EUR", "e_pr": "59.00",
            "e_tid": "T-7781", "e_iids": "SKU-1,SKU-2", "u_hem": HEM, "u_hpn": HPN,
            "u_c1": "842d7ddb-e7ea-478c-85a7-cd256905dd2c", "m_sl": "7889", "m_pl": "590"}
    a = analyze(analyzer, make_request("POST", "https://tr.snapchat.com/p", urlencode(body), [FORM_CT]), "event")
    has(a, "project_key", PIXEL, "body.pid")
    has(a, "event_name", "PURCHASE", "body.ev")
    has(a, "page_url", "https://shop.example/thanks", "body.pl")
    has(a, "hashed_email", HEM, "body.u_hem")
    has(a, "hashed_phone", HPN, "body.u_hpn")
    has(a, "browser_id", "842d7ddb-e7ea-478c-85a7-cd256905dd2c", "body.u_c1")
    has(a, "revenue", "59.00", "body.e_pr")
    has(a, "custom_property", "T-7781", "body.e_tid")
    assert labels(a)["body.m_sl"] == ""


def test_cookie_match_image(analyzer):
    a = analyze(analyzer, make_request("GET", f"https://tr.snapchat.com/cm/i?pid={PIXEL}&ev=PAGE_VIEW"), "event")
    has(a, "project_key", PIXEL, "query.pid")
