"""The `leakmap` command line: analyze captures, rebuild reports, check rules, capture live.

Exit codes: 0 success (problems with some inputs are reported but do not fail the run);
2 wrong usage; 3 nothing could be read from any input; 4 `rules check` found invalid rules;
5 the findings store cannot be opened; 70 an internal error (a bug: please report it; set
LEAKMAP_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .decode import DEFAULT_MAX_BODY, DEFAULT_MAX_DECOMPRESSED, Limits
from .limits import DEFAULT_MAX_SECONDS
from .model import Problem
from .export import FORMATS, ExportError, export_findings, export_format, findings_frame, write_evidence_har
from .report import write_report
from .rules import bundled_rules_dir, load_file, load_rules, rule_files, RuleError
from .session import Session, parse_indicator, parse_keys
from .store import Store, StoreError

EXIT_INTERNAL = 70
EXIT_NOTHING_READ = 3
EXIT_BAD_RULES = 4
EXIT_BAD_STORE = 5

_rules_option = click.option(
    "--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Extra rule file or directory (repeatable). A rule with the same id as a bundled one replaces it.")
_redact_option = click.option("--redact", is_flag=True,
                              help="Mask values in the report and exports (first characters + short hash).")
_findings_option = click.option("--findings", "findings_path", type=click.Path(dir_okay=False, path_type=Path),
                                help="Also export the findings to this file (CSV, JSON or Parquet, see --format).")
_format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                              help="Findings export format [default: from the --findings suffix, else csv]. "
                                   "Parquet needs pyarrow (pip install 'leakmap[parquet]').")
_tracker_key_option = click.option(
    "--tracker-key", "tracker_keys", multiple=True, metavar="NAME=KEY", envvar="LEAKMAP_TRACKER_KEY",
    help="A key a rule needs to decode a tracker's obfuscated payloads, when you audit your own app and "
         "know it: applovin=<the app's AppLovin SDK key> (AndroidManifest meta-data applovin.sdk.key). "
         "Kept in memory only: never stored, logged or shown (values equal to it are masked). Repeatable; "
         "also read from LEAKMAP_TRACKER_KEY (space-separated), which keeps it out of the process list.")
_har_option = click.option("--evidence-har", "har_path", type=click.Path(dir_okay=False, path_type=Path),
                           help="Also write the tracker requests (request side, decoded) as a HAR 1.2 file; "
                                "--redact applies.")


def _fail(message: str, code: int) -> None:
    click.echo(f"leakmap: error: {message}", err=True)
    sys.exit(code)


def _open_store(path: Path) -> Store:
    try:
        return Store(path)
    except StoreError as e:
        _fail(str(e), EXIT_BAD_STORE)
        raise  # unreachable


def _check_export(path: Path | None, fmt: str | None) -> str | None:
    """Resolve the export format before any work, failing as wrong usage (exit 2) when it
    cannot be written, e.g. Parquet without pyarrow."""
    if path is None:
        return fmt
    try:
        return export_format(path, fmt)
    except ExportError as e:
        _fail(str(e), 2)
        raise  # unreachable


def _export(store: Store, path: Path | None, fmt: str | None, redact: bool, har: Path | None = None) -> None:
    if path is not None:
        frame = findings_frame(store, redact)
        fmt = _check_export(path, fmt)
        export_findings(frame, path, fmt or "csv")
        click.echo(f"findings: {len(frame)} rows written to {path} ({fmt})")
    if har is not None:
        n = write_evidence_har(store, har, redact)
        click.echo(f"evidence HAR: {n} tracker requests written to {har}")


EPILOG = """\b
Exit codes: 0 success (problems with some inputs are listed but do not fail the run),
2 wrong usage, 3 nothing could be read from any input, 4 invalid rules (rules check),
5 the findings store cannot be opened, 70 internal error (please report it)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EPILOG)
@click.version_option(__version__, prog_name="leakmap")
def main() -> None:
    """Show what apps and websites leak to analytics and advertising trackers.

    leakmap reads intercepted HTTP traffic (live through mitmproxy, or saved as mitmproxy
    dumps and HAR files), recognises requests to trackers with declarative rules, decodes
    their payloads and labels every uploaded field with a data type. The report shows, per
    app, which companies received which data, with the decoded request as proof.

    \b
    Typical use:
      leakmap analyze capture.mitm -o report.html --findings findings.csv
      leakmap capture --app "My App" -p 8080      (then proxy the device through port 8080)
      leakmap report --db capture.db -o report.html
    """


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="HTML report to write.")
@_findings_option
@_format_option
@_har_option
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the findings store (SQLite) here, to rebuild reports later; appended to if it exists.")
@click.option("--app", "label", default="",
              help="Label every request in these captures as sent by this app (one app per capture).")
@_rules_option
@click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules.")
@click.option("--honey", multiple=True, metavar="TYPE=VALUE",
              help="A value you typed into the app (e.g. email=alice@example.com), found in any request "
                   "plain, URL-, base64-, hex-encoded or hashed (md5, sha1, sha256). Repeatable.")
@_tracker_key_option
@_redact_option
@click.option("--max-body", default=DEFAULT_MAX_BODY, show_default=True, help="Bodies larger than this (bytes) are not decoded.")
@click.option("--max-decompressed", default=DEFAULT_MAX_DECOMPRESSED, show_default=True,
              help="Decompression stops at this many bytes (protects against zip bombs); the decode steps of "
                   "one request share this budget.")
@click.option("--max-seconds", default=DEFAULT_MAX_SECONDS, show_default=True, type=click.FloatRange(min=0.01),
              help="CPU seconds one request may take to decode; past that it is reported as "
                   "\"not decoded: took too long\" and the run goes on.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def analyze(captures: tuple[Path, ...], output: Path, findings_path: Path | None, fmt: str | None,
            har_path: Path | None, db: Path | None, label: str, rule_dirs: tuple[Path, ...], no_bundled_rules: bool,
            honey: tuple[str, ...], tracker_keys: tuple[str, ...], redact: bool, max_body: int, max_decompressed: int,
            max_seconds: float, quiet: bool) -> None:
    """Analyze saved captures (mitmproxy .mitm/.flow dumps or HAR files) and write a report.

    Every file is streamed; an unreadable entry is reported with where it is and skipped.
    The run fails (exit 3) only when nothing at all could be read.
    """
    try:
        indicators = [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None
    try:
        keys = parse_keys(tracker_keys)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tracker-key") from None
    limits = Limits(max_body=max_body, max_decompressed=max_decompressed, max_seconds=max_seconds)
    fmt = _check_export(findings_path, fmt)
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = _open_store(db or Path(tmp) / "findings.db")
        try:
            session = Session(store, rule_dirs, not no_bundled_rules, limits, indicators, label, keys)
        except ValueError as e:
            store.close()
            raise click.BadParameter(str(e), param_hint="--tracker-key") from None
        for problem in session.rule_problems:
            click.echo(f"leakmap: rule skipped: {problem}", err=True)
        _replay_all(session, captures, limits, label, quiet)
        flows_read = sum(s.flows_read for s in session.stats.values())
        _print_summary(session)
        if flows_read == 0:
            store.close()
            _fail("no flow could be read from any input", EXIT_NOTHING_READ)
        write_report(store, output, redact)
        click.echo(f"report: {output}")
        _export(store, findings_path, fmt, redact, har_path)
        store.close()


def _replay_all(session: Session, captures: tuple[Path, ...], limits: Limits, label: str, quiet: bool) -> None:
    total = sum(p.stat().st_size for p in captures if p.is_file())
    show = not quiet and sys.stderr.isatty() and total > 1_000_000

    def report_problem(problem: Problem) -> None:
        click.echo(f"\nleakmap: {problem}" if show else f"leakmap: {problem}", err=True)

    with click.progressbar(length=total, label="Analyzing", file=sys.stderr, hidden=not show,
                           show_pos=False, item_show_func=lambda _: None) as bar:
        done = 0
        for path in captures:
            if not path.is_file():
                problem = Problem(str(path), "", "no such file" if not path.exists() else "not a file")
                session.problem(problem)
                report_problem(problem)
                continue
            start = done

            def progress(position: int, start: int = start) -> None:
                bar.update(start + position - bar.pos)

            session.replay(path, limits, label, report_problem, progress)
            done += path.stat().st_size
            bar.update(done - bar.pos)


def _print_summary(session: Session) -> None:
    for source, s in session.stats.items():
        skipped = sum(s.skipped.values())
        not_decoded = sum(s.not_decoded.values())
        click.echo(f"{source}: {s.flows_read} flows read, {skipped} skipped, {s.tracker_requests} tracker requests "
                   f"({s.decoded} decoded, {not_decoded} not decoded), {s.findings} findings")
        for why, n in s.skipped.items():
            click.echo(f"  skipped {n}: {why}")
        for why, n in s.not_decoded.items():
            click.echo(f"  not decoded {n}: {why}")
    counts = session.store.summary_counts()
    if counts:
        click.echo("findings per app and tracker:")
        for app, tracker, n, types in counts:
            click.echo(f"  {app} → {tracker or '(other host)'}: {n} findings ({', '.join(sorted(types.split(',')))})")


@main.command()
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Findings store written by `analyze --db` or by the addon.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="HTML report to write.")
@_findings_option
@_format_option
@_har_option
@_redact_option
def report(db: Path, output: Path, findings_path: Path | None, fmt: str | None, har_path: Path | None,
           redact: bool) -> None:
    """Rebuild the HTML report (and exports) from a findings store."""
    fmt = _check_export(findings_path, fmt)
    store = _open_store(db)
    write_report(store, output, redact)
    click.echo(f"report: {output}")
    _export(store, findings_path, fmt, redact, har_path)
    store.close()


@main.group()
def rules() -> None:
    """List and validate tracker rules."""


@rules.command("list")
@_rules_option
def rules_list(rule_dirs: tuple[Path, ...]) -> None:
    """List the loaded rules: id, company, category, endpoints and hosts."""
    loaded, problems = load_rules(rule_dirs)
    for rule in sorted(loaded, key=lambda r: r.id):
        hosts = sorted({h for e in rule.endpoints for h in e.hosts})
        click.echo(f"{rule.id:<16} {rule.company:<28} {rule.category:<12} {len(rule.endpoints)} endpoints  "
                   f"{', '.join(hosts)}")
    for problem in problems:
        click.echo(f"leakmap: rule skipped: {problem}", err=True)


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def rules_check(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: the bundled rules). Prints file:line: what is wrong;
    exit 4 if any file is invalid."""
    files = rule_files(paths or (bundled_rules_dir(),))
    bad = 0
    for file in files:
        try:
            rule = load_file(file)
            click.echo(f"ok      {file} ({rule.id}, {len(rule.endpoints)} endpoints)")
        except RuleError as e:
            bad += 1
            click.echo(f"invalid {e}")
    click.echo(f"{len(files) - bad} valid, {bad} invalid")
    if bad:
        sys.exit(EXIT_BAD_RULES)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--app", "label", default="", help="Label all captured traffic as this app.")
@click.option("--db", type=click.Path(dir_okay=False), default="leakmap.db", show_default=True,
              help="Findings store, appended to as requests arrive.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="report.html", show_default=True,
              help="Report written when mitmproxy exits (and on the `leakmap.report` command).")
@click.option("--block", is_flag=True, help="Answer tracker requests locally: the data never reaches the tracker.")
@click.option("--rules", "rule_dirs", multiple=True, help="Extra rule directory (repeatable).")
@_tracker_key_option
@click.pass_context
def capture(ctx: click.Context, label: str, db: str, output: str, block: bool, rule_dirs: tuple[str, ...],
            tracker_keys: tuple[str, ...]) -> None:
    """Run mitmdump with the leakmap addon. Extra arguments go to mitmdump, for example
    `-p 8080`, `--mode wireguard`, `--mode local:Spotify` or `-w dump.mitm`."""
    from mitmproxy.tools.main import mitmdump

    from .addon import script_path

    args = ["-q", "-s", str(script_path()), "--set", f"leakmap_db={db}", "--set", f"leakmap_report={output}"]
    if label:
        args += ["--set", f"leakmap_app={label}"]
    if block:
        args += ["--set", "leakmap_block=true"]
    for directory in rule_dirs:
        args += ["--set", f"leakmap_rules={directory}"]
    try:
        parse_keys(tracker_keys)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tracker-key") from None
    for key in tracker_keys:  # mitmdump runs in this process: the keys stay in memory
        args += ["--set", f"leakmap_keys={key}"]
    click.echo(f"leakmap: capturing; findings go to {db}, the report to {output} on exit (Ctrl-C).", err=True)
    sys.exit(mitmdump([*args, *ctx.args]) or 0)


def entry() -> None:
    """Console entry point: a bug becomes one line on stderr, not a traceback, unless
    LEAKMAP_DEBUG is set."""
    try:
        main()
    except Exception as e:  # click handles its own errors and exits before this
        if os.environ.get("LEAKMAP_DEBUG"):
            raise
        click.echo(f"leakmap: internal error: {type(e).__name__}: {e} (set LEAKMAP_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    entry()
