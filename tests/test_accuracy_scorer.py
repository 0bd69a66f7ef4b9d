"""The accuracy benchmark's scorer (benchmarks/accuracy/) on a small committed recording.

The fixture is four requests the official Mixpanel Python SDK sent through a real mitmdump
(benchmarks/accuracy/record.py, module test_python_sdk). The full benchmark scores 50-odd
SDKs; here the point is that the scorer itself measures: the truth comes from the capture
without leakmap, a value leakmap misses lowers recall, a wrong type lowers precision, and
mitmproxy's HAR of the dump scores like the dump.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import zlib
import sys
from pathlib import Path

import pytest

from conftest import MITMDUMP, ROOT

BENCH = ROOT / "benchmarks" / "accuracy"
FIXTURE = BENCH / "fixtures" / "mixpanel_python"
sys.path.insert(0, str(BENCH))

import decode_independent  # noqa: E402
import score as scorer  # noqa: E402
import truth as truths  # noqa: E402


@pytest.fixture(scope="module")
def measured():
    truth = truths.truth_of_recording(FIXTURE)
    found, problems = scorer.findings_of([FIXTURE / "capture.mitm"])
    return truth, found, problems


def test_truth_is_built_from_the_capture_without_leakmap(measured):
    truth = measured[0]
    source = (BENCH / "truth.py").read_text() + (BENCH / "decode_independent.py").read_text()
    assert "leakmap" not in "".join(line for line in source.splitlines() if line.startswith(("import", "from")))
    assert truth[("Mixpanel", "alice.honey@example.net")].types == {"email"}
    assert truth[("Mixpanel", "alice.honey@example.net")].honey
    assert truth[("Mixpanel", "+447700900123")].types == {"phone"}
    assert truth[("Mixpanel", "python")].types == {"sdk_name"} and not truth[("Mixpanel", "python")].honey
    assert ("Mixpanel", "0") not in truth  # Mixpanel's `ip=0` is a flag, not an address


def test_leakmap_scores_full_marks_on_the_fixture(measured):
    truth, found, problems = measured
    result = scorer.score(truth, found)
    row = result.overall().row()
    assert problems == []
    assert row["truth"] == 7 and row["typed_recall"] == 1.0 and row["precision"] == 1.0, result.misses + result.wrong
    assert result.wrong_high == []


def test_a_missed_value_lowers_recall(measured):
    truth, found, _ = measured
    missing = {k: v for k, v in found.items() if k != ("Mixpanel", "+447700900123")}
    result = scorer.score(truth, missing)
    assert result.overall().row()["typed_recall"] < 1.0
    assert result.overall().row()["value_recall"] < 1.0
    assert [m[:3] for m in result.misses] == [("Mixpanel", "+447700900123", "phone")]


def test_a_wrong_type_lowers_precision_and_a_wrong_high_one_is_listed(measured):
    truth, found, _ = measured
    wrong = copy.deepcopy(found)
    wrong[("Mixpanel", "python")] = {"email"}  # an SDK name called an email address: high, wrong
    wrong[("Mixpanel", "alice.honey@example.net")] = {"email", "username"}
    result = scorer.score(truth, wrong)
    row = result.overall().row()
    assert row["precision"] < 1.0 and row["wrong"] == 2
    assert row["typed_recall"] < 1.0  # the SDK name is no longer found with its type
    assert [w[:3] for w in result.wrong_high] == [("Mixpanel", "python", "email")]


def test_mitmproxy_har_of_the_dump_scores_like_the_dump(measured, tmp_path: Path):
    truth, found, _ = measured
    har = tmp_path / "capture.har"
    subprocess.run([str(MITMDUMP), "-n", "-q", "-r", str(FIXTURE / "capture.mitm"), "--set", f"hardump={har}"],
                   check=True, timeout=60)
    from_har, problems = scorer.findings_of([har])
    assert problems == []
    assert scorer.score(truth, from_har).overall().row() == scorer.score(truth, found).overall().row()


def test_independent_decoder_opens_the_compressed_payload_forms():
    """Pendo's `jzb` (base64url of zlib JSON) and CleverTap's `d` (LZ-string base64), made
    here with zlib and the reference lzstring port, come out as keyed leaves."""
    import lzstring

    event = {"visitor_id": "honey-v-1", "props": {"email": "v@example.org"}}
    jzb = base64.urlsafe_b64encode(zlib.compress(json.dumps([event]).encode())).decode().rstrip("=")
    lz = lzstring.LZString().compressToBase64(json.dumps({"evtName": "Checkout", "evtData": {"n": 3}}))
    leaves = decode_independent.leaves_of_request(f"https://a.example/d?jzb={jzb}", f"d={lz}".encode())
    assert ("query.jzb.0.visitor_id", "honey-v-1") in leaves
    assert ("query.jzb.0.props.email", "v@example.org") in leaves
    assert ("body.d.evtName", "Checkout") in leaves and ("body.d.evtData.n", "3") in leaves
    assert truths.types_by_key("Pendo", "query.jzb.0.visitor_id", "honey-v-1") == ("user_id", "browser_id")
    assert truths.types_by_key("Mixpanel", "body.ip", "1") == ()  # a flag, not an address
