"""Policy check results for CI tools: SARIF 2.1.0 (GitHub code scanning) and JUnit XML.

Why these shapes: a SARIF result must point at a file in the repository, and the one file
of the repository a violation is about is the policy, so each result's location is the
policy entry that was broken (code scanning then shows the alert on that line). Its
`partialFingerprints` hash the entry, app, receiver and data type, never values or URLs,
so the same leak in the next build is the same alert. JUnit gets one test case per app and
receiver that was checked, failed when any violation concerns that pair, so CI dashboards
show what passed as well as what failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from . import __version__
from .policy import RULE_HELP, Outcome, Violation, describe

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "leakmapViolation/v1"
# Characters XML 1.0 cannot hold; captured values may contain them (hostile input).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _repo_uri(file: str) -> tuple[str, dict[str, str]]:
    """The policy's URI as code scanning wants it: relative to the working directory (the
    repository root in CI), else an absolute file URI."""
    path = Path(file).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix(), {"uriBaseId": "%SRCROOT%"}
    except ValueError:
        return path.as_uri(), {}


def sarif(outcome: Outcome) -> dict[str, Any]:
    rule_ids = sorted(RULE_HELP)
    uri, base = _repo_uri(outcome.policy.file)
    rules = [{"id": rid, "name": rid.rsplit(".", 1)[-1].title().replace("-", ""),
              "shortDescription": {"text": RULE_HELP[rid].split(":")[0].rstrip(".")},
              "fullDescription": {"text": RULE_HELP[rid]}, "help": {"text": RULE_HELP[rid]},
              "defaultConfiguration": {"level": "error"}, "properties": {"tags": ["privacy", "leakmap"]}}
             for rid in rule_ids]
    results = [_result(v, rule_ids.index(v.rule_id), uri, base) for v in outcome.violations]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "leakmap", "version": __version__, "rules": rules}},
                      "results": results}]}


def _result(v: Violation, index: int, uri: str, base: dict[str, str]) -> dict[str, Any]:
    fingerprint = hashlib.sha256(v.fingerprint_key().encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return {
        "ruleId": v.rule_id, "ruleIndex": index, "level": "error",
        "message": {"text": f"{v.message} ({v.requests} requests; first: {v.method} {v.url}"
                            + (f" {v.path}" if v.path else "") + (f" = {v.value}" if v.value else "") + ")"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, **base},
                                            "region": {"startLine": max(v.line, 1)}}}],
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": {"app": v.app, "receiver": v.receiver, "company": v.company, "data_type": v.data_type,
                       "requests": v.requests, "policy_entry": v.where},
    }


def write_sarif(outcome: Outcome, path: Path) -> None:
    path.write_text(json.dumps(sarif(outcome), indent=2) + "\n", encoding="utf-8")


def junit(outcome: Outcome) -> ET.Element:
    """<testsuites> with one <testsuite> for the policy file and one <testcase> per (app,
    receiver) checked, failed with the violations' lines as its text."""
    by_pair: dict[tuple[str, str], list[Violation]] = {}
    for v in outcome.violations:
        by_pair.setdefault((v.app, v.receiver), []).append(v)
    pairs = sorted(set(outcome.pairs) | set(by_pair))
    failures = sum(1 for pair in pairs if pair in by_pair)
    counts = {"tests": str(max(len(pairs), 1)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", name="leakmap check", **counts)
    suite = ET.SubElement(root, "testsuite", name=_xml(f"policy {outcome.policy.file}"), **counts)
    if not pairs:  # nothing was sent that the policy covers: one passing case says so
        ET.SubElement(suite, "testcase", classname="leakmap.policy", name="no traffic covered by the policy")
    for app, receiver in pairs:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"leakmap.policy.{app}"), name=_xml(f"{app} → {receiver}"))
        found = by_pair.get((app, receiver))
        if found:
            message = f"{len(found)} policy violations" if len(found) > 1 else found[0].message
            failure = ET.SubElement(case, "failure", type=found[0].rule_id, message=_xml(message))
            failure.text = _xml("\n".join(describe(v, outcome.policy.file) for v in found))
    return root


def write_junit(outcome: Outcome, path: Path) -> None:
    tree = ET.ElementTree(junit(outcome))
    ET.indent(tree)
    tree.write(os.fspath(path), encoding="utf-8", xml_declaration=True)
