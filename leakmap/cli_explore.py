"""Commands that look at captures from one angle: `replay` (session recordings), `ids`
(identifiers and fingerprints across apps and companies), `discover` (hosts no rule covers)
and `rules draft` (a draft rule for one of them).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import click

from .cli_common import (EXIT_INTERNAL, EXIT_NOTHING_READ, emit, fail, findings_store, honey_option, loaded_rules,
                         no_bundled_option, open_store, parse_honey, redact_option, replay_captures, replay_limit_options,
                         replay_limits, rules_option, show_secrets_option)
from .limits import Limits
from .private_files import make_private


@click.command("replay")
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: an array with one object per recording (receiver, app, replay_id, pages, inputs, text, "
                   "clicks, images, findings, problems).")
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write one standalone HTML page per recording into this directory.")
@click.option("--app", "label", default="", help="Label every request in these captures as sent by this app.")
@rules_option
@click.option("--honey", multiple=True, metavar="TYPE=VALUE", help="A value you typed, found in any encoding.")
@show_secrets_option
@replay_limit_options
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
    from .session import Session, parse_indicator

    try:
        indicators = [parse_indicator(h) for h in honey]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--honey") from None
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="leakmap-") as tmp:
        store = open_store(Path(tmp) / "findings.db")
        session = Session(store, rule_dirs, True, limits, indicators, label, replay_limits=replay_limits(replay_caps))
        replay_captures(session, captures, limits, label, quiet=True)
        flows_read = sum(st.flows_read for st in session.stats.values())
        found = store.findings_frame()
        secrets = list(found.loc[found["data_type"].isin(SECRET_TYPES), "value"])
        summaries = session.analyzer.replays.summaries()
        for problem in store.problems():
            if problem.where.startswith("session recording"):
                click.echo(f"leakmap: {problem}", err=True)
        store.close()
    if flows_read == 0:
        fail("no flow could be read from any input", EXIT_NOTHING_READ)
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


@click.command("ids")
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
@rules_option
@no_bundled_option
@honey_option
@redact_option
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
    with findings_store(captures, db, label, rule_dirs, no_bundled_rules, honey, ()) as store:
        result = identifiers.build(store, redact_value if redact else None)
    emit(identifiers.render(result, fmt, table), output)


@click.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", default=20, show_default=True, help="Show at most this many hosts (text format).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the ranking as an HTML page (self-contained, like the report).")
@click.option("--app", "label", default="", help="Label every request in these captures as sent by this app.")
@rules_option
@no_bundled_option
@honey_option
def discover(captures: tuple[Path, ...], fmt: str, limit: int, output: Path | None, label: str,
             rule_dirs: tuple[Path, ...], no_bundled_rules: bool, honey: tuple[str, ...]) -> None:
    """Rank the hosts no rule covers by how tracker-like their traffic is, with the evidence:
    values the detectors recognise, identifier-like values repeated across requests, batched
    events, beacon-like endpoints, being third party to the page. Draft a rule for one with
    `leakmap rules draft HOST CAPTURES...`."""
    from . import discover as discovery

    ranked = discovery.discover(captures, loaded_rules(rule_dirs, no_bundled_rules), Limits(), parse_honey(honey),
                                label, lambda p: click.echo(f"leakmap: {p}", err=True))
    if output is not None:
        make_private(output)
        output.write_text(discovery.render_html(ranked, [str(c) for c in captures]), encoding="utf-8")
        click.echo(f"discover: {len(ranked)} hosts written to {output}", err=True)
    emit(json.dumps(ranked, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else
         discovery.text_report(ranked, limit), None)


@click.command("draft")
@click.argument("host")
@click.argument("captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Draft rule file to write (YAML).")
@rules_option
@no_bundled_option
@honey_option
def rules_draft(host: str, captures: tuple[Path, ...], output: Path, rule_dirs: tuple[Path, ...],
                no_bundled_rules: bool, honey: tuple[str, ...]) -> None:
    """Write a draft rule for HOST (or *.domain) from the requests the captures hold:
    endpoints by path pattern, the decode steps that opened their bodies, fields with
    guessed data types (marked as guesses), status experimental. Check it with
    `leakmap rules check`, try it with `leakmap analyze --rules DRAFT`. Exit 3 when no
    request to HOST (that no loaded rule covers) was found."""
    from . import draft
    from .rules import RuleError, load_file

    if not re.fullmatch(r"(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*", host):
        raise click.BadParameter("a host name such as collect.example.com, or *.example.com", param_hint="HOST")
    endpoints, hits = draft.collect(host.lower(), captures, loaded_rules(rule_dirs, no_bundled_rules), Limits(),
                                    parse_honey(honey), lambda p: click.echo(f"leakmap: {p}", err=True))
    if not endpoints:
        fail(f"no request to {host} that no loaded rule covers was found", EXIT_NOTHING_READ)
    output.write_text(draft.render(host.lower(), endpoints, [p.name for p in captures]), encoding="utf-8")
    try:
        rule = load_file(output)
    except RuleError as e:
        fail(f"the draft does not validate (please report it): {e}", EXIT_INTERNAL)
    click.echo(f"draft rule {rule.id}: {len(rule.endpoints)} endpoints, "
               f"{sum(1 for e in endpoints.values() for _ in e.fields)} fields guessed from {len(hits)} detector hits "
               f"→ {output}")
