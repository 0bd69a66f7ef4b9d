"""Decode stage: the engine that runs the steps a rule chains to turn raw request parts into
a payload tree.

A rule endpoint declares operations `{at: PATH, steps: [...]}`. Each operation finds the
nodes at PATH in the request document (`query`, `body`, `header`, `cookie`) and replaces
each one by the result of its steps, in order. `{any: [[...], [...]]}` tries alternatives and
keeps the first that works, which is how one endpoint serves several SDK formats. A step that
fails leaves the node as it was and records why: the request stays visible as "not decoded".

The steps themselves live in their own modules, generic formats apart from each vendor's:
STEP_MODULES below is the registry this engine reads. A module offers `STEPS` (name →
function of (value, limits)), `PARAMETERISED` (name → compiler of the step's parameters)
and `EXPANDING` (steps whose output can outgrow their input, charged to the request's
budget). A new vendor format is a new module added to STEP_MODULES; the engine does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import (aes_cbc, applovin_xor, binary_formats, clevertap_crypto, grpc_frames, paths, positional, querypack,
               sentry_envelope, statsig_encoding, text_formats)
from .limits import DEFAULT_MAX_BODY, DEFAULT_MAX_DECOMPRESSED, Budget, LimitError, Limits, TookTooLong
from .steps import DecodeError, KeyedStep, KeyRef, StepFn

# The step functions' former home: callers may still name them `decode.step_*` (see __all__).
from .aes_cbc import step_aes_cbc
from .applovin_xor import step_keyed_xor
from .binary_formats import (step_as_list, step_base64, step_basic_auth, step_gzip, step_hex,
                             step_jwt, step_lzstring, step_lzstring_uri, step_multipart, step_protobuf,
                             step_uuid, step_zlib)
from .clevertap_crypto import step_clevertap_decrypt
from .grpc_frames import step_grpc
from .positional import step_group_by, step_pairs
from .querypack import step_nr_querypack
from .sentry_envelope import step_auth_params, step_sentry_envelope
from .statsig_encoding import step_statsig_encoded
from .text_formats import (loads_json, multidict, step_expand_json, step_form, step_form_lines,
                           step_form_nested, step_json, step_kv_pairs, step_lines, step_ndjson, step_opaque,
                           step_product_tokens, step_split, step_text, step_urldecode)

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_DECOMPRESSED", "Budget", "DecodeError", "KeyRef", "LimitError",
           "Limits", "TookTooLong", "compile_steps", "multidict", "run_operations", "loads_json",
           "step_aes_cbc", "step_as_list", "step_auth_params", "step_base64", "step_basic_auth",
           "step_clevertap_decrypt", "step_expand_json", "step_form", "step_form_lines", "step_form_nested",
           "step_group_by", "step_grpc", "step_gzip", "step_hex", "step_json", "step_jwt", "step_keyed_xor",
           "step_kv_pairs", "step_lines", "step_lzstring", "step_lzstring_uri", "step_multipart",
           "step_ndjson", "step_nr_querypack", "step_opaque", "step_pairs", "step_product_tokens",
           "step_protobuf", "step_sentry_envelope", "step_split", "step_statsig_encoded", "step_text",
           "step_urldecode", "step_uuid", "step_zlib"]

#: The registry: every module whose steps rules may name, generic formats first.
STEP_MODULES: tuple[ModuleType, ...] = (
    text_formats, binary_formats,                                   # generic formats
    sentry_envelope, clevertap_crypto, aes_cbc, applovin_xor,       # one module per vendor format
    positional, querypack, statsig_encoding, grpc_frames,
)


def _registry() -> tuple[dict[str, StepFn], dict[str, Callable[[Any], StepFn | KeyedStep]], frozenset[str]]:
    steps: dict[str, StepFn] = {}
    parameterised: dict[str, Callable[[Any], StepFn | KeyedStep]] = {}
    expanding: set[str] = set()
    for module in STEP_MODULES:
        for name, function in getattr(module, "STEPS", {}).items():
            if name in steps:
                raise RuntimeError(f"decode step {name!r} defined twice ({module.__name__})")
            steps[name] = function
        for name, compiler in getattr(module, "PARAMETERISED", {}).items():
            if name in parameterised:
                raise RuntimeError(f"parameterised decode step {name!r} defined twice ({module.__name__})")
            parameterised[name] = compiler
        expanding |= getattr(module, "EXPANDING", frozenset())
    return steps, parameterised, frozenset(expanding)


STEPS, PARAMETERISED, EXPANDING = _registry()


NO_KEYS: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Chain:
    """A compiled list of steps, each (display name, function); an `any` step has no
    function and tries `alternatives` instead."""

    steps: tuple[tuple[str, StepFn | KeyedStep | None], ...]
    alternatives: tuple["Chain", ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.steps)

    @property
    def key_refs(self) -> tuple[KeyRef, ...]:
        """The user-supplied keys this chain's steps (alternatives included) can use."""
        own = tuple(f.ref for _, f in self.steps if isinstance(f, KeyedStep))
        return own + tuple(ref for alt in self.alternatives for ref in alt.key_refs)

    def run(self, value: Any, limits: Limits, keys: Mapping[str, str] = NO_KEYS,
            budget: Budget | None = None) -> tuple[Any, str]:
        """Apply the steps; return the value and the chain text actually used. *keys*: the
        keys the user supplied, by name, for steps that need one. *budget*: the request's
        running budget (the pipeline passes one): each step then gets the remaining
        decompressed budget and the deadline, and what expanding steps produce is charged."""
        used: list[str] = []
        for name, function in self.steps:
            if budget is not None:
                budget.check_time()
                limits = budget.step_limits()
            if function is None:
                value, text = self._first(value, limits, keys, budget)
                used.append(text)
                continue
            if isinstance(function, KeyedStep):
                value = function(value, limits, keys)
            else:
                value = function(value, limits)
            used.append(name)
            if budget is not None and name in EXPANDING and isinstance(value, (str, bytes)):
                budget.charge(len(value), name)
        return value, " → ".join(used)

    def _first(self, value: Any, limits: Limits, keys: Mapping[str, str],
               budget: Budget | None) -> tuple[Any, str]:
        reasons = []
        for alternative in self.alternatives:
            names = " → ".join(alternative.names)
            try:
                return alternative.run(value, limits, keys, budget)
            except LimitError as e:  # a bomb: the other alternatives would meet it too
                raise LimitError(f"[{names}] {e}") from None
            except DecodeError as e:
                if e.recognised:  # this alternative knew the format: its reason is the one
                    raise DecodeError(f"[{names}] {e}", recognised=True) from None
                reasons.append(f"[{names}] {e}")
        raise DecodeError("no alternative decoded: " + "; ".join(reasons))


def compile_steps(spec: list[Any]) -> Chain:
    """Rule step list → Chain. Raises ValueError naming an unknown step (the rule loader
    turns it into a rule error with file and line)."""
    steps: list[tuple[str, StepFn | KeyedStep | None]] = []
    alternatives: tuple[Chain, ...] = ()
    for step in spec:
        if isinstance(step, str):
            if step not in STEPS:
                known = ", ".join(sorted([*STEPS, *PARAMETERISED, "any"]))
                raise ValueError(f"unknown decode step {step!r} (known: {known})")
            steps.append((step, STEPS[step]))
        elif isinstance(step, dict) and set(step) == {"any"}:
            if alternatives:
                raise ValueError("only one 'any' step per chain; nest the rest inside it")
            alternatives = tuple(compile_steps(list(alt)) for alt in step["any"])
            steps.append(("any", None))
        elif isinstance(step, dict) and len(step) == 1 and next(iter(step)) in PARAMETERISED:
            name, params = next(iter(step.items()))
            steps.append((name, PARAMETERISED[name](params)))
        else:
            raise ValueError(f"a decode step is a name, {{any: [[...], ...]}} or {{NAME: {{...}}}} with NAME one of "
                             f"{', '.join(sorted(PARAMETERISED))}; not {step!r}")
    return Chain(tuple(steps), alternatives)


@dataclass(frozen=True, slots=True)
class Operation:
    """Decode the nodes at `at` with `chain`."""

    at: str
    segments: tuple[str, ...]
    chain: Chain
    optional: bool = False  # failure is noted in the chain log, not an error
    # Only for nodes an earlier operation left undecoded (still text or bytes): a fallback
    # that shows what can be read of a payload that could not be decoded (an envelope's
    # clear fields when the key to open it is missing).
    if_undecoded: bool = False


def run_operations(doc: dict[str, Any], operations: list[Operation], limits: Limits,
                   keys: Mapping[str, str] = NO_KEYS, budget: Budget | None = None) -> tuple[list[str], list[str]]:
    """Apply operations in order to *doc*, in place. Returns (chain log, errors). *keys*:
    the keys the user supplied, for steps that need one (KeyedStep). *budget*: the
    request's running budget, shared by every operation (see Chain.run). An error caused by
    a limit starts with "limit: ", so the pipeline can tell it from a format it could not
    read. TookTooLong is not caught: it ends the whole request."""
    log: list[str] = []
    errors: list[str] = []
    for op in operations:
        for container, key, concrete in list(paths.slots(doc, list(op.segments))):
            value = container[key]
            if value in (b"", "", None) or (op.if_undecoded and not isinstance(value, (str, bytes))):
                continue
            try:
                container[key], used = op.chain.run(value, limits, keys, budget)
                log.append(f"{concrete}: {used}")
            except LimitError as e:
                errors.append(f"limit: {concrete}: {e}")
            except DecodeError as e:
                if op.optional:
                    log.append(f"{concrete}: left as is ({e})")
                else:
                    errors.append(f"{concrete}: {e}")
    return log, errors
