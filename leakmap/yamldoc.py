"""Load a user-written YAML document (a tracker rule, a policy) and say where it is wrong.

Why two parsers: libyaml (PyYAML's C loader) is fast, so every valid file takes that path;
only a file that fails to parse or to validate is read again with ruamel's round-trip
parser, which knows the line of every node (and follows YAML 1.2, where `NO` is a string),
so the error names `file:line`. The caller's `compile` function does the validation and
raises its own `DocumentError` subclass with a line found by `line_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import jsonschema

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
T = TypeVar("T")


class DocumentError(ValueError):
    """A document that cannot be used; `str()` gives file:line: what is wrong."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


def line_of(data: Any, path: Iterable[Any]) -> int:
    """1-based line of the node at *path* in ruamel round-trip data (best effort; plain
    data from the fast loader has no lines and gives 1)."""
    line = getattr(getattr(data, "lc", None), "line", 0)
    node = data
    for key in path:
        owner = _owner(node, key) if isinstance(key, str) else node
        lc = getattr(owner, "lc", None)
        try:
            if lc is not None:
                line = lc.key(key)[0] if isinstance(key, str) else lc.item(key)[0]
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line + 1


def _owner(node: Any, key: str, depth: int = 0) -> Any:
    """The mapping that writes *key* itself: *node*, or a map it merges (`<<: *anchor`),
    whose entry then has the line."""
    if key in (getattr(getattr(node, "lc", None), "data", None) or {}) or depth > 16:
        return node
    for merged in getattr(node, "merge", None) or ():
        merged = merged[1] if isinstance(merged, tuple) else merged
        owner = _owner(merged, key, depth + 1)
        if key in (getattr(getattr(owner, "lc", None), "data", None) or {}):
            return owner
    return node


def plain(data: Any) -> Any:
    """ruamel containers → plain dicts/lists (jsonschema and the compilers want plain types)."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def first_schema_error(validator: jsonschema.protocols.Validator, raw: Any) -> tuple[list[Any], str] | None:
    """(path, `where: message`) of the first schema violation in document order, or None."""
    errors = schema_errors(validator, raw)
    return errors[0] if errors else None


def schema_errors(validator: jsonschema.protocols.Validator, raw: Any,
                  rewrite: Callable[[Any, str], str | None] | None = None) -> list[tuple[list[Any], str]]:
    """(path, `where: message`) of every schema violation, in document order. *rewrite*
    may replace jsonschema's message for an error it knows better (None keeps it)."""
    errors = sorted(validator.iter_errors(plain(raw)), key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
    out = []
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            path += [k for k in error.instance if k not in allowed][:1]  # the line of the unexpected key
        message = rewrite(error, where) if rewrite else None
        out.append((path, message or f"{where}: {error.message}"))
    return out


def load(file: Path, compile: Callable[[Any, str], T], error: type[DocumentError], not_mapping: str,
         lines: bool = False) -> T:
    """Parse *file* and hand the document to `compile(raw, file_name)`, which raises *error*
    when the document is invalid. Raises *error* (never a parser exception). *lines*: the
    compiled result itself needs line numbers (a policy cites the entry a violation breaks),
    so ruamel parses even a valid file."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise error(str(file), 0, f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise error(str(file), 0, f"not UTF-8 text (byte {e.start})") from None
    try:
        raw = None if lines else yaml.load(text, Loader=_FAST_LOADER)
        if isinstance(raw, dict):
            return compile(raw, str(file))
    except (yaml.YAMLError, DocumentError):
        pass
    from ruamel.yaml import YAML  # for line numbers only: most documents never need it
    from ruamel.yaml.error import YAMLError

    try:
        raw = YAML(typ="rt").load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(str(file), (mark.line + 1) if mark else 0, f"invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise error(str(file), 1, not_mapping)
    return compile(raw, str(file))
