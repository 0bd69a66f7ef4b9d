"""The findings dataset a Dask run writes: Parquet, hive-partitioned by app, one file per
capture and app, plus what `leakmap report --dataset` needs to rebuild the full report.

    DIR/app=Acme%20Notes/part-<sha256 of the capture>.parquet   findings (the export columns
                                                                 but app, plus `capture`)
    DIR/_captures/<sha256>.json    the capture's summary: path, counters, apps (written last:
                                   the capture is done)
    DIR/_stores/<sha256>.db        the capture's findings store (requests, evidence, problems)
    DIR/.staging/                  work in progress of running tasks

pandas, pyarrow, Dask, DuckDB and Spark read DIR as a dataset (`pd.read_parquet(DIR)`,
`read_parquet('DIR/*/*.parquet', hive_partitioning = true)`): they skip names starting with
`_` or `.`. An app name is percent-encoded in its folder name, as pyarrow and Spark do.

Why it survives a worker dying: a task writes everything under `.staging/` first, then moves
each file into place with an atomic rename, its name fixed by the capture's content hash. A
retried task (or the same capture given twice) writes the same names again: a capture's
findings are there once or, while it is first published, not yet, never twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .merge import merge_store
from .pipeline import Stats
from .store import EXPORT_COLUMNS, Store

PARTITION = "app"
CAPTURES, STORES, STAGING = "_captures", "_stores", ".staging"
FLOAT_COLUMNS, INT_COLUMNS = {"timestamp"}, {"request_id"}


def parquet_schema() -> Any:
    """One schema for every file (a column that is empty in one capture is still a string)."""
    import pyarrow as pa

    def kind(name: str) -> Any:
        return pa.float64() if name in FLOAT_COLUMNS else pa.int64() if name in INT_COLUMNS else pa.string()

    return pa.schema([(name, kind(name)) for name in EXPORT_COLUMNS if name != PARTITION] + [("capture", pa.string())])


def stats_from_dict(data: dict[str, Any]) -> Stats:
    """`Stats.to_dict` read back."""
    stats = Stats()
    for name, value in data.items():
        if isinstance(getattr(stats, name, None), Counter):
            setattr(stats, name, Counter(value))
        elif hasattr(stats, name):
            setattr(stats, name, value)
    return stats


class Dataset:
    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def content_hash(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def summary(self, digest: str) -> dict[str, Any] | None:
        """The published summary of capture *digest*, or None when it is not (yet) published."""
        try:
            return json.loads((self.root / CAPTURES / f"{digest}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def staging(self, digest: str) -> Iterator[Path]:
        """A private folder for one attempt at one capture (its name says which process works
        in it), removed afterwards; left behind only by a process that died."""
        folder = self.root / STAGING / f"{digest[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, digest: str, path: str, staging: Path, stats: dict[str, Stats]) -> dict[str, Any]:
        """Write the capture's Parquet files from its store in *staging*, then move them, the
        store and the summary into place (the summary last)."""
        store = Store(staging / "capture.db")
        try:
            parts = self._write_parts(store, digest, staging)
        finally:
            store.close()
        (self.root / CAPTURES).mkdir(exist_ok=True)
        self._drop_stale_parts(digest, set(parts))
        for folder, staged in parts.items():
            (self.root / folder).mkdir(exist_ok=True)
            os.replace(staged, self.root / folder / staged.name)
        (self.root / STORES).mkdir(exist_ok=True)
        os.replace(staging / "capture.db", self.root / STORES / f"{digest}.db")
        summary = {"capture": path, "sha256": digest, "apps": sorted(unquote(f.split("=", 1)[1]) for f in parts),
                   "flows_read": sum(s.flows_read for s in stats.values()),
                   "findings": sum(s.findings for s in stats.values()),
                   "stats": {source: s.to_dict() for source, s in stats.items()}}
        self._replace(staging / "summary.json", json.dumps(summary), self.root / CAPTURES / f"{digest}.json")
        (self.root / CAPTURES / f"{digest}.publishing").unlink(missing_ok=True)
        return summary

    def _drop_stale_parts(self, digest: str, folders: set[str]) -> None:
        """An attempt that died while publishing may have put files in app folders this
        attempt does not write (its analysis ended differently, e.g. out of time): remove
        them. Each attempt names its folders in `<sha256>.publishing` before moving anything."""
        intent = self.root / CAPTURES / f"{digest}.publishing"
        try:
            earlier = set(json.loads(intent.read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError):
            earlier = set()
        for folder in earlier - folders:
            (self.root / folder / f"part-{digest}.parquet").unlink(missing_ok=True)
        self._replace(intent.with_name(intent.name + f".{os.getpid()}"), json.dumps(sorted(folders | earlier)), intent)

    @staticmethod
    def _replace(temporary: Path, text: str, target: Path) -> None:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)

    @staticmethod
    def _write_parts(store: Store, digest: str, staging: Path) -> dict[str, Path]:
        """{`app=<name>` folder: staged Parquet file} for each app in the capture's findings."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = store.findings_frame()
        schema = parquet_schema()
        parts: dict[str, Path] = {}
        for app, rows in frame.groupby(PARTITION, sort=True, dropna=False):
            folder = f"{PARTITION}={quote(str(app), safe='') if app else '__HIVE_DEFAULT_PARTITION__'}"
            rows = rows.drop(columns=[PARTITION]).assign(capture=digest)
            table = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
            (staging / folder).mkdir()
            parts[folder] = staging / folder / f"part-{digest}.parquet"
            pq.write_table(table, parts[folder])
        return parts

    def captures(self) -> list[dict[str, Any]]:
        """Summaries of the published captures, by capture path."""
        found = [json.loads(p.read_text(encoding="utf-8")) for p in (self.root / CAPTURES).glob("*.json")]
        return sorted(found, key=lambda s: (s["capture"], s["sha256"]))

    def into_store(self, store: Store) -> int:
        """Merge every published capture's store into *store* (the report's input) and save
        their counters; returns the captures merged."""
        summaries = self.captures()
        for summary in summaries:
            already = merge_store(store, self.root / STORES / f"{summary['sha256']}.db")
            for source, data in summary["stats"].items():
                stats = stats_from_dict(data)
                stats.already_stored += already.get(source, 0)
                store.set_stats(source, stats.to_dict())
        return len(summaries)
