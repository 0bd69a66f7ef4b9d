"""Match stage: which tracker endpoint, if any, a request was sent to.

Hosts are looked up in dicts (exact host, then each parent domain down to the registrable
domain), so the cost per request does not grow with the number of rules. Only the few
endpoints of the matched tracker are then tested on method and path. Requests to unknown
hosts can still be recognised by payload shape (a customer's own proxy, e.g. Mixpanel's
`api_host`): endpoints that declare a `shape` are indexed by the last path segment, a query
parameter name (proxies that move the intake path into a parameter) or a request header
name (self-hosted servers at any host and path).
"""

from __future__ import annotations

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

    def shape_candidates(self, request: Request) -> list[Endpoint]:
        """Endpoints that may describe *request* on an unknown host, by last path segment,
        then by query parameter name, then by request header name; the caller confirms by
        decoding and checking the endpoint's required fields."""
        segment = request.path.rstrip("/").rsplit("/", 1)[-1]
        found = list(self.shapes.get(segment, ())) if segment else []
        if self.shape_params and request.query:
            names = {unquote_plus(part.split("=", 1)[0]) for part in request.query.split("&")}
            found += [e for name in sorted(names & self.shape_params.keys()) for e in self.shape_params[name]
                      if e not in found]
        if self.shape_headers:
            names = {name.lower() for name, _ in request.headers}
            found += [e for name in sorted(names & self.shape_headers.keys()) for e in self.shape_headers[name]
                      if e not in found]
        return found
