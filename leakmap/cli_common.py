"""What the `leakmap` commands share: exit codes, options, opening stores, analysing captures.

The commands live in cli.py (analyze, report, capture, rules, addon-path), cli_audit.py (diff,
check) and cli_explore.py (replay, ids, discover, rules draft); each option and each way of
turning captures into a findings store is defined once here, so every command spells and
behaves the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .limits import Limits
from .model import Problem
from .replay_recording import ReplayLimits

if TYPE_CHECKING:
    from .session import Session
    from .store import Store

# `leakmap --help` imports the command modules: what they import at module level stays light
# (no pandas, mitmproxy, jinja2, jsonschema); each command imports what it uses when it runs.
# export.FORMATS, spelled here so that defining --format does not import the exporters
# (tests/test_startup.py checks the two agree).
FORMATS = ("csv", "json", "parquet")

EXIT_INTERNAL = 70
EXIT_NOTHING_READ = 3
EXIT_BAD_RULES = 4
EXIT_BAD_STORE = 5

rules_option = click.option(
    "--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Extra rule file or directory (repeatable). A rule with the same id as a bundled one replaces it.")
redact_option = click.option("--redact", is_flag=True,
                              help="Mask values in the report and exports (first characters + short hash).")
findings_option = click.option("--findings", "findings_path", type=click.Path(dir_okay=False, path_type=Path),
                                help="Also export the findings to this file (CSV, JSON or Parquet, see --format).")
format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                              help="Findings export format [default: from the --findings suffix, else csv]. "
                                   "Parquet needs pyarrow (pip install 'leakmap[parquet]').")
tracker_key_option = click.option(
    "--tracker-key", "tracker_keys", multiple=True, metavar="NAME=KEY", envvar="LEAKMAP_TRACKER_KEY",
    help="A key a rule needs to decode a tracker's obfuscated payloads, when you audit your own app and "
         "know it: applovin=<the app's AppLovin SDK key> (AndroidManifest meta-data applovin.sdk.key). "
         "Kept in memory only: never stored, logged or shown (values equal to it are masked). Repeatable; "
         "also read from LEAKMAP_TRACKER_KEY (space-separated), which keeps it out of the process list.")
show_secrets_option = click.option(
    "--show-secrets", is_flag=True,
    help="Show captured passwords, API keys and tokens in full. By default every output shows them as a "
         "short prefix, their length and a hash (enough to compare, not to use).")
har_option = click.option("--evidence-har", "har_path", type=click.Path(dir_okay=False, path_type=Path),
                           help="Also write the tracker requests (request side, decoded) as a HAR 1.2 file; "
                                "--redact applies.")


def fail(message: str, code: int) -> None:
    click.echo(f"leakmap: error: {message}", err=True)
    sys.exit(code)


def store_faults_exit_5(command: Callable[..., None]) -> Callable[..., None]:
    """A findings store that fails mid-run (corrupt page, full disk, read-only file) ends the
    command with exit 5 and the store's one-line reason, like one that cannot be opened."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from .store import StoreError

        try:
            command(*args, **kwargs)
        except StoreError as e:
            fail(str(e), EXIT_BAD_STORE)
    return run


def open_store(path: Path) -> Store:
    from .store import Store, StoreError

    try:
        return Store(path)
    except StoreError as e:
        fail(str(e), EXIT_BAD_STORE)
        raise  # unreachable


def check_export(path: Path | None, fmt: str | None) -> str | None:
    """Resolve the export format before any work, failing as wrong usage (exit 2) when it
    cannot be written, e.g. Parquet without pyarrow."""
    if path is None:
        return fmt
    from .export import ExportError, export_format

    try:
        return export_format(path, fmt)
    except ExportError as e:
        fail(str(e), 2)
        raise  # unreachable


def export_outputs(store: Store, path: Path | None, fmt: str | None, redact: bool, har: Path | None = None,
                   show_secrets: bool = False, beside: Any = None) -> None:
    """Write the findings export (CSV in parts on every core) and the evidence HAR. *beside*:
    an export_parts.Child already writing the findings beside the report."""
    from .export import export_findings, write_evidence_har
    from .export_parts import export_csv_in_parts

    if path is not None:
        fmt = check_export(path, fmt)
        if beside is not None:
            rows = beside.result()
        elif (fmt or "csv") == "csv":
            rows = export_csv_in_parts(store, path, redact, show_secrets, cores())
        else:
            rows = export_findings(store, path, fmt or "csv", redact, show_secrets)
        click.echo(f"findings: {rows} rows written to {path} ({fmt})")
    if har is not None:
        n = write_evidence_har(store, har, redact, show_secrets)
        click.echo(f"evidence HAR: {n} tracker requests written to {har}")


def write_report_and_exports(store: Store, output: Path | None, path: Path | None, fmt: str | None, redact: bool,
                             har: Path | None = None, show_secrets: bool = False) -> None:
    """The HTML report (none when *output* is None), then the exports; the findings export
    is written by another process while this one builds the report (export_parts.py)."""
    beside = None
    if output is not None:
        from .export_parts import export_beside
        from .report import write_report  # not imported for --no-report (jinja2, the report's queries)

        beside = export_beside(store, path, fmt or "csv", redact, show_secrets) if path else None
        write_report(store, output, redact, show_secrets=show_secrets)
        click.echo(f"report: {output}")
    export_outputs(store, path, fmt, redact, har, show_secrets, beside)


def replay_limit_options(command):  # type: ignore[no-untyped-def]
    """--replay-max-events/-nodes/-depth/-bytes: per-recording caps (replay.ReplayLimits)."""
    defaults = ReplayLimits()
    for name, what in (("bytes", "decompressed bytes of events"), ("depth", "levels of nesting in the page tree"),
                       ("nodes", "page nodes"), ("events", "events")):
        command = click.option(f"--replay-max-{name}", f"replay_max_{name}", type=click.IntRange(1),
                               default=getattr(defaults, f"max_{name}"), show_default=True,
                               help=f"Session recordings: read at most this many {what} per recording; "
                                    "past it, what was read is kept and a problem line says so.")(command)
    return command


def replay_limits(caps: dict[str, int]) -> ReplayLimits:
    return ReplayLimits(**{key[len("replay_"):]: value for key, value in caps.items() if key.startswith("replay_max_")})


AUTO_JOBS_BYTES = 32 * 1024 * 1024  # smaller captures take seconds: worker processes would not pay off


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def auto_jobs(total_bytes: int) -> int:
    """--jobs when not given: one worker per core (at most 8) for captures of over
    AUTO_JOBS_BYTES in all."""
    return 1 if total_bytes < AUTO_JOBS_BYTES else min(cores(), 8)


def replay_captures(session: Session, captures: tuple[Path, ...], limits: Limits, label: str, quiet: bool,
                    keylog: Path | None = None, jobs: int | None = 1, options: Any = None) -> None:
    """Analyse every capture file into the session's store, with a progress bar for long
    work on a terminal; a file given twice is analysed once. *keylog*: TLS keys for pcap files.
    *jobs* > 1: in that many processes, several captures one per worker (leakmap/batch.py;
    *options*: its AnalysisOptions), one capture by chunks of requests (leakmap/parallel.py)."""
    total = sum(p.stat().st_size for p in captures if p.is_file())
    jobs = jobs or auto_jobs(total)
    show = not quiet and sys.stderr.isatty() and total > 1_000_000

    def report_line(line: str) -> None:
        click.echo(f"\nleakmap: {line}" if show else f"leakmap: {line}", err=True)

    files: dict[Path, Path] = {}  # resolved → as given
    for path in captures:
        if path.is_file() and path.resolve() in files:
            click.echo(f"leakmap: {path}: given twice, analysed once", err=True)
        elif not path.is_file():
            problem = Problem(str(path), "", "no such file" if not path.exists() else "not a file")
            session.problem(problem)
            report_line(str(problem))
        else:
            files[path.resolve()] = path
    with click.progressbar(length=total, label="Analyzing", file=sys.stderr, hidden=not show,
                           show_pos=False, item_show_func=lambda _: None) as bar:
        if jobs > 1 and len(files) > 1:
            from .batch import replay_in_processes

            replay_in_processes(session, options, list(files.values()), jobs, report_line, lambda done: bar.update(done - bar.pos))
            return
        done = 0
        for path in files.values():
            start = done

            def progress(position: int, start: int = start) -> None:
                bar.update(start + position - bar.pos)

            session.replay(path, limits, label, lambda problem: report_line(str(problem)), progress, keylog,
                           jobs=jobs)
            done += path.stat().st_size
            bar.update(done - bar.pos)


def audit_options(command):
    """How `diff` and `check` analyse capture files (a findings store is read as it is)."""
    options = [
        click.option("--app", "label", default="", help="Label every request of the captures as sent by this app."),
        rules_option,
        click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules."),
        click.option("--honey", multiple=True, metavar="TYPE=VALUE", help="A value you typed into the app, found in "
                     "any request plain, encoded or hashed (as for analyze). Repeatable."),
        tracker_key_option,
        click.option("--show-values", is_flag=True, help="Show captured values and URLs in full "
                     "(default: redacted to their first characters and a short hash, still comparable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def is_store(path: Path) -> bool:
    """A findings store (SQLite), told from a capture file by its first bytes."""
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


@contextlib.contextmanager
def findings_store(paths: Sequence[Path], db: Path | None, label: str, rule_dirs: tuple[Path, ...],
                    no_bundled_rules: bool, honey: tuple[str, ...], tracker_keys: tuple[str, ...]) -> Iterator[Store]:
    """The findings of PATHS: one findings store as it is, or capture files analysed (quietly,
    problems on stderr) into *db* or a temporary store that is deleted afterwards."""
    from .session import Session, parse_indicator, parse_keys

    stores = [p for p in paths if is_store(p)]
    if stores and (len(paths) > 1 or db is not None):
        raise click.UsageError(f"{stores[0]} is a findings store: give one store, or capture files, not both")
    try:
        indicators, keys = [parse_indicator(h) for h in honey], parse_keys(tracker_keys)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if db is not None and not paths:
        if not db.is_file():
            raise click.UsageError(f"{db}: no such findings store")
        stores = [db]
    if stores:
        store = open_store(stores[0])
        try:
            yield store
        finally:
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = open_store(db or Path(tmp) / "findings.db")
        try:
            try:
                session = Session(store, rule_dirs, not no_bundled_rules, Limits(), indicators, label, keys)
            except ValueError as e:  # a tracker key no rule uses
                raise click.UsageError(str(e)) from None
            for problem in session.rule_problems:
                click.echo(f"leakmap: rule skipped: {problem}", err=True)
            replay_captures(session, tuple(paths), Limits(), label, quiet=True)
            if paths and sum(s.flows_read for s in session.stats.values()) == 0:
                fail(f"no flow could be read from {', '.join(map(str, paths))}", EXIT_NOTHING_READ)
            yield store
        finally:
            store.close()


honey_option = click.option("--honey", multiple=True, metavar="TYPE=VALUE",
                             help="A value you typed into the app (e.g. email=alice@example.com), found however "
                                  "encoded or hashed. Repeatable.")
no_bundled_option = click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules.")


def parse_honey(honey: tuple[str, ...]) -> list:
    from .session import parse_indicator

    try:
        return [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None


def emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"written to {output}", err=True)


def loaded_rules(rule_dirs: tuple[Path, ...], no_bundled_rules: bool) -> list:
    from .rules import load_rules

    loaded, problems = load_rules(rule_dirs, bundled=not no_bundled_rules)
    for problem in problems:
        click.echo(f"leakmap: rule skipped: {problem}", err=True)
    return loaded
