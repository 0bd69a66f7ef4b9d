"""Compiled-rule cache: a rule file parsed, validated and compiled once, reused by later runs.

Why: parsing the bundled YAML, validating it against the JSON Schema and compiling it cost
more than a second of every `leakmap analyze` and every proxy start, for files that rarely
change. A compiled `Rule` is pickled per rule file into the user's cache directory
(`$XDG_CACHE_HOME/leakmap`, else `~/.cache/leakmap`; the folder 0700, each file 0600).

A cached rule is used only when its key matches: the SHA-256 of the rule file's bytes and its name, the
leakmap version, the Python version, and the size and modification time of every module of
the leakmap package (a change to the compiler, a decode step or a data type must never meet
a rule compiled by the old code). Anything else is a miss: the file is compiled and the
entry rewritten. A cache entry that cannot be read (corrupt, truncated, written by another
Python) is a miss too. An entry is unpickled only if it and its folder belong to this user
and nobody else can write them, since unpickling runs code. When the folder cannot be created
or written (read-only home, a sandbox), leakmap silently compiles every run.
At most MAX_ENTRIES files are kept, the most recently written. `LEAKMAP_NO_RULE_CACHE=1`
turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from . import __version__

T = TypeVar("T")
FORMAT = "1"  # bump when the entry layout changes
DISABLE_ENV = "LEAKMAP_NO_RULE_CACHE"
MAX_ENTRIES = 256  # rule files remembered (the bundled rules are about 50)


def cache_dir() -> Path:
    """Where entries live: $XDG_CACHE_HOME/leakmap, else ~/.cache/leakmap."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "leakmap"


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("", "0", "false", "no")


@lru_cache(maxsize=1)
def code_key() -> str:
    """The code that compiles rules: every module of the package, by size and mtime (a stat
    each, no reading), plus the leakmap and Python versions."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{sys.version_info[:3]}".encode())
    for module in sorted(package.glob("*.py")):
        info = module.stat()
        digest.update(f"|{module.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def load(file: Path, compile_file: Callable[[Path], T], extra_key: Callable[[], str] = lambda: "") -> T:
    """`compile_file(file)`, or its result from the cache when the file and leakmap's code
    are unchanged. Errors of `compile_file` (an invalid rule) are raised and never cached.
    *extra_key*: what else the compiled result depends on (the field blocks it may use)."""
    if not enabled():
        return compile_file(file)
    try:
        content = file.read_bytes()
    except OSError:
        return compile_file(file)  # it reports the unreadable file in its own words
    # The name as given is part of the key: the compiled rule quotes it in its problems.
    key = f"{code_key()}|{file}|{hashlib.sha256(content).hexdigest()}|{extra_key()}"
    entry = cache_dir() / f"rules-{hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:32]}.pickle"
    cached = _read(entry, key)
    if cached is not None:
        return cached
    compiled = compile_file(file)
    try:
        unchanged = file.read_bytes() == content  # not edited while it was compiled
    except OSError:
        unchanged = False
    if unchanged:
        _write(entry, key, compiled)
    return compiled


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else: safe to unpickle from."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path, key: str) -> object | None:
    try:
        if not (_private(entry.parent) and _private(entry)):
            return None
        with entry.open("rb") as f:
            stored_key, value = pickle.load(f)
    except Exception:  # missing, unreadable, corrupt, from other code: a miss
        return None
    return value if stored_key == key else None


def _write(entry: Path, key: str, value: object) -> None:
    """Write atomically (a temporary file renamed over the entry), 0600 in a 0700 folder;
    any failure leaves the run uncached, silently."""
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(entry.parent):
            return
        data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".pickle")  # created 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temporary, entry)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(entry.parent)
    except Exception:
        return


def _prune(folder: Path) -> None:
    """Keep the newest MAX_ENTRIES entries: rule files in temporary folders (tests, scripts)
    would otherwise leave one entry each, forever."""
    found = sorted(folder.glob("rules-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in found[MAX_ENTRIES:]:
        stale.unlink(missing_ok=True)
