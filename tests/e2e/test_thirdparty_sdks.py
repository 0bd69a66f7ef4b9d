"""Third parties without a rule, measured on real SDK traffic (issue: nothing sent to a third
party goes unseen).

Eight vendors' official Python SDKs (tests/support/thirdparty_sdks.py) send through a real
`mitmdump -s addons/leakmap.py` in block mode. The ground truth is built here, without
leakmap: every value the SDKs uploaded, read from the dump with mitmproxy and json alone
(JSON inside strings opened, the base64-wrapped honey email counted as the email). Then the
dump and mitmproxy's own HAR of it (savehar) are analysed with every bundled rule except any
that covers these vendors, so the generic path is measured whatever rules get written later.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from conftest import MITMDUMP, ROOT
from support import thirdparty_sdks as sdks

pytestmark = [pytest.mark.e2e]
DRIVER = ROOT / "tests" / "support" / "thirdparty_sdks.py"
ANSWER_ALL = ROOT / "tests" / "support" / "answer_all.py"
HONEY_VALUES = {key: value for key, (value, _) in sdks.HONEY.items()}


def _leaves(node: Any, out: set[str]) -> None:
    """Every non-empty scalar of a JSON tree as text (booleans and nulls carry no value)."""
    if isinstance(node, dict):
        for v in node.values():
            _leaves(v, out)
    elif isinstance(node, list):
        for v in node:
            _leaves(v, out)
    elif isinstance(node, str):
        text = node.strip()
        if text[:1] in "[{":
            try:
                _leaves(json.loads(text), out)
                return
            except ValueError:
                pass
        if node == sdks.EMAIL_BASE64:
            node = HONEY_VALUES["email"]
        if node:
            out.add(node)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.add(str(node))


def ground_truth(dump: Path) -> dict[str, set[str]]:
    """Receiver → every value uploaded to it (JSON bodies and query parameters)."""
    from mitmproxy import io

    truth: dict[str, set[str]] = defaultdict(set)
    with dump.open("rb") as f:
        for flow in io.FlowReader(f).stream():
            receiver = next((r for r in sdks.RECEIVERS.values() if flow.request.host.endswith(r)), None)
            assert receiver, flow.request.host
            body = flow.request.get_content()
            if body:
                _leaves(json.loads(body), truth[receiver])
            for _, value in flow.request.query.items(multi=True):
                _leaves(value, truth[receiver])
    return truth


def analyzer_without_vendor_rules():
    """All bundled rules but any rule whose hosts cover a vendor here: a test-only selection,
    so rules other people add later for these vendors cannot hide the generic path."""
    from leakmap.match import HostIndex
    from leakmap.pipeline import Analyzer
    from leakmap.rules import load_rules

    rules, _ = load_rules([], bundled=True)
    kept = [rule for rule in rules if not any(HostIndex([rule]).candidates(host) for host in sdks.HOSTS)]
    return Analyzer(kept)


def findings_by_receiver(capture: Path) -> tuple[dict[str, set[tuple[str, str]]], set[tuple[str, str]]]:
    """Receiver → {(value, data type)} of the analyses; and every (tracker, company) seen."""
    from leakmap.decode import Limits
    from leakmap.model import Problem
    from leakmap.read import read_any

    analyzer = analyzer_without_vendor_rules()
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    names: set[tuple[str, str]] = set()
    for item in read_any(capture, Limits()):
        assert not isinstance(item, Problem), item
        analysis = analyzer.analyze(item)
        assert analysis is not None and analysis.match_via == "generic", item.url
        names.add((analysis.tracker, analysis.company))
        found[analysis.tracker] |= {(f.value, f.data_type) for f in analysis.findings}
    return found, names


def recall(truth: dict[str, set[str]], found: dict[str, set[tuple[str, str]]]) -> dict[str, float]:
    return {receiver: len(values & {v for v, _ in found.get(receiver, ())}) / len(values)
            for receiver, values in truth.items()}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, mitm_confdir):
    """One capture of all eight SDKs, and mitmproxy's HAR of it."""
    from conftest import start_proxy

    tmp = tmp_path_factory.mktemp("thirdparty")
    proxy = start_proxy(tmp, mitm_confdir, scripts=(ANSWER_ALL,))
    try:
        for vendor in sdks.RECEIVERS:
            result = subprocess.run([sys.executable, str(DRIVER), vendor, json.dumps(HONEY_VALUES)],
                                    env=proxy.client_env(), capture_output=True, text=True, timeout=60)
            assert "sent" in result.stdout, (vendor, result.stderr)
    finally:
        log = proxy.stop()
    assert "Traceback" not in log, log
    har = tmp / "capture.har"
    subprocess.run([str(MITMDUMP), "-n", "-q", "-r", str(proxy.dump), "--set", f"hardump={har}"], check=True, timeout=60)
    return proxy, har


@pytest.fixture(scope="module")
def measured(recorded):
    """Ground truth and the findings from the dump and from its HAR, computed once."""
    proxy, har = recorded
    return ground_truth(proxy.dump), {"mitm": findings_by_receiver(proxy.dump), "har": findings_by_receiver(har)}


def test_every_vendor_was_recorded_and_has_no_rule(measured):
    truth = measured[0]
    assert set(truth) == set(sdks.RECEIVERS.values())
    analyzer = analyzer_without_vendor_rules()
    assert all(analyzer.index.candidates(host) == [] for host in sdks.HOSTS)


def test_nothing_reached_the_vendors(recorded):
    """The proxy answered every upload itself: block mode the hosts a bundled rule covers
    (LaunchDarkly has one since), the test's stand-in for the internet (support/answer_all.py)
    the others, which block mode lets through."""
    from mitmproxy import io

    with recorded[0].dump.open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    assert len(flows) >= 9
    answered = {(f.request.pretty_host, "x-leakmap" in f.response.headers if f.response else None) for f in flows}
    assert all(f.response and ("x-test-answer" in f.response.headers or "x-leakmap" in f.response.headers)
               for f in flows), answered
    assert ("api.rollbar.com", False) in answered and ("events.launchdarkly.com", True) in answered


@pytest.mark.parametrize("source", ["mitm", "har"])
def test_value_recall_of_the_generic_path_is_at_least_95_percent(measured, source):
    truth, (found, names) = measured[0], measured[1][source]
    per_receiver = recall(truth, found)
    total = sum(len(v & {x for x, _ in found.get(r, ())}) for r, v in truth.items()) / sum(map(len, truth.values()))
    print(f"\nvalue recall ({source}): {total:.3f}", {r: round(x, 3) for r, x in sorted(per_receiver.items())})
    assert total >= 0.95, {r: sorted(v - {x for x, _ in found.get(r, ())})[:20] for r, v in truth.items()}
    assert min(per_receiver.values()) >= 0.9, per_receiver
    # The receiver is always named: registrable domain, and a company (the entity list's or the domain).
    assert all(tracker and company for tracker, company in names)
    assert ("launchdarkly.com", "Launch Darkly") in names and ("customer.io", "customer.io") in names


@pytest.mark.parametrize("source", ["mitm", "har"])
def test_typed_recall_of_honey_values(measured, source):
    """Each honey value that a vendor received is found with an honest type."""
    truth, (found, _) = measured[0], measured[1][source]
    sent = typed = 0
    misses = []
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for receiver, values in truth.items():
        types_of: dict[str, set[str]] = defaultdict(set)
        for value, data_type in found.get(receiver, ()):
            types_of[value].add(data_type)
        for key, (value, expected) in sdks.HONEY.items():
            if value in values:
                sent += 1
                per_type[key][0] += 1
                if types_of.get(value, set()) & expected:
                    typed += 1
                    per_type[key][1] += 1
                else:
                    misses.append((receiver, key, sorted(types_of.get(value, set()))))
    print(f"\ntyped recall of honey values ({source}): {typed}/{sent}",
          {k: f"{t}/{n}" for k, (n, t) in sorted(per_type.items())})
    assert sent >= 60
    assert typed / sent >= 0.95, misses


def test_honey_email_is_found_base64_wrapped_and_hashed(measured):
    found, _ = measured[1]["mitm"]
    everything = set().union(*found.values())
    assert (sdks.HONEY["email"][0], "email") in everything
    assert (sdks.EMAIL_SHA256, "hashed_email") in everything


def test_live_report_headline_names_the_receivers(recorded):
    """The live run used every bundled rule: the report's headline counts these vendors, all
    but LaunchDarkly, which has a rule now."""
    html = recorded[0].report.read_text()
    headline = html[html.index('id="tp-headline"'):]
    headline = headline[: headline.index("</p>")]
    assert "7 third parties without a tracker rule" in headline, headline
    assert "launchdarkly" not in headline
    assert "raygun.io</a> (Raygun): " in headline and "and 2 more" in headline  # most fields first, top five
    assert "No tracker requests were found" not in html
