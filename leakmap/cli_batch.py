"""`leakmap analyze --dask` and `leakmap report --dataset`: the command-line side of
leakmap/batch.py and leakmap/dataset.py (Dask and pyarrow are imported only here, on use)."""

from __future__ import annotations

from pathlib import Path

import click

from .batch import AnalysisOptions, analyse_to_dataset
from .cli_common import EXIT_NOTHING_READ, fail, open_store
from .store import Store

DASK_MISSING = "--dask needs Dask and pyarrow: pip install 'leakmap[dask]'"


def analyze_on_dask(address: str | None, dataset_dir: Path | None, captures: tuple[Path, ...],
                    options: AnalysisOptions) -> None:
    """Map the captures to the cluster's workers; one line per capture as it completes."""
    if not address or not dataset_dir:
        raise click.UsageError("--dask SCHEDULER and --dataset DIR go together")
    try:
        from distributed import Client
        import pyarrow.parquet  # the workers write Parquet
        del pyarrow
    except ImportError:
        fail(DASK_MISSING, 2)
    missing = [p for p in captures if not p.is_file()]
    for path in missing:
        click.echo(f"leakmap: {path}: {'no such file' if not path.exists() else 'not a file'}", err=True)
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as e:
        fail(f"cannot reach the Dask scheduler at {address}: {e}", 2)
    flows = failed = 0
    with client:
        for summary in analyse_to_dataset(client, [p for p in captures if p.is_file()], dataset_dir, options):
            if "error" in summary:
                failed += 1
                click.echo(f"leakmap: {summary['capture']}: not analysed: {summary['error']}", err=True)
                continue
            for line in summary.get("problems", []):
                click.echo(f"leakmap: {line}", err=True)
            flows += summary["flows_read"]
            note = " (already in the dataset)" if summary["cached"] else ""
            click.echo(f"{summary['capture']}: {summary['flows_read']} flows read, {summary['findings']} findings, "
                       f"apps: {', '.join(summary['apps']) or 'none'}{note}")
    click.echo(f"dataset: {dataset_dir} (report: leakmap report --dataset {dataset_dir} -o report.html)")
    if flows == 0:
        fail("no flow could be read from any input", EXIT_NOTHING_READ)


def store_from_dataset(dataset_dir: Path, path: Path) -> Store:
    """A findings store holding every capture published in the dataset (for the report)."""
    from .dataset import Dataset

    store = open_store(path)
    if Dataset(dataset_dir).into_store(store) == 0:
        store.close()
        fail(f"{dataset_dir}: no capture in this dataset (written by leakmap analyze --dask?)", EXIT_NOTHING_READ)
    return store
