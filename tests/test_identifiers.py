"""Fast checks of the identifiers, fingerprint and discover stages (the real-SDK proof is in
tests/e2e/test_identifiers_discover.py): the shipped entropy figures, hash joining, and
hostile captures costing one problem line, not the run."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from leakmap import fingerprint, identifier_tables, identifiers

LEAKMAP = Path(sys.executable).parent / "leakmap"
SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"


def test_every_entropy_figure_has_a_source_and_a_status():
    rows = fingerprint.figures()
    assert len(rows) >= 15
    for row in rows:
        assert 0 < row.bits <= 32.92 and row.source and row.population and row.data_types, row
        assert row.status in ("paper-headline", "paper-table", "bound"), row


def test_fingerprint_bits_are_a_capped_sum_of_the_largest_figures():
    (fp,) = fingerprint.fingerprints([
        ("app", "r", "timezone", "Europe/Berlin"), ("app", "r", "user_agent", "UA"), ("app", "r", "public_ip", "1.2.3.4"),
        ("app", "r", "os_version", "14"), ("app", "r", "advertising_id", "x")])
    by_name = {a["attribute"]: a for a in fp["attributes"]}
    assert by_name["timezone"]["bits"] == 3.34 and by_name["user_agent"]["bits"] == 10.0
    assert by_name["os_version"]["bits"] is None  # listed, not counted
    assert fp["bits_uncapped"] == round(3.34 + 10.0 + 32.0, 2) and fp["bits"] == fingerprint.CAP_BITS
    assert fp["relinkable"] is True and fp["resettable_ids"] == ["advertising_id"]


def test_hashes_of_normalized_email_and_phone():
    digests = identifier_tables.hashes_of("email", " Alice@Example.COM ")
    assert digests[hashlib.sha256(b"alice@example.com").hexdigest()] == "sha256(email)"
    assert digests[hashlib.md5(b"alice@example.com").hexdigest()] == "md5(email)"
    assert hashlib.sha256(b"+14155550123").hexdigest() in identifier_tables.hashes_of("phone", "+1 (415) 555-0123")


def test_graph_of_nothing_is_empty():
    assert identifiers.graph({"identifiers": []})["nodes"] == []


def test_discover_and_draft_survive_a_truncated_capture(tmp_path):
    broken = tmp_path / "broken.mitm"
    data = SAMPLE.read_bytes()
    broken.write_bytes(data[: len(data) // 2] + b"\x00garbage")
    run = lambda *a: subprocess.run([str(LEAKMAP), *a], capture_output=True, text=True, cwd=tmp_path, timeout=60)  # noqa: E731
    found = run("discover", str(broken), "--no-bundled-rules")
    assert found.returncode == 0 and "api.mixpanel.com" in found.stdout, found.stderr
    assert "broken.mitm" in found.stderr  # the damaged tail is one problem line
    draft = run("rules", "draft", "api.mixpanel.com", str(broken), "--no-bundled-rules", "-o", "d.yaml")
    assert draft.returncode == 0, draft.stderr
    assert run("rules", "check", "d.yaml").returncode == 0


def test_a_host_named_like_its_app_is_first_party():
    from leakmap.discover import same_party

    assert same_party("Newsdaily", "api.newsdaily.net") and same_party("com.newsdaily.android", "api.newsdaily.net")
    assert same_party("newsdaily.net", "images.newsdaily.net")
    assert not same_party("Newsdaily", "api.mixpanel.com") and not same_party("Honey Notes", "us.i.posthog.com")


def test_a_hostile_form_like_body_opens_in_linear_time():
    """A body of many `k=v` pairs that is not a form at its end must not make the form
    sniffing backtrack (2^pairs ways to split it with a careless pattern)."""
    import time

    from leakmap.decode import Limits
    from leakmap.discover import open_request
    from leakmap.model import Request

    body = b"a=1" + b"&b=1" * 5000 + b" x"
    start = time.monotonic()
    open_request(Request("f", "s", 0.0, "POST", "https://t.example/c", [], body), Limits())
    assert time.monotonic() - start < 2


# --- identifiers aggregated by SQL: the edge cases of joining and counting -----------------------------

EMAIL = "Alice.Smith@Example.com"
EMAIL_NORMAL = EMAIL.lower()
PHONE = "+1 (415) 555-0123"


def _digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def edge_case_store(path: Path):
    """A store with every case the identifier join and counts must get right: an email
    seen in two spellings, its sha256 as a hashed_email finding (upper case), its md5 only
    in an uploaded field, a user id that is the email's sha1, a phone and its sha1 of the
    digits, a second spelling of the phone (same digests: the first seen keeps them), ids
    too short or too common to count, unattributed requests (not a second app), a receiver
    named by its host, two requests at the same time (order by request id), non-ASCII
    values, and fingerprint attributes (device details, a fonts field)."""
    from leakmap.model import Analysis, Finding, Request
    from leakmap.store import Store

    sightings = [  # (app, company, host, [(data type, value)], [(field path, value)])
        ("App A", "Mixpanel, Inc.", "api.mixpanel.com",
         [("email", EMAIL + " "), ("user_id", "user-0001"), ("advertising_id", "ad-aaaa-1111"), ("user_id", "null"),
          ("device_model", "Pixel 8"), ("timezone", "Europe/Berlin")], [("body.fonts", "Arial,Roboto")]),
        ("App A", "Amplitude, Inc.", "api2.amplitude.com",
         [("hashed_email", _digest("sha256", EMAIL_NORMAL).upper()), ("user_id", "user-0001"), ("user_id", "42"),
          ("phone", PHONE), ("os_version", "14")], [("body.u.h", _digest("md5", EMAIL_NORMAL).upper())]),
        ("App B", "", "collect.tracker.example.co.uk",
         [("user_id", _digest("sha1", EMAIL_NORMAL)), ("advertising_id", "ad-aaaa-1111"),
          ("hashed_phone", _digest("sha1", "14155550123")), ("installation_id", "inst-Ünïcode-1")],
         [("body.x", "f" * 40)]),
        ("", "Mixpanel, Inc.", "api.mixpanel.com",
         [("email", EMAIL_NORMAL), ("phone", "14155550123"), ("device_id", "00000000-0000-0000-0000-000000000000"),
          ("vendor_id", "vend-only-once")], []),
        ("App B", "Mixpanel, Inc.", "api.mixpanel.com",
         [("installation_id", "inst-Ünïcode-1"), ("user_id", "ZZZ-user"), ("user_id", "aaa-user")], []),
    ]
    store = Store(path)
    for n, (app, company, host, found, fields) in enumerate(sightings):
        request = Request(f"flow-{n}", "edge.mitm", 1_700_000_000 + min(n, 3), "POST", f"https://{host}/track",
                          [], client="10.0.0.2")
        findings = [Finding(t, v, f"body.f{k}", "body", "rule", t) for k, (t, v) in enumerate(found)]
        store.add(Analysis(request, "decoded" if company else "no_rule", "t" if company else "", company,
                           findings=findings, fields=[(p, v, "") for p, v in fields], app=app))
    store.commit()
    return store
