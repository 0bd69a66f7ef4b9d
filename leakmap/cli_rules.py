"""`leakmap rules schema` and `leakmap types`: the rule language's vocabulary, printed.

Kept apart from cli.py so the commands that only describe the language (no capture, no
store) stay small and importable on their own.
"""

from __future__ import annotations

import json

import click

from . import datatypes
from .rule_schema import published_schema


@click.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of a rule file (the same as leakmap/data/rule.schema.json).
    Editors with a YAML language server validate and complete rules with it:
    `# yaml-language-server: $schema=<path to rule.schema.json>`."""
    click.echo(json.dumps(published_schema(), indent=2))


@click.command("types")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per type; json: a list of objects for tools.")
def types_command(fmt: str) -> None:
    """List the data types a rule's `fields` may name (and every finding carries): name,
    sensitivity, category and description, most sensitive first. `uploaded` (not listed)
    marks a field that is known and not personal."""
    rank = {name: i for i, name in enumerate(datatypes.CATEGORIES)}
    ordered = sorted(datatypes.DATA_TYPES.values(),
                     key=lambda t: (-datatypes.SENSITIVITY_RANK.get(t.sensitivity, 0), rank.get(t.category, 99), t.name))
    if fmt == "json":
        click.echo(json.dumps([{"name": t.name, "sensitivity": t.sensitivity, "category": t.category,
                                "description": t.label} for t in ordered], indent=2))
        return
    for t in ordered:
        click.echo(f"{t.name:<24} {t.sensitivity:<8} {t.category:<12} {t.label}")
