"""Unit tests, one block per pipeline stage, on small inputs built by hand."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from leakmap import applovin_xor, compression, decode, paths
from leakmap.attribute import Attributor
from leakmap.extract import Indicator, extract
from leakmap.value_types import classify_key
from leakmap.match import HostIndex, registrable_domain
from leakmap.model import Analysis, Request
from leakmap.pipeline import Analyzer
from leakmap.rules import RuleError, load_file, load_rules
from leakmap.store import EXPORT_COLUMNS, Store

LIMITS = decode.Limits()


def request(url: str, body: bytes = b"", method: str = "POST", headers=(), client: str = "10.0.0.2",
            timestamp: float = 1000.0, **kw) -> Request:
    return Request("f1", "test", timestamp, method, url, list(headers), body, client=client, **kw)


# --- paths -----------------------------------------------------------------------------------

def test_paths_parse_dollar_keys_arrays_and_quoted_keys():
    assert paths.parse("batch[*].properties.$os") == ["batch", "[*]", "properties", "$os"]
    assert paths.parse('properties["Experiment name"]') == ["properties", "Experiment name"]
    assert paths.render(paths.parse('a["x.y"][*].b')) == 'a["x.y"][*].b'
    with pytest.raises(paths.PathError):
        paths.parse("a..]")


def test_concrete_paths_and_shapes():
    doc = {"data": [{"properties": {"$os": "Android", "a b": 1}}, {"properties": {"$os": "iOS"}}]}
    leaves = dict(paths.leaves(doc))
    assert leaves == {"data[0].properties.$os": "Android", 'data[0].properties["a b"]': 1,
                      "data[1].properties.$os": "iOS"}
    assert paths.shape("data[1].properties.$os") == "data[*].properties.$os"


def test_leaves_stop_at_the_depth_limit():
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["k"] = {}
        node = node["k"]
    (path, value), = list(paths.leaves(deep, max_depth=5))
    assert path == "k.k.k.k.k" and isinstance(value, dict)


def test_wildcards_need_separators():
    regex = paths.wildcard_regex(paths.parse("*.$email"))
    assert regex.match("$set.$email") and not regex.match("x$email") and not regex.match("a.b.$email")


# --- compression and decode steps ----------------------------------------------------------------

@pytest.mark.parametrize("encoding,encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
])
def test_content_encodings_decode_within_limits(encoding, encode):
    data = b'{"x": 1}' * 100
    assert compression.decode_content(encode(data), encoding, 10_000) == data
    with pytest.raises(compression.DecompressionError, match="beyond the 100-byte limit"):
        compression.decode_content(encode(data), encoding, 100)


def test_truncated_gzip_is_an_error_that_says_so():
    with pytest.raises(compression.DecompressionError, match="truncated"):
        compression.gunzip(gzip.compress(b"x" * 1000)[:-10], 10_000)


@pytest.mark.parametrize("text", [
    base64.b64encode(b'[{"a":"\xfb\xff"}]').decode(),                     # standard, padded, with + and /
    base64.urlsafe_b64encode(b'[{"a":"\xfb\xff"}]').decode().rstrip("="),  # URL-safe, unpadded
    base64.b64encode(b'[{"a":"\xfb\xff"}]').decode().replace("+", " "),   # '+' turned into ' ' by form decoding
])
def test_base64_variants(text):
    assert decode.step_base64(text, LIMITS) == b'[{"a":"\xfb\xff"}]'


def test_form_keeps_repeated_keys_and_rejects_binary():
    assert decode.step_form("a=1&a=2&b=", LIMITS) == {"a": ["1", "2"], "b": ""}
    with pytest.raises(decode.DecodeError, match="not form data|not UTF-8"):
        decode.step_form(b"\x1f\x8b\x08binary", LIMITS)


def test_separated_forms_and_text_pairs():
    """`;k=v` matrix parameters (Floodlight, Quantcast) and `k:v:k:v` text lists (Yandex's
    browser-info, a trailing separator allowed); bad parameters are refused at rule load."""
    matrix = decode.compile_steps([{"form": {"sep": ";"}}])
    assert matrix.run(";src=12;cat=a%3Bb;u1=", LIMITS) == ({"src": "12", "cat": "a;b", "u1": ""}, "form")
    text_pairs = decode.compile_steps([{"pairs": {"head": [], "sep": ":"}}])
    assert text_pairs.run("pv:1:s:2560x1440x24:", LIMITS) == ({"pv": "1", "s": "2560x1440x24"}, "pairs")
    with pytest.raises(decode.DecodeError, match="not 0 leading items"):
        text_pairs.run("pv:1:s", LIMITS)
    for bad in ({"form": {"sep": "=="}}, {"form": {}}, {"pairs": {"head": [], "sep": 1}}):
        with pytest.raises(ValueError):
            decode.compile_steps([bad])


def test_any_reports_every_alternative_when_all_fail():
    chain = decode.compile_steps([{"any": [["json"], ["base64", "json"]]}])
    assert chain.run('{"a":1}', LIMITS) == ({"a": 1}, "json")
    assert chain.run(base64.b64encode(b'{"a":1}').decode(), LIMITS) == ({"a": 1}, "base64 → json")
    with pytest.raises(decode.DecodeError, match=r"\[json\] not JSON; \[base64 → json\] not base64"):
        chain.run("%%%", LIMITS)


def test_basic_auth_and_ndjson():
    assert decode.step_basic_auth("Basic " + base64.b64encode(b"tok:").decode(), LIMITS) == {"user": "tok", "password": ""}
    with pytest.raises(decode.DecodeError):
        decode.step_basic_auth("Bearer abc", LIMITS)
    assert decode.step_ndjson('{"a":1}\n\n{"b":2}\n', LIMITS) == [{"a": 1}, {"b": 2}]
    with pytest.raises(decode.DecodeError, match="line 2"):
        decode.step_ndjson('{"a":1}\n{oops', LIMITS)


def test_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown decode step 'rot13'"):
        decode.compile_steps(["rot13"])


# --- rules ---------------------------------------------------------------------------------------

RULE = """id: acme
name: Acme Analytics
company: Acme Inc.
category: analytics
endpoints:
  - id: collect
    hosts: [collect.acme.example, "*.acme-cdn.example"]
    methods: [POST]
    path: ^/v1/(?P<kind>collect|batch)$
    decode:
      - at: body
        steps: [json]
    records: [body.events, body]
    fields:
      record.uid: user_id
      record.props.*: custom_property
    source: acme-sdk:src/send.js
"""


def write_rule(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("change,line,message", [
    ("    path: ^/v1/(?P<kind>collect|batch)$", 9, "invalid path regex"),
    ("        steps: [json]", 12, "unknown decode step 'jsonn'"),
    ("      record.uid: user_id", 15, "unknown data type 'userid'"),
    ("    methods: [POST]", 8, "'YEET' is not one of"),
])
def test_rule_errors_name_file_and_line(tmp_path, change, line, message):
    broken = {
        "    path: ^/v1/(?P<kind>collect|batch)$": "    path: ^/v1/(unclosed",
        "        steps: [json]": "        steps: [jsonn]",
        "      record.uid: user_id": "      record.uid: userid",
        "    methods: [POST]": "    methods: [YEET]",
    }[change]
    path = write_rule(tmp_path, RULE.replace(change, broken))
    with pytest.raises(RuleError) as error:
        load_file(path)
    assert error.value.line == line, str(error.value)
    assert message in error.value.message
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_missing_required_key_is_reported(tmp_path):
    with pytest.raises(RuleError, match="'company' is a required property"):
        load_file(write_rule(tmp_path, RULE.replace("company: Acme Inc.\n", "")))


def test_user_rule_overrides_bundled_rule_with_same_id(tmp_path):
    override = (Path(__file__).parent.parent / "tracker_rules" / "mixpanel.yaml").read_text()
    override = override.replace("name: Mixpanel\n", "name: Mixpanel (my fork)\n", 1)
    write_rule(tmp_path, override, "mixpanel.yaml")
    rules, problems = load_rules([tmp_path])
    assert problems == []
    assert [r.name for r in rules if r.id == "mixpanel"] == ["Mixpanel (my fork)"]


# --- match ---------------------------------------------------------------------------------------

@pytest.fixture
def acme(tmp_path):
    return load_file(write_rule(tmp_path, RULE))


def test_host_index_exact_wildcard_and_lookalikes(acme):
    index = HostIndex([acme])
    assert index.match(request("https://collect.acme.example/v1/batch")).endpoint.id == "collect"
    assert index.match(request("https://eu.x.acme-cdn.example/v1/collect")).endpoint.id == "collect"
    for host in ("acme.example", "collect.acme.example.evil.net", "notacme-cdn.example", "acme-cdn.example.org"):
        assert index.match(request(f"https://{host}/v1/collect")) is None, host
    unknown_path = index.match(request("https://collect.acme.example/favicon.ico", method="GET"))
    assert unknown_path.endpoint is None and unknown_path.rule.id == "acme"


def test_registrable_domain_uses_the_offline_suffix_list():
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("api-js.mixpanel.com") == "mixpanel.com"


# --- extract -------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,expected", [
    ("user_email", "a@b.io", "email"),
    ("emailAddress", "a@b.io", "email"),
    ("email_verified", "true", ""),
    ("email", "5d41402abc4b2a76b9719d911017c592", "hashed_email"),
    ("lat", "48.85", "latitude"),
    ("lat", "north", ""),
    ("lng", "200", ""),
    ("phoneNumber", "+33 6 12 34 56 78", "phone"),
    ("phone", "call me", ""),
    ("idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "advertising_id"),
    ("card_number", "4111 1111 1111 1111", "payment_card"),
    ("card_number", "4111 1111 1111 1112", ""),
    ("name", "Checkout", ""),
])
def test_key_names_label_only_plausible_values(key, value, expected):
    assert classify_key(key, value) == expected


def test_extract_labels_by_rule_key_name_and_pattern(acme):
    doc = {"body": {"events": [{"uid": "bob@example.org", "props": {"fav": "blue", "contactEmail": "c@d.io"}}]}}
    found = {(f.data_type, f.value, f.detector, f.path) for f in extract(doc, acme.endpoints[0], [], 32).findings}
    assert ("user_id", "bob@example.org", "rule", "body.events[0].uid") in found
    assert ("email", "bob@example.org", "pattern", "body.events[0].uid") in found
    assert ("custom_property", "blue", "rule", "body.events[0].props.fav") in found
    assert ("email", "c@d.io", "key_name", "body.events[0].props.contactEmail") in found


def test_email_inside_a_url_is_found():
    doc = {"query": {"u": "https://shop.example/reset?email=eve%40x.org&to=eve@x.org"}}
    found = [(f.data_type, f.value, f.detail) for f in extract(doc, None, [], 32).findings]
    assert found == [("email", "eve@x.org", "email address inside value")]


@pytest.mark.parametrize("encode,form", [
    (lambda v: v, "plain"),
    (lambda v: base64.b64encode(v.encode()).decode(), "base64"),
    (lambda v: __import__("hashlib").sha256(v.encode()).hexdigest(), "sha256"),
    (lambda v: __import__("hashlib").md5(v.encode()).hexdigest().upper(), "md5"),
    (lambda v: __import__("urllib.parse").parse.quote(v, safe=""), "url-encoded"),
])
def test_honey_values_are_found_however_encoded(encode, form):
    honey = Indicator.make("email", "Honey.User@Example.com")
    target = "honey.user@example.com" if form in ("sha256", "md5") else "Honey.User@Example.com"
    doc = {"body": {"blob": "prefix-" + encode(target) + "-suffix"}}
    findings = [f for f in extract(doc, None, [honey], 32).findings if f.detector == "indicator"]
    assert [(f.data_type, f.value, f.detail) for f in findings] == [("email", "Honey.User@Example.com", form if form != "md5" else "md5")]


# --- attribute -----------------------------------------------------------------------------------

def attribute(req: Request, identity=None, label: str = "", attributor: Attributor | None = None):
    analysis = Analysis(req, "decoded", "acme", identity=identity or {})
    found = (attributor or Attributor(label)).attribute(analysis)
    return found.app, found.signal


def test_attribution_signals_in_order_of_strength():
    url = "https://collect.acme.example/v1/collect"
    assert attribute(request(url), label="My App") == ("My App", "capture_label")
    assert attribute(request(url, proxy_mode="local:Spotify")) == ("Spotify", "local_mode")
    assert attribute(request(url), {"app_id": "com.example.notes", "app_id_path": "body.app"}) == \
        ("com.example.notes", "payload_app_id")
    assert attribute(request(url, headers=[("X-Requested-With", "com.example.web")])) == ("com.example.web", "header")
    assert attribute(request(url, headers=[("X-Requested-With", "XMLHttpRequest")])) == ("unattributed", "unattributed")
    assert attribute(request(url, headers=[("User-Agent", "Notes%20Pro/381 CFNetwork/1494.0.7 Darwin/23.4.0")])) == \
        ("Notes Pro", "header")
    assert attribute(request(url, headers=[("User-Agent", "okhttp/4.12.0")])) == ("unattributed", "unattributed")
    assert attribute(request(url, headers=[("Origin", "https://www.shop.example.co.uk")])) == \
        ("example.co.uk", "first_party_site")
    assert attribute(request(url), {"project_key": "k1"}) == ("acme project k1", "payload_project_key")


def test_nearby_requests_of_the_same_client_attribute_the_rest():
    attributor = Attributor()
    attributor.observe(request("https://api.notes.example/sync", headers=[("X-Requested-With", "com.notes")]))
    later = request("https://collect.acme.example/v1/collect", timestamp=1060.0)
    assert attribute(later, attributor=attributor) == ("com.notes", "same_client_nearby")
    other_client = request("https://collect.acme.example/v1/collect", client="10.0.0.9", timestamp=1060.0)
    assert attribute(other_client, attributor=attributor) == ("unattributed", "unattributed")
    much_later = request("https://collect.acme.example/v1/collect", timestamp=5000.0)
    assert attribute(much_later, attributor=attributor) == ("unattributed", "unattributed")


def test_a_project_key_seen_with_an_app_name_names_that_app_later():
    attributor = Attributor()
    url = "https://collect.acme.example/v1/collect"
    named = request(url, headers=[("X-Requested-With", "com.example.notes")], client="10.0.0.1")
    assert attribute(named, {"project_key": "k1"}, attributor=attributor) == ("com.example.notes", "header")
    alone = request(url, client="10.0.0.2", timestamp=9000.0)  # another client, much later: only the key
    assert attribute(alone, {"project_key": "k1"}, attributor=attributor) == ("com.example.notes",
                                                                              "payload_project_key")
    assert attribute(alone, {"project_key": "k2"}, attributor=attributor) == ("acme project k2",
                                                                              "payload_project_key")


# --- pipeline, store and report ------------------------------------------------------------------

XSS = '<img src=x onerror=alert(1)><script>alert("pwn")</script>'


def test_report_escapes_captured_values_and_redacts(tmp_path, acme):
    from leakmap.report import CSP, build_context, render

    analyzer = Analyzer([acme])
    body = json.dumps({"events": [{"uid": XSS, "props": {XSS: "x@evil.example"}}]}).encode()
    analysis = analyzer.analyze(request("https://collect.acme.example/v1/collect?" + "q=" + "%3Cscript%3E",
                                        body, headers=[("X-Requested-With", XSS)]))
    store = Store(tmp_path / "s.db")
    store.add(analysis)
    html = render(build_context(store))
    assert html.count("<script") == 1 and "<img src=x" not in html  # the one script is the report's own
    assert "&lt;script&gt;" in html
    assert f'content="{CSP}"' in __import__("html").unescape(html)
    redacted = render(build_context(store, redact=True))
    assert "x@evil.example" not in redacted and "x@…#" in redacted


def test_store_is_wal_and_exports_the_contract_columns(tmp_path, acme):
    store = Store(tmp_path / "s.db")
    analysis = Analyzer([acme]).analyze(request("https://collect.acme.example/v1/batch",
                                                b'{"events":[{"uid":"u1"},{"uid":"u2"}]}'))
    store.add(analysis)
    store.close()
    reopened = Store(tmp_path / "s.db")
    assert reopened.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    frame = reopened.findings_frame()
    assert list(frame.columns) == EXPORT_COLUMNS
    assert sorted(frame["value"]) == ["u1", "u2"]
    assert set(frame["context"]) == {"body"} and set(frame["detector"]) == {"rule"}


def test_path_groups_are_part_of_the_document(acme):
    analysis = Analyzer([acme]).analyze(request("https://collect.acme.example/v1/batch", b'{"uid":"u"}'))
    assert ("path.kind", "batch", "") in analysis.fields


# --- addon ---------------------------------------------------------------------------------------

def test_addon_never_breaks_a_flow_and_validates_options(tmp_path):
    from mitmproxy import exceptions
    from mitmproxy.test import taddons, tflow

    from leakmap.addon import Leakmap

    from mitmproxy.addons.proxyserver import Proxyserver

    addon = Leakmap()
    with taddons.context(Proxyserver(), addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match="leakmap_honey"):
            tctx.configure(addon, leakmap_db=str(tmp_path / "a.db"), leakmap_honey=["nosuchtype=1"])
        tctx.configure(addon, leakmap_db=str(tmp_path / "a.db"), leakmap_honey=[], leakmap_block=True)
        assert tctx.options.connection_strategy == "lazy"

        process = addon.live.process
        process.kill()  # the analysis process dies (a decoder crashing the interpreter)
        process.wait()
        flow = tflow.tflow()
        flow.request.host = "api.mixpanel.com"
        run = tctx.master.event_loop.run_until_complete
        run(addon.request(flow))  # must not raise, and block mode still answers (fails closed)
        assert flow.response.headers["x-leakmap"] == "answered-by-proxy"
        assert flow.request.host == "api.mixpanel.com"

        tracker = tflow.tflow()
        tracker.request.host, tracker.request.path = "api.mixpanel.com", "/track/?ip=1"
        tracker.request.headers["origin"] = "https://shop.example"
        tracker.request.content = b"data=" + base64.b64encode(b'[{"event":"e","properties":{"token":"t"}}]')
        run(addon.request(tracker))
        assert tracker.response.status_code == 200
        assert tracker.response.headers["access-control-allow-origin"] == "https://shop.example"
        report = tmp_path / "now.html"
        addon.report(str(report))  # written by the analysis process, before done() returns
        addon.done()
        assert "shop.example" in report.read_text()  # analysed by the restarted process
        assert "analysis process stopped (killed by signal 9)" in report.read_text()  # one problem line


def test_double_star_reaches_any_depth():
    regex = paths.wildcard_regex(paths.parse("properties.**"))
    for path in ("properties.a", "properties.cart.items[2].sku", 'properties["a b"].c', "properties.a[0]"):
        assert regex.match(path), path
    for path in ("properties", "propertiesx.a", "other.a"):
        assert not regex.match(path), path


def test_block_mode_reply_follows_verbose():
    rules, _ = load_rules()
    track = next(e for r in rules if r.id == "mixpanel" for e in r.endpoints if e.id == "track")
    assert track.reply({"verbose": "1"})["body"] == '{"status":1,"error":null}'
    assert track.reply({"ip": "1"})["body"] == "1"
    assert track.reply({"verbose": "0"})["body"] == "1"


# --- shared decode steps used by many trackers ----------------------------------------------------

def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _pb_field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def test_protobuf_without_schema_and_index_free_rule_paths(tmp_path):
    event = _pb_field(2, b"screen_view") + _pb_field(4, 1700000000000)
    bundle = _pb_field(2, event) + _pb_field(2, event) + _pb_field(14, b"com.example.app")
    decoded = decode.step_protobuf(_pb_field(1, bundle), LIMITS)
    assert decoded["1"]["14"] == "com.example.app"
    assert [e["2"] for e in decoded["1"]["2"]] == ["screen_view", "screen_view"]
    with pytest.raises(decode.DecodeError, match="not protobuf"):
        decode.step_protobuf(b"\xff\xff\xff\xff", LIMITS)
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", "      record.1.14: app_id\n      record.1.2.2: event_name")))
    fields = rule.endpoints[0].fields
    assert fields.lookup("1.14") == ("app_id", "1.14")
    assert fields.lookup("1[0].2[1].2") == ("event_name", "1.2.2")


def test_lzstring_both_flavours():
    import lzstring

    lz = lzstring.LZString()
    assert decode.step_lzstring(lz.compressToBase64('[{"event":"$pageview"}]'), LIMITS) == '[{"event":"$pageview"}]'
    assert decode.step_lzstring_uri(lz.compressToEncodedURIComponent("hé"), LIMITS) == "hé"
    with pytest.raises(decode.DecodeError):
        decode.step_lzstring("!!!!", LIMITS)


def test_sentry_envelope_items_with_and_without_length():
    envelope = (b'{"event_id":"e1","dsn":"https://k@o1.ingest.sentry.io/2"}\n'
                b'{"type":"event","length":17}\n{"user":{"id":7}}\n'
                b'{"type":"attachment"}\nraw text\n')
    decoded = decode.step_sentry_envelope(envelope, LIMITS)
    assert decoded["header"]["event_id"] == "e1"
    assert decoded["items"][0] == {"header": {"type": "event", "length": 17}, "payload": {"user": {"id": 7}}}
    assert decoded["items"][1]["payload"] == "raw text"


def test_multipart_jwt_expand_json_hex_and_urldecode():
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{"os":"android"}\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n\xff\xfe\r\n'
            b"--b0undary--\r\n")
    assert decode.step_multipart(body, LIMITS) == {"meta": '{"os":"android"}', "file": b"\xff\xfe"}
    token = ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in (b'{"alg":"none"}', b'{"sub":"u9"}')) + ".s"
    assert decode.step_jwt(token, LIMITS) == {"header": {"alg": "none"}, "payload": {"sub": "u9"}}
    assert decode.step_expand_json({"extinfo": '["a2","com.x",{"k":"[1]"}]', "t": "{not json"}, LIMITS) == \
        {"extinfo": ["a2", "com.x", {"k": [1]}], "t": "{not json"}
    assert decode.step_hex("7b 7d", LIMITS) == b"{}"
    assert decode.step_urldecode("a%40b.c+d", LIMITS) == "a@b.c d"


def test_literal_indices_map_positional_arrays(tmp_path):
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", "      record.uid: user_id\n      record.info[1]: app_id\n"
                                                                              "      record.info.*[0]: app_name")))
    fields = rule.endpoints[0].fields
    assert fields.lookup("info[1]") == ("app_id", "info[1]")
    assert fields.lookup("info[2]") is None
    assert fields.lookup("info.x[0]")[0] == "app_name" and fields.lookup("info.x[1]") is None


def test_fields_apply_only_inside_declared_records(tmp_path):
    text = RULE.replace("    records: [body.events, body]", "    records: [body.events]").replace(
        "      record.props.*: custom_property", '      record.**: custom_property')
    rule = load_file(write_rule(tmp_path, text))
    analyzer = Analyzer([rule])
    no_events = analyzer.analyze(request("https://collect.acme.example/v1/batch", b'{"install": "v"}'))
    assert [f.data_type for f in no_events.findings] == []
    with_events = analyzer.analyze(request("https://collect.acme.example/v1/batch", b'{"events": [{"k": "v"}]}'))
    assert [(f.data_type, f.path) for f in with_events.findings] == [("custom_property", "body.events[0].k")]


def test_protobuf_prefers_text_and_reads_plausible_doubles():
    import struct

    message = (_pb_field(11, b"en-us") + _varint(5 << 3 | 1) + struct.pack("<d", 9.99)
               + _varint(6 << 3 | 1) + struct.pack("<Q", 7) + _pb_field(7, b"\x08\x96\x01"))
    decoded = decode.step_protobuf(message, LIMITS)
    assert decoded == {"11": "en-us", "5": 9.99, "6": 7, "7": {"1": 150}}


def test_lines_product_tokens_and_glob_keys(tmp_path):
    assert decode.step_lines("v=2&en=a\n\nv=2&en=b\n", LIMITS) == ["v=2&en=a", "v=2&en=b"]
    assert decode.step_product_tokens("fire-core/21.0.0 device-model/Pixel_8", LIMITS) == \
        {"fire-core": "21.0.0", "device-model": "Pixel_8"}
    with pytest.raises(decode.DecodeError):
        decode.step_product_tokens("no tokens here", LIMITS)
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", '      record.uid: user_id\n      record.q["ep.*"]: search_term')))
    assert rule.endpoints[0].fields.lookup('q["ep.term"]')[0] == "search_term"
    assert rule.endpoints[0].fields.lookup('q["epn.term"]') is None


def test_form_lines_batches_but_keeps_single_hits_plain():
    assert decode.step_form_lines("en=a&x=1", LIMITS) == {"en": "a", "x": "1"}
    assert decode.step_form_lines("en=a\r\nen=b\n", LIMITS) == [{"en": "a"}, {"en": "b"}]


def test_booleans_are_findings_only_where_a_rule_names_the_field(tmp_path):
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", "      record.uid: user_id\n      record.consent: consent_state")))
    body = b'{"events": [{"consent": true, "props": {"beta": false}, "uid": null}]}'
    analysis = Analyzer([rule]).analyze(request("https://collect.acme.example/v1/batch", body))
    assert [(f.data_type, f.value) for f in analysis.findings] == [("consent_state", "true")]


def test_wildcards_are_tried_most_specific_first(tmp_path):
    text = RULE.replace("      record.props.*: custom_property", '      record.**: custom_property\n      record.props.*: other_id\n'
                                                           '      record.*.email: email')
    fields = load_file(write_rule(tmp_path, text)).endpoints[0].fields
    assert fields.lookup("props.email")[0] == "email"
    assert fields.lookup("props.x")[0] == "other_id"
    assert fields.lookup("x.y.z")[0] == "custom_property"


def test_form_drops_one_leading_question_mark():
    assert decode.step_form("?idsite=3&rec=1", LIMITS) == {"idsite": "3", "rec": "1"}


def test_auth_params_bearer_jwt_and_clevertap_envelope():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assert decode.step_auth_params('Sentry sentry_key=abc123, sentry_version=7, sentry_client="raven-js/3.1"', LIMITS) \
        == {"scheme": "Sentry", "sentry_key": "abc123", "sentry_version": "7", "sentry_client": "raven-js/3.1"}
    with pytest.raises(decode.DecodeError):
        decode.step_auth_params("Bearer abc", LIMITS)
    token = ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in (b'{"alg":"none"}', b'{"sub":"u"}')) + ".s"
    assert decode.step_jwt("Bearer " + token, LIMITS)["payload"] == {"sub": "u"}
    key, iv = b"k" * 32, b"i" * 12
    body = {"itk": base64.b64encode(key).decode(), "itv": base64.b64encode(iv).decode(),
            "itp": base64.b64encode(AESGCM(key).encrypt(iv, b'[{"evtName":"x"}]', None)).decode()}
    assert decode.step_clevertap_decrypt(body, LIMITS) == b'[{"evtName":"x"}]'
    with pytest.raises(decode.DecodeError, match="authentication failed"):
        decode.step_clevertap_decrypt({**body, "itk": base64.b64encode(b"x" * 32).decode()}, LIMITS)


def test_hostile_query_is_reported_not_fatal():
    url = "https://api.mixpanel.com/track/?" + "&".join(f"k{i}=v" for i in range(25_000))
    rules, _ = load_rules()
    analysis = Analyzer(rules).analyze(request(url, b"data=e30="))
    assert analysis.status == "not_decoded" and "more than 20000 parameters" in analysis.error


def test_uploaded_fields_are_capped_but_every_leaf_is_still_checked(acme):
    props = {f"k{i}": f"v{i}" for i in range(30)}
    event = {f"x{i}": f"w{i}" for i in range(20)} | {"props": props, "contact": "late@example.org"}
    extraction = extract({"body": {"events": [event]}}, acme.endpoints[0], [], 32, max_fields=10)
    kept = [f for f in extraction.fields if f[0] != "…"]
    assert len(kept) == 11  # 10 under the cap, then only the specifically labelled email
    assert extraction.fields[-1][1] == "40 more fields not listed (limit 10)"
    assert ("email", "late@example.org") in {(f.data_type, f.value) for f in extraction.findings}
    assert len([f for f in extraction.findings if f.data_type == "custom_property"]) == 30  # all still detected


def test_cors_preflights_are_not_analysed():
    rules, _ = load_rules()
    assert Analyzer(rules).analyze(request("https://api.mixpanel.com/track/", method="OPTIONS")) is None


def test_kv_pairs():
    assert decode.step_kv_pairs("service:com.shop, version:5.0.1,env:prod", LIMITS) == \
        {"service": "com.shop", "version": "5.0.1", "env": "prod"}
    with pytest.raises(decode.DecodeError):
        decode.step_kv_pairs("no pairs here", LIMITS)


def test_split_is_a_parameterised_step():
    chain = decode.compile_steps([{"split": {"sep": ":", "names": ["v", "iv", "rest"]}}])
    assert chain.run("1:ab:c:d", LIMITS) == ({"v": "1", "iv": "ab", "rest": "c:d"}, "split")
    with pytest.raises(decode.DecodeError, match="not 3 parts"):
        chain.run("1-ab", LIMITS)
    with pytest.raises(ValueError, match="split takes"):
        decode.compile_steps([{"split": {"sep": ""}}])


# --- Parameterised protobuf (raw byte fields), uuid and opaque steps (h-ads) ---------------

def test_protobuf_keeps_named_fields_as_raw_bytes_and_uuid_reads_them():
    import uuid as uuidlib
    # field 1 {field 3 {field 1: 16 UUID bytes}}; these UUID bytes also parse as a message
    gaid = uuidlib.UUID("08010801-0801-0801-0801-080108010801")
    ad_id = gaid.bytes
    inner = b"\x0a\x10" + ad_id
    message = b"\x0a" + bytes([len(inner) + 2]) + b"\x1a" + bytes([len(inner)]) + inner
    guessed = decode.step_protobuf(message, LIMITS)
    assert not isinstance(guessed["1"]["3"]["1"], bytes)  # schema-less: guessed as a sub-message
    chain = decode.compile_steps([{"protobuf": {"raw": ["1.3.1"]}}])
    tree, used = chain.run(message, LIMITS)
    assert used == "protobuf" and tree["1"]["3"]["1"] == ad_id
    assert decode.step_uuid(ad_id, LIMITS) == "08010801-0801-0801-0801-080108010801"
    with pytest.raises(decode.DecodeError, match="16-byte"):
        decode.step_uuid(b"\x01\x02", LIMITS)
    with pytest.raises(ValueError, match="protobuf takes"):
        decode.compile_steps([{"protobuf": {"raw": ["1.x"]}}])


def test_opaque_step_reports_its_reason_and_keeps_the_query():
    chain = decode.compile_steps([{"any": [["json"], [{"opaque": "encrypted by the SDK"}]]}])
    assert chain.run('{"a": 1}', LIMITS) == ({"a": 1}, "json")
    with pytest.raises(decode.DecodeError, match="opaque: encrypted by the SDK"):
        chain.run(b"\x93\x11\xfe", LIMITS)
    with pytest.raises(ValueError, match="opaque takes the reason"):
        decode.compile_steps([{"opaque": ""}])


def test_aes_cbc_with_a_rule_declared_key():
    from cryptography.hazmat.primitives import padding as crypto_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = "0123456789abcdef0123456789abcdef"
    padder = crypto_padding.PKCS7(128).padder()
    plain = padder.update(b"platform=android&advId=abc") + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(bytes(16))).encryptor()
    secret = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    chain = decode.compile_steps(["base64", {"aes_cbc": {"key": key, "iv": "zero"}}, "form"])
    assert chain.run(secret, LIMITS) == ({"platform": "android", "advId": "abc"}, "base64 → aes_cbc → form")
    wrong = decode.compile_steps(["base64", {"aes_cbc": {"key": "f" * 32, "iv": "zero"}}])
    with pytest.raises(decode.DecodeError, match="AES-CBC"):
        wrong.run(secret, LIMITS)
    with pytest.raises(ValueError, match="aes_cbc takes"):
        decode.compile_steps([{"aes_cbc": {"key": "short", "iv": "zero"}}])


# --- form_nested: parameter order carries nesting (h-misc) ------------------------------------------

def test_form_nested_turns_marker_pairs_into_levels():
    text = "ndh=1&c.&a.&AppID=Bank%205.4&.a&plan=gold&.c&cid.&AVID.&id=u1&as=0&.AVID&DSID.&id=u2&.DSID&.cid"
    assert decode.step_form_nested(text, LIMITS) == {
        "ndh": "1", "c": {"a": {"AppID": "Bank 5.4"}, "plan": "gold"},
        "cid": {"AVID": {"id": "u1", "as": "0"}, "DSID": {"id": "u2"}}}
    # A level opened twice is merged; a value and a level of one name keep both; unclosed levels end.
    again = decode.step_form_nested("c.&a.&x=1&.a&.c&c.&a.&y=2&.a&.c&k=v&k.&z=3", LIMITS)
    assert again == {"c": {"a": {"x": "1", "y": "2"}}, "k": ["v", {"z": "3"}]}
    # Plain form data decodes as `form` does; a stray close stays a key.
    assert decode.step_form_nested("a=1&a=2&.x", LIMITS) == decode.step_form("a=1&a=2&.x", LIMITS)
    with pytest.raises(decode.DecodeError, match="nested deeper"):
        decode.step_form_nested("a=1&" + "x.&" * 40, LIMITS)


def test_endpoint_decoding_the_query_itself_gets_it_raw(tmp_path):
    text = RULE.replace("    methods: [POST]", "    methods: [GET]").replace(
        "        steps: [json]\n", "        steps: [json]\n      - at: query\n        steps: [form_nested]\n").replace(
        "    records: [body.events, body]\n", "").replace("      record.uid: user_id", "      query.c.a.AppID: app_name").replace(
        "      record.props.*: custom_property\n", "")
    analyzer = Analyzer([load_file(write_rule(tmp_path, text))])
    a = analyzer.analyze(request("https://collect.acme.example/v1/batch?c.&a.&AppID=Notes%201.0&.a&.c", method="GET"))
    assert [(f.data_type, f.value, f.path) for f in a.findings] == [("app_name", "Notes 1.0", "query.c.a.AppID")]


def test_literal_indices_beside_any_index(tmp_path):
    """Positional arrays inside lists (New Relic harvests): `data[3][*][0]` is position 0 of
    every item of the array at position 3 (h-misc)."""
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", "      record.data[3][*][0]: page_url\n"
                                                                              "      record.data[9][*].name: event_name")))
    fields = rule.endpoints[0].fields
    assert fields.lookup("data[3][5][0]") == ("page_url", "data[3][*][0]")
    assert fields.lookup("data[3][5][1]") is None and fields.lookup("data[4][5][0]") is None
    assert fields.lookup("data[9][0].name") == ("event_name", "data[9][*].name")


def test_shape_by_query_parameter_or_header_name(tmp_path):
    """A proxy that moves the intake path into a parameter (`/p?forward=/v1/batch?...`) is
    recognised on any host by that parameter's name, then confirmed by `require` (h-misc)."""
    text = RULE.replace("    records: [body.events, body]\n", "    records: [body.events, body]\n"
                        "    shape: {params: [forward], require: [uid]}\n")
    analyzer = Analyzer([load_file(write_rule(tmp_path, text))])
    a = analyzer.analyze(request("https://t.shop.example/p?forward=%2Fv1%2Fbatch", b'{"events": [{"uid": "u-5"}]}'))
    assert (a.tracker, a.match_via) == ("acme", "payload_shape")
    assert [(f.data_type, f.value) for f in a.findings] == [("user_id", "u-5")]
    other = analyzer.analyze(request("https://t.shop.example/p?other=1", b'{"events": [{"uid": "u-5"}]}'))
    assert other is not None and other.match_via == "generic"  # not acme: a third party without a rule
    by_header = Analyzer([load_file(write_rule(tmp_path, RULE.replace(
        "    records: [body.events, body]\n", "    records: [body.events, body]\n    shape: {headers: [X-Acme-Key], require: [uid]}\n"),
        "h.yaml"))])
    b = by_header.analyze(request("https://errors.corp.example:49000/", b'{"uid": "u-6"}', headers=[("x-acme-key", "k")]))
    assert (b.tracker, b.match_via) == ("acme", "payload_shape")
    assert by_header.analyze(request("https://errors.corp.example:49000/", b'{"uid": "u-6"}')).match_via == "generic"
    with pytest.raises(RuleError, match="is not valid under any of the given schemas"):
        load_file(write_rule(tmp_path, RULE.replace("    records: [body.events, body]\n",
                                                    "    shape: {require: [uid]}\n"), "bad.yaml"))


# --- positional event arrays: group_by and pairs steps, `[*]` mixed with literal indices ------
# (Microsoft Clarity uploads its events as `[time, type code, ...]` arrays.)

def test_group_by_groups_positional_records_by_their_type_code():
    chain = decode.compile_steps([{"group_by": {"index": 1, "names": {34: "variable", "1": "dimension"}}}])
    events = [[10, 34, "userId", ["h"]], [11, 1, 0, ["UA"]], [12, 27, 20, "•••"], [13, 34, "plan", ["pro"]]]
    assert chain.run(events, LIMITS) == ({"variable": [events[0], events[3]], "dimension": [events[1]],
                                          "27": [events[2]]}, "group_by")
    with pytest.raises(decode.DecodeError, match="record 1 has no type code at index 1"):
        chain.run([[1, 2], [3]], LIMITS)
    with pytest.raises(ValueError, match="group_by takes"):
        decode.compile_steps([{"group_by": {"index": "1"}}])


def test_pairs_names_the_head_and_pairs_the_rest_losing_nothing():
    chain = decode.compile_steps([{"pairs": {"head": ["time", "type"]}}])
    assert chain.run([5, 1, 0, ["UA"], 9, ["en"]], LIMITS) == ({"time": 5, "type": 1, "0": ["UA"], "9": ["en"]}, "pairs")
    assert chain.run([5, 34, "time", ["x"], "k", "v"], LIMITS)[0] == {"time": [5, ["x"]], "type": 34, "k": "v"}
    with pytest.raises(decode.DecodeError, match="key, value pairs"):
        chain.run([5, 24, "odd"], LIMITS)
    with pytest.raises(decode.DecodeError, match="not a key"):
        chain.run([5, 34, ["x"], "v"], LIMITS)


def test_field_paths_may_mix_wildcard_items_and_literal_indices(tmp_path):
    rule = load_file(write_rule(tmp_path, RULE.replace("      record.uid: user_id", "      record.uid: user_id\n"
                                                                              "      record.custom[*][2]: event_name")))
    fields = rule.endpoints[0].fields
    assert fields.lookup("custom[3][2]") == ("event_name", "custom[*][2]")
    assert fields.lookup("custom[3][1]") is None and fields.lookup("custom[3][2].x") is None


# --- record_variants: fields that apply per record type (google helper) ---------------------------

VARIANT_RULE = """
id: logs
name: Logs
company: Logs Inc.
category: analytics
endpoints:
  - id: batch
    hosts: [logs.example]
    records: [body.requests]
    fields:
      record.source: uploaded
    record_variants:
      - when: {source: [PERF, 462]}
        fields: {record.payload.1: page_url}
      - when: {source: CRASH}
        fields: {record.payload.1: error_report}
    source: test
"""


def test_record_variants_label_each_record_by_its_discriminator(tmp_path):
    endpoint = load_file(write_rule(tmp_path, VARIANT_RULE)).endpoints[0]
    doc = {"body": {"requests": [{"source": "PERF", "payload": {"1": "https://shop.example/cart"}},
                                 {"source": "CRASH", "payload": {"1": "NullPointerException"}},
                                 {"source": 462, "payload": {"1": "https://shop.example/pay"}},
                                 {"source": "OTHER", "payload": {"1": "opaque"}}]}}
    labels = {path: label for path, _, label in extract(doc, endpoint, [], 32).fields}
    assert labels["body.requests[0].payload.1"] == "page_url"
    assert labels["body.requests[1].payload.1"] == "error_report"
    assert labels["body.requests[2].payload.1"] == "page_url"      # integers compare as text
    assert labels["body.requests[3].payload.1"] == ""              # no variant: no guess from the number
    with pytest.raises(RuleError) as failed:
        load_file(write_rule(tmp_path, VARIANT_RULE.replace("    records: [body.requests]\n", "")))
    assert any("record_variants need `records`" in e.message for e in failed.value.errors)


# ---- Block-mode replies echo request parameters ({param:NAME}), e.g. CleverTap web's `rn`
def test_block_mode_reply_echoes_safe_request_parameters():
    from leakmap.rules import echo_params

    body = 'cb({param:rn},"{param:callback}","{param:missing}")'
    assert echo_params(body, {"rn": "12", "callback": "jQuery_1.2"}) == 'cb(12,"jQuery_1.2","")'
    assert echo_params(body, {"rn": "1);alert(1)//", "callback": "x" * 101}) == 'cb(,"","")'
    rules, _ = load_rules()
    web = next(e for r in rules if r.id == "clevertap" for e in r.endpoints if e.id == "web")
    assert web.reply({"rn": "3", "d": "x"})["body"].endswith(",3);")


# --- protobuf: a length-delimited field opening with field 1's tag (0x0A) is a message -----
def test_protobuf_wrapper_with_printable_bytes_is_a_message_not_text():
    # Value{string = 1} and ApplicationInfo{name = 1} around a 10- or 40-byte string encode as
    # "\n" + a printable length byte + text: every byte printable, yet a nested message.
    long_text = "https://acme.example/share/42?ref=mail&x"
    message = _pb_field(7, _pb_field(1, b"Acme Notes")) + _pb_field(2, _pb_field(1, long_text.encode()))
    assert decode.step_protobuf(message, LIMITS) == {"7": {"1": "Acme Notes"}, "2": {"1": long_text}}
    # Text that merely starts with a newline stays text; so do locales and empty fields.
    text = _pb_field(3, b"\nsecond line") + _pb_field(11, b"en-us") + _pb_field(12, b"")
    assert decode.step_protobuf(text, LIMITS) == {"3": "\nsecond line", "11": "en-us", "12": ""}


# --- shared_host: a host that also serves other APIs is claimed only by path ----------------

def test_shared_host_claims_only_the_paths_its_endpoints_accept(tmp_path: Path) -> None:
    shared = load_file(write_rule(tmp_path, RULE.replace(
        '    hosts: [collect.acme.example, "*.acme-cdn.example"]\n',
        "    hosts: [apis.bigcloud.example]\n    shared_host: true\n")))
    owned = load_file(write_rule(tmp_path, RULE, "owned.yaml"))
    index = HostIndex([shared, owned])
    hit = index.match(request("https://apis.bigcloud.example/v1/collect"))
    assert (hit.endpoint.id, hit.rule.id) == ("collect", "acme")
    assert index.match(request("https://apis.bigcloud.example/maps/v3/geocode")) is None
    # A tracker's own host keeps every request, matched or not.
    unknown_path = index.match(request("https://collect.acme.example/other"))
    assert (unknown_path.endpoint, unknown_path.rule.id) == (None, "acme")


# --- User-supplied tracker keys (--tracker-key, leakmap_keys) and the keyed_xor step (h-applovin)
from support.applovin_sdk import IV1, encode_v1  # noqa: E402  (the AppLovin SDK's format 1)

KEY = "k" * 32 + "PublicTailOfTheKey0123456789"
KEYED = {"keyed_xor": {"key": {"user_key": "acme", "what": "the app's Acme key"}, "key_split": 32, "hash": "sha256",
                       "ivs": {"1": [IV1.hex()]}}}
KEYED_RULE = RULE.replace("        steps: [json]\n", f"""        steps: [{{any: [[json], [{json.dumps(KEYED)}, json]]}}]
      - at: body
        steps: [{{split: {{sep: ":", names: [v, iv, tail, data], match: "^[0-9]:[0-9a-f]{{40}}:"}}}}]
        optional: true
        if_undecoded: true
""")


def test_keyed_step_gets_the_user_key_and_says_which_it_needs():
    chain = decode.compile_steps([{"any": [["json"], [KEYED, "json"]]}])
    assert [ref.name for ref in chain.key_refs] == ["acme"]
    envelope = encode_v1('{"uid": "u-1"}', KEY)
    assert chain.run(envelope, LIMITS, {"acme": KEY}) == ({"uid": "u-1"}, "keyed_xor → json")
    with pytest.raises(decode.DecodeError) as missing:
        chain.run(envelope, LIMITS)
    # The alternative that recognised the envelope explains alone (not "[json] not JSON; ...").
    assert str(missing.value) == ("[keyed_xor → json] needs the app's Acme key: pass --tracker-key acme=KEY "
                                  "(addon option leakmap_keys)")
    with pytest.raises(decode.DecodeError, match=r"no alternative decoded: \[json\] not JSON; \[keyed_xor → json\] "
                                                 r"not a keyed XOR envelope"):
        chain.run("plain text", LIMITS, {"acme": KEY})
    for bad in ({**KEYED["keyed_xor"], "ivs": {"3": ["00"]}}, {**KEYED["keyed_xor"], "hash": "md4x"},
                {**KEYED["keyed_xor"], "key": {"user_key": "Acme!", "what": "x"}}):
        with pytest.raises(ValueError, match="keyed_xor takes"):
            decode.compile_steps([{"keyed_xor": bad}])


def test_mix64_shifts_arithmetic_or_logical():
    # 1 → after the first multiply the top bit is set, so the two shift kinds differ.
    assert applovin_xor._mix64(1, arithmetic=True) != applovin_xor._mix64(1, arithmetic=False)
    assert applovin_xor._mix64(0, arithmetic=True) == applovin_xor._mix64(0, arithmetic=False) == 0


def test_analyzer_takes_keys_rules_use_and_masks_them(tmp_path):
    rule = load_file(write_rule(tmp_path, KEYED_RULE))
    with pytest.raises(ValueError, match="no rule uses a key named 'acme2' \\(keys the rules use: acme\\)"):
        Analyzer([rule], keys={"acme2": KEY})
    analyzer = Analyzer([rule], keys={"acme": KEY})
    body = encode_v1(json.dumps({"uid": "u-1", "props": {"key": KEY, "note": f"key={KEY}!"}}), KEY)
    a = analyzer.analyze(request(f"https://collect.acme.example/v1/collect?k={KEY}", body.encode()))
    assert (a.status, a.decode_chain) == ("decoded", ["body: keyed_xor → json"])
    assert ("body.props.note", "key=[acme key]!", "custom_property") in a.fields
    assert KEY not in json.dumps([a.request.url, a.payload, a.fields, [f.value for f in a.findings]])
    keyless = Analyzer([rule]).analyze(request("https://collect.acme.example/v1/collect", body.encode()))
    assert keyless.status == "not_decoded" and keyless.payload["body"]["tail"] == KEY[32:]
    assert keyless.decode_chain == ["body: split"]  # the fallback ran on the undecoded body only


def test_split_match_and_binary_last_part():
    chain = decode.compile_steps([{"split": {"sep": ":", "names": ["v", "rest"], "match": "^[0-9]:"}}])
    assert chain.run(b"2:\xff\x00:x", LIMITS) == ({"v": "2", "rest": b"\xff\x00:x"}, "split")
    with pytest.raises(decode.DecodeError, match="does not match"):
        chain.run('{"a":"b:c"}', LIMITS)


def test_parse_keys_never_repeats_the_key():
    from leakmap.session import parse_keys

    assert parse_keys([f"acme={KEY}"]) == {"acme": KEY}
    for texts, message in (([KEY], "expected NAME=KEY"), (["acme=short"], "shorter than 8"),
                           ([f"acme={KEY}", f"acme={KEY}"], "given twice")):
        with pytest.raises(ValueError, match=message) as error:
            parse_keys(texts)
        assert KEY not in str(error.value) and "short" not in str(error.value).replace("shorter", "")


def test_addon_validates_leakmap_keys(tmp_path):
    from mitmproxy import exceptions
    from mitmproxy.test import taddons

    from leakmap.addon import Leakmap

    addon = Leakmap()
    with taddons.context(addon) as tctx:
        for keys, message in (([f"nosuchrule={KEY}"], "no rule uses a key named 'nosuchrule'"),
                              ([KEY], "expected NAME=KEY")):
            with pytest.raises(exceptions.OptionsError, match=f"leakmap_keys: {message}") as error:
                tctx.configure(addon, leakmap_db=str(tmp_path / "k.db"), leakmap_keys=keys)
            assert KEY not in str(error.value)
        tctx.configure(addon, leakmap_db=str(tmp_path / "k.db"), leakmap_keys=[f"applovin={KEY}"])
        assert addon.analyzer.keys == {"applovin": KEY}
        addon.done()


# --- nr_querypack: New Relic's compact `bel.N;` text (h-nrbel) ----------------------------------

def test_nr_querypack_reads_nodes_strings_nulls_and_children():
    # A timing with two attributes, then an interaction: `!` nulls take no comma, `;;` would be
    # an empty (null) node, `'` opens a string with `\,` `\;` `\\` escapes, `0.` and `1.5` are
    # doubles, base-36 integers elsewhere; a number in a string field refers to the table.
    text = ("bel.7;e,'fcp,ds,2;5,'page\\,url,'https://a.example/x\\;y;6,'n,12.;"
            "1,1,,ir,,,'initialPageLoad,0,,2,,,!!!!'id-1,'1,ds,!;7,'vip;b,2,!3")
    got = decode.step_nr_querypack(text, LIMITS)
    assert got["schema"] == "bel.7"
    timing, ixn = got["nodes"]
    assert timing == {"type": "timing", "name": "fcp", "value": 496,
                      "attributes": {"page,url": "https://a.example/x;y", "n": 12}}
    assert (ixn["trigger"], ixn["initialPageURL"], ixn["newURL"], ixn["end"]) == ("initialPageLoad", "fcp",
                                                                                   "https://a.example/x;y", 675)
    assert (ixn["category"], ixn["queueTime"], ixn["id"], ixn["firstPaint"], ixn["firstContentfulPaint"]) == (
        "Initial page load", None, "id-1", 496, None)
    assert ixn["attributes"] == {"vip": True} and "oldURL" not in ixn        # empty field: not sent
    assert ixn["navTiming"] == {"type": "navTiming", "unloadEventStart": 2, "redirectStart": None, "unloadEventEnd": 3}


def test_nr_querypack_string_tables_per_interaction_when_strings_repeat():
    # soft_navigations (interaction.js, ajax-node.js): each interaction and each AJAX node in it
    # starts a new table, so `'GET` is written twice and `1` means each one's own second string.
    one_table = "bel.7;2,,,,,,'GET,5k,'a.example,'/x,,,,'0,!!!;2,,,,,,0,5k,1,'/y,,,,3,!!!"
    assert [n["path"] for n in decode.step_nr_querypack(one_table, LIMITS)["nodes"]] == ["/x", "/y"]
    assert decode.step_nr_querypack(one_table, LIMITS)["nodes"][1]["nodeId"] == "0"
    scoped = ("bel.7;1,1,,a,,,'click,'https://a.example/,,1,,2,!!!!'i1,'1,!!;2,,,,,,'GET,5k,'api.example,'/x,,,,"
              "'2,!!!;;1,,a,a,,,'click,'https://a.example/,'https://a.example/o,2,,1,!!!!'i2,'3,!!;")
    first, second = decode.step_nr_querypack(scoped, LIMITS)["nodes"]
    assert first["children"][0]["domain"] == "api.example" and first["newURL"] == "https://a.example/"
    assert (second["oldURL"], second["newURL"], second["nodeId"]) == ("https://a.example/o", "https://a.example/o", "3")


@pytest.mark.parametrize("text, message", [
    ("bel.7;1,2,,ir", "announces 2 child nodes"),
    ("bel.7;5,'k,4", "string reference 4 at character 12"),
    ("bel.7;5,'a\\xb", "bad escape at character 11"),
    ("bel.7;z9,", "unknown node type 1269 at character 7"),
    ("bel.7;2,,,,,,'GET,5k,,,,,9", "enum value 9 out of range at character 26"),
    ("bel.7;5,'k,1.2.3", "not a querypack value at character 12"),
    ("bel.7;5 'k", "expected a node type id and a comma at character 7"),
    ("bel.2;1,", "bel.2 is not supported"),
    ("{\"a\": 1}", "not a New Relic querypack"),
])
def test_nr_querypack_malformed_input_says_where(text, message):
    with pytest.raises(decode.DecodeError, match=message):
        decode.step_nr_querypack(text, LIMITS)


def test_nr_querypack_is_bounded_and_never_raises_anything_but_decode_error():
    import random
    small = decode.Limits(max_fields=50, max_depth=4)
    with pytest.raises(decode.DecodeError, match="more than 50 nodes"):
        decode.step_nr_querypack("bel.7;" + "7,'k;" * 60, small)
    with pytest.raises(decode.DecodeError, match="deeper than 4"):
        decode.step_nr_querypack("bel.7;" + "4,1,,,,,'t,!'n;" * 10, small)
    with pytest.raises(decode.DecodeError, match="wrong type|is a timing node"):
        decode.step_nr_querypack("bel.7;1,,,,,,'t,'u,,,,,!!!!'i,'1,!!;e,'fp,1,", LIMITS)
    seed = ("bel.7;1,2,,ir,,,'initialPageLoad,'https://a.example/,,1,,,!!!!'i,'1,ds,ds;5,'enduser.id,'u;"
            "2,1,hf,21,,,'POST,5k,'b.example:443,'/p,i2,2,,'2,!!!;5,'k,'v;b,!!!!2,,,12,5k,7,,w,3,!ae,,,,,j")
    alphabet = ",;'!\\.-0123456789abzTF"
    rng = random.Random(7)
    for _ in range(3000):
        chars = list(seed)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(6, len(chars))
            op = rng.random()
            if op < 0.4:
                chars[at] = rng.choice(alphabet)
            elif op < 0.7:
                del chars[at]
            else:
                chars.insert(at, rng.choice(alphabet))
        try:
            decode.step_nr_querypack("".join(chars), LIMITS)
        except decode.DecodeError:
            pass
