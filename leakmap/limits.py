"""Explicit ceilings for hostile input, and the running budget of one request.

Captured traffic is attacker-controlled: an app under test can send any bytes, and one
request must never cost the whole run. `Limits` are the user's options (docs/ARCHITECTURE.md,
"Failure policy"); a `Budget` is what one request may still spend while it is decoded and
extracted: CPU time, and output of the steps that expand data (gzip, zlib, LZ-string...).
The budget is shared by every step and every operation of the request, so a chain
`base64 → gzip → base64 → gzip` cannot multiply the limit, and an `any` that tries several
alternatives cannot either.

Time is measured as the CPU time of the analysing thread, not the wall clock: a loaded
machine or another thread of the proxy does not make a request "too long", and results do
not depend on how busy the machine was.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

DEFAULT_MAX_BODY = 8 * 1024 * 1024
DEFAULT_MAX_DECOMPRESSED = 32 * 1024 * 1024
DEFAULT_MAX_SECONDS = 2.0
CHECK_EVERY = 512  # loops look at the clock every this many iterations (a clock read costs ~0.1 µs)

clock = time.thread_time


class LimitError(ValueError):
    """One request hit a limit (size, count, decompressed budget). Not a DecodeError: an
    `any` reports it alone and tries no other alternative (they would meet the same bomb),
    and the request's error says "limit: ..."."""


class TookTooLong(Exception):
    """The request used up its CPU-time budget. Not a DecodeError: no alternative may catch
    it, the whole request stops."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The user's ceilings (CLI options, addon options). `deadline` is set per request by
    `Budget.step_limits()` (CPU-clock value after which long loops stop); a plain Limits has
    none, so steps called directly (tests, tools) run unbounded in time."""

    max_body: int = DEFAULT_MAX_BODY
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED
    max_depth: int = 32
    max_fields: int = 20_000
    max_seconds: float = DEFAULT_MAX_SECONDS
    deadline: float = math.inf

    def check_time(self) -> None:
        """Raise TookTooLong once the request's CPU time is used up."""
        if self.deadline != math.inf and clock() > self.deadline:
            raise TookTooLong(self.max_seconds)


class Budget:
    """What one request may still spend. Created per request by the pipeline; decode steps
    receive `step_limits()`: the Limits with the remaining decompressed budget and the
    request's deadline."""

    __slots__ = ("limits", "deadline", "expanded")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = clock() + limits.max_seconds if limits.max_seconds > 0 else math.inf
        self.expanded = 0

    def step_limits(self) -> Limits:
        limits = self.limits  # built field by field: dataclasses.replace costs ~3 µs a call
        return Limits(limits.max_body, max(0, limits.max_decompressed - self.expanded), limits.max_depth,
                      limits.max_fields, limits.max_seconds, self.deadline)

    def charge(self, produced: int, what: str) -> None:
        """Count *produced* bytes (or characters) of expanded output against the request's
        decompressed budget."""
        self.expanded += produced
        if self.expanded > self.limits.max_decompressed:
            raise LimitError(f"{what}: the request's decoded data exceeds the {self.limits.max_decompressed}-byte "
                             "budget (--max-decompressed)")

    def check_time(self) -> None:
        if clock() > self.deadline:
            raise TookTooLong(self.limits.max_seconds)


def took_too_long(limits: Limits) -> str:
    """The error text of a request stopped by its time budget."""
    return f"took too long: stopped after {limits.max_seconds:g} s of CPU time (--max-seconds)"
