"""The right type for every value (issue 9 §4): a rule's type is checked against the value
(sizes "WxH", implausible high-sensitivity values), and values encoded inside values are
opened on the rule path too."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from leakmap.value_types import plausible_type

from golden.golden_support import JSON_CT, make_request


@pytest.mark.parametrize("rule_type, value, expected", [
    ("screen_width", "2560x1440", "screen_resolution"),
    ("viewport_height", "1280×720", "viewport_size"),
    ("screen_width", "2560", "screen_width"),
    ("latitude", "0", "custom_property"),           # the limit-ad-tracking flag `lat=0`
    ("latitude", "52.5163", "latitude"),
    ("latitude", "52.5163,13.3777", "geo_coordinates"),
    ("phone", "true", "custom_property"),           # a boolean is no phone number
    ("phone", "+4915112345678", "phone"),
    ("public_ip", "$remote", "custom_property"),    # a placeholder the server fills in
    ("email", "nobody", "custom_property"),
])
def test_rule_types_follow_the_value(rule_type, value, expected):
    data_type, detail = plausible_type(rule_type, value, "props.x")
    assert data_type == expected
    assert detail.startswith("props.x") and (detail == "props.x") == (data_type == rule_type)


@pytest.fixture(scope="module")
def analyzer():
    from leakmap.decode import Limits
    from leakmap.pipeline import Analyzer
    from leakmap.rules import load_rules
    return Analyzer(load_rules()[0], Limits())


def test_values_inside_values_are_found_on_the_rule_path(analyzer):
    """A percent-encoded URL, base64 JSON, a base64 word in a text and JSON text inside
    Mixpanel custom properties: the raw values stay the fields, the values inside are found."""
    inner_json = base64.b64encode(json.dumps({"email": "carol@example.net"}).encode()).decode()
    props = {"token": "t0k3n", "distinct_id": "u-1",
             "ref": quote("https://x.example/?e=bob@example.net", safe=""), "blob": inner_json,
             "note": "call me: " + base64.b64encode(b"+4915112345678").decode(),
             "j": json.dumps({"phone_number": "+4915199999999"}),
             "k": base64.b64encode(json.dumps({"condition": "diabetes"}).encode()).decode()}
    a = analyzer.analyze(make_request("POST", "https://api.mixpanel.com/track",
                                      json.dumps([{"event": "x", "properties": props}]), [JSON_CT]))
    found = {(f.data_type, f.value, f.path) for f in a.findings if f.detector in ("pattern", "key_name", "special")}
    assert {("email", "bob@example.net", "body[0].properties.ref"),
            ("email", "carol@example.net", "body[0].properties.blob"),
            ("phone", "+4915112345678", "body[0].properties.note"),
            ("phone", "+4915199999999", "body[0].properties.j"),
            ("health", "diabetes", "body[0].properties.k")} <= found, found
    fields = {path: value for path, value, _ in a.fields}
    assert fields["body[0].properties.blob"] == inner_json  # the raw value stays the evidence


def test_generic_path_finds_an_email_in_a_base64_word_of_a_text(analyzer):
    body = json.dumps({"note": "mail me: " + base64.b64encode(b"bob@example.net").decode()})
    a = analyzer.analyze(make_request("POST", "https://api.norule.example/t", body, [JSON_CT]))
    assert ("email", "bob@example.net") in {(f.data_type, f.value) for f in a.findings}
