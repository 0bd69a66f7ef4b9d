"""How identifying the device details a receiver gets are: fingerprint attributes and bits.

Pseudonymous data identifies a device once enough quasi-identifiers come together. For
each app and receiver we list the attributes received (device model, OS, screen, language,
timezone, carrier, user agent, fonts, IP-derived location...) and add up per-attribute
entropies from published fingerprinting studies (leakmap/data/fingerprint_entropy.csv, each
figure with its source). Why a sum: H(X,Y) <= H(X) + H(Y), so the sum is an *upper bound*
(attributes are correlated, e.g. model and screen); it is capped at log2 of the world's
population, beyond which no count of bits means more. Reported as such, never as a measure.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from .value_types import normalize_key

WORLD_POPULATION = 8.1e9  # UN World Population Prospects 2024 order of magnitude
CAP_BITS = round(math.log2(WORLD_POPULATION), 2)  # 32.92: enough to single out one person on Earth
# leakmap's own threshold (no study behind it): bits that single a device out among a
# million users, the size of a popular app's audience.
LINKABLE_BITS = round(math.log2(1_000_000), 2)
# Identifiers a user (or the OS) can reset; a stable fingerprint beside one re-links the device.
RESETTABLE_TYPES = ("advertising_id", "hashed_advertising_id", "vendor_id", "installation_id")
# Quasi-identifiers with no published per-attribute figure: listed, not counted.
UNMEASURED: dict[str, tuple[str, ...]] = {
    "os_version": ("os_version",),
    "device_name": ("device_name",),
    "screen_density": ("screen_density",),
    "cpu_architecture": ("cpu_architecture",),
}
# Attributes no data type names, recognised by the field's key (normalized).
FIELD_KEYS: dict[str, str] = {
    "fonts": "fonts", "font_list": "fonts", "installed_fonts": "fonts", "system_fonts": "fonts",
    "plugins": "plugins", "plugin_list": "plugins",
    "canvas": "canvas", "canvas_fingerprint": "canvas", "canvas_hash": "canvas",
    "webgl": "webgl", "webgl_renderer": "webgl", "webgl_vendor": "webgl",
}
METHOD = (f"Upper-bound estimate: the sum of published per-attribute entropies (largest figure per attribute; "
          f"attributes assumed independent, which over-states a correlated set), capped at {CAP_BITS} bits "
          f"(log2 of the world population). Attributes without a published figure are listed, not counted. "
          f"Flagged when a resettable identifier arrives with a fingerprint of at least {LINKABLE_BITS} bits "
          f"(one device among a million): resetting that id may not unlink the device.")


@dataclass(frozen=True, slots=True)
class Figure:
    """One published (or bounded) entropy figure for an attribute, from the data file."""

    attribute: str
    data_types: frozenset[str]
    bits: float
    population: str
    source: str
    status: str


@lru_cache(maxsize=1)
def figures() -> tuple[Figure, ...]:
    """The shipped figures; '#' lines of the file are its documentation."""
    text = (resources.files("leakmap") / "data" / "fingerprint_entropy.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in text.splitlines(True) if not line.startswith("#"))))
    return tuple(Figure(r["attribute"], frozenset(r["data_types"].split()), float(r["bits"]), r["population"],
                        r["source"], r["status"]) for r in rows)


@lru_cache(maxsize=1)
def attribute_of() -> dict[str, str]:
    """Data type (or field key attribute) → fingerprint attribute."""
    out = {t: f.attribute for f in figures() for t in f.data_types}
    out.update({t: name for name, types in UNMEASURED.items() for t in types})
    return out


def attribute_for_key(key: str) -> str:
    """The fingerprint attribute a field's key names (fonts, plugins, canvas, webgl), or ""."""
    return FIELD_KEYS.get(normalize_key(key), "")


@dataclass(slots=True)
class Fingerprint:
    """What one receiver got from one app: {data type: some values} and resettable ids."""

    app: str
    receiver: str
    seen: dict[str, set[str]] = field(default_factory=dict)
    resettable: set[str] = field(default_factory=set)

    def add(self, data_type: str, value: str) -> None:
        values = self.seen.setdefault(data_type, set())
        if len(values) < 5:
            values.add(value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `leakmap ids` (`fingerprints`): app, receiver, attributes, bits."""
        attributes = score(self.seen)
        counted = sum(a["bits"] or 0.0 for a in attributes)
        bits = round(min(counted, CAP_BITS), 2)
        return {"app": self.app, "receiver": self.receiver, "attributes": attributes, "bits": bits,
                "bits_uncapped": round(counted, 2), "resettable_ids": sorted(self.resettable),
                "relinkable": bool(self.resettable) and bits >= LINKABLE_BITS}


def score(seen: dict[str, set[str]]) -> list[dict[str, Any]]:
    """One entry per fingerprint attribute present: the data types that carried it, a few
    values, its bits (largest applicable figure, None when unmeasured) and that figure's source."""
    by_attribute: dict[str, set[str]] = {}
    for data_type in seen:
        attribute = attribute_of().get(data_type)
        if attribute:
            by_attribute.setdefault(attribute, set()).add(data_type)
    out = []
    for attribute, types in sorted(by_attribute.items()):
        best = max((f for f in figures() if f.attribute == attribute and f.data_types & types),
                   key=lambda f: f.bits, default=None)
        values = sorted({v for t in types for v in seen[t]})[:3]
        out.append({"attribute": attribute, "data_types": sorted(types), "values": values,
                    "bits": best.bits if best else None, "source": best.source if best else "no published figure",
                    "status": best.status if best else "unmeasured"})
    return sorted(out, key=lambda a: -(a["bits"] or 0.0))


def fingerprints(rows: Iterable[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    """(app, receiver, data type or field-key attribute, value) rows → one fingerprint per
    app and receiver that got at least one quasi-identifier, most identifying first."""
    by_pair: dict[tuple[str, str], Fingerprint] = {}
    attributes = attribute_of()
    for app, receiver, data_type, value in rows:
        if data_type in attributes or data_type in RESETTABLE_TYPES:
            fp = by_pair.setdefault((app, receiver), Fingerprint(app, receiver))
            if data_type in RESETTABLE_TYPES:
                fp.resettable.add(data_type)
            else:
                fp.add(data_type, value)
    out = [fp.to_dict() for fp in by_pair.values() if fp.seen]
    return sorted(out, key=lambda f: (-f["bits"], f["app"], f["receiver"]))
