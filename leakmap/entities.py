"""Who receives a request that no tracker rule covers: the registrable domain, and the
owning company where the bundled entity list (AdGuard companiesdb, CC BY-SA 4.0, see
leakmap/data/ENTITIES.md) knows the host.

The list is read once into a dict; a lookup walks the host's parent domains down to the
registrable domain, so it costs a handful of dict probes per request whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .match import registrable_domain

DATA_FILE = Path(__file__).resolve().parent / "data" / "entities.tsv"


@dataclass(frozen=True, slots=True)
class Receiver:
    """The party a request went to: `domain` (registrable domain) always; `company`,
    `tracker` and `category` from the entity list, or the domain itself when it does not
    know it (so no report or export column is ever empty)."""

    domain: str
    tracker: str
    company: str
    category: str
    known: bool  # the entity list named it


@lru_cache(maxsize=1)
def load_entities(path: Path = DATA_FILE) -> dict[str, tuple[str, str, str]]:
    """domain → (tracker name, company name, category). Missing file: empty (names fall back
    to the domain), never an error: the list only adds names."""
    table: dict[str, tuple[str, str, str]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return table
    for line in lines:
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) == 4:
            table[parts[0]] = (parts[1], parts[2], parts[3])
    return table


@lru_cache(maxsize=16384)
def receiver(host: str) -> Receiver:
    """The receiver of a request to *host*: the nearest listed parent domain names it."""
    domain = registrable_domain(host)
    table = load_entities()
    name = host
    while name:
        found = table.get(name)
        if found:
            return Receiver(domain, found[0], found[1], found[2], True)
        if name == domain or "." not in name:
            break
        name = name.split(".", 1)[1]
    return Receiver(domain, domain, domain, "unknown", False)
