"""Hostile traffic never ends a run (issue 8, items 1 and 2).

Captured traffic is attacker-controlled. Whatever one request holds, the pipeline turns it
into at most one "not decoded: <reason>" line, within a time and memory budget, and the next
request is analysed as if nothing happened. Proved three ways, all through the public
pipeline (Session → Analyzer → Store, with the bundled rules):
- the requests issue 8 found, each as a regression test;
- the crafted body of every hostile class at full size (tests/support/hostile.py CRAFTED);
- property-based fuzzing (hypothesis) of bodies, URLs, headers and keys for 13 tracker
  endpoints of different formats; scripts/fuzz_pipeline.py runs the same for 100,000+.
CLI runs of the same classes are in test_cli_hostile.py.
"""

from __future__ import annotations

import base64
import gc
import itertools
import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

import lzstring
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy import io
from mitmproxy.test import tflow

from leakmap import lzdecode, text
from leakmap.limits import Limits
from leakmap.model import Request
from leakmap.read import read_any
from leakmap.session import Session
from leakmap.store import Store
from support.hostile import (CRAFTED, ENDPOINTS, Endpoint, PeakMemory, good_request, hostile_wire, lz_bomb,
                             nested_protobuf, repeated_protobuf)

GOOD_FINDING = ("email", "good.user@example.com")
_ids = (f"req-{n}" for n in itertools.count())
MEMORY = PeakMemory()


def as_request(wire, flow_id: str = "") -> Request:
    method, url, headers, body = wire
    return Request(flow_id or next(_ids), "hostile", 0.0, method, url, headers, body)


def feed_checked(session: Session, wire, cpu_budget: float, memory_budget: int):
    """Feed one request; it must not raise, must stay within the budgets, and must leave
    only display-safe text behind; a good request right after must keep its finding."""
    MEMORY.reset()
    started = time.thread_time()
    analysis = session.feed(as_request(wire))
    cpu = time.thread_time() - started
    peak = MEMORY.peak()
    assert cpu <= cpu_budget, f"{cpu:.2f} s of CPU for one request"
    assert peak <= memory_budget, f"{peak / 1e6:.0f} MB peak for one request"
    if analysis is not None:
        assert analysis.status in ("decoded", "not_decoded", "no_rule")
        assert text.is_clean(analysis.error)
    good = session.feed(as_request(good_request()))
    assert good is not None and GOOD_FINDING in {(f.data_type, f.value) for f in good.findings}
    return analysis


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    store = Store(tmp_path_factory.mktemp("hostile") / "findings.db")
    return Session(store)


def stored(session: Session, flow_id: str) -> sqlite3.Row:
    session.store.commit()
    db = session.store.db
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM requests WHERE flow_id = ?", (flow_id,)).fetchone()
    finally:
        db.row_factory = None


# --- the requests of issue 8 ---------------------------------------------------------------

def test_lone_surrogate_is_stored_safely_and_kept_as_evidence(session: Session):
    body = b'[{"event":"x","properties":{"token":"t1","distinct_id":"cut\\ud83d","$email":"sur@example.com"}}]'
    analysis = session.feed(as_request(("POST", "https://api.segment.io/v1/batch", [], body), "surrogate"))
    assert analysis is not None and analysis.tracker == "segment"
    row = stored(session, "surrogate")
    payload = json.loads(row["payload"])
    assert payload["body"][0]["properties"]["distinct_id"] == "cut\\ud83d"  # display form, valid UTF-8
    assert base64.b64decode(payload["not_unicode"]["body[0].properties.distinct_id"]) == b"cut\xed\xa0\xbd"  # WTF-8
    values = {v for (v,) in session.store.db.execute(
        "SELECT value FROM fields f JOIN requests r ON r.id = f.request_id WHERE r.flow_id = 'surrogate'")}
    assert "cut\\ud83d" in values  # the display form: a visible escape, valid UTF-8


def test_latin1_header_from_a_mitm_dump(tmp_path: Path, session: Session):
    flow = tflow.tflow()
    flow.request.host, flow.request.port, flow.request.scheme = "api.mixpanel.com", 443, "https"
    flow.request.method, flow.request.path = "GET", "/track/?data=" + quote('{"event":"x","properties":{"token":"t"}}')
    flow.request.headers[b"User-Agent"] = "Gerät/1.0".encode("latin-1")
    flow.request.path = flow.request.path + "&ref=" + "caf\udce9"  # a raw non-UTF-8 byte in the URL
    dump = tmp_path / "latin1.mitm"
    with dump.open("wb") as f:
        io.FlowWriter(f).add(flow)
    (request,) = list(read_any(dump, Limits()))
    assert request.header("user-agent") == "Ger\udce4t/1.0"  # mitmproxy's surrogate escape
    analysis = session.feed(request)
    assert analysis is not None and analysis.tracker == "mixpanel"
    row = stored(session, flow.id)
    assert "ref=caf\\xe9" in row["url"]
    payload = json.loads(row["payload"])
    assert payload["header"]["user-agent"] == "Ger\\xe4t/1.0"
    assert base64.b64decode(payload["not_unicode"]["header.user-agent"]) == "Gerät/1.0".encode("latin-1")


def test_path_metacharacters_in_keys(session: Session):
    body = json.dumps([{"event": "x", "properties": {"token": "t", "a[": "1", 'b"]': "2", "c.d": "3", "[*]": "4",
                                                     "user_email\\": "meta@example.com"}}]).encode()
    analysis = session.feed(as_request(("POST", "https://api.segment.io/v1/batch", [], body)))
    assert analysis is not None and analysis.status == "decoded", analysis.error
    paths = {p for p, _, _ in analysis.fields}
    assert {'body[0].properties["a["]', 'body[0].properties["b\\"]"]', 'body[0].properties["[*]"]'} <= paths
    assert ("email", "meta@example.com") in {(f.data_type, f.value) for f in analysis.findings}


def test_json_integer_past_int_max_str_digits(session: Session):
    body = ('[{"event":"x","properties":{"token":"t","n":' + "7" * 5000 + ',"$email":"big@example.com"}}]').encode()
    analysis = session.feed(as_request(("POST", "https://api.segment.io/v1/batch", [], body)))
    assert analysis is not None and analysis.status == "decoded", analysis.error
    assert ("email", "big@example.com") in {(f.data_type, f.value) for f in analysis.findings}
    assert any(v == "7" * 5000 for _, v, _ in analysis.fields)  # kept as its digits


def test_exception_inside_the_pipeline_is_one_not_decoded_line(session: Session, monkeypatch: pytest.MonkeyPatch):
    """Any bug a request triggers (here: an extractor that raises) stops that request only."""
    import leakmap.pipeline

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(leakmap.pipeline, "extract", broken)
    analysis = session.feed(as_request(good_request(), "broken"))
    assert analysis is not None and analysis.status == "not_decoded"
    assert analysis.error.startswith("internal: KeyError: 'boom'")
    assert session.last_problem is not None and "flow broken (POST api.mixpanel.com)" in str(session.last_problem)
    monkeypatch.undo()
    good = session.feed(as_request(good_request()))
    assert GOOD_FINDING in {(f.data_type, f.value) for f in good.findings}


def test_protobuf_cost_is_linear():
    """20 levels used to cost 2^20 parses; 80,000 repeats used to cost 80,000 list copies."""
    from leakmap.decode import step_protobuf

    started = time.thread_time()
    for levels in (20, 200, 2000):
        with pytest.raises(Exception, match="not protobuf"):
            step_protobuf(nested_protobuf(levels), Limits())
    decoded = step_protobuf(repeated_protobuf(80_000), Limits())
    assert len(decoded["1"]) == 80_000
    assert time.thread_time() - started < 1.0


def test_lz_bomb_stops_at_the_budget():
    bomb = lz_bomb(40_000)
    assert len(bomb) < 120_000
    started = time.thread_time()
    with pytest.raises(lzdecode.LZTooLarge):
        lzdecode.decompress(bomb, lzdecode.BASE64, 32 * 1024 * 1024)
    assert time.thread_time() - started < 1.0
    assert len(lzdecode.decompress(lz_bomb(300), lzdecode.BASE64, 10**6)) == 301 * 302 // 2  # 1 + 2 + ... + 301


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("ab{}\":,é€ \n\ud83d\ude00") | st.characters(), max_size=200))
def test_lz_decoder_agrees_with_the_reference_port(plain: str):
    """The bounded decoder reads what the reference implementation (lzstring on PyPI,
    pieroxy's algorithm) writes, in both alphabets."""
    plain = plain.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    units = "".join(chr(u) for u in memoryview(plain.encode("utf-16-le", "surrogatepass")).cast("H"))
    lz = lzstring.LZString()
    if units:
        assert lzdecode.decompress(lz.compressToBase64(units), lzdecode.BASE64, 10**6) == plain
        assert lzdecode.decompress(lz.compressToEncodedURIComponent(units), lzdecode.URI_SAFE, 10**6) == plain


# --- every hostile class at full size ------------------------------------------------------

@pytest.mark.parametrize("crafted", CRAFTED, ids=[c.name for c in CRAFTED])
def test_crafted_class_costs_one_line(crafted, session: Session):
    """Default limits (what a user gets): each crafted body costs at most the 2 s CPU budget
    plus the parts that cannot stop midway (one json.loads), and a few hundred MB."""
    analysis = feed_checked(session, crafted.wire(), cpu_budget=Limits().max_seconds + 2.0,
                            memory_budget=400 * 1024 * 1024)
    if crafted.reason:
        assert analysis is not None and analysis.error.startswith(crafted.reason), analysis.error


# --- property-based fuzzing ----------------------------------------------------------------

FUZZ_LIMITS = Limits(max_decompressed=4 * 1024 * 1024, max_seconds=0.5)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_fuzz_endpoint(endpoint: Endpoint, session: Session):
    """Generated hostile payloads, keys, query parameters and headers, each through one of
    13 tracker formats: nothing escapes, each request stays within its budget, and a good
    request after each one still yields its finding."""

    @settings(max_examples=160, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(wire=hostile_wire(endpoint))
    def run(wire) -> None:
        feed_checked(session, wire, cpu_budget=FUZZ_LIMITS.max_seconds + 1.0, memory_budget=150 * 1024 * 1024)

    previous = session.analyzer.limits
    session.analyzer.limits = FUZZ_LIMITS
    gc.freeze()  # the objects so far (rules, hypothesis) are not rescanned by every collection
    try:
        run()
    finally:
        session.analyzer.limits = previous


def test_addon_takes_the_time_budget_option(tmp_path: Path):
    """`--set leakmap_max_seconds=0.5` (a text option: mitmproxy's --set has no floats)."""
    from mitmproxy import exceptions
    from mitmproxy.test import taddons

    from leakmap.addon import Leakmap

    addon = Leakmap()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, leakmap_db=str(tmp_path / "live.db"), leakmap_max_seconds="0.5")
        assert addon.limits.max_seconds == 0.5
        for bad in ("0", "-1", "soon"):
            with pytest.raises(exceptions.OptionsError, match="leakmap_max_seconds"):
                tctx.configure(addon, leakmap_max_seconds=bad)
        addon.done()


def test_har_body_with_an_escaped_lone_surrogate_keeps_it(tmp_path: Path, session: Session):
    body = '[{"event":"x","properties":{"token":"t","distinct_id":"cut\\ud83d"}}]'
    entry = {"request": {"method": "POST", "url": "https://api.segment.io/v1/batch", "headers": [],
                         "postData": {"mimeType": "application/json", "text": body}}}
    har = tmp_path / "surrogate.har"
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    (request,) = list(read_any(har, Limits()))
    assert isinstance(request, Request), request
    analysis = session.feed(request)
    assert analysis is not None and analysis.tracker == "segment" and analysis.status == "decoded", analysis.error
    assert ("body[0].properties.distinct_id", "cut\ud83d", "custom_property") in analysis.fields


def test_leaf_memo_stays_bounded_on_long_keys_and_fresh_values(session: Session):
    """Keys and values are attacker-controlled: leaves of long paths or long values are not
    remembered, and a flood of fresh short ones makes the memo start afresh, never grow past
    its bound. The findings are those of a fresh analysis either way."""
    from leakmap.leaf_memo import LeafMemo

    memo = session.analyzer.leaf_memo
    deep: dict = {"email": "deep@example.com"}
    for level in range(20):  # a path of about 4,000 characters, within the depth limit
        deep = {f"k{level}" + "x" * 190: deep}
    body = json.dumps([{"event": "x", "properties": {"token": "t", "nest": deep, "long": "v" * 5000}}]).encode()
    analysis = session.feed(as_request(("POST", "https://api.segment.io/v1/batch", [], body)))
    assert analysis is not None and ("email", "deep@example.com") in {(f.data_type, f.value) for f in analysis.findings}
    assert all(len(key[-3]) <= LeafMemo.MAX_PATH_CHARS and len(key[-2]) <= LeafMemo.MAX_VALUE_CHARS
               for key in memo.answers)
    fresh = [{"event": "x", "properties": {"token": "t", **{f"p{i}": f"value-{n}-{i}" for i in range(500)}}}
             for n in range(120)]
    for batch in fresh:
        session.feed(as_request(("POST", "https://api.segment.io/v1/batch", [], json.dumps([batch]).encode())))
        assert len(memo.answers) <= LeafMemo.MAX_ENTRIES and len(memo.shapes) <= LeafMemo.MAX_ENTRIES
