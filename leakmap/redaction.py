"""Redaction: one policy for the report and every export, so a shared report and its exports
leak the same nothing.

A value stays readable only when it is labelled with a low-sensitivity data type (os name,
SDK version, event name...) and is not also the value of a more sensitive finding. Which
values are "sensitive somewhere" is asked of SQLite (a temporary table of the store's
connection, indexed), not held in a Python set: a store of millions of findings would
otherwise put all their values in memory.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import paths
from .datatypes import DATA_TYPES, LOW

# Types whose values say something about the device or the app, not the person.
CLEAR_TYPES = frozenset(t for t, d in DATA_TYPES.items() if d.sensitivity == LOW and t != "custom_property")
# Headers shown in clear when redacting: they describe the request, not the person.
_PLAIN_HEADERS = {"host", "content-type", "content-length", "accept", "accept-encoding", "connection", "origin",
                  "user-agent", "content-encoding"}
_URL_IN_TEXT = re.compile(r"(https?://[^\s?#]*)[?#]\S*")
SENSITIVE_TABLE = "temp.leakmap_sensitive_values"


def redact_value(value: str) -> str:
    """Mask a value but keep it comparable: 2 characters, then a short hash of the whole."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{value[:2]}…#{digest}" if len(value) > 4 else f"…#{digest}"


def redact_url(url: str, secrets: Container[str] = ()) -> str:
    """Drop query and fragment (they carry payloads); mask path segments that hold a
    finding value or an address."""
    parts = urlsplit(url)
    segments = [redact_value(s) if s and (s in secrets or "@" in s) else s for s in parts.path.split("/")]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), "…" if parts.query else "", ""))


def clear_sql(column: str) -> str:
    """SQL that is true when *column* holds a value `Redactor.value` shows in clear for a
    finding of type *column*'s row (needs `SensitiveValues` created on the connection)."""
    types = ",".join(f"'{t}'" for t in sorted(CLEAR_TYPES))
    return (f"(f.data_type IN ({types}) AND CAST({column} AS TEXT) NOT IN "
            f"(SELECT value FROM {SENSITIVE_TABLE}))")


class SensitiveValues:
    """The values of findings whose type is not clear, as a container backed by an indexed
    temporary table: `value in sensitive` is one B-tree lookup (memoised for repeats)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        types = sorted(CLEAR_TYPES)
        db.execute(f"CREATE TABLE IF NOT EXISTS {SENSITIVE_TABLE}(value TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute(f"DELETE FROM {SENSITIVE_TABLE}")
        db.execute(f"INSERT OR IGNORE INTO {SENSITIVE_TABLE} SELECT CAST(value AS TEXT) FROM findings"
                   f" WHERE data_type NOT IN ({','.join('?' * len(types))})", types)
        self._db = db
        self._contains = lru_cache(maxsize=1 << 16)(self._lookup)

    def _lookup(self, value: str) -> bool:
        return self._db.execute(f"SELECT 1 FROM {SENSITIVE_TABLE} WHERE value = ?", (value,)).fetchone() is not None

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self._contains(value)


def drop_sensitive_values(db: sqlite3.Connection) -> None:
    """Remove the temporary table once a report or export is done (a live store's
    connection outlives them); best effort, as it runs in `finally` blocks."""
    try:
        db.execute(f"DROP TABLE IF EXISTS {SENSITIVE_TABLE}")
    except sqlite3.Error:
        pass


@dataclass(slots=True)
class Redactor:
    """Masks everything captured (unlabelled leaves, custom properties, cookies, secret
    headers, query strings, undecoded blobs) except low-sensitivity labelled values. App
    names are not masked: they name the app under test, not the tester."""

    enabled: bool = False
    secrets: Container[str] = field(default_factory=frozenset)

    @classmethod
    def for_store(cls, db: sqlite3.Connection, enabled: bool) -> Redactor:
        return cls(True, SensitiveValues(db)) if enabled else cls(False)

    def value(self, value: Any, data_type: str = "") -> Any:
        """A leaf as it may be shown: unchanged, or masked."""
        if not self.enabled or value is None or isinstance(value, bool):
            return value
        text = str(value)
        return text if data_type in CLEAR_TYPES and text not in self.secrets else redact_value(text)

    def url(self, url: str) -> str:
        return redact_url(url, self.secrets) if self.enabled else url

    def text(self, text: str) -> str:
        """Free text that may quote captured data (attribution evidence: `path = value`,
        a Referer URL): mask what follows `=` and the query of any URL."""
        if not self.enabled or not text:
            return text
        head, sep, tail = text.partition(" = ")
        text = f"{head}{sep}{redact_value(tail)}" if sep else head
        return _URL_IN_TEXT.sub(r"\1?…", text)

    def source(self, source: str) -> str:
        """Capture file names without the directories (which often name the tester)."""
        return PurePath(source).name if self.enabled and source else source

    def tree(self, node: Any, labels: Mapping[str, str], path: str = "", place: str = "") -> Any:
        """A copy of a decoded payload with each leaf passed through `value`; cookies and
        headers not known to be harmless are masked whole, harmless headers kept."""
        if not self.enabled:
            return node
        if isinstance(node, dict):
            if "undecoded_bytes" in node:
                return {"undecoded_bytes": node["undecoded_bytes"], "base64": "[redacted]"}
            return {k: self.tree(v, labels, paths.child(path, k), place or _place(path, str(k)))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [self.tree(v, labels, paths.item(path, i), place) for i, v in enumerate(node)]
        if place == "plain" or node is None:
            return node
        if place == "mask":
            return redact_value(str(node))
        return self.value(node, labels.get(path, ""))

    def columns(self, row: dict[str, Any], names: Iterable[str]) -> None:
        """Mask, in place, the request columns of *row* that can name the tester or carry
        payload: url, client, app_evidence, source (those of *names* it has)."""
        if not self.enabled:
            return
        masks = {"url": self.url, "client": self.value, "app_evidence": self.text, "source": self.source}
        for name in names:
            if name in masks and name in row:
                row[name] = masks[name](str(row[name]))


def _place(parent: str, key: str) -> str:
    """"mask" for cookies and for headers not known to be harmless (credentials, Referer,
    custom ids), "plain" for harmless headers, "" for the normal per-value policy."""
    if parent == "" and key == "cookie":
        return "mask"
    if parent == "header":
        return "plain" if key.lower() in _PLAIN_HEADERS else "mask"
    return ""
