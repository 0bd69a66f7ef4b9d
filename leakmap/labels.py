"""Names a policy may use for data: leakmap's data types and categories, and the terms of
Google Play's Data safety form and Apple's App Privacy labels mapped onto them.

Why: a team that published a privacy label should be able to check its app's traffic
against that label in the label's own words. The mapping is data, not code
(`data/privacy_labels.yaml`, documented there and in README), so it can be reviewed and
corrected without touching the checker.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from .datatypes import CATEGORIES, DATA_TYPES, SPECIAL_TYPES

SPECIAL = "special"  # the category of the GDPR Art. 9 types (and financial data), leakmap/special.py
# `play:` and `google_play:` name the same vocabulary.
PREFIXES = {"play": "google_play", "google_play": "google_play", "apple": "apple"}


def data_file(name: str) -> Path:
    return Path(str(resources.files("leakmap"))) / "data" / name


def key(text: str) -> str:
    """A label's wording as a term key: `Device or other IDs` → `device_or_other_ids`."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    name: str
    source: str
    terms: dict[str, frozenset[str]]  # term key → leakmap data types
    categories: dict[str, frozenset[str]]  # label category key → union of its terms' types


@functools.cache
def vocabularies() -> dict[str, Vocabulary]:
    raw = yaml.safe_load(data_file("privacy_labels.yaml").read_text(encoding="utf-8"))
    out = {}
    for vid, body in raw.items():
        terms = {term: frozenset(spec["types"]) for term, spec in body["terms"].items()}
        categories: dict[str, set[str]] = {}
        for term, spec in body["terms"].items():
            categories.setdefault(key(spec["category"]), set()).update(terms[term])
        out[vid] = Vocabulary(body["name"], body["source"], terms,
                              {k: frozenset(v) for k, v in categories.items()})
    return out


def known_type(name: str) -> bool:
    return name in DATA_TYPES or name in SPECIAL_TYPES


def data_types_for(name: str) -> frozenset[str]:
    """The leakmap data types a policy's `data_type: NAME` means. Raises ValueError with
    what is wrong (unknown, or a label term two vocabularies define differently)."""
    if known_type(name):
        return frozenset({name})
    prefix, sep, rest = name.partition(":")
    if sep:
        vocabulary = _vocabulary(prefix)
        term = key(rest)
        if term not in vocabulary.terms:
            raise ValueError(f"{name!r}: {vocabulary.name} has no data type {rest!r} "
                             f"(its terms: {', '.join(sorted(vocabulary.terms))})")
        return vocabulary.terms[term]
    found = {v.terms[key(name)] for v in vocabularies().values() if key(name) in v.terms}
    if len(found) == 1:
        return found.pop()
    if found:
        raise ValueError(f"{name!r} means different data in Google Play's and Apple's labels: "
                         f"write play:{key(name)} or apple:{key(name)}")
    raise ValueError(f"unknown data type {name!r} (a leakmap data type, see leakmap/datatypes.py, or a label "
                     "term such as play:precise_location or apple:device_id)")


def category_types(name: str) -> frozenset[str]:
    """The data types of a policy's `category: NAME`: a leakmap category, `special`, or a
    label category (`play:Location`). Raises ValueError."""
    if name in CATEGORIES:
        return frozenset(t.name for t in DATA_TYPES.values() if t.category == name)
    prefix, sep, rest = name.partition(":")
    if sep:
        vocabulary = _vocabulary(prefix)
        if key(rest) in vocabulary.categories:
            return vocabulary.categories[key(rest)]
        raise ValueError(f"{name!r}: {vocabulary.name} has no category {rest!r} "
                         f"(its categories: {', '.join(sorted(vocabulary.categories))})")
    raise ValueError(f"unknown category {name!r} (one of {', '.join(CATEGORIES)}, "
                     "or a label category such as play:location)")


def _vocabulary(prefix: str) -> Vocabulary:
    if prefix.lower() not in PREFIXES:
        raise ValueError(f"unknown label vocabulary {prefix!r} (play: for Google Play, apple: for Apple)")
    return vocabularies()[PREFIXES[prefix.lower()]]
