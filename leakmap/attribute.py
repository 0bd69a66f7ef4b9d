"""Attribute stage: which app or website sent a request, and the evidence that said so.

Signals, strongest first (docs/ARCHITECTURE.md, "Contracts"); the first present decides and
is recorded as `app_signal` with the concrete evidence in `app_evidence`:
  capture_label · capture_app · local_mode · payload_app_id · header · first_party_site ·
  payload_project_key · same_client_nearby · unattributed
The tracker project key (Mixpanel token, Segment write key) ranks below what names an app
or site but above a guess from nearby traffic: it is stable per app, only not human-readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .match import registrable_domain
from .model import Analysis, Request

APP_HEADERS = ("x-requested-with", "x-android-package", "x-ios-bundle-identifier", "x-client-bundle-id")
# Browser WebViews send this value for ordinary XHR; it names no app.
_NOT_AN_APP = {"xmlhttprequest", "com.android.browser", "fetch"}
# `AppName/1.2 CFNetwork/1410 Darwin/22.6` (iOS default) or `AppName/1.2 (Linux; Android 13...)`.
_APP_UA = re.compile(r"^(?P<name>[^/\s]+)/(?P<version>[^\s]+)(?: (?:CFNetwork/|\((?:Linux|iPhone|iPad|Android)))")
_LIBRARY_UA = {
    "mozilla", "dalvik", "okhttp", "python-requests", "python-urllib", "curl", "wget", "axios", "node-fetch",
    "node", "undici", "go-http-client", "java", "apache-httpclient", "cfnetwork", "python", "aiohttp", "httpx",
    "ruby", "faraday", "guzzlehttp", "dart", "unityplayer", "libcurl",
}
NEARBY_SECONDS = 120.0


@dataclass(slots=True)
class Attribution:
    app: str
    signal: str
    evidence: str


def from_headers(request: Request) -> Attribution | None:
    """An app named by request headers: package/bundle headers, or an app-style User-Agent."""
    headers = request.header_names()
    for name in APP_HEADERS:
        value = headers.get(name, "").strip()
        if value and value.lower() not in _NOT_AN_APP:
            return Attribution(value, "header", f"{name}: {value}")
    agent = headers.get("user-agent", "")
    match = _APP_UA.match(agent)
    if match and match.group("name").lower() not in _LIBRARY_UA:
        name = unquote(match.group("name"))
        return Attribution(name, "header", f"user-agent: {agent[:160]}")
    return None


def from_site(request: Request) -> Attribution | None:
    """The first-party website, from Origin or Referer, when it is not the tracker itself."""
    for name in ("origin", "referer"):
        value = request.header(name)
        try:
            host = (urlsplit(value).hostname or "") if value else ""
        except ValueError:  # `http://[` (an unclosed IPv6 literal) names no site
            continue
        if not host or value == "null":
            continue
        site = registrable_domain(host.lower())
        if site and site != registrable_domain(request.host):
            return Attribution(site, "first_party_site", f"{name}: {value[:200]}")
    return None


class Attributor:
    """Decides the app for each analysed request; remembers, per client address, the last
    app a strong signal named, for the `same_client_nearby` fallback."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self._recent: dict[str, tuple[str, float, str]] = {}
        # tracker project key → the app a stronger signal named in a request carrying it:
        # the key is stable per app, so later requests with only the key get that name.
        self._key_app: dict[str, tuple[str, str]] = {}

    def observe(self, request: Request) -> None:
        """Learn from a request that is not analysed further (non-tracker traffic)."""
        found = from_headers(request) or from_site(request)
        if found and request.client:
            self._recent[request.client] = (found.app, request.timestamp, found.evidence)

    def attribute(self, analysis: Analysis) -> Attribution:
        request = analysis.request
        found = self._strong(analysis)
        key = analysis.identity.get("project_key")
        if found:
            if request.client and found.signal != "capture_label":
                self._recent[request.client] = (found.app, request.timestamp, found.evidence)
            if key and found.signal != "capture_label":
                self._key_app.setdefault(key, (found.app, found.evidence))
            return found
        if key:
            where = f"{analysis.identity.get('project_key_path', '')} = {key}"
            named = self._key_app.get(key)
            if named:
                return Attribution(named[0], "payload_project_key",
                                   f"{where}, the project key of {named[0]}'s other requests ({named[1]})")
            return Attribution(f"{analysis.tracker or 'tracker'} project {key}", "payload_project_key", where)
        recent = self._recent.get(request.client) if request.client else None
        if recent and abs(request.timestamp - recent[1]) <= NEARBY_SECONDS:
            return Attribution(recent[0], "same_client_nearby",
                               f"client {request.client} sent a request {abs(request.timestamp - recent[1]):.0f}s "
                               f"apart naming it ({recent[2]})")
        return Attribution("unattributed", "unattributed", "no signal names the sending app")

    def _strong(self, analysis: Analysis) -> Attribution | None:
        request = analysis.request
        label = request.label or self.label
        if label:
            return Attribution(label, "capture_label", f"capture labelled {label!r} by the user")
        if request.capture_app:
            return Attribution(request.capture_app, "capture_app",
                               f"packet capture names the app per packet (PCAPdroid trailer): {request.capture_app}")
        if request.proxy_mode.startswith("local:"):
            spec = request.proxy_mode.split(":", 1)[1]
            return Attribution(spec, "local_mode", f"mitmproxy local mode {request.proxy_mode}")
        for kind in ("app_id", "app_name"):
            value = analysis.identity.get(kind)
            if value:
                return Attribution(value, "payload_app_id", f"{analysis.identity.get(kind + '_path', '')} = {value}")
        return from_headers(request) or from_site(request)
