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
from typing import TYPE_CHECKING

import click

from . import __version__
from .cli_audit import check, diff_command
from .cli_common import (EXIT_BAD_RULES, EXIT_BAD_STORE, EXIT_INTERNAL, EXIT_NOTHING_READ, check_export,
                         fail, findings_option, format_option, har_option, open_store, redact_option, replay_captures,
                         replay_limit_options, replay_limits, rules_option, show_secrets_option, store_faults_exit_5,
                         tracker_key_option, write_report_and_exports)
from .cli_explore import discover, ids_command, replay_command, rules_draft
from .cli_rules import rules_schema, types_command
from .limits import DEFAULT_MAX_BODY, DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_SECONDS, Limits

if TYPE_CHECKING:
    from .session import Session

# Start-up: `leakmap --help` and `leakmap addon-path` import only click and these light
# modules; each command imports the stages it runs (pandas, mitmproxy, jinja2, the rules'
# JSON Schema) when it runs (tests/test_startup.py).

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
@click.option("--no-report", is_flag=True,
              help="Write no HTML report: analyse into the store and write the exports (--findings, --har, --db) "
                   "only. Much faster on large captures; `leakmap report --db` builds the report later.")
@findings_option
@format_option
@har_option
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the findings store (SQLite) here, to rebuild reports later; appended to if it exists.")
@click.option("--app", "label", default="",
              help="Label every request in these captures as sent by this app (one app per capture).")
@rules_option
@click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules.")
@click.option("--honey", multiple=True, metavar="TYPE=VALUE",
              help="A value you typed into the app (e.g. email=alice@example.com), found in any request "
                   "plain, URL-, base64-, hex-encoded or hashed (md5, sha1, sha256). Repeatable.")
@tracker_key_option
@click.option("--first-party", multiple=True, metavar="DOMAIN",
              help="A domain of the app or site under test (e.g. acme.com): its requests are never counted as "
                   "third parties. Repeatable. Without it, leakmap learns the first party from page loads, "
                   "package ids and app names (README: Third parties without a rule).")
@redact_option
@show_secrets_option
@click.option("--max-body", default=DEFAULT_MAX_BODY, show_default=True, help="Bodies larger than this (bytes) are not decoded.")
@click.option("--max-decompressed", default=DEFAULT_MAX_DECOMPRESSED, show_default=True,
              help="Decompression stops at this many bytes (protects against zip bombs); the decode steps of "
                   "one request share this budget.")
@click.option("--max-seconds", default=DEFAULT_MAX_SECONDS, show_default=True, type=click.FloatRange(min=0.01),
              help="CPU seconds one request may take to decode; past that it is reported as "
                   "\"not decoded: took too long\" and the run goes on.")
@replay_limit_options
@click.option("--keylog", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TLS key log (SSLKEYLOGFILE) that decrypts HTTPS in pcap/pcapng captures (read with tshark); "
                   "keys embedded in a pcapng are used without it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Use this many worker processes: several capture files are analysed at once, a single "
                   "capture by chunks of its requests. The findings are the same as with --jobs 1. "
                   "[default: one per core when the captures total over 32 MB, else 1]")
@click.option("--dask", "dask_address", metavar="SCHEDULER",
              help="Analyse on a Dask cluster (tcp://host:8786; pip install 'leakmap[dask]') and write the "
                   "findings as a Parquet dataset into --dataset, instead of a store and report. The workers "
                   "must be able to read the capture paths and write the dataset folder.")
@click.option("--dataset", "dataset_dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --dask: the folder of the Parquet dataset, partitioned by app; captures it already "
                   "holds are not analysed again. Build the report with `leakmap report --dataset DIR`.")
@store_faults_exit_5
def analyze(captures: tuple[Path, ...], output: Path, findings_path: Path | None, fmt: str | None,
            har_path: Path | None, db: Path | None, label: str, rule_dirs: tuple[Path, ...], no_bundled_rules: bool,
            honey: tuple[str, ...], tracker_keys: tuple[str, ...], first_party: tuple[str, ...], redact: bool,
            show_secrets: bool, max_body: int, max_decompressed: int, max_seconds: float, quiet: bool,
            keylog: Path | None = None, jobs: int | None = None, dask_address: str | None = None,
            dataset_dir: Path | None = None, no_report: bool = False, **replay_caps: int) -> None:
    """Analyze saved captures (mitmproxy .mitm/.flow dumps, HAR files, or pcap/pcapng packet
    captures with TLS keys) and write a report (unless --no-report).

    Every file is streamed; an unreadable entry is reported with where it is and skipped.
    The run fails (exit 3) only when nothing at all could be read.
    """
    from .session import Session, parse_indicator, parse_keys

    try:
        indicators = [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None
    try:
        keys = parse_keys(tracker_keys)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tracker-key") from None
    limits = Limits(max_body=max_body, max_decompressed=max_decompressed, max_seconds=max_seconds)
    from .batch import AnalysisOptions

    options = AnalysisOptions(tuple(rule_dirs), not no_bundled_rules, limits, tuple(indicators), label,
                              tuple(keys.items()), tuple(first_party), replay_limits(replay_caps), keylog)
    if dask_address or dataset_dir:
        from .cli_batch import analyze_on_dask

        analyze_on_dask(dask_address, dataset_dir, captures, options)
        return
    fmt = check_export(findings_path, fmt)
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = open_store(db or Path(tmp) / "findings.db")
        try:
            session = Session(store, rule_dirs, not no_bundled_rules, limits, indicators, label, keys,
                              first_party=first_party, replay_limits=replay_limits(replay_caps))
        except ValueError as e:
            store.close()
            raise click.BadParameter(str(e), param_hint="--tracker-key") from None
        for problem in session.rule_problems:
            click.echo(f"leakmap: rule skipped: {problem}", err=True)
        replay_captures(session, captures, limits, label, quiet, keylog, jobs, options)
        flows_read = sum(s.flows_read for s in session.stats.values())
        _print_summary(session)
        if flows_read == 0:
            store.close()
            fail("no flow could be read from any input", EXIT_NOTHING_READ)
        write_report_and_exports(store, None if no_report else output, findings_path, fmt, redact, har_path,
                                 show_secrets)
        store.close()


def _print_summary(session: Session) -> None:
    for source, s in session.stats.items():
        skipped = sum(s.skipped.values())
        not_decoded = sum(s.not_decoded.values())
        click.echo(f"{source}: {s.flows_read} flows read, {skipped} skipped, {s.tracker_requests} tracker requests "
                   f"({s.decoded} decoded, {not_decoded} not decoded), {s.findings} findings")
        if s.already_stored:
            click.echo(f"  already in the store, not added again: {s.already_stored} requests")
        for why, n in s.skipped.items():
            click.echo(f"  skipped {n}: {why}")
        for why, n in s.not_decoded.items():
            click.echo(f"  not decoded {n}: {why}")
        if s.other_requests_with_findings or s.generic_skipped:
            click.echo(f"  third parties without a rule: {s.other_requests_with_findings} requests decoded generically; "
                       "not decoded: " + (", ".join(f"{n} {why}" for why, n in sorted(s.generic_skipped.items())) or "none"))
    counts = session.store.summary_counts()
    if counts:
        click.echo("findings per app and tracker:")
        for app, tracker, n, types in counts:
            click.echo(f"  {app} → {tracker or '(other host)'}: {n} findings ({', '.join(sorted(types.split(',')))})")


@main.command()
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Findings store written by `analyze --db` or by the addon.")
@click.option("--dataset", "dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Instead of --db: a Parquet dataset written by `analyze --dask`.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="HTML report to write.")
@findings_option
@format_option
@har_option
@redact_option
@store_faults_exit_5
@show_secrets_option
def report(db: Path | None, dataset_dir: Path | None, output: Path, findings_path: Path | None, fmt: str | None,
           har_path: Path | None, redact: bool, show_secrets: bool) -> None:
    """Rebuild the HTML report (and exports) from a findings store or a Parquet dataset."""
    if (db is None) == (dataset_dir is None):
        raise click.UsageError("give either --db STORE or --dataset DIR")
    fmt = check_export(findings_path, fmt)
    from .cli_batch import store_from_dataset

    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = open_store(db) if db else store_from_dataset(dataset_dir, Path(tmp) / "findings.db")
        write_report_and_exports(store, output, findings_path, fmt, redact, har_path, show_secrets)
        store.close()


@main.group()
def rules() -> None:
    """List and validate tracker rules."""


@rules.command("list")
@rules_option
def rules_list(rule_dirs: tuple[Path, ...]) -> None:
    """List the loaded rules: id, company, category, endpoints and hosts."""
    from .rules import load_rules

    loaded, problems = load_rules(rule_dirs)
    for rule in sorted(loaded, key=lambda r: r.id):
        hosts = sorted({h for e in rule.endpoints for h in e.hosts})
        if any(not e.hosts for e in rule.endpoints):
            hosts.append("(any host, by shape)")
        statuses = sorted({e.status for e in rule.endpoints} - {"stable"})
        status = f"  [{', '.join(f'{sum(e.status == s for e in rule.endpoints)} {s}' for s in statuses)}]" \
            if statuses else ""
        click.echo(f"{rule.id:<16} {rule.company:<28} {rule.category:<12} {len(rule.endpoints)} endpoints  "
                   f"{', '.join(hosts)}{status}")
    for problem in problems:
        click.echo(f"leakmap: rule skipped: {problem}", err=True)


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def rules_check(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: the bundled rules). Prints every error of a file, each
    as file:line: what is wrong; exit 4 if any file is invalid."""
    from .rules import RuleError, bundled_rules_dir, load_file, rule_files

    files = rule_files(paths or (bundled_rules_dir(),))
    bad = 0
    for file in files:
        try:
            rule = load_file(file)
            click.echo(f"ok      {file} ({rule.id}, {len(rule.endpoints)} endpoints)")
        except RuleError as e:
            bad += 1
            for error in e.errors:
                click.echo(f"invalid {error}")
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
@click.option("--first-party", multiple=True, metavar="DOMAIN",
              help="A domain of the app or site under test: never counted as a third party. Repeatable.")
@tracker_key_option
@click.option("--lan", is_flag=True,
              help="Listen on all network interfaces (or where --listen-host says), for a phone or another "
                   "machine (default: this machine only, 127.0.0.1 and ::1). Generates a proxy user and "
                   "password unless you pass --proxyauth or --no-auth; WireGuard mode is protected by its keys.")
@click.option("--no-auth", is_flag=True,
              help="With --lan (or --listen-host): no proxy password. Anyone who can reach this machine can "
                   "then use the proxy, and their traffic lands in your findings.")
@click.option("-q", "--quiet", is_flag=True,
              help="No console: no listen addresses, device setup or line per tracker request.")
@click.pass_context
def capture(ctx: click.Context, label: str, db: str, output: str, block: bool, rule_dirs: tuple[str, ...],
            first_party: tuple[str, ...], tracker_keys: tuple[str, ...], lan: bool, no_auth: bool,
            quiet: bool) -> None:
    """Run mitmdump with the leakmap addon. Extra arguments go to mitmdump, for example
    `-p 8080`, `--mode wireguard`, `--mode local:Spotify`, `--listen-host`, `--proxyauth` or `-w dump.mitm`.

    Listens on this machine only unless you pass --lan; every file written (store, report,
    dumps) is readable by you only."""
    from mitmproxy.tools.main import mitmdump

    from .addon import script_path
    from .listen_plan import plan
    from .session import parse_keys

    listening = plan(ctx.args, lan, no_auth)
    args = ["-q", "-s", str(script_path()), "--set", f"leakmap_db={db}", "--set", f"leakmap_report={output}",
            "--set", f"leakmap_announce={'false' if quiet else 'true'}"]
    if label:
        args += ["--set", f"leakmap_app={label}"]
    if block:
        args += ["--set", "leakmap_block=true"]
    for directory in rule_dirs:
        args += ["--set", f"leakmap_rules={directory}"]
    for domain in first_party:
        args += ["--set", f"leakmap_first_party={domain}"]
    try:
        parse_keys(tracker_keys)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tracker-key") from None
    for key in tracker_keys:  # mitmdump runs in this process: the keys stay in memory
        args += ["--set", f"leakmap_keys={key}"]
    click.echo(f"leakmap: capturing; findings go to {db}, the report to {output} on exit (Ctrl-C).", err=True)
    for note in listening.notes:
        click.echo(f"leakmap: {note}", err=True)
    os.umask(0o077)  # what mitmdump writes for us (a -w dump too) is the user's only
    code = mitmdump([*args, *listening.args]) or 0
    click.echo(f"leakmap: findings in {db}, report in {output}. Sharing it? Rebuild it with values masked: "
               f"leakmap report --db {db} --redact -o report-redacted.html", err=True)
    sys.exit(code)


@main.command("addon-path")
def addon_path() -> None:
    """Print the path of the mitmproxy addon script, for your own mitmdump or mitmweb:

    \b
      mitmdump -s "$(leakmap addon-path)" --set leakmap_db=capture.db
      mitmweb  -s "$(leakmap addon-path)" --set leakmap_app="Acme Notes"
    """
    from .addon import script_path

    click.echo(str(script_path()))


for command in (diff_command, check, replay_command, ids_command, discover):
    main.add_command(command)
rules.add_command(rules_draft)
rules.add_command(rules_schema)
main.add_command(types_command)


def entry() -> None:
    """Console entry point: a bug becomes one line on stderr, not a traceback, unless
    LEAKMAP_DEBUG is set."""
    try:
        main()
    except Exception as e:  # click handles its own errors and exits before this
        from .store import StoreError

        if isinstance(e, StoreError):  # a command that does not handle store faults itself
            fail(str(e), EXIT_BAD_STORE)
        if os.environ.get("LEAKMAP_DEBUG"):
            raise
        click.echo(f"leakmap: internal error: {type(e).__name__}: {e} (set LEAKMAP_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    entry()
