"""The `leakmap` command line: analyze captures, rebuild reports, check rules, capture live.

Exit codes: 0 success (problems with some inputs are reported but do not fail the run);
2 wrong usage; 3 nothing could be read from any input; 4 `rules check` found invalid rules;
5 the findings store cannot be opened; 70 an internal error (a bug: please report it; set
LEAKMAP_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from . import diff as diffs
from . import policy as policies
from . import policy_formats
from .decode import DEFAULT_MAX_BODY, DEFAULT_MAX_DECOMPRESSED, Limits
from .model import Problem
from .export import FORMATS, ExportError, export_findings, export_format, findings_frame, write_evidence_har
from .replay import ReplayLimits
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
_show_secrets_option = click.option(
    "--show-secrets", is_flag=True,
    help="Show captured passwords, API keys and tokens in full. By default every output shows them as a "
         "short prefix, their length and a hash (enough to compare, not to use).")
_har_option = click.option("--evidence-har", "har_path", type=click.Path(dir_okay=False, path_type=Path),
                           help="Also write the tracker requests (request side, decoded) as a HAR 1.2 file; "
                                "--redact applies.")


def _fail(message: str, code: int) -> None:
    click.echo(f"leakmap: error: {message}", err=True)
    sys.exit(code)


def _store_faults_exit_5(command: Callable[..., None]) -> Callable[..., None]:
    """A findings store that fails mid-run (corrupt page, full disk, read-only file) ends the
    command with exit 5 and the store's one-line reason, like one that cannot be opened."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except StoreError as e:
            _fail(str(e), EXIT_BAD_STORE)
    return run


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


def _export(store: Store, path: Path | None, fmt: str | None, redact: bool, har: Path | None = None,
            show_secrets: bool = False) -> None:
    if path is not None:
        frame = findings_frame(store, redact, show_secrets)
        fmt = _check_export(path, fmt)
        export_findings(frame, path, fmt or "csv")
        click.echo(f"findings: {len(frame)} rows written to {path} ({fmt})")
    if har is not None:
        n = write_evidence_har(store, har, redact, show_secrets)
        click.echo(f"evidence HAR: {n} tracker requests written to {har}")


def _replay_limit_options(command):  # type: ignore[no-untyped-def]
    """--replay-max-events/-nodes/-depth/-bytes: per-recording caps (replay.ReplayLimits)."""
    defaults = ReplayLimits()
    for name, what in (("bytes", "decompressed bytes of events"), ("depth", "levels of nesting in the page tree"),
                       ("nodes", "page nodes"), ("events", "events")):
        command = click.option(f"--replay-max-{name}", f"replay_max_{name}", type=click.IntRange(1),
                               default=getattr(defaults, f"max_{name}"), show_default=True,
                               help=f"Session recordings: read at most this many {what} per recording; "
                                    "past it, what was read is kept and a problem line says so.")(command)
    return command


def _replay_limits(caps: dict[str, int]) -> ReplayLimits:
    return ReplayLimits(**{key[len("replay_"):]: value for key, value in caps.items() if key.startswith("replay_max_")})


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
@click.option("--first-party", multiple=True, metavar="DOMAIN",
              help="A domain of the app or site under test (e.g. acme.com): its requests are never counted as "
                   "third parties. Repeatable. Without it, leakmap learns the first party from page loads, "
                   "package ids and app names (README: Third parties without a rule).")
@_redact_option
@_show_secrets_option
@click.option("--max-body", default=DEFAULT_MAX_BODY, show_default=True, help="Bodies larger than this (bytes) are not decoded.")
@click.option("--max-decompressed", default=DEFAULT_MAX_DECOMPRESSED, show_default=True,
              help="Decompression stops at this many bytes (protects against zip bombs).")
@_replay_limit_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_store_faults_exit_5
def analyze(captures: tuple[Path, ...], output: Path, findings_path: Path | None, fmt: str | None,
            har_path: Path | None, db: Path | None, label: str, rule_dirs: tuple[Path, ...], no_bundled_rules: bool,
            honey: tuple[str, ...], tracker_keys: tuple[str, ...], first_party: tuple[str, ...], redact: bool,
            show_secrets: bool, max_body: int, max_decompressed: int, quiet: bool, **replay_caps: int) -> None:
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
    limits = Limits(max_body=max_body, max_decompressed=max_decompressed)
    fmt = _check_export(findings_path, fmt)
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = _open_store(db or Path(tmp) / "findings.db")
        try:
            session = Session(store, rule_dirs, not no_bundled_rules, limits, indicators, label, keys,
                              first_party=first_party, replay_limits=_replay_limits(replay_caps))
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
        write_report(store, output, redact, show_secrets=show_secrets)
        click.echo(f"report: {output}")
        _export(store, findings_path, fmt, redact, har_path, show_secrets)
        store.close()


def _replay_all(session: Session, captures: tuple[Path, ...], limits: Limits, label: str, quiet: bool) -> None:
    total = sum(p.stat().st_size for p in captures if p.is_file())
    show = not quiet and sys.stderr.isatty() and total > 1_000_000

    def report_problem(problem: Problem) -> None:
        click.echo(f"\nleakmap: {problem}" if show else f"leakmap: {problem}", err=True)

    with click.progressbar(length=total, label="Analyzing", file=sys.stderr, hidden=not show,
                           show_pos=False, item_show_func=lambda _: None) as bar:
        done = 0
        seen: set[Path] = set()
        for path in captures:
            if path.is_file() and path.resolve() in seen:
                click.echo(f"leakmap: {path}: given twice, analysed once", err=True)
                continue
            seen.add(path.resolve())
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
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Findings store written by `analyze --db` or by the addon.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="HTML report to write.")
@_findings_option
@_format_option
@_har_option
@_redact_option
@_store_faults_exit_5
@_show_secrets_option
def report(db: Path, output: Path, findings_path: Path | None, fmt: str | None, har_path: Path | None,
           redact: bool, show_secrets: bool) -> None:
    """Rebuild the HTML report (and exports) from a findings store."""
    fmt = _check_export(findings_path, fmt)
    store = _open_store(db)
    write_report(store, output, redact, show_secrets=show_secrets)
    click.echo(f"report: {output}")
    _export(store, findings_path, fmt, redact, har_path, show_secrets)
    store.close()


@main.command("replay")
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: an array with one object per recording (receiver, app, replay_id, pages, inputs, text, "
                   "clicks, images, findings, problems).")
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write one standalone HTML page per recording into this directory.")
@click.option("--app", "label", default="", help="Label every request in these captures as sent by this app.")
@_rules_option
@click.option("--honey", multiple=True, metavar="TYPE=VALUE", help="A value you typed, found in any encoding.")
@_show_secrets_option
@_replay_limit_options
def replay_command(captures: tuple[Path, ...], out_format: str, html_dir: Path | None, label: str,
                   rule_dirs: tuple[Path, ...], honey: tuple[str, ...], show_secrets: bool, **replay_caps: int) -> None:
    """Reveal session recordings: what the user saw, typed and clicked.

    Reads captures like `analyze` and rebuilds every session-replay recording found in them
    (rrweb event streams sent to any host: PostHog, Mixpanel, Amplitude, Sentry, self-hosted
    rrweb; PostHog's mobile wireframes and screenshots): pages shown, visible text, each value typed with its
    field and whether the recorder masked it, clicks, images, and the personal values found.
    Passwords and keys are shown as prefix, length and hash unless --show-secrets.
    """
    from .credentials import SECRET_TYPES, SecretHider
    from .replay_report import recording_view, secret_values, write_pages

    try:
        indicators = [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = _open_store(Path(tmp) / "findings.db")
        session = Session(store, rule_dirs, True, limits, indicators, label, replay_limits=_replay_limits(replay_caps))
        _replay_all(session, captures, limits, label, quiet=True)
        flows_read = sum(st.flows_read for st in session.stats.values())
        found = store.findings_frame()
        secrets = list(found.loc[found["data_type"].isin(SECRET_TYPES), "value"])
        summaries = session.analyzer.replays.summaries()
        for problem in store.problems():
            if problem.where.startswith("session recording"):
                click.echo(f"leakmap: {problem}", err=True)
        store.close()
    if flows_read == 0:
        _fail("no flow could be read from any input", EXIT_NOTHING_READ)
    hider = SecretHider(secrets + secret_values(summaries), show_secrets)
    if html_dir is not None:
        pages = write_pages([recording_view(s, hider, None, f"rec-{n}") for n, s in enumerate(summaries, 1)], html_dir)
        click.echo(f"{len(pages)} recording page(s) written to {html_dir}", err=out_format == "json")
    if out_format == "json":
        click.echo(hider.text(json.dumps([_replay_json(s) for s in summaries], ensure_ascii=False, indent=1)))
        return
    for s in summaries:
        click.echo(hider.text(_replay_text(s)))
    if not summaries:
        click.echo("no session recording found")


def _replay_json(summary: dict) -> dict:
    """A recording for `--format json`: everything but the pictures themselves."""
    out = {k: v for k, v in summary.items() if k not in ("stills", "text_items", "images")}
    out["images"] = {"count": summary["images"]["count"], "sizes": summary["images"]["sizes"]}
    out["stills"] = len(summary["stills"])
    return out


def _replay_text(s: dict) -> str:
    lines = [f"{s['receiver']} · {s['app'] or 'unattributed'} · recording {s['replay_id']} "
             f"({s['first']} → {s['last']}, {s['requests']} request(s), {s['events']} events)"]
    lines += [f"  page   {p['time']}  {p['url']}" for p in s["pages"]]
    lines += [f"  input  {i['time']}  {i['selector']} ({i['type']}): {i['value']!r}"
              + ("  [masked by the recorder]" if i["masked"] else "") for i in s["inputs"]]
    lines += [f"  click  {c['time']}  {c['target']}: {c['text']}" for c in s["clicks"]]
    lines += [f"  text   {t}" for t in s["text"][:200]]
    lines += [f"  image  {i['type']} {i['width']}x{i['height']} {i['bytes']} bytes" for i in s["images"]["sizes"]]
    lines += [f"  FOUND  {f['data_type']}: {f['value']} ({f['how']}, at {f['time']})" for f in s["findings"]]
    lines += [f"  problem: {p}" for p in s["problems"]]
    return "\n".join(lines)


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
@click.option("--first-party", multiple=True, metavar="DOMAIN",
              help="A domain of the app or site under test: never counted as a third party. Repeatable.")
@_tracker_key_option
@click.option("--lan", is_flag=True,
              help="Listen on all network interfaces (or where --listen-host says), for a phone or another "
                   "machine (default: this machine only, 127.0.0.1 and ::1). Generates a proxy user and "
                   "password unless you pass --proxyauth or --no-auth; WireGuard mode is protected by its keys.")
@click.option("--no-auth", is_flag=True,
              help="With --lan (or --listen-host): no proxy password. Anyone who can reach this machine can "
                   "then use the proxy, and their traffic lands in your findings.")
@click.pass_context
def capture(ctx: click.Context, label: str, db: str, output: str, block: bool, rule_dirs: tuple[str, ...],
            first_party: tuple[str, ...], tracker_keys: tuple[str, ...], lan: bool, no_auth: bool) -> None:
    """Run mitmdump with the leakmap addon. Extra arguments go to mitmdump, for example
    `-p 8080`, `--mode wireguard`, `--mode local:Spotify`, `--listen-host`, `--proxyauth` or `-w dump.mitm`.

    Listens on this machine only unless you pass --lan; every file written (store, report,
    dumps) is readable by you only."""
    from mitmproxy.tools.main import mitmdump

    from .addon import script_path
    from .listen_plan import plan

    listening = plan(ctx.args, lan, no_auth)
    args = ["-q", "-s", str(script_path()), "--set", f"leakmap_db={db}", "--set", f"leakmap_report={output}",
            "--set", "leakmap_announce=true"]
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


# --- audits: compare two runs, check a policy -------------------------------------------------------

def _audit_options(command):
    """How `diff` and `check` analyse capture files (a findings store is read as it is)."""
    options = [
        click.option("--app", "label", default="", help="Label every request of the captures as sent by this app."),
        _rules_option,
        click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules."),
        click.option("--honey", multiple=True, metavar="TYPE=VALUE", help="A value you typed into the app, found in "
                     "any request plain, encoded or hashed (as for analyze). Repeatable."),
        _tracker_key_option,
        click.option("--show-values", is_flag=True, help="Show captured values and URLs in full "
                     "(default: redacted to their first characters and a short hash, still comparable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _is_store(path: Path) -> bool:
    """A findings store (SQLite), told from a capture file by its first bytes."""
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


@contextlib.contextmanager
def _findings_store(paths: Sequence[Path], db: Path | None, label: str, rule_dirs: tuple[Path, ...],
                    no_bundled_rules: bool, honey: tuple[str, ...], tracker_keys: tuple[str, ...]) -> Iterator[Store]:
    """The findings of PATHS: one findings store as it is, or capture files analysed (quietly,
    problems on stderr) into *db* or a temporary store that is deleted afterwards."""
    stores = [p for p in paths if _is_store(p)]
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
        store = _open_store(stores[0])
        try:
            yield store
        finally:
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = _open_store(db or Path(tmp) / "findings.db")
        try:
            try:
                session = Session(store, rule_dirs, not no_bundled_rules, Limits(), indicators, label, keys)
            except ValueError as e:  # a tracker key no rule uses
                raise click.UsageError(str(e)) from None
            for problem in session.rule_problems:
                click.echo(f"leakmap: rule skipped: {problem}", err=True)
            _replay_all(session, tuple(paths), Limits(), label, quiet=True)
            if paths and sum(s.flows_read for s in session.stats.values()) == 0:
                _fail(f"no flow could be read from {', '.join(map(str, paths))}", EXIT_NOTHING_READ)
            yield store
        finally:
            store.close()


@main.command("diff", epilog="\b\nExit codes: 0 no difference, 1 differences, 2 wrong usage, 3 nothing could be read,\n"
                             "5 a findings store cannot be opened, 70 internal error.")
@click.argument("sides", nargs=-1, metavar="[BASE NEW]", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--base", "base_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A capture file or findings store of the base run (repeatable: several captures).")
@click.option("--new", "new_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A capture file or findings store of the new run (repeatable).")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the diff here: JSON if the name ends in .json, else an HTML page (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What goes to standard output: a readable list, or the JSON document.")
@_audit_options
def diff_command(sides: tuple[Path, ...], base_paths: tuple[Path, ...], new_paths: tuple[Path, ...],
                 outputs: tuple[Path, ...], fmt: str, label: str, rule_dirs: tuple[Path, ...], no_bundled_rules: bool,
                 honey: tuple[str, ...], tracker_keys: tuple[str, ...], show_values: bool) -> None:
    """Compare two runs: what each app sent to which receiver in BASE and in NEW.

    BASE and NEW are each a capture file (.mitm, .har) or a findings store (.db written by
    `analyze --db` or `capture`); give several captures per run with --base/--new. Lists
    receivers and data types added and gone per app, persistent identifiers (advertising,
    device, user ids, emails) whose values changed or stayed, and request and finding counts.

    \b
      leakmap diff rejected.mitm accepted.mitm -o consent.html
      leakmap diff --base v1-a.mitm --base v1-b.mitm --new v2.mitm --format json
    """
    if len(sides) not in (0, 2) or (sides and (base_paths or new_paths)):
        raise click.UsageError("give BASE and NEW, or --base and --new")
    base_side, new_side = (sides[:1], sides[1:]) if sides else (base_paths, new_paths)
    if not base_side or not new_side:
        raise click.UsageError("give BASE and NEW, or --base and --new")
    runs = []
    for side in (base_side, new_side):
        with _findings_store(side, None, label, rule_dirs, no_bundled_rules, honey, tracker_keys) as store:
            runs.append(diffs.summarize(store))
    result = diffs.compare(runs[0], runs[1], show_values)
    names = [[str(p) for p in side] for side in (base_side, new_side)]
    diffs.write_outputs(result, outputs, fmt, names[0], names[1], show_values)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(names[0], names[1]), indent=2))
    else:
        for line in diffs.text_lines(result):
            click.echo(line)
        click.echo("differences found" if result.differs else "no difference")
    sys.exit(1 if result.differs else 0)


@main.command(epilog="\b\nExit codes: 0 no violation, 1 violations, 2 invalid policy or wrong usage,\n"
                     "3 nothing could be read, 5 a findings store cannot be opened, 70 internal error.")
@click.argument("captures", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Policy file (YAML) saying what each app may send to whom.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="Findings store to check; captures given too are analysed into it first (kept).")
@click.option("--sarif", "sarif_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the violations as SARIF 2.1.0 (GitHub code scanning).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write JUnit XML: one test case per app and receiver checked.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the HTML report, with the policy violations first (redacted unless --show-values).")
@click.option("--print-schema", is_flag=True, help="Print the policy file's JSON Schema and exit.")
@_audit_options
def check(captures: tuple[Path, ...], policy_path: Path | None, db: Path | None, sarif_path: Path | None,
          junit_path: Path | None, output: Path | None, print_schema: bool, label: str, rule_dirs: tuple[Path, ...],
          no_bundled_rules: bool, honey: tuple[str, ...], tracker_keys: tuple[str, ...], show_values: bool) -> None:
    """Check what apps sent against a policy (for CI): one line per violation, with its
    evidence; exit 1 when there is any.

    \b
      leakmap check --policy privacy-policy.yaml ui-tests.mitm --sarif leakmap.sarif --junit leakmap.xml
      leakmap check --policy privacy-policy.yaml --db capture.db
    """
    if print_schema:
        click.echo(json.dumps(policies.schema(), indent=2))
        return
    if policy_path is None:
        raise click.UsageError("--policy is required")
    if not captures and db is None:
        raise click.UsageError("give capture files or --db")
    try:
        policy = policies.load_policy(policy_path)
    except policies.PolicyError as e:
        _fail(f"invalid policy: {e}", 2)
        raise  # unreachable
    with _findings_store(captures, db, label, rule_dirs, no_bundled_rules, honey, tracker_keys) as store:
        outcome = policies.check(store, policy, show_values)
        if output:
            write_report(store, output, not show_values,
                         extra={"policy_violations": outcome.violations, "policy_file": str(policy_path)})
    for violation in outcome.violations:
        click.echo(policies.describe(violation, str(policy_path)))
    if sarif_path:
        policy_formats.write_sarif(outcome, sarif_path)
    if junit_path:
        policy_formats.write_junit(outcome, junit_path)
    checked = sum(outcome.pairs.values())
    if outcome.violations:
        click.echo(f"{len(outcome.violations)} policy violations in {checked} requests checked")
        sys.exit(1)
    click.echo(f"policy {policy_path}: no violation in {checked} requests checked")


# --- identifiers, fingerprints, unknown trackers (leakmap/identifiers.py, discover.py, draft.py) ---------

_honey_option = click.option("--honey", multiple=True, metavar="TYPE=VALUE",
                             help="A value you typed into the app (e.g. email=alice@example.com), found however "
                                  "encoded or hashed. Repeatable.")
_no_bundled_option = click.option("--no-bundled-rules", is_flag=True, help="Use only the rules given with --rules.")


def _indicators(honey: tuple[str, ...]) -> list:
    try:
        return [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"written to {output}", err=True)


def _loaded_rules(rule_dirs: tuple[Path, ...], no_bundled_rules: bool) -> list:
    loaded, problems = load_rules(rule_dirs, bundled=not no_bundled_rules)
    for problem in problems:
        click.echo(f"leakmap: rule skipped: {problem}", err=True)
    return loaded


@main.command("ids")
@click.argument("captures", nargs=-1, type=click.Path(path_type=Path))
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read a findings store (from `analyze --db` or `capture`) instead of captures.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="json: identifiers, fingerprints and summary; csv: one row per identifier, app and receiver "
                   "(or per fingerprint with --table fingerprints).")
@click.option("--table", type=click.Choice(["identifiers", "fingerprints"]), default="identifiers",
              show_default=True, help="Which table --format csv writes.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--app", "label", default="", help="Label every request in these captures as sent by this app.")
@_rules_option
@_no_bundled_option
@_honey_option
@_redact_option
def ids_command(captures: tuple[Path, ...], db: Path | None, fmt: str, table: str, output: Path | None, label: str,
                rule_dirs: tuple[Path, ...], no_bundled_rules: bool, honey: tuple[str, ...], redact: bool) -> None:
    """Identifiers across apps and companies, and how identifying each receiver's device details are.

    Lists every identifier (advertising, vendor, device, installation and user ids, emails,
    phone numbers; hashed emails and phones joined to the plain value when both were seen)
    with the apps that sent it, the receivers that got it, how often and when. BRIDGING marks
    an identifier seen at two or more receivers or sent by two or more apps. Fingerprints: per
    app and receiver, the device attributes received together and an upper-bound estimate of
    their identifying bits, from published per-attribute entropies.

    \b
      leakmap ids capture.mitm
      leakmap ids --db capture.db --format json > ids.json
    """
    from . import identifiers
    from .report import redact_value

    if bool(captures) == bool(db):
        raise click.UsageError("give capture files or --db, not both or neither")
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = _open_store(db or Path(tmp) / "findings.db")
        if captures:
            session = Session(store, rule_dirs, not no_bundled_rules, Limits(), _indicators(honey), label)
            _replay_all(session, captures, Limits(), label, quiet=True)
            if sum(s.flows_read for s in session.stats.values()) == 0:
                store.close()
                _fail("no flow could be read from any input", EXIT_NOTHING_READ)
        result = identifiers.build(store, redact_value if redact else None)
        store.close()
    _emit(identifiers.render(result, fmt, table), output)


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", default=20, show_default=True, help="Show at most this many hosts (text format).")
@click.option("--app", "label", default="", help="Label every request in these captures as sent by this app.")
@_rules_option
@_no_bundled_option
@_honey_option
def discover(captures: tuple[Path, ...], fmt: str, limit: int, label: str, rule_dirs: tuple[Path, ...],
             no_bundled_rules: bool, honey: tuple[str, ...]) -> None:
    """Rank the hosts no rule covers by how tracker-like their traffic is, with the evidence:
    values the detectors recognise, identifier-like values repeated across requests, batched
    events, beacon-like endpoints, being third party to the page. Draft a rule for one with
    `leakmap rules draft HOST CAPTURES...`."""
    from . import discover as discovery

    ranked = discovery.discover(captures, _loaded_rules(rule_dirs, no_bundled_rules), Limits(), _indicators(honey),
                                label, lambda p: click.echo(f"leakmap: {p}", err=True))
    _emit(json.dumps(ranked, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else
          discovery.text_report(ranked, limit), None)


@rules.command("draft")
@click.argument("host")
@click.argument("captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Draft rule file to write (YAML).")
@_rules_option
@_no_bundled_option
@_honey_option
def rules_draft(host: str, captures: tuple[Path, ...], output: Path, rule_dirs: tuple[Path, ...],
                no_bundled_rules: bool, honey: tuple[str, ...]) -> None:
    """Write a draft rule for HOST (or *.domain) from the requests the captures hold:
    endpoints by path pattern, the decode steps that opened their bodies, fields with
    guessed data types (marked as guesses), status experimental. Check it with
    `leakmap rules check`, try it with `leakmap analyze --rules DRAFT`. Exit 3 when no
    request to HOST (that no loaded rule covers) was found."""
    from . import draft

    if not re.fullmatch(r"(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*", host):
        raise click.BadParameter("a host name such as collect.example.com, or *.example.com", param_hint="HOST")
    endpoints, hits = draft.collect(host.lower(), captures, _loaded_rules(rule_dirs, no_bundled_rules), Limits(),
                                    _indicators(honey), lambda p: click.echo(f"leakmap: {p}", err=True))
    if not endpoints:
        _fail(f"no request to {host} that no loaded rule covers was found", EXIT_NOTHING_READ)
    output.write_text(draft.render(host.lower(), endpoints, [p.name for p in captures]), encoding="utf-8")
    try:
        rule = load_file(output)
    except RuleError as e:
        _fail(f"the draft does not validate (please report it): {e}", EXIT_INTERNAL)
    click.echo(f"draft rule {rule.id}: {len(rule.endpoints)} endpoints, "
               f"{sum(1 for e in endpoints.values() for _ in e.fields)} fields guessed from {len(hits)} detector hits "
               f"→ {output}")


def entry() -> None:
    """Console entry point: a bug becomes one line on stderr, not a traceback, unless
    LEAKMAP_DEBUG is set."""
    try:
        main()
    except StoreError as e:  # a command that does not handle store faults itself
        _fail(str(e), EXIT_BAD_STORE)
    except Exception as e:  # click handles its own errors and exits before this
        if os.environ.get("LEAKMAP_DEBUG"):
            raise
        click.echo(f"leakmap: internal error: {type(e).__name__}: {e} (set LEAKMAP_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    entry()
