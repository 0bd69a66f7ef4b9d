"""`leakmap analyze --dask` on a real `distributed.LocalCluster` (two worker processes, one
thread each, restarted by their nannies): the Parquet dataset, read back with pandas, holds
exactly the findings `--jobs 1` finds; `report --dataset` rebuilds the same findings export;
a second run adds nothing; and a worker killed (SIGKILL) while it analyses a capture neither
loses nor duplicates that capture's findings."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from leakmap.batch import analyse_to_dataset  # noqa: E402
from leakmap.dataset import STAGING  # noqa: E402
from leakmap.store import EXPORT_COLUMNS, Store  # noqa: E402
from support.cli import leakmap  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_analyze import generate  # noqa: E402

COMPARED = [c for c in EXPORT_COLUMNS if c != "request_id"]  # a request's id is its capture store's


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("study")
    paths = [folder / f"phone{n}.mitm" for n in range(3)]
    for n, path in enumerate(paths):
        generate(path, 120, 0.2, seed=900 + n)
    return paths


@pytest.fixture(scope="module")
def expected(captures: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, bytes]:
    """The findings of `--jobs 1` (store rows, in full) and its CSV export."""
    out = tmp_path_factory.mktemp("jobs1")
    result = leakmap("analyze", *captures, "--db", out / "s.db", "-o", out / "r.html", "--findings", out / "f.csv",
                     cwd=out)
    assert result.returncode == 0, result.stderr
    store = Store(out / "s.db")
    frame = store.findings_frame()
    store.close()
    return frame, (out / "f.csv").read_bytes()


def rows(frame: pd.DataFrame) -> list[tuple]:
    frame = frame.assign(app=frame["app"].astype(str))[COMPARED]
    return sorted(tuple(r) for r in frame.astype(str).itertuples(index=False))


def test_dataset_holds_the_findings_of_jobs_1_and_rebuilds_the_report(cluster, captures, expected, tmp_path):
    dataset = tmp_path / "dataset"
    result = leakmap("analyze", "--dask", cluster.scheduler_address, "--dataset", dataset, *captures, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("flows read") == len(captures)
    read_back = pd.read_parquet(dataset)  # hive partitions: `app` comes from the folder names
    assert rows(read_back) == rows(expected[0])
    assert {p.parent.name for p in dataset.glob("app=*/*.parquet")} == \
        {"app=" + a.replace(" ", "%20") for a in expected[0]["app"].unique()}
    duckdb = pytest.importorskip("duckdb")  # another engine reads the same files
    per_app = duckdb.sql(f"SELECT app, count(*) FROM read_parquet('{dataset}/*/*.parquet', hive_partitioning = true)"
                         " GROUP BY app").fetchall()
    assert dict(per_app) == expected[0]["app"].value_counts().to_dict()

    report = leakmap("report", "--dataset", dataset, "-o", tmp_path / "r.html", "--findings", tmp_path / "f.csv",
                     cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "f.csv").read_bytes() == expected[1]

    files = sorted(dataset.rglob("*.parquet"))
    again = leakmap("analyze", "--dask", cluster.scheduler_address, "--dataset", dataset, *captures, cwd=tmp_path)
    assert again.stdout.count("(already in the dataset)") == len(captures)
    assert sorted(dataset.rglob("*.parquet")) == files


def test_a_worker_killed_mid_capture_loses_and_duplicates_nothing(cluster, captures, expected, tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    summaries: list[dict] = []
    with distributed.Client(cluster.scheduler_address) as client:
        run = threading.Thread(target=lambda: summaries.extend(analyse_to_dataset(client, captures, dataset)))
        run.start()
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline and run.is_alive():
            for attempt in (dataset / STAGING).glob("*-*-*") if (dataset / STAGING).exists() else []:
                killed = int(attempt.name.split("-")[1])  # the worker process working in it
                os.kill(killed, signal.SIGKILL)
                break
            time.sleep(0.01)
        run.join(timeout=180)
    assert killed is not None, "no worker was caught working"
    assert not run.is_alive() and len(summaries) == len(captures)
    assert not [s for s in summaries if "error" in s], summaries
    assert killed not in client_pids(cluster)  # the nanny started a new worker process
    left = [p.name for p in (dataset / STAGING).iterdir()]
    assert left and all(f"-{killed}-" in name for name in left)  # only the killed attempt's work in progress
    assert rows(pd.read_parquet(dataset)) == rows(expected[0])  # every capture's findings, once
    published = {p.name.removeprefix("part-").removesuffix(".parquet") for p in dataset.rglob("part-*.parquet")}
    assert len(published) == len(captures)  # each capture under its content hash


def client_pids(cluster) -> set[int]:
    with distributed.Client(cluster.scheduler_address) as client:
        return set(client.run(os.getpid).values())
