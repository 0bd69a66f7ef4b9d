"""Reusable field blocks: one field map that several rules share, named by `use:`.

Why: some formats are standards many vendors speak. Every ad exchange's bid request is an
OpenRTB document (site, app, device, user, regs), so ten rules would otherwise copy the
same eighty-line map, and a fix to one copy would miss the others. YAML anchors cannot
cross files, so a block lives in its own file in a `blocks/` folder beside the rule files
(the bundled ones in tracker_rules/blocks/), and an endpoint names it:

    use: [openrtb]        # the block's fields first
    fields:               # then the endpoint's own, which win where both name a path
      record.ext.delDomain: project_key

A block file is a mapping {id, description, source, fields}; its paths are rooted like any
rule's (`record.`, `query.`...).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

BLOCK_DIR = "blocks"


class BlockError(ValueError):
    """A block that is missing or malformed; the message says which and why."""


def block_dirs(rule_file: str | Path) -> list[Path]:
    """Where a rule's blocks are looked up: beside the rule file first, then the bundled ones."""
    from .rules import bundled_rules_dir  # rules imports this module

    dirs = [Path(rule_file).parent / BLOCK_DIR, bundled_rules_dir() / BLOCK_DIR]
    return list(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))


def fields_of(names: list[str], rule_file: str | Path) -> dict[str, str]:
    """The merged fields of the blocks *names*, in order (a later block wins on a path)."""
    merged: dict[str, str] = {}
    for name in names:
        merged.update(_block_fields(name, tuple(block_dirs(rule_file))))
    return merged


@lru_cache(maxsize=64)
def _block_fields(name: str, dirs: tuple[Path, ...]) -> dict[str, str]:
    for folder in dirs:
        file = folder / f"{name}.yaml"
        if file.is_file():
            return _read(file)
    raise BlockError(f"no block {name!r} (looked in {', '.join(str(d) for d in dirs) or 'no blocks folder'})")


def _read(file: Path) -> dict[str, str]:
    try:
        data: Any = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as e:
        raise BlockError(f"block {file}: {e}") from None
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        raise BlockError(f"block {file}: needs a `fields` mapping of path: data type")
    return dict(fields)


def blocks_key(rule_file: str | Path) -> str:
    """A digest of every block a rule file could use: part of the compiled-rule cache's key,
    so editing a block recompiles the rules that use it. Each block file by name, size and
    modification time (a stat, no reading): this runs for every rule file a run loads, and
    the cache's key for leakmap's own modules is built the same way."""
    digest = hashlib.sha256()
    for folder in block_dirs(rule_file):
        for file in sorted(folder.glob("*.yaml")):
            info = file.stat()
            digest.update(f"{file}:{info.st_size}:{info.st_mtime_ns}|".encode())
    return digest.hexdigest()
