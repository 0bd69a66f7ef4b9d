"""Golden tests: every wire format the Mixpanel SDKs use, built the way each SDK builds it.

Each builder below follows one SDK's request code (cited beside it, repo:path@commit as read
for /tmp/research/mixpanel.md) and produces the exact bytes that SDK puts on the wire:
host, path, query, headers and body encoding (URI-encoded JSON, standard base64 with or
without percent-encoding, raw JSON arrays, gzip with or without Content-Encoding).
The Python SDK is not imitated but run: the installed `mixpanel` package builds the request
and only its HTTP session is replaced.

The assertions check the endpoint, the decode status and precise (data type, value, path,
detector) findings, so that a broken decode step or a dropped field mapping fails a test.
"""

from __future__ import annotations

import base64
import gzip
import json
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
import requests

from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import NOT_PERSONAL
from golden_support import (basic, labels, make_request, summary, analyze_fixture, compact_json, decoded_for,
                            encode_uri_component, org_json, request_via_mitmproxy, rules_fixture)

# ------------------------------------------------------------------------------------------
# Test identities: the values an app under test would leak.

TOKEN = "3c5e8f1a9b2d4e6f8a0b1c2d3e4f5a6b"
DEVICE_UUID = "0f8b5e2c-7a41-4c3e-9d2b-6e1f4a9c8b37"  # Android/RN: UUID.randomUUID()
IOS_DEVICE_UUID = "B7E1D2C3-4F5A-4B6C-8D7E-9F0A1B2C3D4E"  # iOS: identifierForVendor
JS_DEVICE_ID = "18f3a1b2c4d5e-0e5f6a7b8c9d0e-4c1a2b3d-1fa400-18f3a1b2c4d5e"  # mixpanel-js cheap_guid()
USER_ID = "user-48151623"
EMAIL = "jane.doe@example.com"
PHONE = "+14155550123"
SESSION_ID = "5e2a9c7d3b1f4e60"
REPLAY_ID = "19a4c2e7f1b-0d3e5f7a9c1b-26021c51-1fa400-19a4c2e7f1b"
API_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
NOW_MS = 1767225600123
# A value whose standard base64 is sure to contain both '+' and '/' wherever it sits in a
# payload: any 5 consecutive '~' (0x7E) hold an aligned triple, base64 "fn5+"; likewise
# '?' (0x3F) → "Pz8/". Used to prove '+' survives form decoding and '/' percent-encoding.
PLUS_SLASH = "~~~~~??????"

JS_TRACK = "https://api-js.mixpanel.com/track/"
API = "https://api.mixpanel.com"

# ------------------------------------------------------------------------------------------
# Fixtures and assertion helpers


rules = rules_fixture()


@pytest.fixture
def analyzer(rules) -> Analyzer:
    return Analyzer(rules)


analyze = analyze_fixture()
assert_decoded = decoded_for("mixpanel")


def assert_finding(a: Analysis, data_type: str, value: str, path: str, detector: str = "rule",
                   detail: str | None = None) -> None:
    """The finding (data_type, value) exists, at *path*, decided by *detector* (and *detail*)."""
    hits = [f for f in a.findings if (f.data_type, f.value) == (data_type, value)]
    assert hits, f"no ({data_type}, {value!r}) finding in\n{summary(a)}"
    found = hits[0]
    assert (found.path, found.detector) == (path, detector), f"({data_type}, {value!r}):\n{summary(a)}"
    if detail is not None:
        assert found.detail == detail, f"({data_type}, {value!r}) detail:\n{summary(a)}"


def assert_no_finding(a: Analysis, data_type: str, value: str | None = None) -> None:
    hits = [f for f in a.findings if f.data_type == data_type and (value is None or f.value == value)]
    assert not hits, f"unexpected {data_type} finding(s):\n{summary(a)}"


# ------------------------------------------------------------------------------------------
# Encoders: the primitives the SDKs use (also golden_support's compact_json, org_json,
# encode_uri_component)


def php_json(value: Any) -> str:
    """PHP json_encode() defaults: ASCII only (\\uXXXX) and '/' escaped as '\\/'."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def b64(text: str) -> str:
    """Standard base64 (+/ alphabet, padded) of the UTF-8 bytes: every SDK that base64s."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


FORM = ("Content-Type", "application/x-www-form-urlencoded")
JSON_CT = ("Content-Type", "application/json")

# ------------------------------------------------------------------------------------------
# Per-SDK record builders: what each SDK puts in one event / profile record


def js_event(event: str, distinct_id: str, **props: Any) -> dict[str, Any]:
    """mixpanel-js:src/utils.js@4ca40f41 `_.info.properties()` plus the persisted super
    properties (`$device_id`, `$initial_referrer`...) and `token` (src/mixpanel-core.js track)."""
    properties = {
        "$os": "Mac OS X", "$browser": "Chrome", "$referrer": "https://www.google.com/",
        "$referring_domain": "www.google.com", "$current_url": "https://shop.example.net/checkout?step=2",
        "$browser_version": 131, "$screen_height": 1117, "$screen_width": 1728, "mp_lib": "web",
        "$lib_version": "2.83.0", "$insert_id": "k3j2h1g0f9e8d7c6", "time": 1767225600.123,
        "distinct_id": distinct_id, "$device_id": JS_DEVICE_ID, "$initial_referrer": "$direct",
        "$initial_referring_domain": "$direct", "token": TOKEN,
    }
    properties.update(props)
    return {"event": event, "properties": properties}


def js_element(tag: str, classes: str, nth: int, **extra: Any) -> dict[str, Any]:
    """mixpanel-js:src/autocapture/utils.js@4ca40f41 getPropertiesFromElement."""
    return {"$classes": classes.split(" "), "$tag_name": tag, **extra, "$nth_child": nth, "$nth_of_type": nth}


def js_autocapture_click() -> dict[str, Any]:
    """An `$mp_click` event as autocapture's trackEvent builds it (click on a link)."""
    target = js_element("a", "btn btn-primary", 2, **{"$id": "buy-now", "$attr-href": "/checkout",
                                                       "$attr-aria-label": "Buy now"})
    props = {"$event_type": "click", "$host": "shop.example.net", "$pathname": "/product/42",
             "$elements": [target, js_element("div", "card", 1)], "$el_attr__href": "/checkout",
             "$viewportHeight": 900, "$viewportWidth": 1440, "$pageHeight": 3200, "$pageWidth": 1440,
             "$clientX": 612, "$clientY": 388, "$offsetX": 40, "$offsetY": 12, "$pageX": 612, "$pageY": 1188,
             "$screenX": 700, "$screenY": 470, "$x": 612, "$y": 388, "$captured_for_heatmap": True,
             "$el_text": "Buy now", "$target": target, "$el_classes": target["$classes"], "$el_id": "buy-now",
             "$el_tag_name": "a", "$mp_autocapture": True}
    return js_batched(js_event("$mp_click", USER_ID, **props))


def js_batched(event: dict[str, Any]) -> dict[str, Any]:
    """mixpanel-js:src/request-batcher.js@4ca40f41 adds mp_sent_by_lib_version to events."""
    event["properties"]["mp_sent_by_lib_version"] = "2.83.0"
    return event


ANDROID_DEFAULT_PROPERTIES: dict[str, Any] = {
    # mixpanel-android:.../mpmetrics/AnalyticsMessages.java@ce46b763 getDefaultEventProperties()
    "mp_lib": "android", "$lib_version": "8.2.0", "$os": "Android", "$os_version": "14",
    "$manufacturer": "Google", "$brand": "google", "$model": "Pixel 8", "$screen_dpi": 420,
    "$screen_height": 2400, "$screen_width": 1080, "$app_version": "3.4.1", "$app_version_string": "3.4.1",
    "$app_release": 341, "$app_build_number": 341, "$has_nfc": True, "$has_telephone": True,
    "$carrier": "T-Mobile", "$wifi": True, "$bluetooth_enabled": False, "$bluetooth_version": "ble",
}


def android_metadata(seq: int = 0) -> dict[str, Any]:
    """mixpanel-android:.../mpmetrics/SessionMetadata.java@ce46b763 getNewMetadata()."""
    return {"$mp_event_id": "7c2f9e4a1b3d5f60", "$mp_session_id": SESSION_ID, "$mp_session_seq_id": seq,
            "$mp_session_start_sec": NOW_MS // 1000}


def android_event(event: str, distinct_id: str = DEVICE_UUID, user_id: str | None = None,
                  **props: Any) -> dict[str, Any]:
    """mixpanel-android: MixpanelAPI.track (time, distinct_id, $had_persisted_distinct_id,
    $device_id, $user_id, $duration) + AnalyticsMessages.prepareEventObject (defaults, token,
    top-level $mp_metadata)."""
    properties = dict(ANDROID_DEFAULT_PROPERTIES)
    properties["token"] = TOKEN
    properties.update({"time": NOW_MS, "distinct_id": distinct_id, "$had_persisted_distinct_id": False,
                       "$device_id": DEVICE_UUID})
    if user_id:
        properties["$user_id"] = user_id
    properties.update(props)
    return {"event": event, "properties": properties, "$mp_metadata": android_metadata()}


ANDROID_PEOPLE_DEVICE_INFO: dict[str, Any] = {
    # mixpanel-android:.../MixpanelAPI.java@ce46b763 (deviceInfo, merged into every $set)
    "$android_lib_version": "8.2.0", "$android_os": "Android", "$android_os_version": "14",
    "$android_manufacturer": "Google", "$android_brand": "google", "$android_model": "Pixel 8",
    "$android_app_version": "3.4.1", "$android_app_version_code": "341",
}


def android_people(op: str, value: Any, distinct_id: str = USER_ID) -> dict[str, Any]:
    """mixpanel-android: MixpanelAPI.PeopleImpl.stdPeopleMessage@ce46b763."""
    return {op: value, "$token": TOKEN, "$time": NOW_MS, "$had_persisted_distinct_id": False,
            "$device_id": DEVICE_UUID, "$distinct_id": distinct_id, "$user_id": distinct_id,
            "$mp_metadata": android_metadata()}


def android_group(op: str, value: Any) -> dict[str, Any]:
    """mixpanel-android: MixpanelAPI.GroupImpl.stdGroupMessage@ce46b763."""
    return {op: value, "$token": TOKEN, "$time": NOW_MS, "$group_key": "company_id", "$group_id": "acme-42",
            "$mp_metadata": android_metadata()}


SWIFT_DEFAULT_PROPERTIES: dict[str, Any] = {
    # mixpanel-swift:Sources/AutomaticProperties.swift@8399b37f `properties`, plus $wifi,
    # $radio, $carrier set in Sources/MixpanelInstance.swift.
    "$os": "iOS", "$os_version": "18.2", "$app_build_number": "1207", "$app_version_string": "5.1.0",
    "mp_lib": "swift", "$lib_version": "6.5.1", "$manufacturer": "Apple", "$model": "iPhone16,1",
    "$screen_height": 852, "$screen_width": 393, "$wifi": True, "$radio": "LTE", "$carrier": "Vodafone",
}

OBJC_DEFAULT_PROPERTIES: dict[str, Any] = {
    # mixpanel-iphone:Sources/Mixpanel.m@b75007a9 (automatic properties; mp_device_model is the
    # legacy duplicate of $model; $app_version = CFBundleVersion, $app_release = short version).
    "mp_lib": "iphone", "$lib_version": "5.0.8", "$os": "iOS", "$os_version": "17.6", "$manufacturer": "Apple",
    "$model": "iPhone14,5", "mp_device_model": "iPhone14,5", "$app_version": "884", "$app_release": "2.9.3",
    "$app_build_number": "884", "$app_version_string": "2.9.3", "$screen_height": 844, "$screen_width": 390,
    "$wifi": False, "$radio": "5G", "$carrier": "AT&T",
}


def ios_event(defaults: dict[str, Any], event: str, distinct_id: str, **props: Any) -> dict[str, Any]:
    properties = {**defaults, "token": TOKEN, "time": NOW_MS, "distinct_id": distinct_id,
                  "$device_id": IOS_DEVICE_UUID, "$had_persisted_distinct_id": False, **props}
    return {"event": event, "properties": properties, "$mp_metadata": android_metadata() | {"$mp_event_id": "a1b2c3"}}


def server_event(lib: str, event: str, distinct_id: str, time: Any, **props: Any) -> dict[str, Any]:
    """Server SDKs: token, distinct_id, time, mp_lib, $lib_version (except PHP) + caller's props."""
    properties = {"token": TOKEN, "distinct_id": distinct_id, "time": time, "mp_lib": lib}
    if lib != "php":
        properties["$lib_version"] = {"node": "0.24.0", "ruby": "3.3.0", "jdk": "1.7.0", "go": "2.0.0-beta.2"}[lib]
    properties.update(props)
    return {"event": event, "properties": properties}


# ------------------------------------------------------------------------------------------
# Per-SDK request builders: how each SDK puts records on the wire


def js_request(route: str, payload: Any, *, host: str = "https://api-js.mixpanel.com", base64_payload: bool = False,
               batch: bool = True, sendbeacon: bool = False) -> Request:
    """mixpanel-js:src/mixpanel-core.js@4ca40f41 _send_request, POST (the default api_method):
    query verbose=1 (batches), ip=1, _=<ms>; body 'data=' + encodeURIComponent(payload) where
    payload is JSON on *.mixpanel.com hosts and the library's standard base64 otherwise.
    XHR sets the form Content-Type; navigator.sendBeacon(url, string) sends text/plain."""
    text = compact_json(payload)
    data = b64(text) if base64_payload else text
    query = {"verbose": 1} if batch else {}
    query.update({"ip": 1, "_": str(NOW_MS)})
    url = f"{host}/{route}?" + "&".join(f"{k}={encode_uri_component(str(v))}" for k, v in query.items())
    content_type = ("Content-Type", "text/plain;charset=UTF-8") if sendbeacon else FORM
    return make_request("POST", url, "data=" + encode_uri_component(data), [content_type])


def js_image_beacon(route: str, payload: Any) -> Request:
    """mixpanel-js _send_request with api_method GET and img:true: `data` stays in the query,
    then img=1, ip, _ (_.HTTPBuildQuery, encodeURIComponent); sent as <img src>."""
    query = {"data": compact_json(payload), "img": 1, "ip": 1, "_": str(NOW_MS)}
    url = f"https://api-js.mixpanel.com/{route}?" + "&".join(
        f"{k}={encode_uri_component(str(v))}" for k, v in query.items())
    return make_request("GET", url, headers=[("Accept", "image/avif,image/webp,*/*")])


def android_form_body(records: list[dict[str, Any]], debug: bool = False) -> bytes:
    """mixpanel-android AnalyticsMessages.sendData + HttpService@ce46b763: data=Base64Coder of
    the JSON array, built with Uri.Builder.appendQueryParameter (percent-encoded)."""
    params = {"data": b64("[" + ",".join(org_json(r) for r in records) + "]")}
    if debug:
        params["verbose"] = "1"
    return "&".join(f"{k}={encode_uri_component(v)}" for k, v in params.items()).encode()


def android_request(route: str, records: list[dict[str, Any]], host: str = API, ip: int = 1) -> Request:
    """MPConfig.getEndPointWithIpTrackingParam: /track/?ip=1."""
    return make_request("POST", f"{host}/{route}/?ip={ip}", android_form_body(records),
                        [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")])


def raw_json_request(url: str, records: list[dict[str, Any]]) -> Request:
    """iOS Obj-C (MPNetwork.m buildRequestForEndpoint), Swift (FlushRequest.swift), Go
    (ingestion.go makeRequestBody jsonPayload): the JSON array is the body."""
    return make_request("POST", url, compact_json(records), [JSON_CT])


def form_json_request(url: str, records: list[dict[str, Any]], plus_for_space: bool = False) -> Request:
    """Plain JSON in form field `data`: React Native JS mode (mixpanel-network.js@ae642fe0:
    `data=${encodeURIComponent(JSON.stringify(data))}`) and Unity (Controller.cs@e5e00487:
    UnityWebRequest.Post(url, form) with form["data"] = batch JSON, WWW-form encoded)."""
    text = compact_json(records)
    data = quote_plus(text) if plus_for_space else encode_uri_component(text)
    return make_request("POST", url, f"data={data}", [FORM])


def node_get(route: str, record: dict[str, Any]) -> Request:
    """mixpanel (npm 0.24.0) lib/mixpanel-node.js send_request, method GET (single track,
    people, groups): data = Buffer base64 of the JSON, in the query with ip and verbose
    (querystring.stringify percent-encodes it)."""
    query = {"ip": 0, "verbose": 0, "data": b64(compact_json(record))}
    return make_request("GET", f"{API}/{route}?{urlencode(query)}")


def node_post(route: str, batch: list[dict[str, Any]], secret: str | None = None) -> Request:
    """send_request, method POST (track_batch, import_batch): body 'data=' + base64, NOT
    percent-encoded, Content-Type form; API secret as Basic auth."""
    body = "data=" + b64(compact_json(batch))
    headers = [FORM, ("Content-Length", str(len(body)))]
    if secret:
        headers.append(("Authorization", basic(secret)))
    return make_request("POST", f"{API}/{route}?ip=0&verbose=0", body, headers)


def ruby_request(route: str, batch: list[dict[str, Any]]) -> Request:
    """mixpanel-ruby:lib/mixpanel-ruby/consumer.rb@35be7bad send!: Base64.encode64(JSON)
    without newlines, form {data, verbose: 1} through Net::HTTP set_form_data (www-form)."""
    return make_request("POST", f"{API}/{route}", urlencode({"data": b64(compact_json(batch)), "verbose": 1}),
                        [FORM])


def java_request(route: str, batch: list[dict[str, Any]]) -> Request:
    """mixpanel-java:.../MixpanelAPI.java@5f5c367c sendData: 'data=' + URLEncoder.encode(
    base64), Content-Type form;charset=utf8, query ip=0."""
    return make_request("POST", f"{API}/{route}?ip=0", "data=" + quote_plus(b64(compact_json(batch))),
                        [("Content-Type", "application/x-www-form-urlencoded;charset=utf8")])


def php_request(route: str, batch: list[dict[str, Any]]) -> Request:
    """mixpanel-php:lib/ConsumerStrategies/CurlConsumer.php@4b0fafac _execute: 'data=' .
    base64_encode(json_encode($batch)) as CURLOPT_POSTFIELDS (not percent-encoded)."""
    return make_request("POST", f"{API}/{route}", "data=" + b64(php_json(batch)), [FORM])


class _CapturingSession:
    """Stands in for the requests.Session of mixpanel-python's Consumer: prepares the real
    request (requests does the form encoding and Basic auth) and records it."""

    def __init__(self) -> None:
        self.sent: list[requests.PreparedRequest] = []

    def post(self, url: str, params=None, data=None, auth=None, timeout=None, verify=None):  # noqa: ANN001
        self.sent.append(requests.Request("POST", url, params=params, data=data, auth=auth).prepare())
        return _Reply()


class _Reply:
    status_code = 200
    text = '{"status":1,"error":null}'

    def json(self) -> dict[str, Any]:
        return {"status": 1, "error": None}


def python_sdk(buffered: bool = False):
    """The installed mixpanel-python (PyPI 5.4.1, mixpanel/__init__.py Consumer._write_request)
    with a capturing session. Returns (Mixpanel, consumer, session)."""
    import mixpanel

    consumer = mixpanel.BufferedConsumer() if buffered else mixpanel.Consumer()
    session = _CapturingSession()
    (consumer._consumer if buffered else consumer)._session = session
    return mixpanel.Mixpanel(TOKEN, consumer=consumer), consumer, session


def from_prepared(prepared: requests.PreparedRequest) -> Request:
    body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
    return make_request(prepared.method, prepared.url, body, list(prepared.headers.items()))


# ==========================================================================================
# JS browser (mixpanel-js)


def test_js_batch_xhr_plain_json(analyze):
    """Default config on api-js.mixpanel.com: batched, URI-encoded JSON array, verbose=1."""
    anonymous = js_batched(js_event("Viewed Product", f"$device:{JS_DEVICE_ID}", sku="AB-1234",
                                    user_email="buyer@example.com"))
    identified = js_batched(js_event("Checkout", EMAIL, **{"$user_id": EMAIL, "Cart Value": 99.5}))
    req = js_request("track/", [anonymous, identified])
    assert req.body.startswith(b"data=%5B%7B%22event%22%3A%22Viewed%20Product%22")  # encodeURIComponent
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: form", "body.data: json"]
    p = "body.data[0].properties"
    assert_finding(a, "event_name", "Viewed Product", "body.data[0].event")
    assert_finding(a, "project_key", TOKEN, f"{p}.token")
    assert_finding(a, "user_id", f"$device:{JS_DEVICE_ID}", f"{p}.distinct_id")
    assert_finding(a, "installation_id", JS_DEVICE_ID, f"{p}.$device_id", detail="properties.$device_id")
    assert_finding(a, "page_url", "https://shop.example.net/checkout?step=2", f"{p}.$current_url")
    assert_finding(a, "referrer", "https://www.google.com/", f"{p}.$referrer")
    assert_finding(a, "browser", "Chrome", f"{p}.$browser")
    assert_finding(a, "browser_version", "131", f"{p}.$browser_version")
    assert_finding(a, "os_name", "Mac OS X", f"{p}.$os")
    assert_finding(a, "screen_width", "1728", f"{p}.$screen_width")
    assert_finding(a, "sdk_name", "web", f"{p}.mp_lib")
    assert_finding(a, "sdk_version", "2.83.0", f"{p}.$lib_version")  # mp_sent_by_lib_version dedups
    assert_finding(a, "custom_property", "AB-1234", f"{p}.sku", detail="properties.**")
    # A custom property whose key names an email: key_name wins over the catch-all.
    assert_finding(a, "email", "buyer@example.com", f"{p}.user_email", detector="key_name", detail="user_email")
    assert_no_finding(a, "custom_property", "buyer@example.com")
    # The identified event: distinct_id is an email → user_id by rule AND email by pattern.
    q = "body.data[1].properties"
    assert_finding(a, "user_id", EMAIL, f"{q}.distinct_id")
    assert_finding(a, "email", EMAIL, f"{q}.distinct_id", detector="pattern", detail="email address")
    assert_finding(a, "custom_property", "99.5", f'{q}["Cart Value"]')
    fields = labels(a)
    assert fields["query.verbose"] == fields["query.ip"] == fields["query._"] == ""
    assert fields[f"{p}.$insert_id"] == "" and fields[f"{p}.time"] == ""


def test_js_single_object_not_batched(analyze):
    """Batching off (or send_immediately): one object, no verbose=1 in the query."""
    req = js_request("track/", js_event("Signed Up", USER_ID, plan="pro"), batch=False)
    assert "verbose" not in req.url
    a = analyze(req)
    assert_decoded(a, "track")
    assert_finding(a, "installation_id", JS_DEVICE_ID, "body.data.properties.$device_id")
    assert_finding(a, "user_id", USER_ID, "body.data.properties.distinct_id")
    assert_finding(a, "custom_property", "pro", "body.data.properties.plan")


@pytest.mark.parametrize("route,record,expected", [
    ("track/", js_event("Purchase", EMAIL, coupon=PLUS_SLASH),
     [("user_id", EMAIL, "body.data[0].properties.distinct_id", "rule"),
      ("email", EMAIL, "body.data[0].properties.distinct_id", "pattern"),
      ("installation_id", JS_DEVICE_ID, "body.data[0].properties.$device_id", "rule")]),
    ("engage/", {"$set": {"$email": EMAIL, "$os": "Mac OS X"}, "$token": TOKEN, "$distinct_id": USER_ID,
                 "$device_id": JS_DEVICE_ID},
     [("email", EMAIL, "body.data[0].$set.$email", "rule"),
      ("user_id", USER_ID, "body.data[0].$distinct_id", "rule")]),
], ids=["track", "engage"])
def test_js_base64_on_custom_proxy_host_recognised_by_payload_shape(analyze, route, record, expected):
    """api_host set to the site's own proxy: the host does not match \\.mixpanel\\.com, so
    mixpanel-js keeps api_payload_format 'base64' (mixpanel-core.js _init). leakmap does not
    know the host and must recognise the payload by its shape."""
    req = js_request(f"mp/{route}", [record], host="https://collect.example.org", base64_payload=True)
    if route == "track/":
        assert b"%2B" in req.body and b"%2F" in req.body  # base64, then encodeURIComponent
    a = analyze(req)
    assert_decoded(a, route.rstrip("/"), via="payload_shape")
    assert a.decode_chain[0].startswith("host collect.example.org is not a known Mixpanel host")
    assert "body.data: base64 → json" in a.decode_chain
    for data_type, value, path, detector in expected:
        assert_finding(a, data_type, value, path, detector)


def test_js_image_beacon_get_with_data_in_query(analyze):
    """api_method GET + img:true: the payload rides in the <img> URL's query."""
    req = js_image_beacon("track/", js_event("Page View", USER_ID, campaign_ref="spring"))
    assert req.body == b""
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["query.data: json"]
    assert_finding(a, "installation_id", JS_DEVICE_ID, "query.data.properties.$device_id")
    assert_finding(a, "user_id", USER_ID, "query.data.properties.distinct_id")
    assert_finding(a, "custom_property", "spring", "query.data.properties.campaign_ref")
    assert labels(a)["query.img"] == ""


def test_js_send_beacon_text_plain_body(analyze):
    """Batcher flush on pagehide: navigator.sendBeacon(url, 'data=…') → text/plain body."""
    req = js_request("track/", [js_batched(js_event("$mp_page_leave", USER_ID))], sendbeacon=True)
    assert req.header("content-type") == "text/plain;charset=UTF-8"
    a = analyze(req)
    assert_decoded(a, "track")
    assert_finding(a, "event_name", "$mp_page_leave", "body.data[0].event")
    assert_finding(a, "installation_id", JS_DEVICE_ID, "body.data[0].properties.$device_id")


# ==========================================================================================
# Android (mixpanel-android)


def test_android_track_base64_form(analyze):
    event = android_event("Order Completed", distinct_id=USER_ID, user_id=USER_ID,
                          note=PLUS_SLASH, contact_phone=PHONE)
    req = android_request("track", [event])
    assert b"%2B" in req.body and b"%2F" in req.body  # Uri.Builder percent-encodes '+' and '/'
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: form", "body.data: base64 → json"]
    p = "body.data[0].properties"
    assert_finding(a, "installation_id", DEVICE_UUID, f"{p}.$device_id", detail="properties.$device_id")
    assert_finding(a, "user_id", USER_ID, f"{p}.distinct_id")
    assert_finding(a, "device_model", "Pixel 8", f"{p}.$model")
    assert_finding(a, "manufacturer", "Google", f"{p}.$manufacturer")
    assert_finding(a, "carrier", "T-Mobile", f"{p}.$carrier")
    assert_finding(a, "os_version", "14", f"{p}.$os_version")
    assert_finding(a, "app_version", "3.4.1", f"{p}.$app_version")
    assert_finding(a, "session_id", SESSION_ID, "body.data[0].$mp_metadata.$mp_session_id")
    assert_finding(a, "custom_property", PLUS_SLASH, f"{p}.note")
    assert_finding(a, "phone", PHONE, f"{p}.contact_phone", detector="key_name")
    assert labels(a)["query.ip"] == ""


def test_android_gzip_whole_form_body(analyze):
    """GzipRequestPayload on: HttpService gzips the encoded form body and sets
    Content-Encoding: gzip. Goes through a real mitmproxy flow and leakmap's reader."""
    raw = gzip.compress(android_form_body([android_event("App Open", distinct_id=EMAIL)]))
    req = request_via_mitmproxy("POST", f"{API}/track/?ip=1", raw, {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Content-Encoding": "gzip"})
    assert req.body.startswith(b"data=") and req.body_error == ""
    a = analyze(req)
    assert_decoded(a, "track")
    assert_finding(a, "installation_id", DEVICE_UUID, "body.data[0].properties.$device_id")
    assert_finding(a, "email", EMAIL, "body.data[0].properties.distinct_id", detector="pattern")


# ------------------------------------------------------------------------------------------
# No automatic property may fall through to the custom_property catch-all.

def _leaf_paths(record: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Relative paths of every scalar in a record, in leakmap's notation."""
    if isinstance(record, dict):
        return [x for k, v in record.items() for x in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(record, list):
        return [x for i, v in enumerate(record) for x in _leaf_paths(v, f"{prefix}[{i}]")]
    return [(prefix, record)]


AUTOMATIC_RECORDS: dict[str, tuple[str, str, Callable[[], Request], list[str]]] = {
    # name: (endpoint, record root, request builder, relative paths of the automatic keys)
    "android-event": ("track", "body.data[0]",
                      lambda: android_request("track", [android_event("E", user_id=USER_ID, **{"$duration": 1.5})]),
                      [f"properties.{k}" for k in (*ANDROID_DEFAULT_PROPERTIES, "token", "time", "distinct_id",
                                                   "$had_persisted_distinct_id", "$device_id", "$user_id",
                                                   "$duration")]
                      + [f"$mp_metadata.{k}" for k in android_metadata()] + ["event"]),
    "android-people": ("engage", "body.data[0]",
                       lambda: android_request("engage", [android_people("$set", dict(ANDROID_PEOPLE_DEVICE_INFO))]),
                       [f"$set.{k}" for k in ANDROID_PEOPLE_DEVICE_INFO]
                       + ["$token", "$time", "$had_persisted_distinct_id", "$device_id", "$distinct_id", "$user_id"]
                       + [f"$mp_metadata.{k}" for k in android_metadata()]),
    "android-group": ("groups", "body.data[0]",
                      lambda: android_request("groups", [android_group("$set", {"plan": "x"})]),
                      ["$token", "$time", "$group_key", "$group_id"]
                      + [f"$mp_metadata.{k}" for k in android_metadata()]),
    "swift-event": ("track", "body[0]",
                    lambda: raw_json_request(f"{API}/track/?ip=1", [ios_event(SWIFT_DEFAULT_PROPERTIES, "E", USER_ID)]),
                    [f"properties.{k}" for k in (*SWIFT_DEFAULT_PROPERTIES, "token", "time", "distinct_id",
                                                 "$device_id", "$had_persisted_distinct_id")]),
    "objc-event": ("track", "body[0]",
                   lambda: raw_json_request(f"{API}/track/?ip=1", [ios_event(OBJC_DEFAULT_PROPERTIES, "E", USER_ID)]),
                   [f"properties.{k}" for k in OBJC_DEFAULT_PROPERTIES]),
    "js-autocapture-click": ("track", "body.data[0]", lambda: js_request("track/", [js_autocapture_click()]),
                             [path for path, _ in _leaf_paths(js_autocapture_click())]),
    "js-event": ("track", "body.data[0]",
                 lambda: js_request("track/", [js_batched(js_event("E", USER_ID, **{"$user_id": USER_ID}))]),
                 [f"properties.{k}"
                  for k in js_batched(js_event("E", USER_ID, **{"$user_id": USER_ID}))["properties"]]),
}


@pytest.mark.parametrize("name", list(AUTOMATIC_RECORDS))
def test_sdk_automatic_properties_are_all_mapped_by_the_rule(analyze, analyzer, name):
    """Every key an SDK adds by itself has its own field mapping: either a data type
    (detector 'rule' on an exact, non-catch-all rule path) or `uploaded` (listed in
    analysis.fields with no label). Removing any mapping from mixpanel.yaml fails this test."""
    endpoint_id, root, build, keys = AUTOMATIC_RECORDS[name]
    a = analyze(build())
    assert_decoded(a, endpoint_id)
    endpoint = analyzer.endpoints[("mixpanel", endpoint_id)]
    fields = labels(a)
    by_path = {f.path: f for f in a.findings}
    for key in keys:
        path = f"{root}.{key}"
        assert path in fields, f"{name}: {path} not among the extracted fields"
        mapped = endpoint.fields.lookup(key)
        # `properties.**` and `*.**` are the app's own properties; `$elements[*].*` and
        # `$target.*` are SDK-built objects whose every key is an element detail.
        generic = mapped is None or mapped[1] in ("properties.**", "*.**")
        assert not generic, f"{name}: {key} has no field mapping of its own (falls to {mapped and mapped[1]})"
        data_type, rule_path = mapped
        expected = "" if data_type == NOT_PERSONAL else data_type
        assert fields[path] == expected, f"{name}: {path} labelled {fields[path]!r}, rule says {data_type}"
        if path in by_path:  # dedup keeps one finding per (type, value): check those that are here
            assert (by_path[path].detector, by_path[path].detail) == ("rule", rule_path), summary(a)


def test_js_autocapture_click(analyze):
    a = analyze(js_request("track/", [js_autocapture_click()]))
    assert_decoded(a, "track")
    p = "body.data[0].properties"
    # One finding per (type, value): the first place a value shows up is the one cited.
    assert_finding(a, "interaction", "Buy now", f"{p}.$elements[0].$attr-aria-label",
                   detail="properties.$elements[*].*")
    assert_finding(a, "interaction", "buy-now", f"{p}.$elements[0].$id", detail="properties.$elements[*].*")
    assert_finding(a, "interaction", "btn", f"{p}.$elements[0].$classes[0]",
                   detail="properties.$elements[*].$classes[*]")
    assert_finding(a, "page_url", "/checkout", f"{p}.$el_attr__href", detail="properties.$el_attr__href")
    assert_finding(a, "page_url", "/product/42", f"{p}.$pathname")
    assert_finding(a, "interaction", "612", f"{p}.$clientX")
    fields = labels(a)
    assert fields[f"{p}.$el_text"] == fields[f"{p}.$target.$id"] == fields[f"{p}.$el_classes[1]"] == "interaction"
    assert_no_finding(a, "custom_property")


def test_list_valued_property_keeps_key_name_detection(analyze):
    """A `$union` list under a key that names a phone: key_name should label the values phone,
    as it does for the scalar `$set.phone` (catch-all `*.*`)."""
    records = [android_people("$set", {"phone": "(415) 555-0123"}),
               android_people("$union", {"phone": ["(415) 555-0199"]})]
    a = analyze(android_request("engage", records))
    assert_decoded(a, "engage")
    assert_finding(a, "phone", "(415) 555-0123", "body.data[0].$set.phone", detector="key_name")
    assert_finding(a, "phone", "(415) 555-0199", "body.data[1].$union.phone[0]", detector="key_name")


# ==========================================================================================
# iOS (Obj-C and Swift)


def test_ios_objc_raw_json_array(analyze):
    event = ios_event(OBJC_DEFAULT_PROPERTIES, "Login", EMAIL, **{"$user_id": EMAIL, "loyalty_tier": "gold"})
    req = raw_json_request(f"{API}/track/?ip=1", [event])
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: json"]
    p = "body[0].properties"
    assert_finding(a, "installation_id", IOS_DEVICE_UUID, f"{p}.$device_id")
    assert_finding(a, "user_id", EMAIL, f"{p}.distinct_id")
    assert_finding(a, "email", EMAIL, f"{p}.distinct_id", detector="pattern")
    assert_finding(a, "device_model", "iPhone14,5", f"{p}.$model")
    assert_finding(a, "network_type", "5G", f"{p}.$radio")
    assert_finding(a, "carrier", "AT&T", f"{p}.$carrier")
    assert_finding(a, "app_build", "2.9.3", f"{p}.$app_release")
    assert_finding(a, "custom_property", "gold", f"{p}.loyalty_tier")


def test_swift_gzip_track(analyze):
    """useGzipCompression (MixpanelOptions default): /track body gzipped, Content-Encoding."""
    event = ios_event(SWIFT_DEFAULT_PROPERTIES, "Song Played", USER_ID, genre="jazz")
    raw = gzip.compress(compact_json([event]).encode())
    req = request_via_mitmproxy("POST", f"{API}/track/?ip=1", raw,
                                {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    a = analyze(req)
    assert_decoded(a, "track")
    assert_finding(a, "installation_id", IOS_DEVICE_UUID, "body[0].properties.$device_id")
    assert_finding(a, "sdk_name", "swift", "body[0].properties.mp_lib")
    assert_finding(a, "custom_property", "jazz", "body[0].properties.genre")


def test_swift_engage_not_gzipped(analyze):
    """Swift gzips .events only; people records are plain JSON with $ios_* in $set."""
    record = {"$token": TOKEN, "$distinct_id": USER_ID, "$device_id": IOS_DEVICE_UUID, "$time": NOW_MS,
              "$set": {"$ios_version": "18.2", "$ios_device_model": "iPhone16,1", "$swift_lib_version": "6.5.1",
                       "$ios_app_release": "5.1.0", "$ios_app_version": "1207", "$email": EMAIL}}
    a = analyze(raw_json_request(f"{API}/engage/?ip=1", [record]))
    assert_decoded(a, "engage")
    assert_finding(a, "email", EMAIL, "body[0].$set.$email", detail="*.$email")
    assert_finding(a, "device_model", "iPhone16,1", "body[0].$set.$ios_device_model")
    assert_finding(a, "installation_id", IOS_DEVICE_UUID, "body[0].$device_id")


# ==========================================================================================
# React Native (JS mode) and Unity: plain JSON in form `data`


@pytest.mark.parametrize("sdk,url,plus_for_space,props", [
    # mixpanel-react-native:javascript/mixpanel-network.js@ae642fe0 (`?ip=${+useIP}`)
    ("react-native", f"{API}/track/?ip=1", False,
     {"mp_lib": "react-native", "$lib_version": "3.2.1", "$os": "android", "$os_version": 34,
      "$android_brand": "samsung", "$android_model": "SM-S918B", "$android_manufacturer": "samsung"}),
    # mixpanel-unity:Mixpanel/Controller.cs@e5e00487 (Config.TrackUrl = api.mixpanel.com/track/?ip=1)
    ("unity", f"{API}/track/?ip=1", True,
     {"mp_lib": "unity", "$lib_version": "3.5.5", "$os": "Android OS 14 / API-34", "$device": "Android",
      "$screen_dpi": 420, "$app_version_string": "1.0.3", "$radio": "LTE"}),
])
def test_plain_json_form(analyze, sdk, url, plus_for_space, props):
    event = {"event": "Level Up", "properties": {"token": TOKEN, "time": NOW_MS, "distinct_id": DEVICE_UUID,
                                                 "$device_id": DEVICE_UUID, "level name": "Lava Cave", **props},
             "$mp_metadata": android_metadata()}
    req = form_json_request(url, [event], plus_for_space=plus_for_space)
    assert (b"Lava+Cave" in req.body) is plus_for_space
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: form", "body.data: json"]
    p = "body.data[0].properties"
    assert_finding(a, "installation_id", DEVICE_UUID, f"{p}.$device_id")
    assert_finding(a, "sdk_name", sdk, f"{p}.mp_lib")
    assert_finding(a, "custom_property", "Lava Cave", f'{p}["level name"]')
    if sdk == "react-native":
        assert_finding(a, "device_model", "SM-S918B", f"{p}.$android_model")
    else:
        assert_finding(a, "screen_density", "420", f"{p}.$screen_dpi")


# ==========================================================================================
# Python: the real SDK


def test_python_consumer_track_single_object(analyze):
    mp, _, session = python_sdk()
    mp.track(EMAIL, "Invoice Paid", {"invoice_id": "INV-2024-0042", "billing_email": "ap@example.com"})
    (prepared,) = session.sent
    req = from_prepared(prepared)
    assert req.url == "https://api.mixpanel.com/track"
    assert b"&verbose=1&ip=0" in req.body and req.body.startswith(b"data=%7B%22event%22")
    a = analyze(req)
    assert_decoded(a, "track")
    p = "body.data.properties"
    assert_finding(a, "user_id", EMAIL, f"{p}.distinct_id")
    assert_finding(a, "email", EMAIL, f"{p}.distinct_id", detector="pattern")
    assert_finding(a, "sdk_name", "python", f"{p}.mp_lib")
    assert_finding(a, "email", "ap@example.com", f"{p}.billing_email", detector="key_name")
    assert_finding(a, "custom_property", "INV-2024-0042", f"{p}.invoice_id")
    assert labels(a)["body.verbose"] == labels(a)["body.ip"] == ""


def test_python_buffered_people_set(analyze):
    mp, consumer, session = python_sdk(buffered=True)
    mp.people_set(USER_ID, {"$email": EMAIL, "$phone": PHONE, "$first_name": "Jane", "favourite": "tea"})
    mp.people_set_once(USER_ID, {"$created": "2026-01-01T00:00:00"})
    consumer.flush()
    (prepared,) = session.sent
    req = from_prepared(prepared)
    assert req.url == "https://api.mixpanel.com/engage"
    a = analyze(req)
    assert_decoded(a, "engage")
    assert_finding(a, "email", EMAIL, "body.data[0].$set.$email", detail="*.$email")
    assert_finding(a, "phone", PHONE, "body.data[0].$set.$phone", detail="*.$phone")
    assert_finding(a, "name", "Jane", "body.data[0].$set.$first_name")
    assert_finding(a, "custom_property", "tea", "body.data[0].$set.favourite")
    assert labels(a)["body.data[1].$set_once.$created"] == ""


def test_python_import_with_api_secret_basic_auth(analyze):
    """Legacy /import auth: Basic base64(api_secret:) and api_key in the form body."""
    mp, _, session = python_sdk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        mp.import_data("legacy-api-key-77", USER_ID, "Old Purchase", 1700000000, {"sku": "Z9"},
                       api_secret=API_SECRET)
    (prepared,) = session.sent
    req = from_prepared(prepared)
    assert req.url == "https://api.mixpanel.com/import"
    assert req.header("authorization") == basic(API_SECRET)
    a = analyze(req)
    assert_decoded(a, "track")  # /track and /import share one endpoint rule
    assert any(step.startswith("header.authorization: basic_auth") for step in a.decode_chain)
    assert_finding(a, "auth_token", API_SECRET, "header.authorization.user", detail="header.authorization.user")
    assert_finding(a, "project_key", "legacy-api-key-77", "body.api_key")
    assert_finding(a, "user_id", USER_ID, "body.data.properties.distinct_id")


# ==========================================================================================
# Node (npm mixpanel 0.24.0)


def test_node_get_base64_in_query(analyze):
    record = server_event("node", "Webhook Received", USER_ID, NOW_MS, source="stripe")
    req = node_get("track", record)
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["query.data: base64 → json"]
    assert_finding(a, "user_id", USER_ID, "query.data.properties.distinct_id")
    assert_finding(a, "sdk_name", "node", "query.data.properties.mp_lib")
    assert_finding(a, "custom_property", "stripe", "query.data.properties.source")


def test_node_post_batch_base64_with_plus_not_percent_encoded(analyze):
    """Form decoding turns '+' into ' '; the base64 step must turn it back."""
    batch = [server_event("node", "Bulk Import", EMAIL, NOW_MS, note=PLUS_SLASH, emoji="🎉 café")]
    req = node_post("track", batch)
    payload = req.body.removeprefix(b"data=")
    assert b"+" in payload and b"%" not in payload  # precondition: raw '+' on the wire
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: form", "body.data: base64 → json"]
    assert_finding(a, "custom_property", PLUS_SLASH, "body.data[0].properties.note")
    assert_finding(a, "custom_property", "🎉 café", "body.data[0].properties.emoji")
    assert_finding(a, "email", EMAIL, "body.data[0].properties.distinct_id", detector="pattern")


# ==========================================================================================
# Ruby, Java, PHP: base64 form bodies, each encoded its own way


@pytest.mark.parametrize("build,lib,time", [
    (ruby_request, "ruby", NOW_MS),
    (java_request, "jdk", NOW_MS),
    (php_request, "php", NOW_MS / 1000),
], ids=["ruby", "java", "php"])
def test_server_base64_form(analyze, build, lib, time):
    batch = [server_event(lib, "Report Exported", USER_ID, time, format="csv/xlsx", note=PLUS_SLASH,
                          **({"ip": "203.0.113.7"} if lib == "ruby" else {}))]
    req = build("track", batch)
    raw_plus = build is php_request  # PHP posts the base64 as is; Ruby and Java www-form-encode it
    assert (b"+" in req.body, b"%2B" in req.body) == (raw_plus, not raw_plus)
    a = analyze(req)
    assert_decoded(a, "track")
    assert a.decode_chain == ["body: form", "body.data: base64 → json"]
    p = "body.data[0].properties"
    assert_finding(a, "user_id", USER_ID, f"{p}.distinct_id")
    assert_finding(a, "sdk_name", lib, f"{p}.mp_lib")
    assert_finding(a, "custom_property", "csv/xlsx", f"{p}.format")  # php_json sent csv\\/xlsx
    assert_finding(a, "custom_property", PLUS_SLASH, f"{p}.note")
    if lib == "ruby":
        assert_finding(a, "public_ip", "203.0.113.7", f"{p}.ip")
        assert labels(a)["body.verbose"] == ""


# ==========================================================================================
# Go (mixpanel-go v2): raw JSON arrays, gzip on /import


def test_go_track_raw_json(analyze):
    record = server_event("go", "Job Finished", USER_ID, NOW_MS, **{"$insert_id": "a1b2c3", "duration_ms": 842})
    a = analyze(raw_json_request(f"{API}/track?verbose=1", [record]))
    assert_decoded(a, "track")
    assert_finding(a, "user_id", USER_ID, "body[0].properties.distinct_id")
    assert_finding(a, "custom_property", "842", "body[0].properties.duration_ms")


def test_go_import_gzip_service_account(analyze):
    """ingestion.go Import: ?strict=1&project_id=…&verbose=1, JSON body gzipped with
    Content-Encoding, Basic auth with the service account (http.go importAuthOptions)."""
    record = server_event("go", "Backfill", EMAIL, NOW_MS, **{"$insert_id": "ff00"})
    raw = gzip.compress(compact_json([record]).encode())
    req = request_via_mitmproxy("POST", f"{API}/import?strict=1&project_id=3141592&verbose=1", raw, {
        "Content-Type": "application/json", "Content-Encoding": "gzip",
        "Authorization": basic("svc-etl.1a2b3c.mp-service-account", "s3cr3tS3rv1ce")})
    a = analyze(req)
    assert_decoded(a, "track")
    assert_finding(a, "project_key", "3141592", "query.project_id")
    assert_finding(a, "auth_token", "svc-etl.1a2b3c.mp-service-account", "header.authorization.user")
    assert_finding(a, "auth_token", "s3cr3tS3rv1ce", "header.authorization.password")
    assert_finding(a, "email", EMAIL, "body[0].properties.distinct_id", detector="pattern")
    assert labels(a)["query.strict"] == ""


# ==========================================================================================
# /engage and /groups


def test_engage_operations_android(analyze):
    records = [
        android_people("$set", {**ANDROID_PEOPLE_DEVICE_INFO, "$email": EMAIL, "$phone": PHONE, "$name": "Jane Doe",
                                "$first_name": "Jane", "$last_name": "Doe", "shoe_size": 38}),
        android_people("$set_once", {"$ae_first_app_open_date": "2026-01-01T09:00:00", "signup_source": "ad"}),
        android_people("$union", {"interests": ["chess", "running"]}),
        android_people("$append", {"$transactions": {"$amount": 4.99, "$time": "2026-01-01T09:05:00"}}),
        android_people("$unset", ["old_flag"]),
        android_people("$delete", None),  # Android sends JSON null
    ]
    a = analyze(android_request("engage", records))
    assert_decoded(a, "engage")
    assert_finding(a, "email", EMAIL, "body.data[0].$set.$email", detail="*.$email")
    assert_finding(a, "phone", PHONE, "body.data[0].$set.$phone", detail="*.$phone")
    assert_finding(a, "name", "Jane Doe", "body.data[0].$set.$name", detail="*.$name")
    assert_finding(a, "name", "Jane", "body.data[0].$set.$first_name", detail="*.$first_name")
    assert_finding(a, "name", "Doe", "body.data[0].$set.$last_name", detail="*.$last_name")
    assert_finding(a, "device_model", "Pixel 8", "body.data[0].$set.$android_model")
    assert_finding(a, "custom_property", "38", "body.data[0].$set.shoe_size", detail="*.**")
    assert_finding(a, "first_launch", "2026-01-01T09:00:00", "body.data[1].$set_once.$ae_first_app_open_date")
    assert_finding(a, "custom_property", "ad", "body.data[1].$set_once.signup_source")
    assert_finding(a, "custom_property", "chess", "body.data[2].$union.interests[0]")
    assert_finding(a, "custom_property", "running", "body.data[2].$union.interests[1]")
    assert_finding(a, "revenue", "4.99", "body.data[3].$append.$transactions.$amount")
    assert_finding(a, "user_id", USER_ID, "body.data[0].$distinct_id")
    assert_finding(a, "installation_id", DEVICE_UUID, "body.data[0].$device_id")
    fields = labels(a)
    assert fields["body.data[4].$unset[0]"] == ""  # property names, not values
    assert_no_finding(a, "custom_property", "old_flag")


def test_engage_js_delete_and_unset(analyze):
    """mixpanel-js people.delete_user → {$delete: ''}; unset → {$unset: [names]}."""
    records = [{"$delete": "", "$token": TOKEN, "$distinct_id": EMAIL, "$device_id": JS_DEVICE_ID},
               {"$unset": ["$phone", "nickname"], "$token": TOKEN, "$distinct_id": EMAIL}]
    a = analyze(js_request("engage/", records))
    assert_decoded(a, "engage")
    assert_finding(a, "user_id", EMAIL, "body.data[0].$distinct_id")
    assert_finding(a, "email", EMAIL, "body.data[0].$distinct_id", detector="pattern")
    assert labels(a)["body.data[1].$unset[1]"] == ""
    assert {f.data_type for f in a.findings} == {"user_id", "email", "project_key", "installation_id"}


def test_groups_js_and_android(analyze):
    js_group = {"$token": TOKEN, "$group_key": "company", "$group_id": "Acme Inc",
                "$set": {"industry": "retail", "billing_contact": "cfo@acme.example"}}
    a = analyze(js_request("groups/", [js_group]))
    assert_decoded(a, "groups")
    assert_finding(a, "other_id", "Acme Inc", "body.data[0].$group_id")
    assert_finding(a, "custom_property", "retail", "body.data[0].$set.industry")
    assert_finding(a, "email", "cfo@acme.example", "body.data[0].$set.billing_contact", detector="pattern")

    b = analyze(android_request("groups", [android_group("$union", {"regions": ["emea", "apac"]})]))
    assert_decoded(b, "groups")
    assert_finding(b, "custom_property", "emea", "body.data[0].$union.regions[0]")
    assert_finding(b, "session_id", SESSION_ID, "body.data[0].$mp_metadata.$mp_session_id")
    assert labels(b)["body.data[0].$mp_metadata.$mp_session_seq_id"] == ""


# ==========================================================================================
# /flags, /decide, /record, /settings, library


def test_flags_get_context_and_basic_auth(analyze):
    """mixpanel-js:src/flags/index.js@4ca40f41 fetchFlags: URLSearchParams(context, token,
    mp_lib, $lib_version), Authorization Basic base64(token:), traceparent."""
    context = {"distinct_id": EMAIL, "device_id": JS_DEVICE_ID, "plan": "enterprise"}
    query = urlencode({"context": compact_json(context), "token": TOKEN, "mp_lib": "web", "$lib_version": "2.83.0"})
    req = make_request("GET", f"https://api-js.mixpanel.com/flags/?{query}", headers=[
        ("Authorization", basic(TOKEN)), ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
    a = analyze(req)
    assert_decoded(a, "flags")
    assert_finding(a, "user_id", EMAIL, "query.context.distinct_id")
    assert_finding(a, "email", EMAIL, "query.context.distinct_id", detector="pattern")
    assert_finding(a, "installation_id", JS_DEVICE_ID, "query.context.device_id")
    assert_finding(a, "custom_property", "enterprise", "query.context.plan")
    assert_finding(a, "project_key", TOKEN, "query.token")  # same token again in Basic auth: deduplicated
    assert labels(a)["header.authorization.user"] == "project_key"
    assert_finding(a, "sdk_version", "2.83.0", "query.$lib_version")


def test_flags_first_time_events_post(analyze):
    """recordFirstTimeEvent: POST /flags/{id}/first-time-events?mp_lib=web&$lib_version=…,
    JSON body {distinct_id, project_id, first_time_event_hash}."""
    body = compact_json({"distinct_id": USER_ID, "project_id": 3141592, "first_time_event_hash": "9f86d081"})
    req = make_request("POST", "https://api-js.mixpanel.com/flags/new-onboarding/first-time-events?"
                       + urlencode({"mp_lib": "web", "$lib_version": "2.83.0"}), body,
                       [JSON_CT, ("Authorization", basic(TOKEN))])
    a = analyze(req)
    assert_decoded(a, "flags")
    assert_finding(a, "user_id", USER_ID, "body.distinct_id")
    assert_finding(a, "project_key", "3141592", "body.project_id")
    assert labels(a)["path.flag_id"] == "" and labels(a)["body.first_time_event_hash"] == ""


def test_decide_legacy_get(analyze):
    """mixpanel-android < 7 DecideChecker: /decide?version=1&lib=android&token&distinct_id&properties."""
    properties = {"$android_lib_version": "6.5.2", "$android_app_version": "2.0", "$android_version": "11",
                  "$android_app_release": "20", "$android_device_model": "SM-G991B"}
    query = urlencode({"version": 1, "lib": "android", "token": TOKEN, "distinct_id": DEVICE_UUID,
                       "properties": compact_json(properties)})
    a = analyze(make_request("GET", f"{API}/decide?{query}"))
    assert_decoded(a, "decide")
    assert_finding(a, "user_id", DEVICE_UUID, "query.distinct_id")
    assert_finding(a, "device_model", "SM-G991B", "query.properties.$android_device_model")
    assert_finding(a, "os_version", "11", "query.properties.$android_version")
    assert_finding(a, "sdk_name", "android", "query.lib")


def rrweb_events() -> list[dict[str, Any]]:
    """A FullSnapshot (type 2) showing the signed-in user's email, and a click (type 3)."""
    return [
        {"type": 4, "data": {"href": "https://shop.example.net/account", "width": 1280, "height": 720},
         "timestamp": NOW_MS},
        {"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "p", "attributes": {}, "childNodes": [
                {"type": 3, "id": 3, "textContent": f"Signed in as {EMAIL}"}]}]},
            "initialOffset": {"top": 0, "left": 0}}, "timestamp": NOW_MS + 5},
        {"type": 3, "data": {"source": 2, "type": 2, "id": 2, "x": 120, "y": 48}, "timestamp": NOW_MS + 900},
    ]


@pytest.mark.parametrize("fmt", ["gzip", "body"])
def test_record_session_replay(analyze, fmt):
    """mixpanel-js:src/recorder/session-recording.js@4ca40f41 _flushEvents/_sendRequest:
    gzip via CompressionStream with format=gzip and NO Content-Encoding header, or the
    raw JSON with format=body; Content-Type application/octet-stream either way."""
    events_json = compact_json(rrweb_events())
    body = gzip.compress(events_json.encode()) if fmt == "gzip" else events_json.encode()
    query = urlencode({"$current_url": "https://shop.example.net/account", "$lib_version": "2.83.0",
                       "batch_start_time": NOW_MS / 1000, "mp_lib": "web", "replay_id": REPLAY_ID,
                       "replay_length_ms": 900, "replay_start_time": NOW_MS / 1000,
                       "replay_start_url": "https://shop.example.net/", "seq": 0, "distinct_id": USER_ID,
                       "$device_id": JS_DEVICE_ID, "format": fmt})
    req = make_request("POST", f"https://api-js.mixpanel.com/record/?{query}", body,
                       [("Authorization", basic(TOKEN)), ("Content-Type", "application/octet-stream")])
    a = analyze(req)
    assert_decoded(a, "record")
    assert f"body: {'gzip → json' if fmt == 'gzip' else 'json'}" in a.decode_chain
    assert_finding(a, "session_replay", REPLAY_ID, "query.replay_id")
    assert_finding(a, "user_id", USER_ID, "query.distinct_id")
    assert_finding(a, "installation_id", JS_DEVICE_ID, "query.$device_id")
    assert_finding(a, "page_url", "https://shop.example.net/account", "query.$current_url")
    assert_finding(a, "email", EMAIL, "body[1].data.node.childNodes[0].childNodes[0].textContent",
                   detector="pattern", detail="email address inside value")
    assert_finding(a, "project_key", TOKEN, "header.authorization.user")


def test_settings_get(analyze):
    """mixpanel-js _fetch_remote_settings: GET /settings/?$lib_version&mp_lib=web&sdk_config=1."""
    query = urlencode({"$lib_version": "2.83.0", "mp_lib": "web", "sdk_config": 1})
    a = analyze(make_request("GET", f"https://api-js.mixpanel.com/settings/?{query}",
                             headers=[("Authorization", basic(TOKEN))]))
    assert_decoded(a, "settings")
    assert_finding(a, "sdk_name", "web", "query.mp_lib")
    assert_finding(a, "project_key", TOKEN, "header.authorization.user")


def test_cdn_library(analyze):
    a = analyze(make_request("GET", "https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js"))
    assert (a.tracker, a.endpoint, a.status, a.findings) == ("mixpanel", "library", "decoded", [])


@pytest.mark.parametrize("host", ["https://api-eu.mixpanel.com", "https://api-in.mixpanel.com"])
def test_residency_hosts(analyze, host):
    a = analyze(android_request("track", [android_event("Opened", distinct_id=USER_ID)], host=host))
    assert_decoded(a, "track")
    assert_finding(a, "installation_id", DEVICE_UUID, "body.data[0].properties.$device_id")
    b = analyze(js_request("engage/", [{"$set": {"$email": EMAIL}, "$token": TOKEN, "$distinct_id": USER_ID}],
                           host=host))
    assert_decoded(b, "engage")
    assert_finding(b, "email", EMAIL, "body.data[0].$set.$email")


# ==========================================================================================
# Negative cases


def test_unknown_host_with_track_path_and_no_token_is_not_mixpanel(analyzer):
    """Same path and form shape as Mixpanel, but no `properties.token`: not recognised."""
    payload = [{"event": "click", "properties": {"distinct_id": USER_ID, "button": "buy"}}]
    req = js_request("track/", payload, host="https://metrics.example.org")
    a = analyzer.analyze(req)
    assert a is not None and (a.tracker, a.match_via) == ("example.org", "generic")  # a third party, no rule


def test_mixpanel_host_unknown_path_is_not_decoded(analyze):
    a = analyze(make_request("POST", f"{API}/batch-v9/?ip=1", "data=e30%3D", [FORM]))
    assert (a.tracker, a.status, a.endpoint) == ("mixpanel", "not_decoded", "(no endpoint rule)")
    assert a.error == "no endpoint rule: Mixpanel host, but no endpoint matches POST /batch-v9/"


@pytest.mark.parametrize("data,why", [
    ("eyJldmVudCI6Ik!!!", "not base64"),  # a character outside the alphabet
    # 20 base64 characters cut to 17: no base64 string has length 4n+1.
    (encode_uri_component(b64(compact_json([{"event": "x"}]))[:-3]), "invalid base64"),
    # cut to 14: still decodes (padding is optional), to the first 10 bytes of the JSON.
    (encode_uri_component(b64(compact_json([{"event": "x"}]))[:-6]), "invalid JSON: Expecting value at character 10"),
    (encode_uri_component(base64.b64encode(b"\xff\xfe not json").decode()), "not UTF-8 text"),
], ids=["bad-alphabet", "truncated-4n+1", "truncated-json", "not-utf8-inside"])
def test_corrupt_base64_data_is_not_decoded(analyze, data, why):
    a = analyze(make_request("POST", f"{API}/track/?ip=1", f"data={data}", [FORM]))
    assert (a.endpoint, a.status) == ("track", "not_decoded")
    assert a.error.startswith("body.data: no alternative decoded: [json] not JSON; [base64 → json] "), a.error
    assert why in a.error, a.error
