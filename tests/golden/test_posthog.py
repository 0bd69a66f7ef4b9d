"""Golden tests: the wire formats of the PostHog SDKs, built the way each SDK builds them.

posthog-js chooses a body encoding per request (gzip-js, base64 form, plain JSON; lz64 until
2023); server and mobile SDKs post `{api_key, batch, sent_at}` to /batch/ (gzip with
Content-Encoding); posthog-python's capture V1 posts to /i/v1/analytics/events.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any
from urllib.parse import quote, urlencode

import lzstring
import pytest

from leakmap.model import Analysis
from golden_support import (FORM_CT, JSON_CT, assert_finding_at as assert_finding, compact_json, labels, make_request,
                            request_via_mitmproxy, analyze_fixture, analyzer_fixture, decoded_for)

TRACKER = "posthog"
TOKEN = "phc_G0ld3nT0kenAbCdEfGhIjKlMnOpQrStUvWxYz012"
DISTINCT = "01926b7e-5d4c-7a3b-9c2d-1e0f9a8b7c6d"  # posthog-js UUIDv7 anonymous id
USER_ID = "ph-user-1618"
EMAIL = "pat.hog@example.com"
SESSION = "01926b7e-6000-7c1d-8e2f-3a4b5c6d7e8f"
WINDOW = "01926b7e-6001-7c1d-8e2f-3a4b5c6d7e8f"
PACKAGE = "com.example.notes"
# ------------------------------------------------------------------------------------------
# Helpers (same contract as tests/golden/test_mixpanel_formats.py)


analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()
assert_decoded = decoded_for(TRACKER)


def js_event(event: str, **extra: Any) -> dict[str, Any]:
    """posthog-js lib/src/posthog-core.js calculateEventProperties + browser-common
    event-utils getEventProperties (npm 1.449.2)."""
    props = {"$os": "Linux", "$os_version": "", "$browser": "Chrome", "$device_type": "Desktop",
             "$timezone": "Europe/Berlin", "$timezone_offset": -60, "$current_url": "https://shop.example.net/cart",
             "$host": "shop.example.net", "$pathname": "/cart", "$raw_user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
             "$browser_version": 131, "$browser_language": "de-DE", "$browser_language_prefix": "de",
             "$screen_height": 1080, "$screen_width": 1920, "$viewport_height": 900, "$viewport_width": 1600,
             "$lib": "web", "$lib_version": "1.449.2", "$insert_id": "k2j3h4g5f6d7s8a9", "$time": 1767225600.123,
             "distinct_id": USER_ID, "$device_id": DISTINCT, "$session_id": SESSION, "$window_id": WINDOW,
             "$referrer": "https://www.google.com/", "$referring_domain": "www.google.com",
             "$initial_referrer": "$direct", "token": TOKEN, "$is_identified": True, "$process_person_profile": True}
    props.update(extra)
    return {"uuid": "01926b7e-7000-7abc-8def-0123456789ab", "event": event, "properties": props,
            "timestamp": "2026-01-01T00:00:00.123Z"}


def js_batch() -> list[dict[str, Any]]:
    return [js_event("$pageview", title="Cart - Example Shop"),
            js_event("$identify", **{"$set": {"email": EMAIL, "plan": "team"}, "$anon_distinct_id": DISTINCT})]


def check_js(a: Analysis, prefix: str) -> None:
    assert_finding(a, "project_key", TOKEN, prefix + "[0].properties.token")
    assert_finding(a, "user_id", USER_ID, prefix + "[0].properties.distinct_id")
    assert_finding(a, "installation_id", DISTINCT, prefix + "[0].properties.$device_id")
    assert_finding(a, "session_id", SESSION, prefix + "[0].properties.$session_id")
    assert_finding(a, "page_url", "https://shop.example.net/cart", prefix + "[0].properties.$current_url")
    assert_finding(a, "email", EMAIL, prefix + "[1].properties.$set.email")
    assert_finding(a, "event_name", "$identify", prefix + "[1].event")


def test_js_gzip_js_text_plain(analyze):
    """posthog-js request.js encodePostData: GZipJS → fflate gzipSync(JSON), Content-Type
    text/plain, NO Content-Encoding; URL keeps ?compression=gzip-js&ver=…&_=…"""
    body = gzip.compress(compact_json(js_batch()).encode(), mtime=0)
    url = "https://us.i.posthog.com/e/?" + urlencode({"ip": "0", "_": "1767225600500", "ver": "1.449.2",
                                                        "compression": "gzip-js"})
    a = analyze(make_request("POST", url, body, [("Content-Type", "text/plain")]))
    assert_decoded(a, "capture")
    assert "body: gzip → json" in a.decode_chain[0], a.decode_chain
    check_js(a, "body")
    assert_finding(a, "sdk_version", "1.449.2", "query.ver")


def test_js_base64_form_send_beacon(analyze):
    """sendBeacon and compression=base64: form `data=` + encodeURIComponent(base64(JSON))."""
    b64 = base64.b64encode(compact_json(js_batch()).encode()).decode()
    url = "https://eu.i.posthog.com/e/?compression=base64&ver=1.449.2&_=1767225600500&beacon=1"
    a = analyze(make_request("POST", url, "data=" + quote(b64, safe=""), [FORM_CT]))
    assert_decoded(a, "capture")
    check_js(a, "body.data")


def test_js_plain_json_single_event(analyze):
    a = analyze(make_request("POST", "https://us.i.posthog.com/i/v0/e/?_=1767225600500",
                             compact_json(js_event("$autocapture", **{"$event_type": "click", "$el_text": "Pay"})),
                             [JSON_CT]))
    assert_decoded(a, "capture")
    assert_finding(a, "interaction", "Pay", "body.properties.$el_text")
    assert_finding(a, "browser", "Chrome", "body.properties.$browser")


def test_js_legacy_lz64(analyze):
    """posthog-js before commit fcdd0b9 (2023): compression=lz64, form data=LZString.compressToBase64(JSON)."""
    lz = lzstring.LZString().compressToBase64(compact_json(js_batch()))
    a = analyze(make_request("POST", "https://app.posthog.com/e/?compression=lz64&ver=1.50.0",
                             "data=" + quote(lz, safe=""), [FORM_CT]))
    assert_decoded(a, "capture")
    assert "body.data: lzstring → json" in a.decode_chain, a.decode_chain
    check_js(a, "body.data")


def mobile_event(event: str, **props: Any) -> dict[str, Any]:
    """posthog-android PostHog.kt buildProperties + PostHogAndroidContext (static/dynamic context)."""
    properties = {"$app_name": "Notes", "$app_version": "5.0.2", "$app_namespace": PACKAGE, "$app_build": 502,
                  "$device_manufacturer": "samsung", "$device_model": "SM-S918B", "$device_name": "dm3q",
                  "$device_type": "Mobile", "$os_name": "Android", "$os_version": "14", "$is_emulator": False,
                  "$locale": "en-GB", "$timezone": "Europe/London", "$screen_density": 3.0, "$screen_height": 3088,
                  "$screen_width": 1440, "$network_wifi": True, "$network_carrier": "EE", "$lib": "posthog-android",
                  "$lib_version": "3.21.0", "$user_agent": "Dalvik/2.1.0", "$session_id": SESSION,
                  "$is_identified": False}
    properties.update(props)
    return {"event": event, "distinct_id": DISTINCT, "properties": properties,
            "timestamp": "2026-01-01T00:00:00.123Z", "uuid": "01926b7e-8000-7abc-8def-0123456789ab"}


def test_android_batch_gzip(analyze):
    """posthog-android PostHogApi.kt@0fdb1e45 batch(): POST {host}/batch, PostHogBatchEvent
    {api_key, batch, sent_at}, GzipRequestInterceptor adds Content-Encoding: gzip."""
    body = gzip.compress(compact_json({"api_key": TOKEN, "batch": [mobile_event("$screen", **{"$screen_name": "Editor"})],
                                       "sent_at": "2026-01-01T00:00:01Z"}).encode())
    req = request_via_mitmproxy("POST", "https://eu.i.posthog.com/batch", body,
                                {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip",
                                 "User-Agent": "posthog-android/3.21.0"})
    a = analyze(req)
    assert_decoded(a, "capture")
    p = "body.batch[0]."
    assert_finding(a, "app_id", PACKAGE, p + "properties.$app_namespace")
    assert_finding(a, "device_model", "SM-S918B", p + "properties.$device_model")
    assert_finding(a, "carrier", "EE", p + "properties.$network_carrier")
    assert_finding(a, "screen_name", "Editor", p + "properties.$screen_name")
    assert_finding(a, "user_id", DISTINCT, p + "distinct_id")
    assert_finding(a, "project_key", TOKEN, "body.api_key")
    assert a.app == PACKAGE and a.app_signal == "payload_app_id"


def test_every_automatic_mobile_property_is_mapped_by_the_rule(analyze):
    body = compact_json({"api_key": TOKEN, "batch": [mobile_event("x")], "sent_at": "2026-01-01T00:00:01Z"})
    a = analyze(make_request("POST", "https://us.i.posthog.com/batch/", body, [JSON_CT]))
    auto = {k: v for k, v in labels(a).items() if k.startswith("body.batch[0].properties.")}
    assert auto and "custom_property" not in auto.values(), auto


def test_python_sdk_batch(analyze):
    """posthog (PyPI 7.91.1) request.py post(): body {batch, api_key, sent_at}, path /batch/,
    event properties $lib=posthog-python, $lib_version, $geoip_disable."""
    event = {"event": "invoice paid", "distinct_id": USER_ID, "timestamp": "2026-01-01T00:00:00+00:00",
             "uuid": "8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d", "type": "capture",
             "properties": {"amount": 120, "$lib": "posthog-python", "$lib_version": "7.91.1",
                            "$geoip_disable": True, "$groups": {"company": "acme-42"}}}
    body = json.dumps({"batch": [event], "api_key": TOKEN, "sent_at": "2026-01-01T00:00:01+00:00"})
    a = analyze(make_request("POST", "https://us.i.posthog.com/batch/", body,
                             [JSON_CT, ("User-Agent", "posthog-python/7.91.1")]))
    assert_decoded(a, "capture")
    assert_finding(a, "other_id", "acme-42", "body.batch[0].properties.$groups.company")
    assert_finding(a, "sdk_name", "posthog-python", "body.batch[0].properties.$lib")
    assert_finding(a, "custom_property", "120", "body.batch[0].properties.amount")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_capture_v1(analyze, encoding):
    """posthog capture_v1.py: POST /i/v1/analytics/events, Bearer token, PostHog-Sdk-Info,
    {created_at, batch: [{event, uuid, distinct_id, timestamp, session_id, options, properties}]},
    gzip or zlib deflate with Content-Encoding."""
    body = compact_json({"created_at": "2026-01-01T00:00:01+00:00", "batch": [
        {"event": "signed up", "uuid": "8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5e", "distinct_id": USER_ID,
         "timestamp": "2026-01-01T00:00:00+00:00", "session_id": SESSION, "options": {"cookieless_mode": False},
         "properties": {"$set": {"email": EMAIL}, "source": "ads"}}]}).encode()
    raw = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    req = request_via_mitmproxy("POST", "https://us.i.posthog.com/i/v1/analytics/events", raw, {
        "Content-Type": "application/json", "Content-Encoding": encoding, "Authorization": f"Bearer {TOKEN}",
        "PostHog-Sdk-Info": "posthog-python/7.91.1", "PostHog-Attempt": "1"})
    a = analyze(req)
    assert_decoded(a, "capture_v1")
    assert_finding(a, "session_id", SESSION, "body.batch[0].session_id")
    assert_finding(a, "email", EMAIL, "body.batch[0].properties.$set.email")
    assert_finding(a, "sdk_version", "posthog-python/7.91.1", "header.posthog-sdk-info")


def test_session_recording_snapshot(analyze):
    """posthog-js session recording: `$snapshot` event, gzip-js body to /s/."""
    rr = [{"type": 3, "data": {"source": 5, "text": EMAIL, "id": 41}, "timestamp": 1767225600999}]
    event = js_event("$snapshot", **{"$snapshot_data": rr, "$snapshot_bytes": 120})
    body = gzip.compress(compact_json([event]).encode(), mtime=0)
    a = analyze(make_request("POST", "https://us.i.posthog.com/s/?compression=gzip-js&ver=1.449.2", body,
                             [("Content-Type", "text/plain")]))
    assert_decoded(a, "snapshot")
    assert labels(a)["body[0].properties.$snapshot_data[0].data.text"] == "session_replay"
    # leakmap/replay.py reads the recording: the typed email, with its field and time
    assert_finding(a, "email", EMAIL, "body[0].properties.$snapshot_data[0].data.text", detector="replay")


def test_flags_request(analyze):
    """posthog-android PostHogFlagsRequest: {api_key, distinct_id, $anon_distinct_id, groups,
    person_properties}; POST /flags/?v=2."""
    body = compact_json({"api_key": TOKEN, "distinct_id": USER_ID, "$anon_distinct_id": DISTINCT,
                         "groups": {"company": "acme-42"}, "person_properties": {"email": EMAIL}})
    a = analyze(make_request("POST", "https://us.i.posthog.com/flags/?v=2", body, [JSON_CT]))
    assert_decoded(a, "flags")
    assert_finding(a, "user_id", USER_ID, "body.distinct_id")
    assert_finding(a, "installation_id", DISTINCT, "body.$anon_distinct_id")
    assert_finding(a, "email", EMAIL, "body.person_properties.email")
    assert_finding(a, "project_key", TOKEN, "body.api_key")


def test_remote_config(analyze):
    a = analyze(make_request("GET", f"https://us-assets.i.posthog.com/array/{TOKEN}/config"))
    assert_decoded(a, "remote_config")
    assert_finding(a, "project_key", TOKEN, "path.token")


def test_reverse_proxy_recognised_by_shape(analyze):
    body = gzip.compress(compact_json(js_batch()).encode(), mtime=0)
    a = analyze(make_request("POST", "https://ph.shop.example.net/e/?compression=gzip-js", body,
                             [("Content-Type", "text/plain")]))
    assert_decoded(a, "capture", via="payload_shape")
    check_js(a, "body")


def test_lookalike_host_is_not_posthog(analyzer):
    req = make_request("POST", "https://us.i.posthog.com.example.org/e/", compact_json({"event": "x"}), [JSON_CT])
    a = analyzer.analyze(req)
    assert a is None or a.tracker != TRACKER
