"""The live worker's grouped commits (leakmap/live.py), with a real Session and SQLite store:
a busy queue commits in groups of at most COMMIT_REQUESTS, a job's future resolves only once
its request is committed (what block mode's acknowledgement relies on), a quiet queue commits
each request at once, and a request that fails half-way is undone alone, not with its group."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from leakmap.decode import Limits
from leakmap.live import COMMIT_REQUESTS, COMMIT_SECONDS, Failed, LiveQueue
from leakmap.model import LIVE_SOURCE, Analysis, Request
from leakmap.session import Session
from leakmap.store import Store


def mixpanel(user: str, n: int) -> Request:
    body = ("data=" + quote(json.dumps([{"event": "e", "properties": {"token": "t0k3n", "distinct_id": user}}]))).encode()
    return Request(f"flow-{n}", LIVE_SOURCE, 1_700_000_000 + n, "POST", "https://api-js.mixpanel.com/track/",
                   [("content-type", "application/x-www-form-urlencoded")], body, client="10.0.0.2",
                   key=f"flow:{user}")


def stored_users(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {v for v, in conn.execute("SELECT value FROM findings WHERE data_type = 'user_id'")}


def open_queue(tmp_path: Path) -> tuple[LiveQueue, Session]:
    queue = LiveQueue()
    session = queue.call(lambda: Session(Store(tmp_path / "live.db")))
    return queue, session


def test_a_busy_queue_commits_in_groups_and_resolves_each_job_after_its_commit(tmp_path: Path):
    queue, session = open_queue(tmp_path)
    gate = threading.Event()
    queue.submit(gate.wait)  # the worker is busy: everything below piles up behind it
    total = 2 * COMMIT_REQUESTS + 50
    jobs = [queue.analyse(session, mixpanel(f"user-{n}", n), Limits()) for n in range(total)]
    committed_before = queue.commits
    seen_at_resolution: list[bool] = []
    for n in range(0, total, 37):  # the callback runs in the worker right after the commit that resolved it
        jobs[n].add_done_callback(lambda _, user=f"user-{n}": seen_at_resolution.append(
            user in stored_users(tmp_path / "live.db")))
    gate.set()
    outcomes = [job.result(timeout=60) for job in jobs]
    assert all(isinstance(o, Analysis) and o.tracker == "mixpanel" for o in outcomes)
    groups = queue.commits - committed_before
    assert 3 <= groups <= 3 + total * COMMIT_SECONDS  # ~3 groups of 100, not one commit per request
    assert seen_at_resolution and all(seen_at_resolution)  # resolved = readable by another connection
    queue.submit(session.store.close)
    queue.close()
    assert stored_users(tmp_path / "live.db") == {f"user-{n}" for n in range(total)}


def test_a_quiet_queue_commits_each_request_at_once(tmp_path: Path):
    queue, session = open_queue(tmp_path)
    for n in range(3):
        outcome = queue.analyse(session, mixpanel(f"quiet-{n}", n), Limits()).result(timeout=30)
        assert isinstance(outcome, Analysis)
        assert f"quiet-{n}" in stored_users(tmp_path / "live.db")  # no waiting for a 200 ms window
    queue.submit(session.store.close)
    queue.close()


def test_a_request_failing_half_way_is_undone_alone(tmp_path: Path, monkeypatch):
    queue, session = open_queue(tmp_path)
    gate = threading.Event()
    queue.submit(gate.wait)
    good = queue.analyse(session, mixpanel("before", 1), Limits())
    real_add = session.store.add

    def add_then_fail(analysis, commit=True):  # the request row is written, then something breaks
        real_add(analysis, commit=commit)
        if "breaks" in analysis.request.key:
            raise RuntimeError("half-way")
        return 1

    monkeypatch.setattr(session.store, "add", add_then_fail)
    bad = queue.analyse(session, mixpanel("breaks", 2), Limits())
    after = queue.analyse(session, mixpanel("after", 3), Limits())
    gate.set()
    assert isinstance(good.result(timeout=30), Analysis) and isinstance(after.result(timeout=30), Analysis)
    assert isinstance(bad.result(timeout=30), Failed)
    queue.submit(session.store.close)
    queue.close()
    assert stored_users(tmp_path / "live.db") == {"before", "after"}
    with sqlite3.connect(tmp_path / "live.db") as conn:
        problems = [m for m, in conn.execute("SELECT message FROM problems")]
    assert any("RuntimeError: half-way" in m for m in problems)


def test_commit_window_is_the_documented_one():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"every {COMMIT_SECONDS * 1000:.0f} ms or {COMMIT_REQUESTS} requests" in readme
