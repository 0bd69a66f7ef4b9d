"""Match stage: which tracker endpoint, if any, a request was sent to.

Hosts are looked up in dicts (exact host, then each parent domain down to the registrable
domain), so the cost per request does not grow with the number of rules. Only the few
endpoints of the matched tracker are then tested on method and path.

Requests to hosts no rule names are recognised by shape: a customer's own proxy (Mixpanel's
`api_host`), a self-hosted collector (Snowplow, Matomo), a CNAME (Adobe, Piano). Endpoints
that declare a `shape`, including endpoints with no host at all, are indexed by cheap keys:
the last path segment, the first path segment of a `path_prefix`, a query parameter name,
a request header name. A request looks each of its own keys up in those dicts (a handful of
hash lookups whatever the number of rules) and gets the few candidates whose key it carries;
the pipeline then confirms each by its path (endpoints with no host), method, and payload
(`shape.require`), and flags the match (`payload_shape`, with the key that found it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

import tldextract

from .model import Request
from .rules import Endpoint, Rule

# Offline: the public-suffix snapshot bundled with tldextract, never a download.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """`api.mixpanel.com` → `mixpanel.com`. Hosts under a name that is no public suffix
    (`.example`, `.internal`, `.lan`) keep their last two labels; IPs come back unchanged."""
    parts = _EXTRACT(host)
    if parts.top_domain_under_public_suffix:
        return parts.top_domain_under_public_suffix
    if parts.ipv4 or ":" in host or host.count(".") < 1:
        return host
    return ".".join(host.rsplit(".", 2)[-2:])


@dataclass(frozen=True, slots=True)
class Candidate:
    """An endpoint that may describe a request on a host no rule names, and the cheap key
    that made it one (said in the evidence: "recognised by payload shape, found by ...")."""

    endpoint: Endpoint
    found_by: str  # `path segment 'batch'`, `path prefix '/b/ss/'`, `query parameter 'x'`, `header 'x'`


@dataclass(slots=True)
class Match:
    endpoint: Endpoint | None  # None: the host belongs to a tracker but no endpoint fits
    rule: Rule
    via: str  # host | payload_shape


class HostIndex:
    """Host → endpoints, built once from the compiled rules."""

    def __init__(self, rules: list[Rule]) -> None:
        self.exact: dict[str, list[Endpoint]] = {}
        self.suffix: dict[str, list[Endpoint]] = {}
        self.shapes: dict[str, list[Endpoint]] = {}
        self.shape_params: dict[str, list[Endpoint]] = {}
        self.shape_headers: dict[str, list[Endpoint]] = {}
        self.shape_prefixes: dict[str, list[tuple[str, Endpoint]]] = {}  # first path segment → (prefix, endpoint)
        for rule in rules:
            for endpoint in rule.endpoints:
                for host in endpoint.hosts:
                    if host.startswith("*."):
                        self.suffix.setdefault(host[2:], []).append(endpoint)
                    else:
                        self.exact.setdefault(host, []).append(endpoint)
                for segment in endpoint.shape_segments:
                    self.shapes.setdefault(segment, []).append(endpoint)
                for param in endpoint.shape_params:
                    self.shape_params.setdefault(param, []).append(endpoint)
                for header in endpoint.shape_headers:
                    self.shape_headers.setdefault(header, []).append(endpoint)
                for prefix in endpoint.shape_prefixes:
                    self.shape_prefixes.setdefault(prefix.split("/")[1], []).append((prefix, endpoint))

    def candidates(self, host: str) -> list[Endpoint]:
        """Endpoints whose hosts cover *host*: exact entries first, then `*.parent` entries
        from the nearest parent to the registrable domain."""
        found = list(self.exact.get(host, ()))
        if not self.suffix:
            return found
        stop = registrable_domain(host)
        name = host
        while True:
            found.extend(self.suffix.get(name, ()))
            if name == stop or "." not in name:
                break
            name = name.split(".", 1)[1]
        return found

    def match(self, request: Request) -> Match | None:
        """The endpoint for *request* by host, or None when no rule knows the host. A request
        no endpoint accepts still belongs to the tracker that owns the host, unless every
        endpoint there declares the host shared with other APIs."""
        candidates = self.candidates(request.host)
        if not candidates:
            return None
        for endpoint in candidates:
            if endpoint.accepts(request.method, request.path):
                return Match(endpoint, endpoint.rule, "host")
        owner = next((endpoint for endpoint in candidates if not endpoint.shared_host), None)
        return None if owner is None else Match(None, owner.rule, "host")

    def shape_candidates(self, request: Request) -> list[Candidate]:
        """Endpoints that may describe *request* on a host no rule names: by its last path
        segment, its first path segment (then the whole `path_prefix`), its query parameter
        names, its header names; each endpoint once, in that order. The caller confirms each
        by path, method and payload. Cost: one lookup per key the request carries."""
        found: dict[int, Candidate] = {}

        def add(endpoints: Iterable[Endpoint], found_by: str) -> None:
            for endpoint in endpoints:
                found.setdefault(id(endpoint), Candidate(endpoint, found_by))

        path = request.path
        segment = path.rstrip("/").rsplit("/", 1)[-1]
        if segment:
            add(self.shapes.get(segment, ()), f"path segment {segment!r}")
        if self.shape_prefixes:
            first = path.split("/", 2)[1] if path.count("/") >= 2 else ""
            for prefix, endpoint in self.shape_prefixes.get(first, ()):
                if path.startswith(prefix):
                    add((endpoint,), f"path prefix {prefix!r}")
        if self.shape_params and request.query:
            names = {unquote_plus(part.split("=", 1)[0]) for part in request.query.split("&")}
            for name in sorted(names & self.shape_params.keys()):
                add(self.shape_params[name], f"query parameter {name!r}")
        if self.shape_headers:
            for name in sorted(request.header_names().keys() & self.shape_headers.keys()):
                add(self.shape_headers[name], f"header {name!r}")
        return list(found.values())
