"""The analysis process's grouped commits (leakmap/live_worker.py), with a real Session and
SQLite store: a busy process commits in groups of at most COMMIT_REQUESTS, a request's result
goes out only once it is committed (what block mode's acknowledgement relies on), and a
request that fails half-way is undone alone, not with its group. The process itself, behind
a real mitmdump, is in tests/e2e/test_live_process.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

from leakmap.decode import Limits
from leakmap.live_worker import COMMIT_REQUESTS, COMMIT_SECONDS
from leakmap.live_worker import GroupedCommits
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


class Results:
    """The `emit` callback: each request's result, and whether another connection could
    already read its finding when it went out."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.outcomes: dict[int, Analysis | str | None] = {}
        self.visible: dict[int, bool] = {}

    def __call__(self, token: int, outcome: Analysis | str | None) -> None:
        self.outcomes[token] = outcome
        if isinstance(outcome, Analysis):
            self.visible[token] = outcome.request.key.removeprefix("flow:") in stored_users(self.db)


def open_commits(tmp_path: Path) -> tuple[GroupedCommits, Session, Results]:
    results = Results(tmp_path / "live.db")
    return GroupedCommits(results), Session(Store(tmp_path / "live.db")), results


def test_a_busy_process_commits_in_groups_and_answers_each_request_after_its_commit(tmp_path: Path):
    commits, session, results = open_commits(tmp_path)
    total = 2 * COMMIT_REQUESTS + 50
    for n in range(total):  # back to back: the group is due by size, not by idleness
        commits.analyse(session, mixpanel(f"user-{n}", n), Limits(), False, n)
    commits.commit()  # what the process does once nothing is waiting
    assert all(isinstance(results.outcomes[n], Analysis) for n in range(total))
    assert 3 <= commits.commits <= 3 + total * COMMIT_SECONDS  # ~3 groups of 100, not one commit per request
    assert len(results.visible) == total and all(results.visible.values())  # answered = readable elsewhere
    session.store.close()
    assert stored_users(tmp_path / "live.db") == {f"user-{n}" for n in range(total)}


def test_nothing_is_answered_before_its_commit(tmp_path: Path):
    commits, session, results = open_commits(tmp_path)
    commits.analyse(session, mixpanel("waiting", 1), Limits(), False, 1)
    assert results.outcomes == {} and "waiting" not in stored_users(tmp_path / "live.db")
    commits.commit()
    assert isinstance(results.outcomes[1], Analysis) and results.visible[1]
    session.store.close()


def test_a_request_failing_half_way_is_undone_alone(tmp_path: Path, monkeypatch):
    commits, session, results = open_commits(tmp_path)
    commits.analyse(session, mixpanel("before", 1), Limits(), False, 1)
    real_add = session.store.add

    def add_then_fail(analysis, commit=True):  # the request row is written, then something breaks
        real_add(analysis, commit=commit)
        if "breaks" in analysis.request.key:
            raise RuntimeError("half-way")
        return 1

    monkeypatch.setattr(session.store, "add", add_then_fail)
    commits.analyse(session, mixpanel("breaks", 2), Limits(), False, 2)
    commits.analyse(session, mixpanel("after", 3), Limits(), False, 3)
    commits.commit()
    assert isinstance(results.outcomes[1], Analysis) and isinstance(results.outcomes[3], Analysis)
    assert "RuntimeError: half-way" in results.outcomes[2]  # type: ignore[operator]
    session.store.close()
    assert stored_users(tmp_path / "live.db") == {"before", "after"}
    with sqlite3.connect(tmp_path / "live.db") as conn:
        problems = [m for m, in conn.execute("SELECT message FROM problems")]
    assert any("RuntimeError: half-way" in m for m in problems)


def test_commit_window_is_the_documented_one():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"every {COMMIT_SECONDS * 1000:.0f} ms or {COMMIT_REQUESTS} requests" in readme
