"""`leakmap rules draft`: a draft rule for a tracker host from the requests observed to it.

Why: writing a rule starts from the traffic. The draft groups the host's requests into
endpoints by method and path pattern, records the generic decode steps that opened their
bodies (leakmap/discover.py) and maps every field the detectors recognised to its data
type. Those types are guesses (a key called `email` usually is one): each is marked with a
YAML comment saying what suggested it, and the rule's `status` is `experimental` until a
person checks it against the SDK's source. Loaded with `--rules`, the draft turns the
detectors' findings into rule findings, so its effect can be compared at once.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .decode import Limits
from .discover import Hit, detect, open_request, path_pattern, uncovered
from .extract import Indicator
from .match import registrable_domain
from .model import Problem, Request
from .rules import Rule

MAX_ENDPOINTS = 100  # endpoints per draft (method × path pattern)
MAX_FIELDS = 500  # field paths per endpoint
_HASH_FORMS = {"md5", "sha1", "sha256"}
_HASHED = {"email": "hashed_email", "phone": "hashed_phone", "advertising_id": "hashed_advertising_id"}


@dataclass(slots=True)
class DraftEndpoint:
    """Requests of one method and path pattern: their decode steps and guessed fields."""

    method: str
    pattern: str
    requests: int = 0
    operations: Counter[tuple[str, tuple[str, ...]]] = field(default_factory=Counter)
    fields: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)  # path shape → (type, why) counts

    @property
    def id(self) -> str:
        words = [w for w in re.split(r"[^a-z0-9]+", self.pattern.lower()) if w and w != "id"]
        return "-".join([self.method.lower(), *words])[:60] or self.method.lower()

    def regex(self) -> str:
        parts = [re.escape(p) if p != "{id}" else "[^/]+" for p in self.pattern.split("/")]
        return "^" + "/".join(parts) + "/?$" if self.pattern != "/" else "^/$"

    def add_hit(self, hit: Hit) -> None:
        data_type = hit.data_type
        if hit.detector == "indicator" and hit.detail in _HASH_FORMS:
            data_type = _HASHED.get(data_type, data_type)
        why = {"key_name": f"key name {hit.detail!r}", "pattern": f"value looks like an {hit.detail}",
               "indicator": f"honey value found ({hit.detail})"}.get(hit.detector, hit.detector)
        shape = paths.shape(hit.path)
        if shape in self.fields or len(self.fields) < MAX_FIELDS:
            self.fields.setdefault(shape, Counter())[(data_type, why)] += 1


def collect(host: str, captures: Iterable[Path], rules: list[Rule], limits: Limits,
            indicators: Iterable[Indicator] = (), on_problem: Callable[[Problem], None] | None = None,
            ) -> tuple[dict[tuple[str, str], DraftEndpoint], list[Hit]]:
    """Endpoints of *host* (`*.domain` for every host under it) and every detector hit."""
    indicators = list(indicators)
    wildcard = host.startswith("*.")

    def want(request: Request) -> bool:
        return request.host.endswith(host[1:]) if wildcard else request.host == host

    endpoints: dict[tuple[str, str], DraftEndpoint] = {}
    hits: list[Hit] = []
    for request in uncovered(captures, rules, limits, on_problem=on_problem, want=want):
        pattern = path_pattern(request.path).rstrip("/") or "/"  # `/track` and `/track/`: one endpoint
        if (request.method, pattern) not in endpoints and len(endpoints) >= MAX_ENDPOINTS:
            continue  # a host with endless path variants: the first ones make the draft
        endpoint = endpoints.setdefault((request.method, pattern), DraftEndpoint(request.method, pattern))
        endpoint.requests += 1
        opened = open_request(request, limits)
        for op in opened.operations:
            endpoint.operations[op] += 1
        for hit in detect(opened.doc, indicators, limits.max_depth):
            endpoint.add_hit(hit)
            hits.append(hit)
    return endpoints, hits


def _q(text: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def render(host: str, endpoints: dict[tuple[str, str], DraftEndpoint], sources: list[str]) -> str:
    """The draft rule as YAML text, guesses commented."""
    domain = registrable_domain(host.lstrip("*."))
    rule_id = "draft-" + re.sub(r"[^a-z0-9]+", "-", domain.lower()).strip("-")
    lines = [
        f"# Draft rule written by `leakmap rules draft` from {sum(e.requests for e in endpoints.values())} observed "
        f"requests to {host}.",
        "# Every data type below is a GUESS by leakmap's detectors (see the comment on each field). Check each",
        "# one against the SDK's source, cite it in `source`, then set status: stable.",
        f"id: {rule_id}",
        f"name: {_q(domain)}",
        f"company: {_q('unknown (draft for ' + domain + ')')}",
        "category: other                # what the company does: advertising, analytics, ... (docs/rules.md)",
        "status: experimental",
        f"description: {_q('Drafted from observed traffic; not checked against any SDK source.')}",
        "endpoints:",
    ]
    used_ids: set[str] = set()
    for endpoint in sorted(endpoints.values(), key=lambda e: -e.requests):
        endpoint_id = endpoint.id
        while endpoint_id in used_ids:
            endpoint_id += "-x"
        used_ids.add(endpoint_id)
        lines += [
            f"  - id: {_q(endpoint_id)}",
            f"    # {endpoint.requests} requests: {endpoint.method} {endpoint.pattern}",
            f"    hosts: [{_q(host)}]",
            f"    methods: [{endpoint.method}]",
            f"    path: {_q(endpoint.regex())}",
        ]
        operations = [op for op, _ in endpoint.operations.most_common()]
        if operations:
            lines.append("    decode:")
            for at in dict.fromkeys(at for at, _ in operations):
                chains = [list(steps) for a, steps in operations if a == at]
                steps = chains[0] if len(chains) == 1 else [{"any": chains}]
                seen = sum(n for (a, _), n in endpoint.operations.items() if a == at)
                lines += [f"      - at: {_q(at)}  # opened {seen} of {endpoint.requests} requests",
                          f"        steps: {json.dumps(steps)}"]
                if seen < endpoint.requests:
                    lines.append("        optional: true")
        if endpoint.fields:
            lines.append("    fields:")
            for shape, guesses in sorted(endpoint.fields.items()):
                (data_type, why), n = guesses.most_common(1)[0]
                others = ", ".join(sorted({t for t, _ in guesses} - {data_type}))
                note = f"  # guess: {why}, {n}x" + (f"; also seen as {others}" if others else "")
                lines.append(f"      {_q(shape)}: {data_type}{note}")
        lines.append(f"    source: {_q('observed traffic (leakmap rules draft): ' + ', '.join(sources))}")
    return "\n".join(lines) + "\n"
