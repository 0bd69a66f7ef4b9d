"""Read stage for packet captures (pcap/pcapng): tshark decrypts and reassembles, we stream.

Packet captures (PCAPdroid exports, Wireshark, tcpdump) hold TLS that only the client's key
log opens: from `--keylog` (an SSLKEYLOGFILE) or embedded in the pcapng as a Decryption
Secrets Block (PCAPdroid, `editcap --inject-secrets`). Reimplementing TCP reassembly, TLS
decryption and HTTP/2 framing here would be a large, fragile attack surface, so leakmap
starts Debian's `tshark` and reads its `-T ek` output: one JSON object per packet, one line
each, so memory stays bounded by one packet plus the HTTP/2 request bodies still open.

PCAPdroid's optional per-packet trailer (magic 0x01072021, uid, 20-byte app name; see
emanuele-f/PCAPdroid app/src/main/jni/core/pcap_dump.h) arrives as Ethernet trailer bytes
and becomes the request's `capture_app`, an attribution signal.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO
from dataclasses import dataclass, field
from pathlib import Path

from .decode import Limits
from .model import Problem, Request

PCAP_SUFFIXES = {".pcap", ".pcapng", ".cap", ".pcapdroid"}
# Magic numbers of classic pcap (both byte orders, µs and ns) and pcapng's Section Header Block.
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"}
PCAPDROID_MAGIC = 0x01072021
MAX_OPEN_STREAMS = 10_000  # HTTP/2 requests whose body is still arriving; beyond this the oldest is cut
FIELDS = (
    "frame.number", "frame.time_epoch", "tcp.stream", "udp.stream", "quic.version", "ip.src", "ipv6.src", "tcp.srcport", "eth.trailer",
    "tls.handshake.type", "tls.handshake.extensions_server_name",
    "http.request.method", "http.request.full_uri", "http.request.line", "http.content_length_header",
    "http.file_data", "data.data", "media.type",
    "http2.streamid", "http2.type", "http2.flags.end_stream", "http2.header.count", "http2.header.name",
    "http2.header.value", "http2.data.data",
)
DISPLAY_FILTER = "tls.handshake.type == 1 or http.request or http2.type == 0 or http2.type == 1"

Item = Request | Problem


def is_pcap(path: Path) -> bool:
    """By suffix, else by the file's magic number."""
    if path.suffix.lower() in PCAP_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) in PCAP_MAGICS


def tshark_command(path: Path, keylog: Path | None) -> list[str]:
    command = ["tshark", "-n", "-r", str(path), "-o", "http.decompress_body:FALSE",
               "-Y", DISPLAY_FILTER, "-T", "ek"]
    if keylog:
        command[1:1] = ["-o", f"tls.keylog_file:{keylog}"]
    for name in FIELDS:
        command += ["-e", name]
    return command


def pcapdroid_app(trailer_hex: str) -> str:
    """The app name in a PCAPdroid trailer (magic, uid, char[20], fcs), or ""."""
    try:
        data = bytes.fromhex(trailer_hex.replace(":", ""))
    except ValueError:
        return ""
    start = data.find(struct.pack(">I", PCAPDROID_MAGIC))
    if start < 0 or len(data) < start + 28:
        return ""
    uid = struct.unpack(">i", data[start + 4:start + 8])[0]
    name = data[start + 8:start + 28].split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    return name or (f"uid {uid}" if uid >= 0 else "")


@dataclass
class _OpenRequest:
    """An HTTP/2 request whose DATA frames are still arriving."""

    request: Request
    client_port: str
    size: int = 0
    chunks: list[bytes] = field(default_factory=list)
    cut: bool = False


class _Reassembler:
    """Turns tshark's per-packet records into Requests; remembers which TLS connections
    produced HTTP (decrypted) to count those that did not."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source, self.limits = source, limits
        self.open: dict[tuple[str, str], _OpenRequest] = {}
        self.tls_streams: dict[str, str] = {}  # tcp.stream → SNI of its ClientHello
        self.quic_streams: dict[str, str] = {}  # udp.stream → SNI of its QUIC ClientHello
        self.http_streams: set[str] = set()
        self.apps: dict[str, str] = {}  # tcp.stream → PCAPdroid app name

    def packet(self, layers: dict[str, list[str]], number: int) -> Iterator[Item]:
        def one(name: str) -> str:
            values = layers.get(name.replace(".", "_"))
            return values[0] if values else ""

        stream = one("tcp.stream")
        app = pcapdroid_app(one("eth.trailer")) if "eth_trailer" in layers else ""
        if app:
            self.apps.setdefault(stream, app)
        if "1" in layers.get("tls_handshake_type", []):
            sni = one("tls.handshake.extensions_server_name")
            if "quic_version" in layers:  # QUIC carries its ClientHello in (keyless) Initial packets
                self.quic_streams.setdefault(one("udp.stream"), sni)
            else:
                self.tls_streams.setdefault(stream, sni)
        common = {"timestamp": float(one("frame.time_epoch") or 0), "client": one("ip.src") or one("ipv6.src"),
                  "stream": stream, "port": one("tcp.srcport"), "frame": one("frame.number") or f"r{number}"}
        if "http_request_method" in layers:
            self.http_streams.add(stream)
            yield from self._http1(layers, common, number)
        if "http2_type" in layers:
            self.http_streams.add(stream)
            yield from self._http2(layers, common, number)

    def _request(self, common: dict, method: str, url: str, headers: list[tuple[str, str]], tag: str) -> Request:
        request = Request(flow_id=f"tcp{common['stream']}{tag}", source=self.source, timestamp=common["timestamp"],
                          method=method, url=url, headers=headers, client=common["client"])
        request.capture_app = self.apps.get(common["stream"], "")
        return request

    def _http1(self, layers: dict[str, list[str]], common: dict, number: int) -> Iterator[Item]:
        headers = []
        for line in layers.get("http_request_line", []):
            name, _, value = line.rstrip("\r\n").partition(":")
            headers.append((name.strip(), value.strip()))
        methods, urls = layers["http_request_method"], layers.get("http_request_full_uri", [])
        if len(urls) < len(methods):
            yield Problem(self.source, f"packet record {number}", "skipped: HTTP request without a URL in tshark's output")
        for index, (method, url) in enumerate(zip(methods, urls)):
            tag = f"-frame{common['frame']}" + (f".{index}" if index else "")
            request = self._request(common, method, url, headers, tag)
            self._set_body(request, self._http1_body(layers))
            yield request

    @staticmethod
    def _http1_body(layers: dict[str, list[str]]) -> bytes:
        """tshark renders `http.file_data` as text, which loses binary bytes; a body that
        a subdissector did not take as text is in data.data or media.type as hex."""
        text = "".join(layers.get("http_file_data", []))
        length = "".join(layers.get("http_content_length_header", []))
        encoded = text.encode("utf-8", "surrogateescape")
        if text and (not length.isdigit() or int(length) == len(encoded)):
            return encoded
        for name in ("data_data", "media_type"):
            if layers.get(name):
                return bytes.fromhex(layers[name][0].replace(":", ""))
        return encoded

    def _http2(self, layers: dict[str, list[str]], common: dict, number: int) -> Iterator[Item]:
        """Walk the packet's HTTP/2 frames in order; tshark flattens each field over all frames,
        so per-frame fields are consumed with cursors (header.count says how many names
        belong to each HEADERS frame)."""
        ends, counts = iter(layers.get("http2_flags_end_stream", [])), iter(layers.get("http2_header_count", []))
        names, values = iter(layers.get("http2_header_name", [])), iter(layers.get("http2_header_value", []))
        datas = iter(layers.get("http2_data_data", []))
        for stream_id, kind in zip(layers.get("http2_streamid", []), layers.get("http2_type", [])):
            if kind == "5":  # a server's PUSH_PROMISE: its header block is not a request we saw sent
                for _ in range(int(next(counts, "0") or 0)):
                    next(names, ""), next(values, "")
            if kind not in ("0", "1"):
                continue
            end = next(ends, "0") in ("1", "True", "true")
            key = (common["stream"], stream_id)
            if kind == "1":
                count = int(next(counts, "0") or 0)
                headers = [(next(names, ""), next(values, "")) for _ in range(count)]
                pseudo = {k: v for k, v in headers if k.startswith(":")}
                if ":method" in pseudo:
                    url = f"{pseudo.get(':scheme', 'https')}://{pseudo.get(':authority', '')}{pseudo.get(':path', '/')}"
                    regular = [(k, v) for k, v in headers if not k.startswith(":")]
                    opened = _OpenRequest(self._request(common, pseudo[":method"], url, regular, f"-h2s{stream_id}"),
                                          common["port"])
                    yield from self._open(key, opened)
            else:
                data = next(datas, "")
                opened = self.open.get(key)
                if opened is None or opened.client_port != common["port"]:
                    continue  # response data, or a request we did not see begin
                if data and data != "<MISSING>":
                    self._append(opened, bytes.fromhex(data.replace(":", "")))
            opened = self.open.get(key)
            if end and opened is not None and opened.client_port == common["port"]:
                yield self._close(key)

    def _open(self, key: tuple[str, str], opened: _OpenRequest) -> Iterator[Item]:
        if key in self.open:
            yield self._close(key)
        if len(self.open) >= MAX_OPEN_STREAMS:
            oldest = next(iter(self.open))
            yield Problem(self.source, f"tcp stream {oldest[0]} h2 stream {oldest[1]}",
                          f"more than {MAX_OPEN_STREAMS} HTTP/2 requests open at once; body cut")
            yield self._close(oldest)
        self.open[key] = opened

    def _append(self, opened: _OpenRequest, data: bytes) -> None:
        room = self.limits.max_body + 1 - opened.size
        if room <= 0:
            opened.cut = True
            return
        opened.chunks.append(data[:room])
        opened.size += min(len(data), room)

    def _close(self, key: tuple[str, str]) -> Request:
        opened = self.open.pop(key)
        self._set_body(opened.request, b"".join(opened.chunks))
        return opened.request

    def _set_body(self, request: Request, raw: bytes) -> None:
        from .read import decode_body  # read imports this module: import late

        body, error = decode_body(raw, request.header("content-encoding"), self.limits)
        request.body, request.body_error = body, error

    def finish(self) -> Iterator[Item]:
        """Requests whose END_STREAM never came (capture cut), then what could not be decrypted."""
        for key in list(self.open):
            yield self._close(key)
        hidden = {s: sni for s, sni in self.tls_streams.items() if s not in self.http_streams}
        if hidden:
            yield Problem(self.source, "", f"{len(hidden)} TLS connections without keys (not decrypted; give the "
                                           f"client's SSLKEYLOGFILE with --keylog){_hosts(hidden.values())}")
        if self.quic_streams:
            yield Problem(self.source, "", f"{len(self.quic_streams)} QUIC (HTTP/3) connections not read (leakmap "
                                           "does not open QUIC in packet captures; capture them through mitmproxy's "
                                           f"WireGuard or local mode){_hosts(self.quic_streams.values())}")


def _hosts(names: Iterable[str]) -> str:
    """`: a.example, b.example and 3 more` for a problem line, or nothing when no name is known."""
    known = sorted({name for name in names if name})
    shown = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
    return f": {shown}" if shown else ""


def _lines(stream: IO[bytes], max_line: int) -> Iterator[bytes]:
    """Lines of at most *max_line* bytes; a longer line is yielded cut (without its newline)
    once, and the rest of it is skipped, so one huge packet record never fills memory."""
    while True:
        line = stream.readline(max_line)
        if not line:
            return
        yield line
        while not line.endswith(b"\n"):
            line = stream.readline(max_line)
            if not line:
                return


def read_pcap(path: Path, limits: Limits, label: str = "", keylog: Path | None = None) -> Iterator[Item]:
    """Requests from a packet capture through tshark; Problems for what it cannot open."""
    source = str(path)
    if shutil.which("tshark") is None:
        yield Problem(source, "", "packet capture needs tshark: install Debian's tshark (apt-get install tshark)")
        return
    if keylog is not None and not keylog.is_file():
        yield Problem(source, "", f"key log {keylog} not found; reading without it")
        keylog = None
    reassembler = _Reassembler(source, limits)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(tshark_command(path, keylog), stdout=subprocess.PIPE, stderr=errors,
                                   stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        number = 0
        max_line = 2 * limits.max_body + 1_000_000  # bodies travel as hex: two characters a byte
        try:
            for line in _lines(process.stdout, max_line):
                if not line.startswith(b'{"timestamp"'):
                    continue  # ek's bulk-index lines
                number += 1
                if not line.endswith(b"\n"):
                    yield Problem(source, f"packet record {number}", f"skipped: larger than {max_line} bytes")
                    continue
                try:
                    layers = json.loads(line)["layers"]
                    for item in reassembler.packet(layers, number):
                        if isinstance(item, Request) and label:
                            item.label = label
                        yield item
                except (ValueError, KeyError, TypeError) as e:
                    yield Problem(source, f"packet record {number}", f"unreadable tshark output: {e}")
            yield from reassembler.finish()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        if process.returncode not in (0, None, -9):
            errors.seek(0)
            lines = errors.read(4000).decode("utf-8", "replace").splitlines()
            detail = " ".join(line.removeprefix("tshark: ") for line in lines if line.startswith("tshark:"))
            yield Problem(source, f"after packet record {number}",
                          f"tshark stopped (exit {process.returncode}): {detail[:300] or 'no message'}")
