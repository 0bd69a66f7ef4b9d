"""The right type for every value (issue 9 §4): a rule's type is checked against the value
(sizes "WxH", implausible high-sensitivity values), and values encoded inside values are
opened on the rule path too."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from leakmap.extract import plausible_type

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
