"""The live addon under hostile traffic, through a real `mitmdump -s addons/leakmap.py`:
block mode answers every tracker request even when its analysis fails, a tracker request with
thousands of parameters does not stall other connections, ordinary flows pass byte for byte,
a full findings store is one log line while the proxy keeps working, and `kill -9` right after
the proxy acknowledged tracker requests loses none of them."""

from __future__ import annotations

import base64
import gzip
import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import start_proxy
from support.filesystems import tmpfs
from support.upstream import UPSTREAM_BODY, Upstream, start_upstream, via_proxy

pytestmark = pytest.mark.e2e
MIXPANEL = "api-js.mixpanel.com"
HOSTILE_HOST = "collect.hostile.example"
# A user rule (leakmap_rules) for a tracker whose payloads are gzip'd JSON.
HOSTILE_RULE = f"""\
id: hostile
name: Hostile Test Tracker
company: Hostile Test Co.
category: analytics
endpoints:
  - id: collect
    hosts: [{HOSTILE_HOST}]
    path: ^/v1/collect$
    decode:
      - at: body
        steps: [gzip, json]
    records: [body.events]
    fields:
      record.user: user_id
    reply: {{status: 202, body: '{{"accepted":true}}', content_type: application/json}}
    source: tests/e2e/test_live_hostile.py (a rule for this test only)
"""


def mixpanel_form(*events: dict) -> bytes:
    """mixpanel-js's `data=` form with URL-encoded JSON."""
    return ("data=" + quote(json.dumps(list(events), ensure_ascii=False))).encode()


def event(user: str, **properties: object) -> dict:
    return {"event": "Hostile", "properties": {"token": "hostiletoken", "distinct_id": user, **properties}}


FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON_GZIP = {"content-type": "application/json"}
# (case, host, body, headers): bodies that make decoding fail or a step blow up.
HOSTILE = [
    ("lone-surrogate", MIXPANEL, b'data=[{"event":"e","properties":{"token":"t","name":"\\ud83d"}}]', FORM),
    ("bracket-key", MIXPANEL, b'data=[{"event":"e","properties":{"token":"t","a[":1}}]', FORM),
    ("latin1-header", MIXPANEL, mixpanel_form(event("u-latin1")), {**FORM, "User-Agent": "Gerät/1.0"}),
    ("not-base64", MIXPANEL, b"data=%%%not-base64%%%", FORM),
    ("not-utf8", MIXPANEL, b"data=\xff\xfe\x00\xc3\x28", FORM),
    ("huge-integer", HOSTILE_HOST, gzip.compress(b'{"events":[{"user":' + b"9" * 5000 + b"}]}"), JSON_GZIP),
    ("truncated-gzip", HOSTILE_HOST, gzip.compress(b'{"events":[{"user":"u"}]}')[:-9], JSON_GZIP),
    ("gzip-bomb", HOSTILE_HOST, gzip.compress(b"\x00" * (40 * 1024 * 1024)), JSON_GZIP),
    ("deep-json", HOSTILE_HOST, gzip.compress(b"[" * 100_000 + b"]" * 100_000), JSON_GZIP),
]
TARGETS = {MIXPANEL: "/track/?ip=1&case={}", HOSTILE_HOST: "/v1/collect?case={}"}


@pytest.fixture(scope="module")
def upstream():
    server = start_upstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def block_proxy(tmp_path_factory, mitm_confdir):
    """One block-mode mitmdump for this module, with the hostile user rule loaded."""
    tmp = tmp_path_factory.mktemp("live-hostile")
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "hostile.yaml").write_text(HOSTILE_RULE)
    proxy = start_proxy(tmp, mitm_confdir, f"leakmap_rules={rules}")
    yield proxy
    proxy.stop()


def stored_cases(db: Path) -> tuple[set[str], set[str]]:
    """Case markers seen in stored request URLs, and in problem lines."""
    with sqlite3.connect(db) as conn:
        urls = [row[0] for row in conn.execute("SELECT url FROM requests")]
        problems = [row[0] + " " + row[1] for row in conn.execute("SELECT location, message FROM problems")]
    def cases(texts: list[str]) -> set[str]:
        return {text.split("case=", 1)[1].split(")", 1)[0].split("&", 1)[0] for text in texts if "case=" in text}
    return cases(urls), cases(problems)


def test_block_mode_answers_every_hostile_tracker_request(block_proxy, upstream: Upstream):
    for case, host, body, headers in HOSTILE:
        reply = via_proxy(block_proxy.port, "POST", host, TARGETS[host].format(case), body, headers)
        assert reply.headers.get("x-leakmap") == "answered-by-proxy", case
        assert (reply.status, reply.body) == ((202, b'{"accepted":true}') if host == HOSTILE_HOST else (200, b"1")), case
    # The proxy still works and still decodes: a good request after the bad ones.
    good = via_proxy(block_proxy.port, "POST", MIXPANEL, TARGETS[MIXPANEL].format("good"),
                     mixpanel_form(event("after-the-storm")), FORM)
    assert good.headers.get("x-leakmap") == "answered-by-proxy"
    hostile = {case for case, *_ in HOSTILE}
    assert not [r for r in upstream.received if r.path.rsplit("case=", 1)[-1] in hostile]  # none reached an upstream
    with sqlite3.connect(block_proxy.db) as conn:  # acknowledged, so already committed
        assert conn.execute("SELECT count(*) FROM findings WHERE value = 'after-the-storm'").fetchone()[0] == 1
    # Every hostile request is in the store: as a request (decoded or not) or a problem line.
    requests, problems = stored_cases(block_proxy.db)
    assert hostile <= requests | problems, (requests, problems)
    log = block_proxy.log.read_text(errors="replace")
    assert "Traceback" not in log


def test_payload_shape_is_blocked_and_other_traffic_passes_byte_for_byte(block_proxy, upstream: Upstream):
    # A Mixpanel payload sent to a host no rule knows (a customer's own proxy): blocked.
    shaped = via_proxy(block_proxy.port, "POST", upstream.authority, "/track?case=shape",
                       mixpanel_form(event("shape-user")), FORM)
    assert shaped.headers.get("x-leakmap") == "answered-by-proxy"
    # Same path, not a Mixpanel payload: the site's own endpoint, forwarded untouched.
    odd_body = b'{"hello": "world"}\x00\xff\r\n'
    headers = {"content-type": "application/json", "X-Odd": "a\tb", "Cookie": "own=1"}
    for target in ("/track?case=own-track", "/api/items?case=ordinary"):
        before = len(upstream.received)
        reply = via_proxy(block_proxy.port, "POST", upstream.authority, target, odd_body, headers)
        assert "x-leakmap" not in reply.headers
        assert (reply.status, reply.body) == (200, UPSTREAM_BODY)
        assert reply.headers["x-upstream"] == "yes" and reply.headers["set-cookie"] == "sid=abc; Path=/"
        arrived = upstream.received[before]
        assert (arrived.method, arrived.path, arrived.body) == ("POST", target, odd_body)
        assert ("X-Odd", "a\tb") in arrived.headers and ("Cookie", "own=1") in arrived.headers
    assert not [r for r in upstream.received if "case=shape" in r.path]


def test_thousands_of_parameters_do_not_stall_other_connections(block_proxy, upstream: Upstream):
    params, heavy = 19_000, 3
    target = "/track/?verbose=1&" + "&".join(f"p{i}=value{i}" for i in range(params))
    baseline = [via_proxy(block_proxy.port, "GET", upstream.authority, "/ping?case=baseline").seconds
                for _ in range(5)]
    answers: list = []

    def send_heavy() -> None:
        answers.append(via_proxy(block_proxy.port, "GET", MIXPANEL, target))

    threads = [threading.Thread(target=send_heavy) for _ in range(heavy)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    during = []
    while any(thread.is_alive() for thread in threads):
        during.append(via_proxy(block_proxy.port, "GET", upstream.authority, "/ping?case=during").seconds)
        time.sleep(0.02)
    busy = time.perf_counter() - started
    for thread in threads:
        thread.join()
    assert len(answers) == heavy and all(a.body == b'{"status":1,"error":null}' for a in answers)
    worst = max(during)
    print(f"\n{heavy} tracker requests x {params} params answered in {busy:.2f}s; ordinary requests meanwhile: "
          f"{len(during)}, worst {worst * 1000:.0f} ms (baseline worst {max(baseline) * 1000:.0f} ms)")
    assert len(during) >= 3  # the ordinary requests really overlapped the analysis
    assert worst < 0.5 + max(baseline), (worst, baseline)


def test_full_store_is_one_log_line_and_the_proxy_keeps_working(tmp_path, mitm_confdir, upstream: Upstream):
    with tmpfs(tmp_path / "tiny", "400k") as tiny:  # room for an empty store, not for 16 big requests
        # The store the proxy opens (tmp_path/live.db) lives on the tiny disk; SQLite follows
        # the link and keeps its WAL beside the target. (mitmdump ignores a script whose
        # option is given twice with --set, so the path cannot simply be set again.)
        (tmp_path / "live.db").symlink_to(tiny / "live.db")
        proxy = start_proxy(tmp_path, mitm_confdir)
        try:
            big = "x" * 40_000
            for n in range(16):
                reply = via_proxy(proxy.port, "POST", MIXPANEL, f"/track/?case=full{n}",
                                  mixpanel_form(event(f"full-{n}", blob=f"{n}{big}")), FORM)
                assert reply.headers.get("x-leakmap") == "answered-by-proxy", n
            ordinary = via_proxy(proxy.port, "GET", upstream.authority, "/ping?case=after-full")
            assert ordinary.body == UPSTREAM_BODY
        finally:
            log = proxy.stop()
    assert log.count("leakmap: findings not saved:") == 1, log
    assert "the disk (or the database) is full" in log and "Traceback" not in log


def test_kill_9_right_after_acknowledgements_loses_nothing(proxy_factory):
    proxy = proxy_factory()
    users = [f"ack-{n}" for n in range(8)]
    for user in users:
        reply = via_proxy(proxy.port, "POST", MIXPANEL, "/track/?ip=1", mixpanel_form(event(user)), FORM)
        assert reply.headers.get("x-leakmap") == "answered-by-proxy"
    proxy.process.send_signal(signal.SIGKILL)  # no waiting: acknowledged means committed
    proxy.process.wait()
    with sqlite3.connect(proxy.db) as conn:
        stored = {row[0] for row in conn.execute("SELECT value FROM findings WHERE data_type = 'user_id'")}
    assert set(users) <= stored


def test_non_block_mode_forwards_untouched_and_still_records(proxy_factory, upstream: Upstream):
    proxy = proxy_factory(block=False)
    body = mixpanel_form(event("forwarded-user"))
    reply = via_proxy(proxy.port, "POST", upstream.authority, "/track?case=nonblock", body, FORM)
    assert "x-leakmap" not in reply.headers and reply.body == UPSTREAM_BODY
    assert upstream.received[-1].body == body
    proxy.stop()  # a clean exit drains the queue before closing the store
    with sqlite3.connect(proxy.db) as conn:
        assert conn.execute("SELECT match_via FROM requests r JOIN findings f ON f.request_id = r.id"
                            " WHERE f.value = 'forwarded-user'").fetchone() == ("payload_shape",)


def test_block_mode_reply_is_base64_safe(block_proxy):
    """A verbose=1 flag in a base64 form body (mixpanel-python) still selects the JSON reply."""
    data = base64.b64encode(json.dumps([event("b64-user")]).encode()).decode()
    reply = via_proxy(block_proxy.port, "POST", MIXPANEL, "/track", f"data={quote(data)}&verbose=1".encode(), FORM)
    assert reply.body == b'{"status":1,"error":null}'
