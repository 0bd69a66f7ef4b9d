"""Golden tests: Heap server-side API, legacy beacon and the Heap Core protobuf uploads.

Heap Core payloads are built here with a tiny protobuf encoder the way SwiftProtobuf
serialises them: fields in field-number order (the generated `traverse`), proto3 defaults left
out, `map<string, Value>` as repeated {1: key, 2: Value{1: string}} entries, Timestamp as
{1: seconds, 2: nanos}, google.protobuf.Empty as a zero-length field. Field numbers are those
of heap/heap-swift-core-sdk@c4a7608fff Development/Sources/Protobufs/{track,common,identify,
user_properties}.proto and the `_protobuf_nameMap`s in the generated *.pb.swift; request shape
from Implementations/Uploader/UploadOperation.swift (Swift) and the heap-android-core 0.4.0
AAR's MessageUploader (Android: gzip, `?i=&b=android_core&a=&u=`).
"""

from __future__ import annotations

import gzip

from leakmap.model import Analysis
from golden_support import (JSON_CT, assert_finding_at as assert_finding, compact_json, decoded_for, make_request,
                            labels, pb_fields as pb, request_via_mitmproxy, summary, analyze_fixture, analyzer_fixture)

TRACKER = "heap"
assert_decoded = decoded_for(TRACKER)
analyzer = analyzer_fixture(TRACKER)
analyze = analyze_fixture()


ENV_ID = "3141592653"
EMAIL = "harper.heap@example.com"


def test_server_track(analyze):
    body = {"app_id": ENV_ID, "identity": EMAIL, "event": "Invoice Paid", "timestamp": "2026-01-01T00:00:00Z",
            "properties": {"amount": 120, "plan": "pro"}}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/track", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "project_key", ENV_ID, "body.app_id")
    assert_finding(a, "user_id", EMAIL, "body.identity")
    assert_finding(a, "email", EMAIL, "body.identity", detector="pattern")
    assert_finding(a, "event_name", "Invoice Paid", "body.event")
    assert_finding(a, "custom_property", "pro", "body.properties.plan")


def test_server_add_user_properties(analyze):
    body = {"app_id": ENV_ID, "identity": "u-1", "properties": {"email": EMAIL, "first_name": "Harper"}}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/add_user_properties", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "email", EMAIL, "body.properties.email")
    assert_finding(a, "name", "Harper", "body.properties.first_name")


def test_bulk_track(analyze):
    body = {"app_id": ENV_ID, "events": [{"identity": "u-2", "event": "Signup", "timestamp": "2026-01-01T00:00:00Z"}]}
    a = analyze(make_request("POST", "https://heapanalytics.com/api/track", compact_json(body), [JSON_CT]))
    assert_decoded(a, "server_api")
    assert_finding(a, "event_name", "Signup", "body.events[0].event")


def test_legacy_beacon(analyze):
    a = analyze(make_request("GET", f"https://heapanalytics.com/h?a={ENV_ID}&u=1234&v=5678&t=pageview"))
    assert_decoded(a, "web_beacon")
    assert_finding(a, "project_key", ENV_ID, "query.a")


def test_lookalike_host_is_not_heap(analyzer):
    a = analyzer.analyze(make_request("POST", "https://heapanalytics.com.example.org/api/track", "{}", [JSON_CT]))
    assert a is None or a.tracker != TRACKER


# ------------------------------------------------------------------------------------------
# Protocol Buffers wire format, as SwiftProtobuf / protobuf-javalite write it: pb((number,
# value), ...) is golden_support's pb_fields


def props(number: int, mapping: dict[str, str]) -> list[tuple[int, bytes]]:
    """`map<string, Value> <number>`: one entry {1: key, 2: Value{1: string}} per item."""
    return [(number, pb((1, k), (2, pb((1, v))))) for k, v in mapping.items()]


def stamp(seconds: int, nanos: int = 0) -> bytes:
    return pb((1, seconds), (2, nanos)) if nanos else pb((1, seconds))


def core_request(route: str, body: bytes, query: str, android: bool = False):
    url = f"https://c.us.heap-api.com/api/capture/v2/{route}?{query}"
    headers = {"Content-Type": "application/octet-stream", "X-Heap-Env-Id": ENV_ID}
    if android:  # MessageUploader: GZIPOutputStream with Content-Encoding: gzip
        return request_via_mitmproxy("POST", url, gzip.compress(body), headers | {"Content-Encoding": "gzip"})
    return make_request("POST", url, body, list(headers.items()))


def findings(a: Analysis) -> set[tuple[str, str, str, str]]:
    return {(f.data_type, f.value, f.path, f.detector) for f in a.findings}


# ------------------------------------------------------------------------------------------
# Honey values (distinct, so each finding names one field)

USER_ID = "4503599627370495"          # generateRandomHeapId: a random UInt64 ≤ 2^53 as text
SESSION_ID = "2251799813685247"
PAGEVIEW_ID = "1125899906842623"
IDFV = "5A0C8A5E-0F6B-4C43-9A39-2C3F7E1B9D11"
IDFA = "8E1F3B7D-6C2A-4F59-B1D4-3A7E9C0F2B65"
LIB = pb((1, "swift_core"), (2, "0.7.2"), (3, "iOS 17.2"))                    # LibraryInfo.baseInfo
APP = pb((1, "Acme Notes"), (2, "com.acme.notes"), (3, "4.2.0"))              # ApplicationInfo.current
DEVICE = pb((1, "iPhone15,3"), (2, "iOS 17.2"), (4, 1), (5, "Acme Mobile"), (6, IDFV), (7, IDFA))
SESSION = pb((1, SESSION_ID), (2, stamp(1767225600, 125_000_000)))
PAGEVIEW = pb((1, PAGEVIEW_ID), (2, stamp(1767225601)), (3, "NoteEditorViewController"), (4, "Shopping list"),
              (5, pb((1, "notes.acme.example"), (2, "/n/42"), (3, "from=widget"), (4, "top"))),
              *props(8, {"pv_section": "groceries"}))
LONG_URL = "https://notes.acme.example/share/42?ref=mail&utm_source=digest"  # Value{1: 63 printable bytes}


def message(mid: str, time: bytes, *tail: tuple[int, int | str | bytes], identity: str = "",
            pageview: bytes = b"", source: bytes = b"", properties: dict[str, str] | None = None) -> bytes:
    """Message.init(baseMessageIn:) then the kind-specific fields, in field-number order."""
    fields = [(1, mid), (2, ENV_ID), (3, USER_ID), (4, time), (5, LIB)]
    fields += [(6, source)] if source else []
    fields += [(7, APP), (8, DEVICE), (9, SESSION)]
    fields += [(10, pageview)] if pageview else []
    fields += props(11, properties or {})
    fields += list(tail) + ([(19, identity)] if identity else [])
    return pb(*sorted(fields, key=lambda f: f[0]))


def ios_batch() -> bytes:
    session = message(SESSION_ID, stamp(1767225600, 125_000_000), (12, b""))
    pageview = message(PAGEVIEW_ID, stamp(1767225601), (13, b""), pageview=PAGEVIEW,
                       source=pb((1, "heap_ios_autocapture"), (2, "0.7.0"), (3, "UIKit")))  # illustrative name
    event = pb((1, pb((1, "Note Shared"), *props(2, {"share_url": LONG_URL, "count": "3"}))), (20, 2))
    custom = message("7000000000000001", stamp(1767225602), (14, event), pageview=PAGEVIEW, identity=EMAIL,
                     properties={"plan": "family"})
    node = pb((1, "UIButton"), (4, "Share with Sam"), (6, "Share note"), (7, "shareButton"))
    interaction = pb((1, "didTapShare:"), (3, 2), (4, "UIButton;UIStackView;"), (5, node))
    touch = message("7000000000000002", stamp(1767225603), (14, pb((2, interaction))),
                    (18, pb((1, "NoteEditorView"), (3, "editor"))), pageview=PAGEVIEW)
    opened = pb((1, 1), (2, "Sam replied"), (3, "Milk, eggs and the door code 4711"), (4, "REPLY"), (5, "comments"))
    notification = message("7000000000000003", stamp(1767225604), (14, pb((5, opened))))
    previous = pb((1, "Acme Notes"), (2, "com.acme.notes"), (3, "4.1.9"))
    contentsquare = pb((1, "cs-42"), (2, "7"), (3, "12"), (4, "1767225605"), (5, "cs-user-77"))
    upgrade = message("7000000000000004", stamp(1767225605), (14, pb((3, pb((1, previous), (2, APP))), (20, 2))),
                      (17, "cs:replay/91;lr:xyz"), (20, contentsquare))
    return pb(*[(1, m) for m in (session, pageview, custom, touch, notification, upgrade)])


def test_core_track_ios_batch_every_field(analyze):
    query = f"b=swift_core&i=harper.heap%40example.com&u={USER_ID}&a={ENV_ID}"
    a = analyze(core_request("track", ios_batch(), query))
    assert_decoded(a, "core_track")
    m = "body.1"
    expected = {
        ("project_key", ENV_ID, "query.a", "rule"),
        ("user_id", USER_ID, "query.u", "rule"),
        ("user_id", EMAIL, "query.i", "rule"),
        ("email", EMAIL, "query.i", "pattern"),
        ("sdk_name", "swift_core", "query.b", "rule"),
        # Message 0: session start (base fields; later messages repeat them)
        ("session_id", SESSION_ID, f"{m}[0].9.1", "rule"),
        ("sdk_version", "0.7.2", f"{m}[0].5.2", "rule"),
        ("os_version", "iOS 17.2", f"{m}[0].5.3", "rule"),
        ("app_name", "Acme Notes", f"{m}[0].7.1", "rule"),
        ("app_id", "com.acme.notes", f"{m}[0].7.2", "rule"),
        ("app_version", "4.2.0", f"{m}[0].7.3", "rule"),
        ("device_model", "iPhone15,3", f"{m}[0].8.1", "rule"),
        ("carrier", "Acme Mobile", f"{m}[0].8.5", "rule"),
        ("vendor_id", IDFV, f"{m}[0].8.6", "rule"),
        ("advertising_id", IDFA, f"{m}[0].8.7", "rule"),
        # Message 1: pageview from the autocapture source library
        ("sdk_name", "heap_ios_autocapture", f"{m}[1].6.1", "rule"),
        ("sdk_version", "0.7.0", f"{m}[1].6.2", "rule"),
        ("screen_name", "NoteEditorViewController", f"{m}[1].10.3", "rule"),
        ("screen_name", "Shopping list", f"{m}[1].10.4", "rule"),
        ("page_url", "notes.acme.example", f"{m}[1].10.5.1", "rule"),
        ("page_url", "/n/42", f"{m}[1].10.5.2", "rule"),
        ("page_url", "from=widget", f"{m}[1].10.5.3", "rule"),
        ("page_url", "top", f"{m}[1].10.5.4", "rule"),
        ("custom_property", "groceries", f"{m}[1].10.8.2.1", "rule"),
        # Message 2: track("Note Shared", ...) after identify(EMAIL), with addEventProperties
        ("custom_property", "family", f"{m}[2].11.2.1", "rule"),
        ("event_name", "Note Shared", f"{m}[2].14.1.1", "rule"),
        ("custom_property", LONG_URL, f"{m}[2].14.1.2[0].2.1", "rule"),
        ("custom_property", "3", f"{m}[2].14.1.2[1].2.1", "rule"),
        # Message 3: autocaptured touch, its element and the visible context
        ("interaction", "didTapShare:", f"{m}[3].14.2.1", "rule"),
        ("interaction", "2", f"{m}[3].14.2.3", "rule"),
        ("interaction", "UIButton;UIStackView;", f"{m}[3].14.2.4", "rule"),
        ("interaction", "UIButton", f"{m}[3].14.2.5.1", "rule"),
        ("interaction", "Share with Sam", f"{m}[3].14.2.5.4", "rule"),
        ("interaction", "Share note", f"{m}[3].14.2.5.6", "rule"),
        ("interaction", "shareButton", f"{m}[3].14.2.5.7", "rule"),
        ("interaction", "NoteEditorView", f"{m}[3].18.1", "rule"),
        ("interaction", "editor", f"{m}[3].18.3", "rule"),
        # Message 4: push notification opened: its text
        ("message_content", "Sam replied", f"{m}[4].14.5.2", "rule"),
        ("message_content", "Milk, eggs and the door code 4711", f"{m}[4].14.5.3", "rule"),
        ("interaction", "REPLY", f"{m}[4].14.5.4", "rule"),
        # Message 5: app version change, session replay links, Contentsquare ids
        ("app_version", "4.1.9", f"{m}[5].14.3.1.3", "rule"),
        ("other_id", "cs:replay/91;lr:xyz", f"{m}[5].17", "rule"),
        ("project_key", "cs-42", f"{m}[5].20.1", "rule"),
        ("session_count", "12", f"{m}[5].20.3", "rule"),
        ("user_id", "cs-user-77", f"{m}[5].20.5", "rule"),
    }
    assert findings(a) == expected, summary(a)
    # Non-personal fields are still listed, labelled as uploaded.
    fields = {path: value for path, value, _ in a.fields}
    assert fields[f"{m}[0].1"] == SESSION_ID and fields[f"{m}[2].14.1.2[0].1"] == "share_url"
    assert fields[f"{m}[0].4.2"] == "125000000" and fields[f"{m}[4].14.5.5"] == "comments"


# ------------------------------------------------------------------------------------------
# Every field of the schema: (number, kind, expected label) with kind "s" string, "e" enum,
# "m" map<string, Value>, or a nested spec. Each string gets its own value; the test then
# checks the label of every leaf path, so dropping any mapping from the rule fails it.

TIME = [(1, "e", ""), (2, "e", "")]
LIBRARY = [(1, "s", "sdk_name"), (2, "s", "sdk_version"), (3, "s", "os_version"), (4, "m", "")]
SOURCE_LIBRARY = [(1, "s", "sdk_name"), (2, "s", "sdk_version"), (3, "s", ""), (4, "m", "")]
APPLICATION = [(1, "s", "app_name"), (2, "s", "app_id"), (3, "s", "app_version")]
DEVICE_INFO = [(1, "s", "device_model"), (2, "s", "os_version"), (3, "s", "user_agent"), (4, "e", ""), (5, "s", "carrier"),
               (6, "s", "vendor_id"), (7, "s", "advertising_id"),
               (13, [(1, "s", "os_version"), (2, "s", "browser_version"), (3, "s", "device_model")], "")]
UTM = [(n, "s", "referrer") for n in range(1, 6)]
PAGEVIEW_INFO = [(1, "s", ""), (2, TIME, ""), (3, "s", "screen_name"), (4, "s", "screen_name"),
                 (5, [(n, "s", "page_url") for n in range(1, 5)], ""), (6, "m", "custom_property"), (7, "s", "referrer"),
                 (8, "m", "custom_property")]
SESSION_INFO = [(1, "s", "session_id"), (2, TIME, ""), (3, "s", "referrer"), (4, "s", "search_term"), (5, UTM, ""),
                (6, PAGEVIEW_INFO, "")]
NODE = [(1, "s", "interaction"), (2, "s", "interaction"), (3, "s", "interaction"), (4, "s", "interaction"),
        (5, "s", "page_url"), (6, "s", "interaction"), (7, "s", "interaction"), (8, "m", "custom_property")]
EVENT_KINDS = [
    (1, [(1, "s", "event_name"), (2, "m", "custom_property"), (3, "m", "custom_property")], ""),
    (2, [(1, "s", "interaction"), (2, "s", "interaction"), (4, "s", "interaction"), (5, NODE, ""), (6, "m", "custom_property")], ""),
    (3, [(1, APPLICATION, ""), (2, APPLICATION, "")], ""),
    (4, [(1, NODE, ""), (2, NODE, "")], ""),
    (5, [(1, "e", ""), (2, "s", "message_content"), (3, "s", "message_content"), (4, "s", "interaction"), (5, "s", ""),
         (6, "s", "screen_name")], ""),
]
USER = [(1, "s", "user_id"), (2, "s", "user_id"), (3, "s", "referrer"), (4, "s", "search_term"), (5, UTM, ""),
        (6, PAGEVIEW_INFO, ""), (7, "m", "custom_property")]
MESSAGE_HEAD = [(1, "s", ""), (2, "s", "project_key"), (3, "s", "user_id"), (4, TIME, ""), (5, LIBRARY, ""),
                (6, SOURCE_LIBRARY, ""), (7, APPLICATION, ""), (8, DEVICE_INFO, ""), (9, SESSION_INFO, ""),
                (10, PAGEVIEW_INFO, ""), (11, "m", "custom_property")]
MESSAGE_TAIL = [(16, [(1, "e", ""), (2, TIME, ""), (3, "m", "other_id")], ""), (17, "s", "other_id"), (18, NODE, ""),
                (19, "s", "user_id"),
                (20, [(1, "s", "project_key"), (2, "s", ""), (3, "s", "session_count"), (4, "s", ""), (5, "s", "user_id")], "")]
MESSAGES = [MESSAGE_HEAD + [(12, [], "")] + MESSAGE_TAIL, MESSAGE_HEAD + [(13, [], "")] + MESSAGE_TAIL,
            *(MESSAGE_HEAD + [(14, [kind, (20, "e", "")], "")] + MESSAGE_TAIL for kind in EVENT_KINDS),
            MESSAGE_HEAD + [(15, USER, "")] + MESSAGE_TAIL]
IDENTIFICATION = [(1, "s", "project_key"), (2, "s", "user_id"), (3, "s", "user_id"), (4, TIME, ""), (5, LIBRARY, "")]
USER_PROPERTIES = [(1, "s", "project_key"), (2, "s", "user_id"), (3, "m", "custom_property"), (4, DEVICE_INFO, ""),
                   (5, APPLICATION, ""), (6, LIBRARY, ""), (7, SESSION_INFO, "")]


def build(spec: list, prefix: str, labels: dict[str, str], counter: list[int]) -> bytes:
    """Encode *spec* with a fresh value per leaf; record each leaf's expected label."""
    fields: list[tuple[int, int | str | bytes]] = []
    for number, kind, label in spec:
        path = f"{prefix}.{number}" if prefix else str(number)
        counter[0] += 1
        if kind == "s":
            fields.append((number, f"value-{counter[0]:03d}"))
            labels[path] = label
        elif kind == "e":
            fields.append((number, counter[0]))
            labels[path] = label
        elif kind == "m":
            fields += props(number, {f"key-{counter[0]:03d}": f"value-{counter[0]:03d}"})
            labels[f"{path}.1"], labels[f"{path}.2.1"] = "", label
        else:
            fields.append((number, build(kind, path, labels, counter)))
            if not kind:  # google.protobuf.Empty: a zero-length field, read as ""
                labels[path] = ""
    return pb(*fields)


def test_core_every_schema_field_has_its_data_type(analyze):
    expected: dict[str, str] = {}
    counter = [0]
    batch = pb(*[(1, build(spec, f"body.1[{i}]", expected, counter)) for i, spec in enumerate(MESSAGES)])
    identification = build(IDENTIFICATION, "body", (expected_identify := {}), counter)
    user_properties = build(USER_PROPERTIES, "body", (expected_properties := {}), counter)
    for route, body, want, endpoint in (("track", batch, expected, "core_track"),
                                        ("identify", identification, expected_identify, "core_identify"),
                                        ("add_user_properties", user_properties, expected_properties, "core_user_properties")):
        a = analyze(core_request(route, body, f"a={ENV_ID}"))
        assert_decoded(a, endpoint)
        got = {path: label for path, label in labels(a).items() if path.startswith("body")}
        assert got == want, {p: (got.get(p), want.get(p)) for p in set(got) | set(want) if got.get(p) != want.get(p)}


def test_core_initial_user_android_gzip(analyze):
    """Android core 0.4.0 (ContextInfoBuilder): the initial user payload, gzip'd."""
    device = pb((1, "Pixel 8"), (2, "Android 14"), (4, 1), (5, "T-Mobile"), (7, "38400000-8cf0-11bd-b23e-10b96e40000d"))
    app = pb((1, "Acme Notes"), (2, "com.acme.notes.android"), (3, "4.2.0"))
    body = pb((1, ENV_ID), (2, USER_ID), (4, device), (5, app), (6, pb((1, "android_core"), (2, "0.4.0"), (3, "Android 14"))))
    a = analyze(core_request("add_user_properties", body, f"b=android_core&a={ENV_ID}&u={USER_ID}", android=True))
    assert_decoded(a, "core_user_properties")
    assert findings(a) == {
        ("project_key", ENV_ID, "query.a", "rule"),
        ("user_id", USER_ID, "query.u", "rule"),
        ("sdk_name", "android_core", "query.b", "rule"),
        ("device_model", "Pixel 8", "body.4.1", "rule"),
        ("os_version", "Android 14", "body.4.2", "rule"),
        ("carrier", "T-Mobile", "body.4.5", "rule"),
        ("advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "body.4.7", "rule"),
        ("app_name", "Acme Notes", "body.5.1", "rule"),
        ("app_id", "com.acme.notes.android", "body.5.2", "rule"),
        ("app_version", "4.2.0", "body.5.3", "rule"),
        ("sdk_version", "0.4.0", "body.6.2", "rule"),
    }, summary(a)


def test_core_add_user_properties(analyze):
    """UserProperties(withUserPropertiesFor:): env, user, the pending properties, library."""
    body = pb((1, ENV_ID), (2, USER_ID), *props(3, {"email": "sam@example.org", "plan": "family"}), (6, LIB))
    a = analyze(core_request("add_user_properties", body, f"b=swift_core&u={USER_ID}&a={ENV_ID}"))
    assert_decoded(a, "core_user_properties")
    assert {f[:3] for f in findings(a) if f[2].startswith("body.3")} == {
        ("custom_property", "sam@example.org", "body.3[0].2.1"), ("email", "sam@example.org", "body.3[0].2.1"),
        ("custom_property", "family", "body.3[1].2.1")}, summary(a)
    assert {p: v for p, v, _ in a.fields}["body.3[0].1"] == "email"  # the property's name, uploaded


def test_core_identify(analyze):
    body = pb((1, ENV_ID), (2, USER_ID), (3, EMAIL), (4, stamp(1767225600)), (5, LIB))
    a = analyze(core_request("identify", body, f"b=swift_core&i=harper.heap%40example.com&u={USER_ID}&a={ENV_ID}"))
    assert_decoded(a, "core_identify")
    assert findings(a) == {  # one finding per (data type, value): the query names them first
        ("sdk_name", "swift_core", "query.b", "rule"), ("user_id", EMAIL, "query.i", "rule"),
        ("email", EMAIL, "query.i", "pattern"), ("user_id", USER_ID, "query.u", "rule"),
        ("project_key", ENV_ID, "query.a", "rule"),
        ("sdk_version", "0.7.2", "body.5.2", "rule"), ("os_version", "iOS 17.2", "body.5.3", "rule")}, summary(a)
    body_labels = {path: label for path, label in labels(a).items() if path.startswith("body")}
    assert body_labels == {"body.1": "project_key", "body.2": "user_id", "body.3": "user_id", "body.4.1": "",
                           "body.5.1": "sdk_name", "body.5.2": "sdk_version", "body.5.3": "os_version"}


def test_core_upload_through_a_custom_base_url_is_recognised_by_shape(analyze, analyzer):
    """`baseUrl` / `baseUri` is an SDK option: a first-party proxy host carries the same batch."""
    a = analyze(make_request("POST", "https://metrics.acme.example/heap/api/capture/v2/track", ios_batch(),
                             [("Content-Type", "application/octet-stream"), ("X-Heap-Env-Id", ENV_ID)]))
    assert_decoded(a, "core_track", via="payload_shape")
    assert labels(a)["header.x-heap-env-id"] == "project_key"
    assert_finding(a, "advertising_id", IDFA, "body.1[0].8.7")
    other = analyzer.analyze(make_request("POST", "https://metrics.acme.example/api/capture/v2/track", pb((1, "x"), (2, "y"))))
    assert other is None or other.tracker != TRACKER


def test_core_cdn_config_is_matched(analyze):
    a = analyze(make_request("GET", f"https://cdn.us.heap-api.com/config/{ENV_ID}/heap_config.js"))
    assert (a.tracker, a.endpoint, a.status) == (TRACKER, "core_other", "decoded")
