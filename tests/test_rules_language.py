"""The rule language: one rooted `fields` map, the migration script for rules written in the
two-map language, every error of a file at once, per-endpoint status, the published schema,
`leakmap types`, and wildcard paths through arrays."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from leakmap import datatypes, paths
from leakmap.cli import main
from leakmap.labels import data_file
from leakmap.rule_schema import SCHEMA_FILE, published_schema
from leakmap.rules import RuleError, bundled_rules_dir, load_file

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("migrate_rules", ROOT / "scripts" / "migrate_rules.py")
migrate_rules = importlib.util.module_from_spec(_spec)
sys.modules["migrate_rules"] = migrate_rules  # dataclasses look their module up there
_spec.loader.exec_module(migrate_rules)

# The two-map language, with what rule writers used: comments, anchors, aliases, merge keys.
OLD = """\
id: acme
name: Acme Analytics
company: Acme Inc.
category: analytics
endpoints:
  - id: batch
    hosts: &hosts [collect.acme.example]
    path: ^/v1/batch$
    decode: [{at: body, steps: [json]}]
    records: [body.events]
    request_fields: &request_fields   # paths from the document root
      header.x-acme-key: project_key
      query.v: sdk_version
    fields: &fields
      # the SDK's reserved keys
      uid: user_id                    # set by identify()
      "props.$email": email
      "[0]": event_name
      props.**: custom_property
    source: acme-sdk:src/send.js
  - id: single
    hosts: *hosts
    path: ^/v1/track$
    decode: [{at: body, steps: [json]}]
    records: [body]
    request_fields: *request_fields
    fields: *fields
    source: acme-sdk:src/send.js
  - id: identify
    hosts: *hosts
    path: ^/v1/identify$
    decode: [{at: body, steps: [json]}]
    records: [body]
    request_fields:
      <<: *request_fields
      cookie.sid: session_id
    fields:
      <<: *fields
      traits.phone: phone
    record_variants:
      - when: {kind: crash}
        fields: {payload.1: error_report}
    source: acme-sdk:src/send.js
  - id: config
    hosts: *hosts
    path: ^/v1/config$
    request_fields:
      query.key: project_key
    source: acme-sdk:src/config.js
"""


def _write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_migration_keeps_comments_anchors_and_merges_and_means_the_same(tmp_path):
    new = migrate_rules.migrate_text(OLD)
    for kept in ("# paths from the document root", "# set by identify()", "# the SDK's reserved keys",
                 "&hosts", "*hosts", "&fields", "*fields", "&request_fields", "<<:"):
        assert kept in new, kept
    assert "request_fields:" not in new
    assert migrate_rules.migrate_text(new) == new  # idempotent
    old, migrated = yaml.safe_load(OLD), yaml.safe_load(new)
    for before, after in zip(old["endpoints"], migrated["endpoints"]):
        records = bool(before.get("records"))
        expected = {("record." + k if not k.startswith("[") else "record" + k) if records else k: v
                    for k, v in before.get("fields", {}).items()}
        expected.update(before.get("request_fields", {}))
        assert after.get("fields", {}) == expected, before["id"]
    assert migrated["endpoints"][2]["record_variants"][0]["fields"] == {"record.payload.1": "error_report"}
    rule = load_file(_write(tmp_path, new))
    batch = rule.endpoints[0]
    assert batch.fields.lookup("uid") == ("user_id", "uid")
    assert batch.fields.lookup("[0]") == ("event_name", "[0]")
    assert batch.request_fields.lookup("header.x-acme-key")[0] == "project_key"
    assert rule.endpoints[3].fields.lookup("query.key")[0] == "project_key"  # no records: all from the root


def test_flow_style_request_fields_become_a_merged_map(tmp_path):
    old = OLD.replace("    request_fields:\n      query.key: project_key\n", "    request_fields: {query.key: project_key}\n")
    old = old.replace("    request_fields: *request_fields\n    fields: *fields\n",
                      "    request_fields: {query.v: sdk_version}\n    fields: *fields\n")
    new = migrate_rules.migrate_text(old)
    endpoints = yaml.safe_load(new)["endpoints"]
    assert endpoints[3]["fields"] == {"query.key": "project_key"}
    assert endpoints[1]["fields"]["query.v"] == "sdk_version" and "record.uid" in endpoints[1]["fields"]
    load_file(_write(tmp_path, new))


def test_migration_script_checks_and_rewrites_files(tmp_path, capsys):
    old = _write(tmp_path, OLD)
    assert migrate_rules.main(["--check", str(tmp_path)]) == 1
    assert old.read_text() == OLD
    assert migrate_rules.main([str(tmp_path)]) == 0
    assert migrate_rules.main(["--check", str(tmp_path)]) == 0
    load_file(old)
    _write(tmp_path, OLD.replace("    fields: &fields\n", "    fields: &fields {a: user_id}\n    x_fields:\n"), "bad.yaml")
    assert migrate_rules.main([str(tmp_path / "bad.yaml")]) == 2
    assert "not migrated" in capsys.readouterr().err


def test_bundled_rules_are_migrated():
    for file in sorted(bundled_rules_dir().glob("*.yaml")):
        assert not migrate_rules.needs_migration(file.read_text()), file.name


def test_old_spelling_is_rejected_naming_the_script(tmp_path):
    with pytest.raises(RuleError) as failed:
        load_file(_write(tmp_path, OLD))
    messages = [e.message for e in failed.value.errors]
    assert any("`request_fields` is gone" in m and "scripts/migrate_rules.py" in m for m in messages)
    assert any("'uid'" in m and "must start at its root" in m for m in messages)


def test_rules_check_reports_every_error_of_a_file_with_lines(tmp_path):
    text = migrate_rules.migrate_text(OLD).replace("category: analytics", "category: analytix").replace(
        "record.uid: user_id", "record.uid: userid").replace("^/v1/track$", "^/v1/(track$").replace(
        "      query.key: project_key", "      query.key: project_key\n      qeury.k: app_id")
    file = _write(tmp_path, text)
    result = CliRunner().invoke(main, ["rules", "check", str(file)])
    assert result.exit_code == 4, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("invalid")]

    def line_of(snippet: str) -> int:
        return text[:text.index(snippet)].count("\n") + 1

    expected = {"unknown category 'analytix'": line_of("category:"),
                "unknown data type 'userid'": line_of("record.uid: userid"),
                "invalid path regex": line_of("path: ^/v1/(track$"),
                "field 'qeury.k' must start at its root": line_of("qeury.k")}
    for message, line in expected.items():
        assert any(f"{file}:{line}: " in row and message in row for row in lines), (message, result.output)
    assert len(lines) == 4


def test_endpoint_status_defaults_to_the_rules(tmp_path):
    text = migrate_rules.migrate_text(OLD).replace("category: analytics\n", "category: analytics\nstatus: experimental\n")
    text = text.replace("  - id: single\n", "  - id: single\n    status: stable\n")
    rule = load_file(_write(tmp_path, text))
    assert [e.status for e in rule.endpoints] == ["experimental", "stable", "experimental", "experimental"]
    with pytest.raises(RuleError, match="is not one of"):
        load_file(_write(tmp_path, text.replace("    status: stable\n", "    status: beta\n"), "bad.yaml"))
    listed = CliRunner().invoke(main, ["rules", "list", "--rules", str(tmp_path / "acme.yaml")])
    assert "[3 experimental]" in listed.output


def test_published_schema_is_current_and_printed():
    shipped = json.loads(data_file(SCHEMA_FILE).read_text())
    assert shipped == published_schema(), "regenerate: leakmap rules schema > leakmap/data/rule.schema.json"
    printed = CliRunner().invoke(main, ["rules", "schema"])
    assert printed.exit_code == 0 and json.loads(printed.output) == shipped
    field_types = shipped["properties"]["endpoints"]["items"]["properties"]["fields"]["additionalProperties"]["enum"]
    assert "email" in field_types and "uploaded" in field_types


def test_types_lists_every_data_type():
    result = CliRunner().invoke(main, ["types", "--format", "json"])
    listed = json.loads(result.output)
    assert {t["name"] for t in listed} == set(datatypes.DATA_TYPES)
    assert listed[0]["sensitivity"] == "special" and set(listed[0]) == {"name", "sensitivity", "category", "description"}
    text = CliRunner().invoke(main, ["types"]).output
    assert any(line.split()[:3] == ["email", "high", "contact"] for line in text.splitlines())


@pytest.mark.parametrize("rule_path,concrete,matches", [
    ("props.*", "props.tags[1]", True),          # through an array, as the exact `props.tags` does
    ("props.*", "props.a.b", False),
    ("*.email", "users[2].email", True),
    ("a[*].*", "a.x", False),                    # a path that names indices matches only there
    ("a[*].*", "a[0].x[1]", False),
    ("a[*].*", "a[0].x", True),
    ("props.**", "props.cart.items[2].sku", True),
])
def test_wildcard_paths_go_through_arrays_as_exact_paths_do(rule_path, concrete, matches):
    assert bool(paths.wildcard_regex(paths.parse(rule_path)).match(concrete)) is matches


def test_exact_and_wildcard_paths_agree_on_arrays(tmp_path):
    text = migrate_rules.migrate_text(OLD).replace('          "record.props.$email": email\n',
                                                   '          "record.props.$email": email\n          record.tags: other_id\n')
    fields = load_file(_write(tmp_path, text)).endpoints[0].fields
    assert fields.lookup("tags[3]")[0] == "other_id"              # exact path through an array
    assert fields.lookup("props.list[0].x")[0] == "custom_property"  # `props.**`


def test_the_readme_example_rule_loads(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Writing rules"):]
    example = section[section.index("```yaml\n") + 8:section.index("```\n", section.index("```yaml\n") + 8)]
    rule = load_file(_write(tmp_path, example))
    assert [(e.id, e.status, bool(e.hosts)) for e in rule.endpoints] == [("collect", "stable", True),
                                                                       ("self_hosted", "experimental", False)]


# --- field blocks shared across rule files (use:) ----------------------------------------------

BLOCK_RULE = """\
id: acme_ads
name: Acme Ads
company: Acme Inc.
category: advertising
endpoints:
  - id: bid
    hosts: [bid.acme.example]
    decode: [{at: body, steps: [json]}]
    records: [body]
    source: acme:bid.js@abc
    use: [acme_bid]
    fields:
      record.user.id: other_id      # the endpoint's own mapping wins over the block's
"""


def test_a_rule_uses_a_block_from_beside_it_and_its_own_fields_win(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKMAP_NO_RULE_CACHE", "1")
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "acme_bid.yaml").write_text(
        "id: acme_bid\nfields:\n  record.user.id: user_id\n  record.site.page: page_url\n")
    rule = load_file(_write(tmp_path, BLOCK_RULE))
    fields = rule.endpoints[0].fields
    assert fields.lookup("site.page")[0] == "page_url" and fields.lookup("user.id")[0] == "other_id"


def test_an_unknown_block_is_a_rule_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKMAP_NO_RULE_CACHE", "1")
    with pytest.raises(RuleError) as e:
        load_file(_write(tmp_path, BLOCK_RULE.replace("acme_bid", "no_such_block")))
    assert "no block 'no_such_block'" in str(e.value)


def test_editing_a_block_recompiles_the_cached_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LEAKMAP_NO_RULE_CACHE", raising=False)
    (tmp_path / "blocks").mkdir()
    block = tmp_path / "blocks" / "acme_bid.yaml"
    block.write_text("id: acme_bid\nfields:\n  record.site.page: page_url\n")
    rule_file = _write(tmp_path, BLOCK_RULE)
    assert load_file(rule_file).endpoints[0].fields.lookup("site.page")[0] == "page_url"
    block.write_text("id: acme_bid\nfields:\n  record.site.page: referrer\n")
    from leakmap import rule_blocks
    rule_blocks._block_fields.cache_clear()  # a new run: nothing remembered in memory
    assert load_file(rule_file).endpoints[0].fields.lookup("site.page")[0] == "referrer"


def test_the_bundled_exchange_rules_share_the_openrtb_block():
    users = [f.stem for f in bundled_rules_dir().glob("*.yaml")
             if any("openrtb" in ep.get("use", []) for ep in yaml.safe_load(f.read_text())["endpoints"])]
    assert len(users) >= 8, users
