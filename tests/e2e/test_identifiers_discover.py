"""`leakmap ids`, `discover` and `rules draft` on a capture recorded from real SDKs.

One app ("Honey Notes") sends the same user id through the official Segment, Amplitude,
PostHog and Mixpanel Python SDKs (PyPI) via a real `mitmdump` in block mode, the device
details a mobile backend forwards, and a sha256 of the user's email to Amplitude while
PostHog gets the email itself. Then the real CLI must: flag the user id as bridging, join
the hashed email to its plain form, list fingerprint attributes and bits per receiver (in
JSON, CSV and the report); and, with PostHog's rule left out, rank PostHog's host first
among uncovered hosts and draft a rule that passes `rules check` and turns the detectors'
findings into rule findings.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.e2e]

LEAKMAP = Path(sys.executable).parent / "leakmap"
SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
APP = "Honey Notes"
H = {
    "user": "honey-notes-user-4471",
    "anon": "honey-anon-0c9e51",
    "email": "Notes.Honey@Example.net",
    "adid": "5e2f6c1a-3b7d-4e8f-9a0b-1c2d3e4f5a6b",
    "segment_key": "honeySegWriteKey5512",
    "amplitude_key": "honeyampkey99887766554433221100aa",
    "posthog_key": "phc_honeyNotesKey000000000000000000000001",
    "mixpanel_token": "honeynotestoken77",
}
EMAIL_SHA256 = hashlib.sha256(H["email"].strip().lower().encode()).hexdigest()
POSTHOG_HOST = "us.i.posthog.com"

SDK_SCRIPT = r"""
import hashlib, json, sys
h = json.loads(sys.argv[1])
device = {"model": "Pixel 8", "manufacturer": "Google", "advertisingId": h["adid"]}
context = {"device": device, "os": {"name": "Android", "version": "14"}, "screen": {"width": 1080, "height": 2400},
           "locale": "de-DE", "timezone": "Europe/Berlin", "network": {"carrier": "Telekom.de"},
           "userAgent": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)"}

from segment.analytics import Client
c = Client(h["segment_key"], sync_mode=True, max_retries=1)
c.identify(h["user"], {"plan": "pro"}, context=context, anonymous_id=h["anon"])

from amplitude import Amplitude, BaseEvent, Config
amp = Amplitude(h["amplitude_key"], Config(flush_max_retries=1))
sha = hashlib.sha256(h["email"].strip().lower().encode()).hexdigest()
amp.track(BaseEvent("Note Opened", user_id=h["user"], device_id=h["anon"], os_name="Android", os_version="14",
                    device_model="Pixel 8", carrier="Telekom.de", language="de-DE", adid=h["adid"],
                    user_properties={"email_sha256": sha}))
amp.flush()
amp.shutdown()

from posthog import Posthog
ph = Posthog(h["posthog_key"], host="https://us.i.posthog.com", sync_mode=True, max_retries=1)
for n in range(2):
    ph.capture("Note Shared", distinct_id=h["user"], properties={"$set": {"email": h["email"]}, "n": n})
ph.shutdown()

from mixpanel import Mixpanel
Mixpanel(h["mixpanel_token"]).track(h["user"], "Note Created", {"plan": "pro"})
print("sent")
"""


def leakmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKMAP), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def dump(tmp_path_factory, mitm_confdir) -> Path:
    """The capture (.mitm written by mitmdump -w) of the four SDKs."""
    from conftest import start_proxy

    tmp = tmp_path_factory.mktemp("ids-sdks")
    proxy = start_proxy(tmp, mitm_confdir)
    try:
        result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, json.dumps(H)], env=proxy.client_env(),
                                capture_output=True, text=True, timeout=90)
    finally:
        log = proxy.stop()
    assert result.returncode == 0 and "sent" in result.stdout, result.stderr
    assert "Traceback" not in log, log
    return proxy.dump


@pytest.fixture(scope="module")
def ids_json(dump: Path) -> dict:
    result = leakmap("ids", str(dump), "--app", APP, "--format", "json", cwd=dump.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_value(ids_json: dict, value: str) -> dict:
    return next(i for i in ids_json["identifiers"] if i["value"] == value)


def test_one_user_id_to_several_companies_is_bridging(ids_json):
    user = by_value(ids_json, H["user"])
    assert user["bridging"] is True
    assert user["apps"] == [APP]
    assert len(user["receivers"]) >= 3, user["receivers"]
    assert {"Amplitude, Inc.", "PostHog Inc.", "Mixpanel, Inc."} <= set(user["receivers"]), user["receivers"]
    assert any("receivers" in reason for reason in user["bridging_reasons"])
    assert all(r["first_seen"] and r["requests"] >= 1 for r in user["routes"])


def test_ids_seen_by_one_receiver_from_one_app_are_not_bridging(tmp_path):
    """The recorded sample: two Mixpanel projects (two apps), each with its own ids."""
    result = leakmap("ids", "--format", "json", str(SAMPLE), cwd=tmp_path)
    sample = json.loads(result.stdout)
    assert sample["summary"]["identifiers"] >= 5 and sample["summary"]["bridging"] == 0, sample["summary"]
    assert leakmap("ids", str(SAMPLE), "--db", str(SAMPLE), cwd=tmp_path).returncode == 2


def test_hashed_email_joined_to_plain_email(ids_json):
    email = by_value(ids_json, H["email"])
    assert {"form": "sha256(email)", "value": EMAIL_SHA256} in email["hashed_forms"], email
    assert "hashed_email" in email["data_types"] and "email" in email["data_types"]
    assert "Amplitude, Inc." in email["receivers"] and "PostHog Inc." in email["receivers"]
    assert email["bridging"] is True
    assert not any(i["value"] == EMAIL_SHA256 for i in ids_json["identifiers"])  # folded into the plain value


def test_fingerprint_attributes_and_bits_per_receiver(ids_json, dump):
    prints = {(f["app"], f["receiver"]): f for f in ids_json["fingerprints"]}
    segment = prints[(APP, "Twilio Inc. (Segment.io)")]
    names = {a["attribute"] for a in segment["attributes"]}
    assert {"device_model", "os", "screen", "language", "timezone", "carrier", "user_agent"} <= names, names
    assert all(a["source"] for a in segment["attributes"])
    counted = sum(a["bits"] for a in segment["attributes"] if a["bits"] is not None)
    assert segment["bits"] == round(min(counted, 32.92), 2) and segment["bits"] > 20, segment
    assert segment["resettable_ids"] == ["advertising_id", "installation_id"] and segment["relinkable"] is True
    amplitude = prints[(APP, "Amplitude, Inc.")]
    assert {"device_model", "os", "carrier", "language"} <= {a["attribute"] for a in amplitude["attributes"]}
    assert "Upper-bound" in ids_json["fingerprint_method"]
    # CSV carries the same figures.
    result = leakmap("ids", str(dump), "--app", APP, "--format", "csv", "--table", "fingerprints", cwd=dump.parent)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["receiver"], float(r["bits"])) for r in rows} >= {(segment["receiver"], segment["bits"])}


def test_report_shows_identifiers_and_fingerprints(dump):
    report = dump.parent / "ids-report.html"
    result = leakmap("analyze", str(dump), "--app", APP, "-o", str(report), cwd=dump.parent)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    section = html[html.index('id="identifiers"'):html.index('id="evidence"')]
    assert "<svg" in section and H["user"] in section and "sent to" in section
    assert "sha256(email)" in section
    fingerprints = section[section.index('id="fingerprints-table"'):]
    assert "Amplitude, Inc." in fingerprints and "device_model" in fingerprints and "resetting it may not" in fingerprints
    assert "http://" not in section and "https://" not in section.replace("https://posthog", "")


@pytest.fixture(scope="module")
def without_posthog(dump: Path) -> Path:
    """The bundled rules except PostHog's: PostHog becomes a tracker without a rule."""
    rules = dump.parent / "rules-without-posthog"
    rules.mkdir(exist_ok=True)
    for rule in (ROOT / "tracker_rules").glob("*.yaml"):
        if rule.name != "posthog.yaml":
            shutil.copy(rule, rules)
    return rules


@pytest.fixture(scope="module")
def discovered(dump: Path, without_posthog: Path) -> list[dict]:
    result = leakmap("discover", str(dump), "--app", APP, "--no-bundled-rules", "--rules", str(without_posthog),
                     "--format", "json", cwd=dump.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_discover_ranks_the_uncovered_tracker_with_evidence(dump, without_posthog, discovered):
    top = discovered[0]
    assert top["host"] == POSTHOG_HOST, discovered
    assert "email" in top["data_types"] and top["score"] > 5
    assert any(e.startswith("detector key_name") for e in top["evidence"])
    assert any("repeated in 2 requests" in e for e in top["evidence"]), top["evidence"]
    assert f"third party to {APP}" in top["evidence"]
    page = dump.parent / "discover.html"
    text = leakmap("discover", str(dump), "--app", APP, "--no-bundled-rules", "--rules", str(without_posthog),
                   "-o", str(page), cwd=dump.parent)
    assert POSTHOG_HOST in text.stdout.splitlines()[0]
    html = page.read_text()  # the same ranking as a page, under the report's CSP
    assert 'content="default-src &#39;none&#39;' in html and "<script" not in html
    first_row = html[html.index("<tbody>"):].split("</tr>")[0]
    assert POSTHOG_HOST in first_row and f"third party to {APP}" in first_row


def test_draft_rule_passes_check_and_reproduces_findings(dump, without_posthog, discovered):
    detected = {(f["data_type"], f["value"]) for f in discovered[0]["findings"]}
    assert ("email", H["email"]) in detected
    draft = dump.parent / "draft.yaml"
    result = leakmap("rules", "draft", POSTHOG_HOST, str(dump), "--no-bundled-rules", "--rules", str(without_posthog),
                     "-o", str(draft), cwd=dump.parent)
    assert result.returncode == 0, result.stderr
    text = draft.read_text()
    assert "status: experimental" in text and "# guess: key name 'email'" in text
    check = leakmap("rules", "check", str(draft), cwd=dump.parent)
    assert check.returncode == 0 and "1 valid, 0 invalid" in check.stdout, check.stdout
    findings = dump.parent / "draft-findings.json"
    result = leakmap("analyze", str(dump), "--no-bundled-rules", "--rules", str(without_posthog), "--rules", str(draft),
                     "-o", str(dump.parent / "draft.html"), "--findings", str(findings), cwd=dump.parent)
    assert result.returncode == 0, result.stderr
    rows = json.loads(findings.read_text())
    by_rule = {(r["data_type"], r["value"]) for r in rows if r["tracker"] == "draft-posthog-com" and r["detector"] == "rule"}
    assert detected <= by_rule, detected - by_rule


def test_draft_for_unknown_host_is_exit_3_and_a_bad_host_exit_2(tmp_path):
    result = leakmap("rules", "draft", "nothing.example", str(SAMPLE), "-o", str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert result.returncode == 3 and "no request to nothing.example" in result.stderr
    result = leakmap("rules", "draft", "a/b", str(SAMPLE), "-o", str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "d.yaml").exists()
