"""Golden tests: Tenjin requests with the parameter names of the iOS SDK's TenjinConst.h
(tenjin/tenjin-ios-sdk@09132480), form-encoded with Basic auth (the SDK key as user name), as
Tenjin's server-to-server documentation describes the same endpoints."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from golden_support import (FORM_CT, analyze_for, analyzer_fixture, assert_every_key_mapped, assert_finding_at as has,
                            basic, make_request)

TRACKER = "tenjin"
pytestmark = pytest.mark.no_real_client("tenjin", "mobile-only SDKs (iOS framework, Android AAR), closed source")
RULE = Path(__file__).resolve().parents[2] / "tracker_rules" / f"{TRACKER}.yaml"
analyzer = analyzer_fixture(TRACKER, only=RULE)
analyze = analyze_for(TRACKER)

KEY = "KQWMR5ETXZ1ABCDEFGHJKLMNPQRSTUVW"
IDFA, IDFV = "6D92078A-8246-4BA4-AE5B-76104861E7DC", "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
EVENT = {"bundle_id": "com.example.idlegame", "advertising_id": IDFA, "developer_device_id": IDFV, "platform": "ios",
         "app_version": "2.8.0", "app_subversion": "280", "tracking_status": "3", "os_version": "17.2",
         "limit_ad_tracking": "0", "sdk_version": "1.20.0", "country": "JP", "device": "iPhone15,2", "build_id": "21C62",
         "os_version_release": "17.2", "locale": "ja_JP", "timezone": "Asia/Tokyo", "device_model": "iPhone15,2",
         "customer_user_id": "player-77812", "event": "level_10", "analytics_installation_id": "b4f1c7e0-12ab-4c3d-9e8f-001122334455",
         "session_count": "14", "total_session_time": "8123", "session_id": "a5d1e2f3-0000-4000-8000-abcdefabcdef",
         "sent_at": "1767225600", "ad_personalization": "1", "ad_user_data": "1", "iab_tcf": "CQF3fAAQF3fAAAHABBENBVFgAP_gAAAAAAAAIwwAQIwgAAAA"}


def test_event_form_with_basic_auth(analyzer):
    req = make_request("POST", "https://track.tenjin.com/v0/event", urlencode(EVENT),
                       [FORM_CT, ("Authorization", basic(KEY))])
    a = analyze(analyzer, req, "track")
    has(a, "project_key", KEY, "header.authorization.user")
    has(a, "advertising_id", IDFA, "body.advertising_id")
    has(a, "vendor_id", IDFV, "body.developer_device_id")
    has(a, "user_id", "player-77812", "body.customer_user_id")
    has(a, "event_name", "level_10", "body.event")
    assert a.app == "com.example.idlegame"
    assert_every_key_mapped(analyzer, a, TRACKER, "track", list(EVENT), "body.")


def test_ad_revenue_path_and_query_form(analyzer):
    query = urlencode({"bundle_id": "com.example.idlegame", "advertising_id": IDFA, "total_ilrd_revenue_usd": "0.42"})
    a = analyze(analyzer, make_request("GET", f"https://track.tenjin.com/v0/ad_impressions/max?{query}"), "track")
    has(a, "revenue", "0.42", "query.total_ilrd_revenue_usd")
