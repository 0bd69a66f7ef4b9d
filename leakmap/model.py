"""The records that travel between pipeline stages.

Every source (live addon, .mitm dump, HAR file) is turned into a `Request`; analysis turns a
`Request` into one `Analysis` holding its `Finding`s, which the store appends as rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


LIVE_SOURCE = "live"  # the source name of requests seen live through the addon

@dataclass(slots=True)
class Request:
    """One HTTP request, normalized whatever its source.

    `body` is already freed of Content-Encoding; when that failed, `body_error` says why
    and `body` holds the raw bytes.
    """

    flow_id: str
    source: str
    timestamp: float
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    client: str = ""
    proxy_mode: str = ""
    body_error: str = ""
    label: str = ""  # the app label given by the user for this capture (--app)
    # What identifies this request in the store, whatever file it is read from again:
    # `flow:<mitmproxy flow id>` (a UUID) or `har:<content hash>`; "" → source + flow id.
    key: str = ""
    capture_app: str = ""  # the app the capture tool recorded per packet (PCAPdroid's trailer)
    host: str = field(init=False)
    path: str = field(init=False)
    query: str = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.host = (parts.hostname or "").lower().rstrip(".")
        self.path = parts.path or "/"
        self.query = parts.query

    # The headers by lower-case name (first value of each), built on the first lookup: every
    # request is asked for about ten headers. Rebuilt when `headers` is replaced.
    _by_name: tuple[list[tuple[str, str]], dict[str, str], int] | None = field(default=None, init=False, repr=False,
                                                                          compare=False)

    def header(self, name: str) -> str:
        """First value of header *name* (case-insensitive), or ""."""
        return self.header_names().get(name.lower(), "")

    def header_names(self) -> dict[str, str]:
        """Lower-case header name → its first value."""
        cached = self._by_name
        if cached is None or cached[0] is not self.headers or len(cached[0]) != cached[2]:
            by_name: dict[str, str] = {}
            for key, value in self.headers:
                by_name.setdefault(key.lower(), value)
            cached = self._by_name = (self.headers, by_name, len(self.headers))
        return cached[1]


@dataclass(slots=True)
class Finding:
    """One (request, data type, value): the unit everything downstream counts."""

    data_type: str
    value: str
    path: str
    context: str  # query | body | header | cookie | path
    detector: str  # rule | key_name | pattern | indicator
    detail: str = ""  # what decided: the rule field, the key name, the pattern or honey form


@dataclass(slots=True)
class Analysis:
    """Everything learned about one request; `status` is one of:

    - ``decoded``: a rule matched and its payload was decoded
    - ``not_decoded``: a rule matched but the payload could not be decoded (`error` says why)
    - ``no_rule``: no tracker rule matched, but a generic detector found something
    """

    request: Request
    status: str
    tracker: str = ""
    company: str = ""
    category: str = ""
    endpoint: str = ""
    rule_source: str = ""
    match_via: str = ""  # host | payload_shape
    # For a payload_shape match: the cheap key that made the endpoint a candidate before its
    # payload confirmed it (`path segment 'batch'`, `header 'bugsnag-api-key'`, ...).
    matched_by: str = ""
    error: str = ""
    decode_chain: list[str] = field(default_factory=list)
    payload: Any = None
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (path, value, data_type or "")
    findings: list[Finding] = field(default_factory=list)
    app: str = ""
    app_signal: str = ""
    app_evidence: str = ""
    identity: dict[str, str] = field(default_factory=dict)  # app_id / app_name / project_key seen
    replays: list[Any] = field(default_factory=list)  # session recordings this request added to (replay.py)


@dataclass(slots=True)
class Problem:
    """Something that could not be read or decoded, with where it happened."""

    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.message}" if self.where else f"{self.source}: {self.message}"
