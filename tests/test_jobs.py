"""`leakmap analyze --jobs N`: captures analysed in worker processes give the same findings,
summary, problem lines, store and exit codes as `--jobs 1`. The captures are realistic
mitmproxy dumps written with mitmproxy's own FlowWriter (benchmarks/bench_analyze.py's
generator: mobile and web Mixpanel SDK formats among ordinary app traffic)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from support.cli import leakmap

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_analyze import generate  # noqa: E402

from leakmap.parallel import _prepare_records as _PREPARE_RECORDS  # noqa: E402


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three dumps from different seeds, a truncated one, the first one again under another
    name (its requests are already in the store by then) and a missing file."""
    folder = tmp_path_factory.mktemp("captures")
    dumps = [folder / f"app{n}.mitm" for n in range(3)]
    for n, path in enumerate(dumps):
        generate(path, 120, 0.2, seed=500 + n)
    cut = folder / "cut.mitm"
    cut.write_bytes(dumps[1].read_bytes()[: dumps[1].stat().st_size // 2])
    shutil.copy(dumps[0], folder / "copy-of-app0.mitm")
    return [*dumps, cut, folder / "copy-of-app0.mitm", folder / "missing.mitm"]


def store_rows(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {
            "requests": conn.execute("SELECT * FROM requests ORDER BY id").fetchall(),
            "findings": conn.execute("SELECT * FROM findings ORDER BY id").fetchall(),
            "fields": conn.execute("SELECT * FROM fields ORDER BY request_id, position").fetchall(),
            "problems": conn.execute("SELECT * FROM problems ORDER BY id").fetchall(),
            "sources": conn.execute("SELECT source, stats FROM sources ORDER BY source").fetchall(),
        }


def test_jobs_give_the_same_findings_store_and_lines_as_one_process(tmp_path: Path, captures: list[Path]):
    results, stores = {}, {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        out.mkdir()
        results[jobs] = leakmap("analyze", *captures, "--jobs", jobs, "--db", out / "s.db", "-o", out / "r.html",
                                "--findings", out / "f.csv", cwd=tmp_path)
        assert results[jobs].returncode == 0, results[jobs].stderr
        stores[jobs] = store_rows(out / "s.db")
    one, two = results[1], results[2]
    assert (tmp_path / "jobs1/f.csv").read_bytes() == (tmp_path / "jobs2/f.csv").read_bytes()
    assert stores[1] == stores[2]  # same ids, order, fields, problems and per-source counters
    assert one.stdout.replace("jobs1", "jobsN") == two.stdout.replace("jobs2", "jobsN")
    assert sorted(one.stderr.splitlines()) == sorted(two.stderr.splitlines())
    assert "already in the store, not added again:" in two.stdout  # the copy of app0
    assert "corrupt or truncated dump" in two.stderr and "missing.mitm: no such file" in two.stderr
    assert len(stores[2]["findings"]) > 500


def test_jobs_exit_3_when_nothing_could_be_read(tmp_path: Path):
    for name in ("a.har", "b.har"):
        (tmp_path / name).write_text("not a HAR at all")
    result = leakmap("analyze", "a.har", "b.har", "--jobs", "2", "-o", "r.html", cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.count("a.har") >= 1 and "b.har" in result.stderr


# --- one capture on every core (leakmap/parallel.py) -----------------------------------------

@pytest.fixture(scope="module")
def one_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dump of 600 flows: Mixpanel SDK formats among ordinary app traffic, a session
    recording whose two requests sit at the start and the end (different chunks, different
    workers: `finish` must join them in order), a TCP flow, a WebSocket flow, and a request
    the worker-death test keys on."""
    from support.replay_payloads import flow, rrweb_page, write_capture

    folder = tmp_path_factory.mktemp("one")
    generate(folder / "base.mitm", 600, 0.3, seed=900)
    first, second = rrweb_page("jane.doe@example.org", "Correct-Horse-9!")
    url = "https://rec.selfhosted.example/collect"
    write_capture(folder / "head.mitm", [flow("POST", url, json.dumps({"sessionId": "s-1", "events": first}).encode())])
    from mitmproxy.test import tflow

    write_capture(folder / "tail.mitm", [
        tflow.ttcpflow(), tflow.twebsocketflow(),  # not HTTP: a problem line; WebSocket: its messages
        flow("GET", "https://shop.example/die-here", b"", {"accept": "*/*"}),
        flow("POST", url, json.dumps({"sessionId": "s-1", "events": second}).encode(), timestamp=1_765_000_002)])
    capture = folder / "app.mitm"
    capture.write_bytes(b"".join((folder / n).read_bytes() for n in ("head.mitm", "base.mitm", "tail.mitm")))
    return capture


def analyse_one(capture: Path, out: Path, jobs: int):
    out.mkdir()
    result = leakmap("analyze", capture, "--jobs", jobs, "--db", out / "s.db", "--no-report", "--findings",
                     out / "f.csv", "--honey", "email=jane.doe@example.org", cwd=out)
    assert result.returncode == 0, result.stderr
    return result, store_rows(out / "s.db"), (out / "f.csv").read_bytes()


def test_one_capture_with_jobs_gives_the_same_findings_store_and_lines(tmp_path: Path, one_capture: Path):
    one, store_one, csv_one = analyse_one(one_capture, tmp_path / "jobs1", 1)
    two, store_two, csv_two = analyse_one(one_capture, tmp_path / "jobs2", 2)
    assert csv_one == csv_two
    assert store_one == store_two  # same ids, order, fields, problems and per-source counters
    assert one.stdout.replace("jobs1", "jobsN") == two.stdout.replace("jobs2", "jobsN")
    assert len(store_two["findings"]) > 1000
    assert any("TCPFlow is not an HTTP flow" in row[-1] for row in store_two["problems"])
    with sqlite3.connect(tmp_path / "jobs2" / "s.db") as conn:  # the recording was read across both requests
        (summary,) = conn.execute("SELECT summary FROM replays").fetchone()
    assert json.loads(summary)["requests"] == 2


def _die_on_marker(records: list[tuple], *args) -> bytes:
    """leakmap.parallel._prepare_records, except that the worker process dies (as a kill or
    the out-of-memory killer ends it) on the chunk holding the marker request."""
    if any(b"/die-here" in record for _, _, record in records):
        Path(os.environ["LEAKMAP_TEST_DIED"]).write_text("died")
        os._exit(9)
    return _PREPARE_RECORDS(records, *args)


def test_a_worker_that_dies_loses_and_repeats_nothing(tmp_path: Path, one_capture: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    from leakmap import parallel

    _, store_one, csv_one = analyse_one(one_capture, tmp_path / "jobs1", 1)
    monkeypatch.setattr(parallel, "_prepare_records", _die_on_marker)  # forked workers inherit it
    monkeypatch.setenv("LEAKMAP_TEST_DIED", str(tmp_path / "died"))
    _, store_two, csv_two = analyse_one(one_capture, tmp_path / "jobs2", 2)
    assert (tmp_path / "died").exists()  # a worker did die
    assert csv_one == csv_two and store_one == store_two


def _note_numbers(records: list[tuple], *args) -> bytes:
    """leakmap.parallel._prepare_records, noting the flow numbers a worker prepares."""
    with open(os.environ["LEAKMAP_TEST_SEEN"], "a") as seen:
        seen.write("".join(f"{number}\n" for number, _, _ in records))
    return _PREPARE_RECORDS(records, *args)


def test_workers_start_warm_from_chunks_the_reading_process_prepared(tmp_path: Path, one_capture: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """The first chunks are prepared before the workers are forked, so each inherits the
    leaf labels they taught instead of learning them again; the findings do not change."""
    from leakmap import parallel

    _, store_one, csv_one = analyse_one(one_capture, tmp_path / "jobs1", 1)
    monkeypatch.setattr(parallel, "_prepare_records", _note_numbers)
    monkeypatch.setattr(parallel, "WARM_CHUNKS", 3)
    monkeypatch.setenv("LEAKMAP_TEST_SEEN", str(tmp_path / "seen"))
    _, store_two, csv_two = analyse_one(one_capture, tmp_path / "jobs2", 2)
    seen = [int(n) for n in (tmp_path / "seen").read_text().split()]
    assert min(seen) == 3 * parallel.CHUNK_REQUESTS + 1 and len(seen) == len(set(seen)) and max(seen) > 600
    assert csv_one == csv_two and store_one == store_two


def test_results_past_the_bound_are_prepared_by_the_reading_process(tmp_path: Path, one_capture: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    """A chunk's results are bounded (a decompression bomb must not fill the memory with
    results in flight): what passes the bound is prepared by the reading process instead,
    with the same findings."""
    from leakmap import parallel

    _, store_one, csv_one = analyse_one(one_capture, tmp_path / "jobs1", 1)
    monkeypatch.setattr(parallel, "RESULT_BYTES", 3000)  # forked workers inherit it
    _, store_two, csv_two = analyse_one(one_capture, tmp_path / "jobs2", 2)
    assert csv_one == csv_two and store_one == store_two


def test_a_record_that_does_not_parse_ends_the_dump_as_in_one_process(tmp_path: Path, one_capture: Path):
    """A record whose framing is whole but whose content is no flow (a tnetstring string) ends
    the file with the problem line one process gives; a damaged tail is read on by this
    process: the same items, problems and findings either way."""
    body = one_capture.read_bytes()
    for name, damaged in (("bad-record.mitm", body[: len(body) // 2] + b"5:hello," + body),
                          ("bad-tail.mitm", body + b"12:not a record")):
        capture = tmp_path / name
        capture.write_bytes(damaged)
        one, store_one, csv_one = analyse_one(capture, tmp_path / f"{name}-1", 1)
        two, store_two, csv_two = analyse_one(capture, tmp_path / f"{name}-2", 2)
        assert csv_one == csv_two and store_one == store_two
        assert one.stderr == two.stderr and "corrupt or truncated dump" in two.stderr
