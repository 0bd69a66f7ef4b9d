"""Whose request is it: the app's or site's own backend, or a third party? And is it worth
decoding at all?

A request no rule covers is decoded generically only when it goes to a third party and
uploads something. Both questions are answered here with cheap string checks, before any
decoding, so ordinary traffic (page assets, fonts, CORS preflights, the app's own API)
costs a few dict lookups and never reaches the store.

First party, strongest signal first (README, "Third parties without a rule"):
  1. `--first-party DOMAIN` / the addon's `leakmap_first_party`: the user says so;
  2. the site of a top-level page the browser loaded (`Sec-Fetch-Dest: document`);
  3. the app's own domains, from its package or bundle id (`com.acme.shop` → acme.com) and
     from its name (`AcmeShop/2.1 CFNetwork…`, the capture label): a host whose registrable
     domain's name is that name (acmeshop.com, acme-shop.io, acmeshop-cdn.net) is the app's
     own API or CDN, learned as such the first time it is seen;
  4. the app's own hosts seen in the capture: per client, the registrable domain it
     contacts most, once that is at least DOMINANT_MIN requests over two or more host names
     (api.shop.com for data, images.shop.com or cdn.shop.com for its pictures): an app's
     backend, not a tracker SDK, carries most of an app's traffic. Learned as the capture
     goes on, so its first few requests may still count as third party;
  5. with no page seen at all: the request's own Origin/Referer site (an XHR of a page to
     its own backend).
Everything else is a third party.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_plus, urlsplit

from .attribute import APP_HEADERS, _APP_UA, _LIBRARY_UA, _NOT_AN_APP
from .match import registrable_domain
from .model import Request

STATIC_SUFFIXES = frozenset(
    "png jpg jpeg gif webp avif svg ico bmp tif tiff css js mjs map woff woff2 ttf otf eot "
    "mp4 webm mp3 ogg m4a wav m3u8 ts wasm pdf".split())
STATIC_DESTINATIONS = frozenset("image style script font video audio track manifest".split())
# Query parameters that only defeat caches: a request with nothing else uploads nothing.
CACHE_BUSTERS = frozenset("_ cb cachebuster cache_buster cachebust nocache rnd rand random r t ts _t _ts time "
                          "timestamp v ver version z bust hash".split())
# Headers every client sends; any other header (x-api-key, x-device-id, authorization,
# cookie) may identify the user or app and makes a request an upload.
PLAIN_HEADERS = frozenset(
    "host user-agent accept accept-language accept-encoding connection content-type content-length origin referer "
    "cache-control pragma if-none-match if-modified-since range upgrade-insecure-requests dnt te priority "
    "keep-alive proxy-connection x-requested-with purpose via upgrade x-leakmap-websocket".split())
# Parts of package ids that name no company.
_GENERIC_LABELS = frozenset("com org net io co app apps www android ios mobile client beta debug release prod dev "
                            "test demo example sdk lite free pro".split())
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
DOMINANT_MIN = 5
MAX_CLIENTS = 4096  # bounded memory on huge captures: later clients are not tracked


def query_names(query: str) -> list[str]:
    """Parameter names of a raw query string, without parsing values."""
    return [unquote_plus(part.split("=", 1)[0]).lower() for part in query.split("&") if part]


def uploads(request: Request) -> bool:
    """The request carries data to its receiver: a body, a query parameter that is no cache
    buster, or a header beyond the ones every client sends (ids, keys, cookies)."""
    if request.body:
        return True
    if request.query and any(name not in CACHE_BUSTERS for name in query_names(request.query)):
        return True
    return any(name.lower() not in PLAIN_HEADERS and not name.lower().startswith("sec-")
               for name, _ in request.headers)


_ID_LIKE = re.compile(r"[0-9a-f]{8,}|[A-Za-z0-9_-]{16,}|\d{6,}|@|%40|%2F|%3A|https?:", re.I)


def _identifying_query(query: str) -> bool:
    """A parameter that is no cache buster and whose value looks like an identifier (long
    hex or token, many digits, an email): `family=Roboto&display=swap` is not identifying."""
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote_plus(name).lower() not in CACHE_BUSTERS and _ID_LIKE.search(value):
            return True
    return False


def is_static_asset(request: Request) -> bool:
    """An image, script, style, font or media file fetched without identifying parameters:
    counted, never decoded (cookies a CDN gets with it are ordinary, and rule-covered
    tracker pixels are matched before this check)."""
    if request.body or request.method not in ("GET", "HEAD"):
        return False
    if request.query and _identifying_query(request.query):
        return False
    if request.header("sec-fetch-dest").lower() in STATIC_DESTINATIONS:
        return True
    last = request.path.rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[1].lower() in STATIC_SUFFIXES


def app_names(request: Request, label: str = "") -> list[str]:
    """Normalised names the app goes by in this request (package id labels, app UA name,
    capture label), each at least four characters long, for matching its own domains."""
    names: list[str] = []
    for header in APP_HEADERS:
        value = request.header(header).strip().lower()
        if value and value not in _NOT_AN_APP:
            labels = [x for x in value.split(".") if x not in _GENERIC_LABELS]
            names += labels + (["".join(labels)] if len(labels) > 1 else [])
    agent = _APP_UA.match(request.header("user-agent"))
    if agent and agent.group("name").lower() not in _LIBRARY_UA:
        names.append(agent.group("name"))
    for text in (request.label, label):
        if text:
            names.append(text)
    normalised = [_NON_ALNUM.sub("", n.lower()) for n in names]
    return [n for n in dict.fromkeys(normalised) if len(n) >= 4]


def _domain_name(domain: str) -> str:
    """`acme-shop.co.uk` → `acmeshop`: the registrable domain without its public suffix."""
    return _NON_ALNUM.sub("", domain.split(".", 1)[0].lower())


class FirstParty:
    """Decides first party vs third party for each request, learning the app's and site's
    own domains as the capture goes on (README: "Third parties without a rule")."""

    def __init__(self, domains: Iterable[str] = (), label: str = "") -> None:
        self.configured = {registrable_domain(d.strip().lower().lstrip(".")) for d in domains if d.strip()}
        self.label = label
        self.learned: dict[str, str] = {}  # registrable domain → why it is first party
        self.pages_seen = False
        # per client: registrable domain → (requests, host names), for the dominant domain
        self._traffic: dict[str, dict[str, tuple[int, frozenset[str]]]] = {}

    def observe(self, request: Request) -> None:
        """Count a request no rule covers (static assets too: an app's CDN is its own) and
        learn the client's dominant domain as first party (signal 4 above)."""
        client = request.client or "-"
        per_domain = self._traffic.get(client)
        if per_domain is None:
            if len(self._traffic) >= MAX_CLIENTS:
                return
            per_domain = self._traffic[client] = {}
        domain = registrable_domain(request.host)
        count, hosts = per_domain.get(domain, (0, frozenset()))
        if request.host not in hosts and len(hosts) < 8:
            hosts = hosts | {request.host}
        per_domain[domain] = (count + 1, hosts)
        if count + 1 >= DOMINANT_MIN and len(hosts) >= 2 and domain not in self.learned and \
                all(n <= count + 1 for n, _ in per_domain.values()):
            self.learned[domain] = (f"{domain} carries most of client {client}'s traffic "
                                    f"({count + 1} requests to {len(hosts)} host names): the app's own backend")

    def reason(self, request: Request) -> str:
        """Why *request* goes to the app's or site's own backend, or "" for a third party."""
        domain = registrable_domain(request.host)
        if domain in self.configured:
            return f"{domain} given with --first-party"
        self._learn_page(request)
        known = self.learned.get(domain)
        if known:
            return known
        name = _domain_name(domain)
        for app in app_names(request, self.label):
            if name == app or (len(app) >= 5 and name.startswith(app)):
                self.learned[domain] = f"{domain} is named like the app ({app})"
                return self.learned[domain]
        if not self.pages_seen:
            for header in ("origin", "referer"):
                site = registrable_domain((urlsplit(request.header(header)).hostname or "").lower())
                if site and site == domain:
                    return f"same site as the page ({header})"
        return ""

    def _learn_page(self, request: Request) -> None:
        """A top-level page load names the site under test."""
        if request.header("sec-fetch-dest").lower() == "document" and request.header("sec-fetch-mode") == "navigate":
            domain = registrable_domain(request.host)
            self.pages_seen = True
            self.learned.setdefault(domain, f"{domain} is the site of a page loaded in the capture")
