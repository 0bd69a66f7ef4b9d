"""Block mode: the proxy's own answer to a tracker request, so the data never leaves.

Built inside mitmproxy's event loop, so it must cost time linear in the request, whatever the
request holds. mitmproxy's `request.query` / `urlencoded_form` views re-parse the whole query
on every key lookup: `dict(flow.request.query)` was quadratic (2,000 parameters froze the
proxy for minutes). Here the query and form are split once, and only the few parameters the
rule's reply reads are decoded.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import unquote_plus

from mitmproxy import http

from . import compression
from .model import Request
from .rules import Endpoint

log = logging.getLogger(__name__)
# Form bodies beyond this size (after Content-Encoding) are not searched for reply
# parameters: the reply then depends on the query alone. SDKs put these flags in small bodies.
FORM_SCAN_LIMIT = 1024 * 1024
ANSWER_HEADER = ("x-leakmap", "answered-by-proxy")


@lru_cache(maxsize=256)
def _param_pattern(wanted: frozenset[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in sorted(wanted))
    return re.compile(rf"&({names})(?:=([^&]*))?(?=&|$)")  # a literal first: the fast scan


def _first_values(text: str, wanted: frozenset[str], into: dict[str, str]) -> None:
    """First value of each *wanted* name in `a=1&b=2` text: one regex scan (C speed), and
    only the values wanted are unquoted. Names are matched as sent (SDKs do not
    percent-encode plain ASCII names)."""
    for found in _param_pattern(wanted).finditer("&" + text):
        if found.group(1) not in into:
            into[found.group(1)] = unquote_plus(found.group(2) or "")


def _form_text(request: Request) -> str:
    if "urlencoded" not in request.header("content-type") or not request.body:
        return ""
    body = request.body
    encoding = request.header("content-encoding")
    try:
        if encoding and encoding.strip().lower() != "identity":
            body = compression.decode_content(body, encoding, FORM_SCAN_LIMIT)
    except compression.DecompressionError:
        return ""
    if len(body) > FORM_SCAN_LIMIT:
        return ""
    return body.decode("utf-8", "replace")


def reply_params(request: Request, endpoint: Endpoint) -> dict[str, str]:
    """The query and form parameters the endpoint's reply reads (query first)."""
    wanted = endpoint.reply_params
    found: dict[str, str] = {}
    if wanted:
        _first_values(request.query, wanted, found)
        if wanted - found.keys():
            _first_values(_form_text(request), wanted, found)
    return found


def block_response(request: Request, endpoint: Endpoint | None) -> http.Response:
    """The answer for a tracker request: the reply the rule declares (else 200 "1"), with
    CORS headers so browser SDKs see a normal response; a preflight gets 204. Never raises:
    if the rule's reply cannot be built, the plain answer still keeps the data in."""
    try:
        reply = endpoint.reply(reply_params(request, endpoint)) if endpoint else {}
        int(reply.get("status", 200))
    except Exception as e:
        log.error(f"leakmap: block-mode reply of {endpoint.id if endpoint else '?'} failed "
                  f"({type(e).__name__}: {e}); answered with the plain reply")
        reply = {}
    headers = {"content-type": reply.get("content_type", "text/plain"), ANSWER_HEADER[0]: ANSWER_HEADER[1]}
    origin = request.header("origin")
    if origin:
        headers |= {"access-control-allow-origin": origin, "access-control-allow-credentials": "true",
                    "access-control-allow-headers": request.header("access-control-request-headers") or "*",
                    "access-control-allow-methods": "GET, POST, OPTIONS"}
    status = 204 if request.method == "OPTIONS" else int(reply.get("status", 200))
    body = b"" if status == 204 else reply.get("body", "1").encode()
    return http.Response.make(status, body, headers)
