"""Identifiers aggregated by SQLite: which id went from which app to which receiver.

Why SQL: a capture of a million flows holds a hundred thousand tracker requests, and the
number of distinct ids grows with it (many devices in a lab, reinstalls, an SDK that makes a
new id per session, a crafted capture with a new id in every request). Holding one Python
object per distinct identifier with its routes made the identifiers section the one part of
the report whose memory grew with the capture. Here every sighting goes to a temporary table of the
store's connection (SQLite's temp store: on disk past its cache, gone with the connection),
hashed emails and phones are folded into their plain value there, and Python materialises
only the identifiers it shows: the top N of the report (most receivers, then most apps) or,
for `leakmap ids`, each in turn.

Tables, built once per `IdentifierTables`:
- SEEN: one row per sighting (key, first-seen text, data type, app, receiver, request, time),
  in report order (time, request id, finding id), so the smallest rowid of a key is its
  first sighting;
- IDS: one row per identifier (key, value and type of its first sighting), in first-seen order;
- DIGESTS: the sha256/sha1/md5 of every normalised form of each plain email and phone;
- FORMS: the hashed forms joined to each plain identifier;
- STATS: per identifier, how many receivers and apps (named apps: "unattributed" is no
  second app).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from .match import registrable_domain

IDENTIFIER_TYPES = (
    "advertising_id", "hashed_advertising_id", "android_id", "device_id", "push_token", "vendor_id",
    "installation_id", "user_id", "browser_id", "other_id", "email", "hashed_email", "phone", "hashed_phone",
)
HASH_ALGORITHMS = ("sha256", "sha1", "md5")
_TOO_COMMON = {"0", "1", "-1", "true", "false", "null", "none", "undefined", "unknown", "anonymous",
               "00000000-0000-0000-0000-000000000000"}
# Keys compared case- and space-insensitively: an email is one person however it is spelled,
# and a hex digest is the same digest in upper case.
_FOLDED_KEYS = frozenset(("email", "hashed_email", "hashed_phone"))
UNATTRIBUTED = "unattributed"
MIN_ID_LENGTH = 4  # shorter values (a counter, "42") would bridge everything by chance
DIGEST_LENGTHS = (32, 40, 64)  # md5, sha1, sha256 in hex
CHUNK_ROWS = 1000

SEEN = "temp.leakmap_ids_seen"
IDS = "temp.leakmap_ids"
DIGESTS = "temp.leakmap_ids_digests"
FORMS = "temp.leakmap_ids_forms"
STATS = "temp.leakmap_ids_stats"
_TABLES = (SEEN, IDS, DIGESTS, FORMS, STATS, "temp.leakmap_ids_folded", "temp.leakmap_ids_hex")


def normalized_forms(data_type: str, value: str) -> list[str]:
    """The texts an SDK hashes for this email or phone (advertisers' matching rules: an
    email trimmed and lower-cased; a phone as digits, with and without the leading +)."""
    if data_type == "email":
        return list(dict.fromkeys([value.strip().lower(), value]))
    digits = re.sub(r"\D", "", value)
    return list(dict.fromkeys([digits, "+" + digits, value]))


def hashes_of(data_type: str, value: str) -> dict[str, str]:
    """hex digest → form label (`sha256(email)`) for every normalized form of a plain value."""
    out: dict[str, str] = {}
    for text in normalized_forms(data_type, value):
        for algorithm in HASH_ALGORITHMS:
            out.setdefault(hashlib.new(algorithm, text.encode()).hexdigest(), f"{algorithm}({data_type})")
    return out


def identifier_key(data_type: str, value: object) -> str | None:
    """What makes two sightings one identifier; None for values too short or too common to
    link anyone (SQL function `leakmap_id_key`)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if len(text) < MIN_ID_LENGTH or text.lower() in _TOO_COMMON:
        return None
    return text.strip().lower() if data_type in _FOLDED_KEYS else text


def receiver_of(company: str | None, host: str | None) -> str:
    """The company when a rule named it, else the host's registrable domain (SQL function
    `leakmap_receiver`; registrable_domain is memoised, so repeated hosts cost a lookup)."""
    return company or registrable_domain(host or "")


@dataclass(slots=True)
class Route:
    """One identifier from one app to one receiver."""

    data_types: list[str]
    requests: int
    first: float
    last: float


@dataclass(slots=True)
class Identifier:
    """One identifier value (the plain value when a hashed form was joined to it)."""

    value: str
    kind: str  # the identifier type it was first seen as
    requests: int = 0  # distinct requests over all routes
    forms: dict[str, str] = field(default_factory=dict)  # hashed value → `sha256(email)`
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)  # (app, receiver) → route

    @property
    def apps(self) -> list[str]:
        return sorted({app for app, _ in self.routes})

    @property
    def receivers(self) -> list[str]:
        return sorted({receiver for _, receiver in self.routes})

    def bridging(self) -> list[str]:
        """Why this identifier links records across companies or apps ([] when it does not)."""
        reasons = []
        if len(self.receivers) >= 2:
            reasons.append(f"sent to {len(self.receivers)} receivers: {', '.join(self.receivers)}")
        apps = [app for app in self.apps if app != UNATTRIBUTED]  # "unknown" is no second app
        if len(apps) >= 2:
            reasons.append(f"sent by {len(apps)} apps: {', '.join(apps)}")
        return reasons


def _marks(values: tuple[str, ...]) -> str:
    return ",".join("?" * len(values))


class IdentifierTables:
    """The identifiers of a store in temporary tables; use as a context manager (the tables
    are dropped on exit: a live store's connection outlives the report)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> IdentifierTables:
        self.drop()
        self.db.create_function("leakmap_id_key", 2, identifier_key, deterministic=True)
        self.db.create_function("leakmap_receiver", 2, receiver_of, deterministic=True)
        self._sightings()
        self._digests()
        self._fold_hashed_identifiers()
        self._hex_fields()
        self._stats()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def drop(self) -> None:
        for table in _TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")

    # --- building -------------------------------------------------------------------------------

    def _sightings(self) -> None:
        """SEEN in report order and IDS from each key's first sighting."""
        self.db.execute(
            f"CREATE TABLE {SEEN} AS SELECT leakmap_id_key(f.data_type, f.value) AS key, f.value AS value,"
            f" f.data_type AS data_type, coalesce(nullif(r.app, ''), '{UNATTRIBUTED}') AS app,"
            " leakmap_receiver(r.company, r.host) AS receiver, r.id AS request_id,"
            " coalesce(r.timestamp, 0.0) AS ts FROM findings f JOIN requests r ON r.id = f.request_id"
            f" WHERE f.data_type IN ({_marks(IDENTIFIER_TYPES)}) ORDER BY r.timestamp, r.id, f.id", IDENTIFIER_TYPES)
        self.db.execute(f"DELETE FROM {SEEN} WHERE key IS NULL")
        self.db.execute(f"CREATE TABLE {IDS}(seq INTEGER PRIMARY KEY, key TEXT UNIQUE, value TEXT, kind TEXT)")
        self.db.execute(f"INSERT OR IGNORE INTO {IDS}(key, value, kind) SELECT key, value, data_type FROM {SEEN}"
                        " ORDER BY rowid")

    def _digests(self) -> None:
        """The hashes of each plain email and phone; a digest two plain values share (`+1415...`
        and `1415...` hash the same digits) belongs to the first seen."""
        self.db.execute(f"CREATE TABLE {DIGESTS}(digest TEXT PRIMARY KEY, plain TEXT, form TEXT) WITHOUT ROWID")
        cursor = self.db.execute(f"SELECT key, kind, value FROM {IDS} WHERE kind IN ('email', 'phone') ORDER BY seq")
        while chunk := cursor.fetchmany(CHUNK_ROWS):
            self.db.executemany(f"INSERT OR IGNORE INTO {DIGESTS} VALUES (?,?,?)",
                                [(digest, key, form) for key, kind, value in chunk
                                 for digest, form in hashes_of(kind, value).items()])

    def _fold_hashed_identifiers(self) -> None:
        """An identifier whose key is the hash of a plain one becomes a hashed form of it: its
        sightings are the plain value's. A plain value that is itself folded away (a crafted
        chain of digests) keeps its own hashed forms apart."""
        folded = "temp.leakmap_ids_folded"
        self.db.execute(
            f"CREATE TABLE {folded} AS SELECT i.key AS key, i.value AS value, d.plain AS plain, d.form AS form"
            f" FROM {IDS} i JOIN {DIGESTS} d ON d.digest = i.key WHERE d.plain != i.key")
        self.db.execute(f"DELETE FROM {folded} WHERE plain IN (SELECT key FROM {folded})")
        self.db.execute(f"CREATE UNIQUE INDEX {folded}_key ON leakmap_ids_folded(key)")
        self.db.execute(f"CREATE TABLE {FORMS}(plain TEXT, value TEXT, form TEXT, UNIQUE(plain, value))")
        self.db.execute(f"INSERT OR IGNORE INTO {FORMS} SELECT plain, value, form FROM {folded}")
        self.db.execute(f"CREATE INDEX {SEEN}_key ON leakmap_ids_seen(key)")
        self.db.execute(f"UPDATE {SEEN} SET key = (SELECT plain FROM {folded} WHERE key = leakmap_ids_seen.key)"
                        f" WHERE key IN (SELECT key FROM {folded})")
        self.db.execute(f"DELETE FROM {IDS} WHERE key IN (SELECT key FROM {folded})")

    def _hex_fields(self) -> None:
        """Uploaded fields that are the digest of a known plain value: a hashed email no
        detector labelled is still joined to its plain form."""
        hexes = "temp.leakmap_ids_hex"
        self.db.execute(
            f"CREATE TABLE {hexes} AS SELECT d.plain AS plain, d.digest AS digest, d.form AS form,"
            f" coalesce(nullif(r.app, ''), '{UNATTRIBUTED}') AS app, leakmap_receiver(r.company, r.host) AS receiver,"
            " r.id AS request_id, coalesce(r.timestamp, 0.0) AS ts"
            f" FROM fields fl JOIN {DIGESTS} d ON d.digest = lower(fl.value) JOIN {IDS} i ON i.key = d.plain"
            f" JOIN requests r ON r.id = fl.request_id WHERE length(fl.value) IN {DIGEST_LENGTHS}")
        self.db.execute(f"INSERT OR IGNORE INTO {FORMS} SELECT plain, digest, form FROM {hexes}")
        self.db.execute(
            f"INSERT INTO {SEEN}(key, value, data_type, app, receiver, request_id, ts) SELECT plain, digest,"
            " 'hashed_' || substr(form, instr(form, '(') + 1, length(form) - instr(form, '(') - 1), app, receiver,"
            f" request_id, ts FROM {hexes}")

    def _stats(self) -> None:
        self.db.execute(
            f"CREATE TABLE {STATS} AS SELECT key, count(DISTINCT receiver) AS receivers, count(DISTINCT app) AS apps,"
            f" count(DISTINCT nullif(app, '{UNATTRIBUTED}')) AS named_apps FROM {SEEN} GROUP BY key")

    # --- reading --------------------------------------------------------------------------------

    def summary(self) -> tuple[int, int, int]:
        """(identifiers, bridging identifiers, receivers of any identifier)."""
        count, bridging = self.db.execute(
            f"SELECT count(*), sum(s.receivers >= 2 OR s.named_apps >= 2) FROM {IDS} i JOIN {STATS} s"
            " ON s.key = i.key").fetchone()
        receivers, = self.db.execute(f"SELECT count(DISTINCT receiver) FROM {SEEN}").fetchone()
        return int(count), int(bridging or 0), int(receivers)

    def ranked(self, limit: int | None = None) -> Iterator[Identifier]:
        """Identifiers seen by the most receivers first, then by the most apps, then by type and
        value; the first *limit* (all when None), each built as it is read."""
        cursor = self.db.execute(
            f"SELECT i.key, i.value, i.kind FROM {IDS} i JOIN {STATS} s ON s.key = i.key"
            " ORDER BY s.receivers DESC, s.apps DESC, i.kind, i.value, i.seq LIMIT ?",
            (-1 if limit is None else limit,))
        while chunk := cursor.fetchmany(CHUNK_ROWS):
            for key, value, kind in chunk:
                yield self._identifier(key, value, kind)

    def _identifier(self, key: str, value: str, kind: str) -> Identifier:
        ident = Identifier(value, kind)
        for app, receiver, types, requests, first, last in self.db.execute(
                f"SELECT app, receiver, group_concat(DISTINCT data_type), count(DISTINCT request_id), min(ts), max(ts)"
                f" FROM {SEEN} WHERE key = ? GROUP BY app, receiver", (key,)):
            ident.routes[(app, receiver)] = Route(sorted(types.split(",")), int(requests), float(first), float(last))
        ident.requests = int(self.db.execute(f"SELECT count(DISTINCT request_id) FROM {SEEN} WHERE key = ?",
                                             (key,)).fetchone()[0])
        ident.forms = dict(self.db.execute(f"SELECT value, form FROM {FORMS} WHERE plain = ?", (key,)))
        return ident
