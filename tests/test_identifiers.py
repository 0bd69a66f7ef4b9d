"""Fast checks of the identifiers, fingerprint and discover stages (the real-SDK proof is in
tests/e2e/test_identifiers_discover.py): the shipped entropy figures, hash joining, and
hostile captures costing one problem line, not the run."""

from __future__ import annotations

import csv
import hashlib
import io
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


def test_identifiers_joined_counted_and_ranked_by_sql(tmp_path):
    store = edge_case_store(tmp_path / "edge.db")
    result = identifiers.build(store)
    ids = {i["value"]: i for i in result["identifiers"]}
    assert result["summary"] == {"identifiers": 9, "bridging": 5, "receivers": 3, "relinkable_receivers": 1}
    email = ids[EMAIL + " "]  # shown as first seen; the other spelling and every hashed form folded in
    assert email["kind"] == "email" and email["requests"] == 4
    assert email["hashed_forms"] == sorted([
        {"form": "sha1(email)", "value": _digest("sha1", EMAIL_NORMAL)},  # a user id that was the email's sha1
        {"form": "md5(email)", "value": _digest("md5", EMAIL_NORMAL)},  # only an uploaded field, lower-cased
        {"form": "sha256(email)", "value": _digest("sha256", EMAIL_NORMAL).upper()}], key=lambda f: f["value"])
    assert email["receivers"] == ["Amplitude, Inc.", "Mixpanel, Inc.", "example.co.uk"]  # no rule: the domain
    assert email["apps"] == ["App A", "App B", "unattributed"]
    assert email["bridging_reasons"][1] == "sent by 2 apps: App A, App B"  # unattributed is no second app
    amplitude = next(r for r in email["routes"] if r["receiver"] == "Amplitude, Inc.")
    assert amplitude["data_types"] == ["hashed_email"] and amplitude["requests"] == 1
    assert ids[PHONE]["hashed_forms"] == [{"form": "sha1(phone)", "value": _digest("sha1", "14155550123")}]
    assert not ids["14155550123"]["bridging"] and not ids["14155550123"]["hashed_forms"]  # first seen owns the digests
    assert not {"null", "42", "00000000-0000-0000-0000-000000000000", _digest("sha1", EMAIL_NORMAL)} & set(ids)
    # Most receivers first, then most apps, then type and value (code point order).
    assert [i["value"] for i in result["identifiers"]] == [
        EMAIL + " ", "ad-aaaa-1111", PHONE, "inst-Ünïcode-1", "user-0001", "14155550123", "ZZZ-user", "aaa-user",
        "vend-only-once"]
    top = identifiers.build(store, limit=2)
    assert [i["value"] for i in top["identifiers"]] == [EMAIL + " ", "ad-aaaa-1111"]
    assert top["summary"] == result["summary"]
    lean = identifiers.build(store, routes_for=2)  # the report: routes only for what its graph can draw
    assert [bool(i["routes"]) for i in lean["identifiers"]] == [True, True, False, False, False, True, True, False,
                                                                 False]
    assert identifiers.graph(lean, 2) == identifiers.graph(result, 2)
    rows = list(csv.reader(io.StringIO(identifiers.render(result, "csv"))))
    assert len(rows) == 1 + sum(len(i["routes"]) for i in result["identifiers"]) == 17
    temp = store.db.execute("SELECT name FROM sqlite_temp_master WHERE name LIKE 'leakmap_ids%'").fetchall()
    assert temp == []  # a live store's connection outlives the report: nothing left behind


def test_identifier_memory_does_not_grow_with_distinct_ids(tmp_path):
    """50,000 distinct ids (fresh per request, as ad ids and install ids are in a large
    capture): describing the top 20 holds little Python memory, whatever the store holds."""
    import tracemalloc

    from leakmap.model import Analysis, Finding, Request
    from leakmap.store import Store

    store = Store(tmp_path / "many.db")
    for n in range(10_000):
        request = Request(f"f{n}", "many.mitm", 1_700_000_000 + n, "POST", f"https://t{n % 7}.example/e", [])
        found = [Finding(t, f"{t}-{n:08d}", f"body.{t}", "body", "rule", t) for t in
                 ("advertising_id", "installation_id", "device_id", "user_id", "other_id")]
        store.add(Analysis(request, "decoded", "t", f"Company {n % 7}", findings=found, app=f"App {n % 3}"),
                  commit=False)
    store.commit()
    tracemalloc.start()
    result = identifiers.build(store, limit=20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result["summary"]["identifiers"] == 50_000 and len(result["identifiers"]) == 20
    assert peak < 4_000_000, f"{peak / 1e6:.1f} MB"  # one Python object per id took 65 MB
