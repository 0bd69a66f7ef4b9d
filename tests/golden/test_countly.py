"""Golden tests: Countly write/read API requests as countly-sdk-web and the mobile SDKs build them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from golden_support import (FORM_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "countly"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


APP_KEY = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
DEVICE_ID = "0c8b5d2e-7f41-4a3e-9b2d-6e1f4a9c8b21"
EMAIL = "casey.countly@example.com"
SERVER = "https://countly.shop.example.net"


def web_params(**extra: Any) -> dict[str, str]:
    """countly-sdk-web (npm 26.1.1) lib/countly.js prepareRequest: app_key, device_id,
    sdk_name, sdk_version, t, timestamp, hour, dow, tz, rr, av; begin_session adds metrics."""
    params = {"app_key": APP_KEY, "device_id": DEVICE_ID, "sdk_name": "javascript_native_web", "sdk_version": "26.1.1",
              "t": "1", "timestamp": "1767225600123", "hour": "10", "dow": "4", "tz": "60", "rr": "0", "av": "1.0"}
    params.update(extra)
    return params


def test_web_begin_session_form_post(analyze):
    metrics = {"_app_version": "1.0", "_ua": "Mozilla/5.0 (X11; Linux x86_64)", "_resolution": "1920x1080",
               "_density": 1, "_locale": "en-GB", "_os": "Linux", "_browser": "Chrome", "_browser_version": "131"}
    body = urlencode(web_params(begin_session="1", metrics=compact_json(metrics)))
    a = analyze(make_request("POST", f"{SERVER}/i", body, [FORM_CT, ("Origin", "https://shop.example.net")]))
    assert_decoded(a, "write", via="payload_shape")
    assert_finding(a, "project_key", APP_KEY, "body.app_key")
    assert_finding(a, "installation_id", DEVICE_ID, "body.device_id")
    assert_finding(a, "user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "body.metrics._ua")
    assert_finding(a, "language", "en-GB", "body.metrics._locale")
    assert_finding(a, "browser", "Chrome", "body.metrics._browser")
    metric_labels = {k: v for k, v in labels(a).items() if k.startswith("body.metrics.")}
    assert "custom_property" not in metric_labels.values(), metric_labels


def test_events_user_details_get(analyze):
    """Mobile SDKs (ConnectionProcessor.java@e705495f) send short requests as GET queries."""
    events = [{"key": "[CLY]_view", "count": 1, "segmentation": {"name": "Checkout", "segment": "Android", "visit": 1},
               "timestamp": 1767225600123, "hour": 10, "dow": 4},
              {"key": "purchase", "count": 1, "sum": 19.99, "segmentation": {"sku": "A-42"}}]
    user = {"name": "Casey Count", "email": EMAIL, "phone": "+447700900456", "byear": 1990,
            "custom": {"tier": "gold"}}
    query = urlencode(web_params(events=compact_json(events), user_details=compact_json(user),
                                 location="51.5072,-0.1276", country_code="GB", city="London"))
    a = analyze(make_request("GET", f"https://try.count.ly/i?{query}"))
    assert_decoded(a, "write")
    assert_finding(a, "event_name", "[CLY]_view", "query.events[0].key")
    assert_finding(a, "screen_name", "Checkout", "query.events[0].segmentation.name")
    assert_finding(a, "revenue", "19.99", "query.events[1].sum")
    assert_finding(a, "email", EMAIL, "query.user_details.email")
    assert_finding(a, "birth_date", "1990", "query.user_details.byear")
    assert_finding(a, "geo_coordinates", "51.5072,-0.1276", "query.location")  # a pair under a latitude
    assert_finding(a, "custom_property", "gold", "query.user_details.custom.tier")


def test_crash_report(analyze):
    crash = {"_os": "Android", "_os_version": "14", "_manufacturer": "Google", "_device": "Pixel 8", "_root": False,
             "_ram_current": 1200, "_ram_total": 8000, "_bat": 55, "_error": "java.lang.NullPointerException at ...",
             "_nonfatal": False, "_logs": "step 1", "_custom": {"screen": "pay"}}
    body = urlencode(web_params(crash=compact_json(crash)))
    a = analyze(make_request("POST", f"{SERVER}/i", body, [FORM_CT]))
    assert_decoded(a, "write", via="payload_shape")
    assert_finding(a, "error_report", "java.lang.NullPointerException at ...", "body.crash._error")
    assert labels(a)["body.crash._root"] == "is_rooted"
    assert labels(a)["body.crash._ram_total"] == "ram"


def test_read_api_server_config(analyze):
    """countly.js server_config: GET /o/sdk?method=sc&app_key&device_id..."""
    a = analyze(make_request("GET", f"{SERVER}/o/sdk?{urlencode(web_params(method='sc'))}"))
    assert_decoded(a, "read", via="payload_shape")
    assert_finding(a, "project_key", APP_KEY, "query.app_key")


def test_i_path_without_app_key_is_not_countly(analyzer):
    a = analyzer.analyze(make_request("GET", "https://img.example.org/i?device_id=x&w=1"))
    assert a is None or a.tracker != TRACKER


def test_device_id_is_the_install_id_whatever_its_type(analyze):
    """countly-sdk-web DeviceIdTypeInternalEnums: `t` says where the device id came from (1 SDK
    generated, 0 developer supplied); both are typed installation_id, `t` is kept as sent."""
    generated = analyze(make_request("POST", f"{SERVER}/i", urlencode(web_params(events="[]")), [FORM_CT]))
    assert_finding(generated, "installation_id", DEVICE_ID, "body.device_id")
    assert labels(generated)["body.t"] == ""
    supplied = analyze(make_request("POST", f"{SERVER}/i", urlencode(web_params(
        device_id="crm-55102", old_device_id=DEVICE_ID, t="0")), [FORM_CT]))   # change_id with merge
    assert_finding(supplied, "installation_id", "crm-55102", "body.device_id")
    assert_finding(supplied, "installation_id", DEVICE_ID, "body.old_device_id")
