"""Policy files: validated with file:line errors and a published JSON Schema; the label
vocabulary maps onto known data types; hostile captured values cannot break JUnit or SARIF."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from leakmap import labels
from leakmap.datatypes import DATA_TYPES
from leakmap.model import Analysis, Finding, Request
from leakmap.policy import check, load_policy
from leakmap.policy_formats import sarif, write_junit
from leakmap.report import write_report
from leakmap.store import Store
from support.cli import leakmap

EXAMPLE = """\
apps:
  "*":
    deny:
      - {data_type: email}
      - {category: special}
  "Acme Notes":
    allow_receivers: [Mixpanel, Sentry]
    deny:
      - {receiver: Mixpanel, data_type: precise_location}
"""


def test_printed_schema_is_a_json_schema_that_accepts_the_example(tmp_path):
    result = leakmap("check", "--print-schema", cwd=tmp_path)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(EXAMPLE), schema)
    (tmp_path / "p.yaml").write_text(EXAMPLE)
    policy = load_policy(tmp_path / "p.yaml")
    assert [s.pattern for s in policy.sections] == ["*", "acme notes"]
    assert policy.sections[1].deny[0].data_types == {"latitude", "longitude", "location_accuracy", "wifi_bssid",
                                                      "wifi_ssid"}


@pytest.mark.parametrize("text, where", [
    (EXAMPLE.replace("{data_type: email}", "{data_type: emial}"), "p.yaml:4: unknown data type 'emial'"),
    (EXAMPLE.replace("category: special", "category: secret"), "p.yaml:5: unknown category 'secret'"),
    (EXAMPLE.replace("allow_receivers", "allow_receiver"), "p.yaml:7: apps/Acme Notes: Additional properties"),
    (EXAMPLE.replace("precise_location", "play:precise_locations"), "p.yaml:9: 'play:precise_locations': Google Play"),
    (EXAMPLE.replace("- {data_type: email}", "- {data_type: email"), "p.yaml:5: invalid YAML"),
    ("apps: {}\n", "p.yaml:1: apps: {} should be non-empty"),
])
def test_bad_policy_is_one_line_with_file_and_line_and_exit_2(tmp_path, text, where):
    (tmp_path / "p.yaml").write_text(text)
    (tmp_path / "c.har").write_text('{"log": {"entries": []}}')
    result = leakmap("check", "--policy", "p.yaml", "c.har", cwd=tmp_path)
    assert result.returncode == 2
    assert f"leakmap: error: invalid policy: {where}" in result.stderr, result.stderr


def test_label_terms_map_onto_known_data_types():
    for vocabulary in labels.vocabularies().values():
        assert vocabulary.source.startswith("https://")
        for term, types in vocabulary.terms.items():
            assert types <= set(DATA_TYPES) | labels.SPECIAL_TYPES, (vocabulary.name, term)
    assert labels.data_types_for("apple:Device ID") == labels.data_types_for("play:device_or_other_ids")
    assert labels.data_types_for("precise_location") >= {"latitude", "longitude"}  # same in both labels
    assert "health" in labels.category_types("special")


def test_hostile_values_cannot_break_junit_or_sarif(tmp_path):
    evil = "x\x00\x1b]</failure><script>&\x7f"
    store = Store(tmp_path / "s.db")
    request = Request(evil, evil, 1.0, "POST", f"https://api.mixpanel.com/track?q={evil}", [], client=evil)
    store.add(Analysis(request, "decoded", "mixpanel", "Mixpanel, Inc.", "analytics", "track", app=evil,
                       findings=[Finding("email", evil, f"body.{evil}", "body", "rule")]))
    (tmp_path / "p.yaml").write_text(EXAMPLE)
    outcome = check(store, load_policy(tmp_path / "p.yaml"), show_values=True)
    assert [v.data_type for v in outcome.violations] == ["email"]
    write_junit(outcome, tmp_path / "j.xml")
    failure = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/failure")
    assert failure is not None and "</failure>" in failure.text
    json.loads(json.dumps(sarif(outcome)))
    write_report(store, tmp_path / "r.html", extra={"policy_violations": outcome.violations, "policy_file": evil})
    page = (tmp_path / "r.html").read_text()
    assert "Policy violations" in page and page.count("<script") == 1  # the report's own script only
    assert "&lt;/failure&gt;&lt;script&gt;" in page


def test_readme_policy_example_loads(tmp_path):
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    start = readme.index("# privacy-policy.yaml\n")
    (tmp_path / "privacy-policy.yaml").write_text(readme[start:readme.index("```", start)])
    policy = load_policy(tmp_path / "privacy-policy.yaml")
    assert policy.sections[0].deny[0].line == 5  # the line README's example violation cites
    assert policy.sections[1].first_party == ("*.acme.example",)
