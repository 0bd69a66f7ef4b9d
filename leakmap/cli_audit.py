"""`leakmap diff` and `leakmap check`: compare two runs, gate a build on a policy.

Both read finished findings stores (leakmap/diff.py, leakmap/policy.py); capture files given
instead are analysed first, the same way `analyze` does (cli_common.findings_store).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_common import audit_options, fail, findings_store


@click.command("diff", epilog="\b\nExit codes: 0 no difference, 1 differences, 2 wrong usage, 3 nothing could be read,\n"
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
@audit_options
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
    from . import diff as diffs

    if len(sides) not in (0, 2) or (sides and (base_paths or new_paths)):
        raise click.UsageError("give BASE and NEW, or --base and --new")
    base_side, new_side = (sides[:1], sides[1:]) if sides else (base_paths, new_paths)
    if not base_side or not new_side:
        raise click.UsageError("give BASE and NEW, or --base and --new")
    runs = []
    for side in (base_side, new_side):
        with findings_store(side, None, label, rule_dirs, no_bundled_rules, honey, tracker_keys) as store:
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


@click.command(epilog="\b\nExit codes: 0 no violation, 1 violations, 2 invalid policy or wrong usage,\n"
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
@audit_options
def check(captures: tuple[Path, ...], policy_path: Path | None, db: Path | None, sarif_path: Path | None,
          junit_path: Path | None, output: Path | None, print_schema: bool, label: str, rule_dirs: tuple[Path, ...],
          no_bundled_rules: bool, honey: tuple[str, ...], tracker_keys: tuple[str, ...], show_values: bool) -> None:
    """Check what apps sent against a policy (for CI): one line per violation, with its
    evidence; exit 1 when there is any.

    \b
      leakmap check --policy privacy-policy.yaml ui-tests.mitm --sarif leakmap.sarif --junit leakmap.xml
      leakmap check --policy privacy-policy.yaml --db capture.db
    """
    from . import policy as policies
    from . import policy_formats
    from .report import write_report

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
        fail(f"invalid policy: {e}", 2)
        raise  # unreachable
    with findings_store(captures, db, label, rule_dirs, no_bundled_rules, honey, tracker_keys) as store:
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
