"""Special categories of personal data (GDPR Art. 9, and financial data), found by the words
of key names, event and screen names and values: `condition: diabetes`, the event "Viewed
Diagnosis", `heart_rate: 72`, the screen `/screens/pregnancy-tracker`.

Why words and not substrings: a term must name the category on its own, so matching is on
whole words after splitting `snake_case`, `camelCase`, paths and punctuation; `battery_health`
or `fingerprint` never match, `HeartRate` and "heart rate" both do. The curated term list is
data (`data/special_terms.yaml`, with its sources). It is compiled once into one dict from
word sequences to (data type, term): a field costs a split and one hash lookup per word and
word pair, which measured 3 times faster than one combined regex and close to a pyahocorasick
automaton, without a dependency (`benchmarks/bench_special.py`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import yaml

from .labels import data_file

MAX_VALUE = 300  # longer text (stack traces, page text, blobs) is left to other detectors
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\W_]+")
_TOKEN_LIKE = re.compile(r"^[A-Za-z0-9+/=_\-.]{16,}$")
_CAPITALS = re.compile(r"[A-Z]{2}")
_LETTER = re.compile(r"[A-Za-z]")
# Types whose values are machine-made or name the software, not the person: never searched.
_NOT_SEARCHED = frozenset("user_agent error_report session_replay sdk_name sdk_version app_id app_name project_key "
                          "auth_token api_key password os_name os_version device_model manufacturer browser "
                          "browser_version carrier language timezone cpu_architecture".split())


@dataclass(frozen=True, slots=True)
class SpecialHit:
    data_type: str
    term: str  # the term as the data file spells it


def words(text: str) -> list[str]:
    """The lower-case words of *text*: `HeartRate`, `heart_rate`, `/heart-rate` → heart, rate;
    accents dropped (`diagnóstico` → diagnostico)."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if not text.islower():
        text = _CAMEL.sub(" ", text).lower()
    return [w for w in _SEPARATORS.split(text) if w]


@functools.cache
def term_table() -> tuple[dict[str, SpecialHit], dict[str, int]]:
    """Word sequence (words joined by one space) → hit; and the first word of each
    multi-word term → the most words a term starting with it has (so most words cost one
    lookup: only a possible first word is tried with the words after it)."""
    raw = yaml.safe_load(data_file("special_terms.yaml").read_text(encoding="utf-8"))
    table: dict[str, SpecialHit] = {}
    starts: dict[str, int] = {}
    for data_type, languages in raw.items():
        for language, terms in languages.items():
            for term in terms:
                parts = words(str(term))
                forms = [parts] + ([parts[:-1] + [parts[-1] + "s"]] if language == "en" and not parts[-1].endswith("s")
                                   else [])
                for form in forms:
                    table.setdefault(" ".join(form), SpecialHit(data_type, str(term)))
                    if len(form) > 1:
                        starts[form[0]] = max(starts.get(form[0], 0), len(form))
    return table, starts


@functools.lru_cache(maxsize=8192)  # key names and event names repeat in every request
def find(text: str) -> SpecialHit | None:
    """The first special-category term among the words of *text*, longest term first, or None."""
    table, starts = term_table()
    found = words(text)
    for start, word in enumerate(found):
        longest = starts.get(word)
        if longest:
            for end in range(min(start + longest, len(found)), start + 1, -1):
                hit = table.get(" ".join(found[start:end]))
                if hit is not None:
                    return hit
        hit = table.get(word)
        if hit is not None:
            return hit
    return None


def in_field(key: str, value: str, data_type: str) -> tuple[SpecialHit, str] | None:
    """A special-category term in the key name or the value of a field already typed
    *data_type* (its main type, "" when none), with where it was found ("key name 'x'" or
    "value"). Values that are machine-made (ids, tokens, user agents) are not searched."""
    if data_type in _NOT_SEARCHED:
        return None
    if key and not key[:1].isdigit():
        hit = find(key)
        if hit is not None:
            return hit, f"key name {key!r}"
    if len(value) > MAX_VALUE or (value.isascii() and not _LETTER.search(value)) or _is_token(value):
        return None  # every term has a letter: numbers, times and coordinates are not searched
    hit = find(value)
    return (hit, "value") if hit is not None else None


def _is_token(value: str) -> bool:
    """An id, key or encoded blob: one run of 16+ characters with a digit or two capitals in
    a row (random text splits into chance words: `abGayX4q...`)."""
    return bool(_TOKEN_LIKE.match(value)) and not value.startswith("/") and (
        any(c.isdigit() for c in value) or _CAPITALS.search(value) is not None)


def detail(hit: SpecialHit, where: str) -> str:
    """The evidence a finding stores: which term, and where."""
    return f"{hit.data_type.replace('_', ' ')} term {hit.term!r} in {where}"
