"""The rule language's vocabulary and its JSON Schema: the roots a field path starts at, the
statuses and categories a rule may name, the schema every rule file is validated against
(published as leakmap/data/rule.schema.json and by `leakmap rules schema`), and the messages
for the schema errors a rule writer meets most. rules.py compiles what this validates.
"""

from __future__ import annotations

import functools
from typing import Any

from . import datatypes

#: A field mapped to this value is known and kept as an uploaded field, but is not personal
#: data; naming it stops the key-name heuristics from guessing a type for it.
NOT_PERSONAL = "uploaded"

#: Where a field path starts: a part of the request document, or `record` (each record the
#: endpoint's `records` paths find). One map, every path rooted: nothing depends on context.
REQUEST_ROOTS = ("query", "path", "body", "header", "cookie")
RECORD_ROOT = "record"
STATUSES = ("stable", "experimental", "unverified")
#: What a tracker does for its customers; the report groups receivers by it.
RULE_CATEGORIES = ("advertising", "analytics", "attribution", "consent_management", "customer_data", "engagement",
                   "error_reporting", "experimentation", "monitoring", "session_replay", "social", "tag_manager",
                   "other")  # `other`: not yet known (drafts by `leakmap rules draft`)
MIGRATE_HINT = "rules written for leakmap before one `fields` map: run `python scripts/migrate_rules.py FILE...`"

_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
_PATHS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_DATA_TYPE = {"enum": sorted(datatypes.DATA_TYPES) + [NOT_PERSONAL]}
_FIELD_MAP = {"type": "object", "additionalProperties": _DATA_TYPE}
_REPLY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "if_param": {"type": "string"},  # applies when the query or form has this parameter (not "0")
        "status": {"type": "integer"},
        "body": {"type": "string"},
        "content_type": {"type": "string"},
    },
}
_SCALARS = {"type": ["string", "integer", "boolean"]}  # `when` values; booleans as JSON writes them
_VARIANT = {
    "type": "object",
    "required": ["when", "fields"],
    "additionalProperties": False,
    "properties": {
        # record path → the value (or one of the values) it must hold
        "when": {"type": "object", "minProperties": 1,
                 "additionalProperties": {"oneOf": [_SCALARS, {"type": "array", "items": _SCALARS, "minItems": 1}]}},
        "fields": _FIELD_MAP,
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "company", "category", "endpoints"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": _NAME},
        "name": {"type": "string", "minLength": 1},
        "company": {"type": "string", "minLength": 1},
        "category": {"enum": list(RULE_CATEGORIES)},
        "website": {"type": "string"},
        "country": {"type": "string"},
        "description": {"type": "string"},
        "references": {"type": "array", "items": {"type": "string"}},
        # How far the rule is checked: drafts (`leakmap rules draft`) start `experimental`.
        # The default of its endpoints' own `status`.
        "status": {"enum": list(STATUSES)},
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "source"],
                # An endpoint with no host is recognised on any host by its `shape` alone.
                "anyOf": [{"required": ["hosts"]}, {"required": ["shape"]}],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _NAME},
                    "description": {"type": "string"},
                    "status": {"enum": list(STATUSES)},
                    "hosts": _PATHS,
                    "methods": {"type": "array", "items": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS"]}},
                    "path": {"type": "string"},
                    "decode": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["at", "steps"],
                            "additionalProperties": False,
                            "properties": {
                                "at": {"type": "string"},
                                "steps": {"type": "array", "minItems": 1},
                                "optional": {"type": "boolean"},
                                "if_undecoded": {"type": "boolean"},
                            },
                        },
                    },
                    "records": _PATHS,
                    "fields": _FIELD_MAP,
                    "shape": {
                        "type": "object",
                        "required": ["require"],
                        "anyOf": [{"required": ["segments"]}, {"required": ["params"]}, {"required": ["headers"]},
                                  {"required": ["path_prefix"]}],
                        "additionalProperties": False,
                        "properties": {"segments": _PATHS, "params": _PATHS, "headers": _PATHS, "require": _PATHS,
                                       "path_prefix": {"type": "array", "minItems": 1,
                                                       "items": {"type": "string", "pattern": "^/[^/]+/"}}},
                    },
                    "reply": {"oneOf": [_REPLY, {"type": "array", "items": _REPLY, "minItems": 1}]},
                    "source": {"oneOf": [{"type": "string"}, _PATHS]},
                    "shared_host": {"type": "boolean"},
                    "record_variants": {"type": "array", "minItems": 1, "items": _VARIANT},
                    # field blocks (tracker_rules/blocks/<name>.yaml) merged before `fields`
                    "use": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": _NAME}},
                },
            },
        },
    },
}
@functools.cache
def validator() -> Any:
    """The schema's validator, built on first use: a run whose rules all come from the
    compiled-rule cache (rules_cache.py) does not import jsonschema."""
    import jsonschema

    return jsonschema.Draft202012Validator(SCHEMA)
SCHEMA_FILE = "rule.schema.json"  # in leakmap/data/, written from SCHEMA (a test keeps it current)


def published_schema() -> dict[str, Any]:
    """SCHEMA as a standalone JSON Schema document, for editors and other tools."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "leakmap tracker rule",
            "description": "One tracker company's endpoints, how to decode them and which data types their "
                           "fields hold. Reference: docs/rules.md.", **SCHEMA}



def unknown_type(path_text: str, data_type: Any) -> str:
    return (f"unknown data type {data_type!r} for field {path_text!r} "
            f"(`leakmap types` lists them; '{NOT_PERSONAL}' marks a known field that is not personal)")


def schema_message(error: Any, where: str) -> str | None:
    """A readable message for the schema errors a rule writer meets most."""
    path = list(error.absolute_path)
    if error.validator == "enum" and len(path) >= 4 and path[-2] == "fields":
        return unknown_type(str(path[-1]), error.instance)
    if error.validator == "enum" and path == ["category"]:
        return f"unknown category {error.instance!r} (one of: {', '.join(RULE_CATEGORIES)})"
    if error.validator == "anyOf" and len(path) == 2 and path[0] == "endpoints":
        return f"{where}: an endpoint needs `hosts`, or a `shape` to be recognised on any host"
    return None
