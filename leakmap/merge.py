"""Copy one findings store into another, as if its captures had been analysed into it.

`--jobs` workers and Dask tasks each analyse a capture into a store of their own; the one
writer (the CLI process, or `report --dataset`) merges them here, in capture order. The
result is the store a single process would have written: requests keep their order and get
the ids they would have had (the next free ones, without gaps), a request the target already
holds (same request key: the same capture given twice) is not added again and is counted,
problem lines are kept once. Tables and columns are read from the schema, so a table added
to the store later is merged too: rows of a table with a `request_id` follow their request.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .store import Store, store_fault

# Tables the merging process writes itself (schema version, per-source counters).
_NOT_MERGED = {"meta", "sources"}
# Rows of these tables are replaced by a later copy (latest state wins, as when analysing in
# one process); elsewhere the first copy is kept (problems are unique lines).
_LATEST_WINS = {"replays", "trackers"}


def _columns(db: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, bool]]:
    """(name, is the INTEGER PRIMARY KEY) of each column of *schema*.*table*."""
    rows = db.execute(f'PRAGMA "{schema}".table_info("{table}")').fetchall()
    return [(row[1], bool(row[5]) and row[2].upper() == "INTEGER") for row in rows]


def _quoted(names: list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{name}"' for name in names)


def merge_store(target: Store, part: Path) -> dict[str, int]:
    """Copy the store at *part* into *target* and commit. Returns, per source, how many of its
    requests *target* already held (not added again: `Stats.already_stored`)."""
    db = target.db
    try:
        target.commit()  # ATTACH is refused inside a transaction
        db.execute("ATTACH DATABASE ? AS part", (str(part),))
        try:
            known = dict(db.execute(
                "SELECT source, count(*) FROM part.requests WHERE request_key IN"
                " (SELECT request_key FROM main.requests WHERE request_key IS NOT NULL) GROUP BY source"))
            _copy(db)
            db.commit()
        finally:
            if db.in_transaction:
                db.rollback()
            db.execute("DETACH DATABASE part")
    except sqlite3.Error as e:
        target.rollback()
        raise store_fault(target.path, e) from None
    return known


def _copy(db: sqlite3.Connection) -> None:
    db.execute("CREATE TEMP TABLE IF NOT EXISTS merged_ids(old INTEGER PRIMARY KEY, new INTEGER)")
    db.execute("DELETE FROM temp.merged_ids")
    base = db.execute("SELECT coalesce(max(id), 0) FROM main.requests").fetchone()[0]
    db.execute("INSERT INTO temp.merged_ids SELECT id, ? + row_number() OVER (ORDER BY id) FROM part.requests"
               " WHERE request_key IS NULL OR request_key NOT IN"
               " (SELECT request_key FROM main.requests WHERE request_key IS NOT NULL)", (base,))
    target_tables = {name for name, in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
    for table, in db.execute("SELECT name FROM part.sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        if table in _NOT_MERGED or table.startswith("sqlite_") or table not in target_tables:
            continue
        wanted = {name for name, _ in _columns(db, "main", table)}
        columns = [(name, key) for name, key in _columns(db, "part", table) if name in wanted]
        if table == "requests":
            _copy_requests(db, [name for name, _ in columns])
        elif any(name == "request_id" for name, _ in columns):
            names = [name for name, key in columns if not key]
            picked = ", ".join("m.new" if name == "request_id" else f'x."{name}"' for name in names)
            db.execute(f'INSERT INTO main."{table}"({_quoted(names)}) SELECT {picked} FROM part."{table}" x'
                       " JOIN temp.merged_ids m ON m.old = x.request_id ORDER BY x.rowid")
        else:
            names = [name for name, key in columns if not key]
            conflict = "OR REPLACE" if table in _LATEST_WINS else "OR IGNORE"
            db.execute(f'INSERT {conflict} INTO main."{table}"({_quoted(names)}) SELECT {_quoted(names)}'
                       f' FROM part."{table}" ORDER BY rowid')


def _copy_requests(db: sqlite3.Connection, names: list[str]) -> None:
    """Requests not yet in the target, with the ids `merged_ids` gave them, in their order."""
    others = [name for name in names if name != "id"]
    db.execute(f'INSERT INTO main.requests(id, {_quoted(others)}) SELECT m.new, {_quoted(others, "r.")}'
               " FROM part.requests r JOIN temp.merged_ids m ON m.old = r.id ORDER BY r.id")
