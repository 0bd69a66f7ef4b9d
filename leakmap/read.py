"""Read stage: turn flow sources into `Request`s, streaming, one broken entry at a time.

Sources: mitmproxy dumps (`.mitm`, `.flow`, read with mitmproxy's own FlowReader) and HAR
files (browsers, Charles, HTTP Toolkit, mitmproxy's savehar), streamed entry by entry with
ijson so a multi-gigabyte HAR never sits in memory. Readers yield `Problem`s in the stream
for what they cannot read, then carry on where they can.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ijson

from . import compression
from .limits import Limits
from .model import Problem, Request
from .read_pcap import is_pcap, read_pcap
from .text import original_bytes

if TYPE_CHECKING:
    from mitmproxy import http

# mitmproxy is imported by read_mitm only: reading a HAR does not pay its start-up.

Item = Request | Problem
Progress = Callable[[int], None] | None  # called with the byte position reached in the file
HAR_SUFFIXES = {".har", ".json", ".zhar"}  # .zhar: mitmproxy's `save.har` to a .zhar path, zlib-compressed
BODY_LOST = "body lost by the HAR writer"  # a not-decoded reason: the HAR does not hold the bytes sent


def decode_body(raw: bytes, content_encoding: str, limits: Limits) -> tuple[bytes, str]:
    """Undo Content-Encoding with size limits; on failure keep raw bytes and say why.
    HAR tools often store bodies already decoded while keeping the header, so a body that
    does not look compressed is taken as it is."""
    if not raw or not content_encoding or content_encoding.strip().lower() == "identity":
        return raw, ""
    try:
        return compression.decode_content(raw, content_encoding, limits.max_decompressed), ""
    except compression.DecompressionError as e:
        if not _looks_compressed(raw):
            return raw, ""
        return raw, f"content-encoding: {e}"


def _looks_compressed(raw: bytes) -> bool:
    head = raw[:4]
    return head.startswith(b"\x1f\x8b") or head.startswith(b"\x28\xb5\x2f\xfd") or not _is_text(raw[:512])


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start >= len(data) - 3  # a character cut at the sample's end


def request_from_flow(flow: http.HTTPFlow, source: str, limits: Limits, label: str = "",
                      decode: bool = True) -> Request:
    """Normalize a mitmproxy HTTP flow (live or from a dump). *decode*=False keeps the body
    as sent (Content-Encoding not undone) for `decode_request_body` to finish later: the
    live addon takes this cheap snapshot in mitmproxy's event loop and decompresses in its
    worker thread."""
    req = flow.request
    raw = req.raw_content or b""
    body, error = decode_body(raw, req.headers.get("content-encoding", ""), limits) if decode else (raw, "")
    client = flow.client_conn.peername[0] if flow.client_conn and flow.client_conn.peername else ""
    mode = flow.client_conn.proxy_mode.full_spec if flow.client_conn and flow.client_conn.proxy_mode else ""
    return Request(
        flow_id=flow.id,
        source=source,
        timestamp=req.timestamp_start or 0.0,
        method=req.method,
        url=req.pretty_url,
        headers=[(k, v) for k, v in req.headers.items(multi=True)],
        body=body,
        client=str(client),
        proxy_mode=mode,
        body_error=error,
        label=label,
        key=f"flow:{flow.id}",
    )


def decode_request_body(request: Request, limits: Limits) -> None:
    """Undo the Content-Encoding of a request made with `request_from_flow(decode=False)`."""
    request.body, request.body_error = decode_body(request.body, request.header("content-encoding"), limits)


def _har_body(container: dict[str, Any], text_key: str = "text") -> bytes:
    """Body bytes from a HAR postData/content object, honouring the base64 variants that
    HAR writers use for binary data (`encoding`, `_encoding`, `_base64`)."""
    text = container.get(text_key)
    if text is None:
        return b""
    if not isinstance(text, str):
        raise ValueError(f"{text_key} is {type(text).__name__}, not a string")
    encoding = str(container.get("encoding") or container.get("_encoding") or "").lower()
    if encoding == "base64" or container.get("_base64") is True:
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"{text_key} is marked base64 but does not decode: {e}") from None
    return original_bytes(text)  # a lone surrogate (JSON `\ud83d`) as WTF-8, see leakmap/text.py


def _har_timestamp(value: Any) -> float:
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


@dataclass(frozen=True, slots=True)
class HarWriter:
    """`log.creator` of a HAR: which program wrote it decides how its bodies are encoded."""

    name: str = ""
    version: str = ""
    folder: Path | None = None  # where the HAR is: Playwright's `_file` bodies sit beside it

    @property
    def is_mitmproxy(self) -> bool:
        return self.name.lower() == "mitmproxy"

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip() or "the HAR writer"


class _Inflating:
    """A `.zhar` file inflated as ijson reads it: a chunk at a time, never the whole HAR."""

    CHUNK = 1 << 16

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.inflater = zlib.decompressobj()
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for 0 bytes to learn whether the file gives bytes or text
            return b""
        size = size if size > 0 else self.CHUNK
        while len(self.buffer) < size and not self.inflater.eof:
            data = self.inflater.unconsumed_tail or self.raw.read(self.CHUNK)
            if not data:
                break
            try:
                self.buffer += self.inflater.decompress(data, size)
            except zlib.error as e:
                raise OSError(f"not a zlib-compressed HAR (.zhar): {e}") from None
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def tell(self) -> int:
        return self.raw.tell()  # position in the compressed file


@contextmanager
def open_har(path: Path) -> Iterator[Any]:
    """The HAR's JSON bytes as a file ijson reads: inflated for mitmproxy's `.zhar`."""
    with path.open("rb") as f:
        yield _Inflating(f) if path.suffix.lower() == ".zhar" else f


def har_writer(path: Path) -> HarWriter:
    """The HAR's `log.creator`, read from the events before `log.entries` (every writer puts
    it first), so finding it costs a few hundred bytes, not a second pass over the file."""
    found: dict[str, str] = {}
    with open_har(path) as f:
        try:
            for prefix, event, value in ijson.parse(f):
                if prefix in ("log.creator.name", "log.creator.version") and event in ("string", "number"):
                    found[prefix.rsplit(".", 1)[1]] = str(value)
                elif prefix == "log.entries" or len(found) == 2:
                    break
        except ijson.JSONError:
            pass  # read_har reports it
    return HarWriter(found.get("name", ""), found.get("version", ""), path.parent)


def _mitmproxy_bytes(text: str, content_type: str) -> bytes:
    """The body bytes mitmproxy's savehar wrote as `postData.text`: it decodes the body (freed
    of Content-Encoding) with the charset `infer_content_encoding` names (Latin-1 when nothing
    says more, so every byte is one character), falling back to UTF-8 with surrogate escapes
    (mitmproxy/http.py `Message.get_text(strict=False)`); encoding the same way gives the
    bytes back exactly."""
    from mitmproxy.net.http.headers import infer_content_encoding  # only for mitmproxy's own HARs

    charset = infer_content_encoding(content_type)
    try:
        return text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8", "surrogateescape")


def _lost_body(post: dict[str, Any], text: str, sent: int, writer: HarWriter) -> str:
    """Why the HAR holds no usable body though one was sent ("" when it holds it): browsers
    (Chromium's DevTools, Playwright) decode request bodies as UTF-8 and replace every byte
    that is not with U+FFFD, and Playwright leaves `application/octet-stream` bodies out."""
    if "\ufffd" in text:
        return f"{BODY_LOST}: {writer} replaced bytes that are not UTF-8 text with U+FFFD"
    if not text and sent > 0 and not post.get("params"):
        return f"{BODY_LOST}: {writer} kept none of the {sent} bytes sent"
    return ""


def _har_request_body(post: Any, headers: list[tuple[str, str]], sent: int, writer: HarWriter,
                      limits: Limits) -> tuple[bytes, str]:
    """(body freed of Content-Encoding, error) of a HAR request, reversing the writer's own
    encoding: mitmproxy's savehar stores bodies already decoded (the header stays) and
    binary as Latin-1 text; base64 variants are decoded; Playwright's `_file` bodies are read
    from beside the HAR; a body the writer destroyed is the error `BODY_LOST`."""
    if not isinstance(post, dict):
        return b"", ""
    content_encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
    text = post.get("text")
    encoded = str(post.get("encoding") or post.get("_encoding") or "").lower() == "base64" or post.get("_base64") is True
    if writer.is_mitmproxy and isinstance(text, str) and not encoded:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        raw = _mitmproxy_bytes(text, content_type)
        # Stored decoded, unless mitmproxy could not decode it either: then it is the raw body.
        still_encoded = raw.startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd"))
        return decode_body(raw, content_encoding, limits) if still_encoded else (raw, "")
    if isinstance(post.get("_file"), str) and writer.folder is not None:
        attached = writer.folder / Path(post["_file"]).name  # a name, never a path out of the folder
        if attached.is_file() and attached.stat().st_size <= limits.max_body:
            return decode_body(attached.read_bytes(), content_encoding, limits)
    raw = _har_body(post)
    if not raw and post.get("params"):
        raw = "&".join(f"{p['name']}={p.get('value', '')}" for p in post["params"]).encode()
    lost = "" if encoded else _lost_body(post, text if isinstance(text, str) else "", sent, writer)
    if lost:
        return raw, lost
    return decode_body(raw, content_encoding, limits)


def request_from_har(entry: dict[str, Any], source: str, index: int, limits: Limits, label: str = "",
                     writer: HarWriter = HarWriter()) -> Request:
    """Normalize one HAR entry. Raises ValueError/KeyError/TypeError on a broken entry."""
    req = entry["request"]
    headers = [(str(h["name"]), str(h["value"])) for h in req.get("headers", [])]
    # Some writers omit the Cookie header but list cookies separately.
    if req.get("cookies") and not any(k.lower() == "cookie" for k, _ in headers):
        headers.append(("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in req["cookies"])))
    sent = req.get("bodySize") if isinstance(req.get("bodySize"), int) else 0
    body, error = _har_request_body(req.get("postData") or {}, headers, sent, writer, limits)
    url = req["url"]
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"request.url is not an absolute URL: {str(url)[:80]!r}")
    request = Request(
        flow_id=str(entry.get("_id") or entry.get("pageref") and f"{entry['pageref']}#{index}" or f"har-{index}"),
        source=source,
        timestamp=_har_timestamp(entry.get("startedDateTime")),
        method=str(req["method"]).upper(),
        url=url,
        headers=headers,
        body=body,
        client=str(entry.get("_clientAddress") or entry.get("clientIPAddress") or ""),
        body_error=error,
        label=label,
    )
    request.key = har_key(request, entry.get("startedDateTime"))
    return request


def har_key(request: Request, started: Any) -> str:
    """A HAR entry's identity: HAR has no flow ids that are unique beyond one file, so the
    entry's content (start time as written, method, URL, headers, body) names it, and the
    same entry read from the same or a copied HAR is recognised as already stored."""
    digest = hashlib.sha256(json.dumps([str(started), request.method, request.url, request.headers],
                                       ensure_ascii=False).encode("utf-8", "surrogateescape"))
    digest.update(request.body)
    return f"har:{digest.hexdigest()[:40]}"


def read_har(path: Path, limits: Limits, label: str = "", progress: Progress = None) -> Iterator[Item]:
    """Stream entries of `log.entries`; a broken entry is a Problem, invalid JSON ends the
    file with a Problem after every entry read before it."""
    source = str(path)
    index = 0
    repeats: dict[str, int] = {}  # identical entries within one file stay distinct: key#2, key#3
    writer = har_writer(path)
    with open_har(path) as f:
        try:
            for index, entry in enumerate(ijson.items(f, "log.entries.item", use_float=True), 1):
                if progress and index % 256 == 0:
                    progress(f.tell())
                try:
                    request = request_from_har(entry, source, index, limits, label, writer)
                    seen = repeats[request.key] = repeats.get(request.key, 0) + 1
                    if seen > 1:
                        request.key = f"{request.key}#{seen}"
                    yield request
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    what = f"missing {e}" if isinstance(e, KeyError) else str(e)
                    yield Problem(source, f"entry {index}", f"skipped broken HAR entry: {what}")
        except ijson.JSONError as e:
            yield Problem(source, f"after entry {index} (byte {f.tell()})", f"invalid HAR/JSON: {e}")
            return
    if index == 0:
        yield Problem(source, "", "no HAR entries found (expected a JSON object with log.entries)")


def sniff_format(path: Path) -> str:
    """'har', 'pcap' or 'mitm', by suffix, else by the first bytes (HAR is JSON; pcap and
    pcapng start with a magic number; a mitmproxy dump starts with a tnetstring length)."""
    if is_pcap(path):
        return "pcap"
    if path.suffix.lower() in HAR_SUFFIXES:
        return "har"
    if path.suffix.lower() in (".mitm", ".flow", ".flows", ".dump"):
        return "mitm"
    with path.open("rb") as f:
        head = f.read(64).lstrip()
    return "har" if head[:1] == b"{" else "mitm"


def read_any(path: Path, limits: Limits, label: str = "", progress: Progress = None,
             keylog: Path | None = None) -> Iterator[Item]:
    """Requests and problems from one capture file of any format; *keylog* (an
    SSLKEYLOGFILE) decrypts TLS in packet captures."""
    try:
        kind = sniff_format(path)
    except OSError as e:
        yield Problem(str(path), "", f"cannot open: {e.strerror or e}")
        return
    try:
        if kind == "pcap":
            yield from read_pcap(path, limits, label, keylog)
            return
        from .read_mitm import read_mitm

        reader = read_har if kind == "har" else read_mitm
        yield from reader(path, limits, label, progress)
    except OSError as e:
        yield Problem(str(path), "", f"cannot read: {e.strerror or e}")
