"""The generic path: what a third party without a tracker rule received.

A request no rule covers is first triaged with cheap checks (leakmap/firstparty.py): CORS
preflights, static assets, the app's own backend and requests that upload nothing are
counted, not decoded. Every other request is opened without a rule: compression by its
magic bytes, then JSON, NDJSON, multipart, form data, schema-less protobuf, and inside
every string JSON, JWTs, base64/base64url and percent-encoding, each step one of
decode.py's, within the same Limits. Every leaf becomes a field of the request and a
finding typed by leakmap/guess.py (detector `generic`, the reason in `detail`); the
receiver is the registrable domain, named by the bundled entity list (leakmap/entities.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from . import compression, credentials, grpc_frames, paths
from .decode import (DecodeError, step_base64, step_form, step_jwt, step_json, step_multipart, step_ndjson,
                     step_protobuf)
from .limits import CHECK_EVERY, LimitError, Limits, TookTooLong
from .entities import receiver
from .extract import Extraction, Indicator, add_special, inside_value, scalar_text
from .firstparty import PLAIN_HEADERS, FirstParty, is_static_asset, uploads
from .guess import Guesser
from .model import Analysis, Request

MAX_NESTING = 4  # encodings opened inside one another (base64 of gzip of JSON of base64...)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_BASE64 = re.compile(r"^[A-Za-z0-9+/\-_]{12,}={0,2}$")
_JWT = re.compile(r"^(?:Bearer\s+)?eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*$")
_FORM = re.compile(r"^[^\s=&/:]{1,100}=[^\s]*$")
_NOT_A_VALUE = {"", "null", "none", "undefined"}


def _printable(text: str) -> bool:
    return bool(text) and sum(c.isprintable() or c in "\r\n\t" for c in text) >= len(text) * 0.97


class Opener:
    """Opens one request's payload as far as the formats allow; `notes` records, per leaf
    path, how a string was decoded (never the value itself: details are not redacted)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits  # with the request's deadline (limits.Budget.step_limits)
        self.left = limits.max_decompressed  # shared by every decompression of the request
        self.notes: dict[str, str] = {}
        self.steps: list[str] = []

    def open_bytes(self, data: bytes, path: str, depth: int = 0) -> Any:
        """Bytes → the richest tree they decode to, or the bytes themselves."""
        if depth > MAX_NESTING or not data:
            return data
        self.limits.check_time()
        for magic, name, codec in ((b"\x1f\x8b", "gzip", compression.gunzip), (b"\x28\xb5\x2f\xfd", "zstd", compression.unzstd)):
            if data.startswith(magic):
                return self._decompressed(data, path, depth, name, codec)
        if data[:1] == b"\x78" and data[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
            return self._decompressed(data, path, depth, "zlib", compression.inflate)
        try:
            return self.open_text(data.decode("utf-8"), path, depth)
        except UnicodeDecodeError:
            pass
        if data.startswith(b"--"):
            opened = self._try(step_multipart, data, path, "multipart")
            if opened is not None:
                return self.walk(opened, path, depth + 1)
        opened = self._try(step_protobuf, data, path, "schema-less protobuf")
        if opened:
            return self.walk(opened, path, depth + 1)
        unpacked = self._try(lambda d, limits: compression.unbrotli(d, self.left), data, path, "brotli")
        if unpacked:
            self.left -= len(unpacked)
            return self.open_bytes(unpacked, path, depth + 1)
        return data

    def _decompressed(self, data: bytes, path: str, depth: int, name: str,
                      codec: Callable[[bytes, int], bytes]) -> Any:
        try:
            inner = codec(data, self.left)
        except compression.DecompressionError as e:
            self.steps.append(f"{path or 'body'}: {name}: {e}")
            return data
        self.left -= len(inner)
        self.steps.append(f"{path or 'body'}: {name}")
        return self.open_bytes(inner, path, depth + 1)

    def _try(self, step: Callable[..., Any], value: Any, path: str, name: str) -> Any:
        try:
            out = step(value, self.limits)
        except (TookTooLong, LimitError):  # the request's budget: it stops, not this format
            raise
        except Exception:  # noqa: BLE001 - hostile bytes may break a parser in any way: then it is not that format
            return None
        self.steps.append(f"{path or 'body'}: {name}")
        return out

    def open_text(self, text: str, path: str, depth: int = 0) -> Any:
        """A string → JSON, NDJSON, multipart, JWT, form, base64 content or percent-decoded
        text, whichever it holds; else the string itself."""
        stripped = text.strip()
        if depth > MAX_NESTING or len(stripped) < 3:
            return text
        self.limits.check_time()
        first = stripped[0]
        if first in "{[":
            opened = self._try(step_json, stripped, path, "JSON")
            if opened is None and "\n" in stripped:
                opened = self._try(step_ndjson, stripped, path, "NDJSON")
            if opened is not None:
                return self.walk(opened, path, depth + 1)
        if stripped.startswith("--") and "\n" in stripped:
            opened = self._try(step_multipart, stripped, path, "multipart")
            if opened is not None:
                return self.walk(opened, path, depth + 1)
        if first == "e" or first == "B":
            if _JWT.match(stripped):
                opened = self._try(step_jwt, stripped, path, "JWT")
                if opened is not None:
                    return self.walk(opened, path, depth + 1)
        if _BASE64.match(stripped) and not stripped.isdigit():
            inner = self._base64(stripped, path, depth)
            if inner is not None:
                return inner
        # Form data: `a=1&b=2`; a lone `k=v` only as a whole body (inside a value it is more
        # often text that happens to hold an "=", kept as it is).
        if "=" in stripped and "://" not in stripped and (
                ("&" in stripped and " " not in stripped) or (path == "body" and _FORM.match(stripped))):
            opened = self._try(step_form, stripped, path, "form")
            if opened and all(k and not k.isspace() for k in opened):
                return self.walk(opened, path, depth + 1)
        if "%" in stripped and _PERCENT.search(stripped):
            decoded = unquote_plus(stripped)
            self.notes[path] = "URL-decoded"
            return self.open_text(decoded, path, depth + 1)
        return text

    def _base64(self, text: str, path: str, depth: int) -> Any:
        """Base64 content only when it decodes to something meaningful (text, JSON,
        compressed data): an ordinary id also matches the alphabet."""
        try:
            raw = step_base64(text, self.limits)
        except DecodeError:
            return None
        if raw[:2] == b"\x1f\x8b" or raw[:4] == b"\x28\xb5\x2f\xfd":
            self.steps.append(f"{path or 'body'}: base64")
            return self.open_bytes(raw, path, depth + 1)
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if len(decoded) < 4 or not _printable(decoded):
            return None
        self.steps.append(f"{path or 'body'}: base64")
        self.notes[path] = "base64-decoded"
        return self.open_text(decoded, path, depth + 1)

    def walk(self, node: Any, path: str, nesting: int, level: int = 0) -> Any:
        """Open every string and bytes leaf inside an already parsed tree (*nesting*:
        encodings already opened around it; *level*: depth in this tree)."""
        if level > self.limits.max_depth:
            return node
        if isinstance(node, dict):
            return {k: self.walk(v, paths.child(path, k), nesting, level + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, paths.item(path, i), nesting, level + 1) for i, v in enumerate(node)]
        if isinstance(node, str) and len(node) >= 3:
            return self.open_text(node, path, nesting)
        if isinstance(node, bytes):
            return self.open_bytes(node, path, nesting)
        return node


class GenericPath:
    """Triage, opening and typing for requests no rule covers; `last_skip` says why the
    last request handed to `triage` was not decoded (for the per-source counters)."""

    def __init__(self, limits: Limits, indicators: list[Indicator], first_party: FirstParty) -> None:
        self.limits = limits
        self.indicators = indicators
        self.first_party = first_party
        self.guesser = Guesser()
        self.last_skip = ""

    def triage(self, request: Request) -> str:
        """Why the request is not decoded generically ("" when it is): cheap checks only."""
        self.first_party.observe(request)
        if request.method == "OPTIONS":
            reason = "cors_preflight"
        elif is_static_asset(request):
            reason = "static_asset"
        elif self.first_party.reason(request):
            reason = "first_party"
        elif not uploads(request):
            reason = "no_upload"
        else:
            reason = ""
        self.last_skip = reason
        return reason

    def analyze(self, request: Request, doc: dict[str, Any], error: str, limits: Limits | None = None) -> Analysis | None:
        """Fields and typed findings of a third-party upload, from its built document
        (opened in place: the caller stores it as the payload evidence). *limits*: the
        request's budget (deadline, decompressed bytes); TookTooLong and LimitError stop it."""
        limits = limits or self.limits
        site = receiver(request.host)
        opener = Opener(limits)
        doc["header"] = {k: v for k, v in doc.get("header", {}).items()
                         if k not in PLAIN_HEADERS and not k.startswith("sec-")}
        if not doc["header"]:
            del doc["header"]
        for part in ("query", "cookie", "header"):
            if part in doc:
                doc[part] = opener.walk(doc[part], part, 0)
        if isinstance(doc.get("body"), bytes) and grpc_frames.is_grpc(request):  # length-prefixed protobuf
            doc["body"] = grpc_frames.open_body(request, doc["body"], limits)
            doc["body"] = opener.walk(doc["body"], "body", 0) if not isinstance(doc["body"], bytes) else doc["body"]
        if isinstance(doc.get("body"), bytes):
            doc["body"] = opener.open_bytes(doc["body"], "body")
        extraction = self._extract(doc, opener.notes, limits)
        if not extraction.fields and not extraction.findings:
            self.last_skip = "nothing_found"
            return None
        analysis = Analysis(request, "no_rule", site.domain, site.company, site.category, endpoint="(no rule)",
                            match_via="generic", error=error)
        analysis.decode_chain = [f"third party {site.domain}" + (f" ({site.company}, entity list)" if site.known else
                                                                  " (not in the entity list)") + ": no tracker rule, generic decoders",
                                 *opener.steps[:50]]
        analysis.fields, analysis.findings, analysis.identity = (extraction.fields, extraction.findings,
                                                                 extraction.identity)
        return analysis

    def _extract(self, doc: dict[str, Any], notes: dict[str, str], limits: Limits) -> Extraction:
        out = Extraction()
        opener = Opener(limits)  # for base64 words inside a longer text (whole values are opened already)
        for n, (path, raw) in enumerate(paths.leaves(doc, max_depth=self.limits.max_depth)):
            if n % CHECK_EVERY == 0:
                limits.check_time()
            if len(out.fields) >= self.limits.max_fields:
                out.fields.append(("…", f"more fields not listed (limit {self.limits.max_fields})", ""))
                break
            if isinstance(raw, bytes):
                out.fields.append((path, f"<{len(raw)} bytes not decoded>", ""))
                continue
            value = scalar_text(raw)
            if value is None or value.lower() in _NOT_A_VALUE:
                continue
            if isinstance(raw, bool):
                out.fields.append((path, value, ""))  # a flag: kept as a field, never typed
                continue
            guess = self.guesser.guess(path, value)
            note = notes.get(path, "")
            # A credential recognised by its format (an API key, a JWT, a Bearer header, a
            # session cookie) is what the value is, whatever its key says.
            secrets = credentials.in_field(path, value)
            main = guess.data_type
            if not (main == "unlabelled" and any(secret.value == value for secret in secrets)):
                out.add(main, guess.value, path, "generic", guess.reason + (f"; {note}" if note else ""))
            for secret in secrets:
                out.add(secret.data_type, secret.value, path, "credential",
                        f"{secret.kind}: {secret.evidence}" if secret.evidence else secret.kind)
                main = secret.data_type if main == "unlabelled" else main
            for indicator in self.indicators:
                form = indicator.find(value)
                if form:
                    out.add(indicator.data_type, indicator.value, path, "indicator", form)
                    main = indicator.data_type
            add_special(out, path, value, guess.data_type)
            if " " in value:
                inside_value(out, path, value, guess.data_type, opener.open_text)
            out.fields.append((path, value, main))
        return out
