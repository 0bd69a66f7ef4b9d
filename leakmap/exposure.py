"""Say where the proxy listens and who can use it, from the addresses mitmproxy really bound.

Under `leakmap capture` (option leakmap_announce) it prints every listen address, the proxy
credentials and the device setup line at start: capture runs mitmdump quietly, so mitmproxy's
own "listening at" lines are not shown. Under a user's own mitmdump/mitmweb it changes
nothing and logs one warning when the proxy is reachable from other machines without proxy
authentication, since whatever traffic strangers send through it ends up in the findings.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

from mitmproxy import ctx

from .listen_plan import AUTH_MODES, is_loopback

log = logging.getLogger(__name__)


def _format(address: tuple) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _protected(mode_type: str, proxyauth: str | None) -> bool:
    """WireGuard clients need the server's keys; the other network modes need proxyauth
    (which only regular, upstream and SOCKS5 clients can answer)."""
    return mode_type == "wireguard" or (bool(proxyauth) and mode_type in AUTH_MODES)


def _device_lines(server, addresses: list[tuple], proxyauth: str | None) -> list[str]:
    """How to point a phone at this server, when it listens on the network."""
    mode_type = server.mode.type_name
    port = addresses[0][1]
    if mode_type == "wireguard":
        conf = server.client_conf() if hasattr(server, "client_conf") else None
        lines = ["  device setup: scan this QR code with the WireGuard app, or import the configuration "
                 "below (protected by its keys):"]
        return lines + _qr_lines(conf or "") + [f"    {line}" for line in (conf or "").splitlines()]
    if mode_type not in ("regular", "upstream"):
        return []
    line = f"  device setup: Wi-Fi proxy manual, host <this computer's LAN address>, port {port}"
    if proxyauth and ":" in proxyauth and not proxyauth.startswith(("@", "ldap")):
        user, _, password = proxyauth.partition(":")
        line += f", user {user}, password {password}"
    return [line, "  then open http://mitm.it on the device to install the certificate."]


def _qr_lines(text: str) -> list[str]:
    """*text* as a QR code drawn with half-block characters, for a phone to scan off the
    terminal (the WireGuard app imports a tunnel from one)."""
    if not text:
        return []
    import segno

    out = io.StringIO()
    segno.make(text, error="l").terminal(out=out, compact=True)
    return out.getvalue().splitlines()


def ca_lines() -> list[str]:
    """Where mitmproxy's CA certificate is, for the device to trust it."""
    confdir = Path(ctx.options.confdir).expanduser()
    return [f"  CA certificate: {confdir / 'mitmproxy-ca-cert.pem'} (Android and iOS: {confdir / 'mitmproxy-ca-cert.cer'};"
            " a device on the proxy can also open http://mitm.it)"]


class Exposure:
    """Options are prefixed `leakmap_` so they never collide with mitmproxy's own."""

    def __init__(self) -> None:
        self.warned = False

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option("leakmap_announce", bool, False,
                          "Print the listen addresses, proxy credentials and device setup at start "
                          "(set by `leakmap capture`).")

    def running(self) -> None:
        proxyserver = ctx.master.addons.get("proxyserver")
        if proxyserver is None:
            return
        proxyauth = ctx.options.proxyauth if "proxyauth" in ctx.options.keys() else None
        lines: list[str] = []
        open_to_network: list[str] = []
        for server in proxyserver.servers:
            addresses = list(server.listen_addrs)
            if not addresses:
                continue
            lines.append(f"leakmap: {server.mode.description} listening on "
                         f"{', '.join(_format(a) for a in addresses)}")
            exposed = [a for a in addresses if not is_loopback(a[0])]
            if exposed or proxyauth:  # on the network, or the user asked for it (--lan)
                lines += _device_lines(server, addresses, proxyauth)
            if exposed and not _protected(server.mode.type_name, proxyauth):
                open_to_network += [_format(a) for a in exposed]
        warning = (f"leakmap: the proxy at {', '.join(open_to_network)} is reachable from other machines without "
                   "a password: anyone there can use it and their traffic lands in your findings. Set proxyauth "
                   "(--proxyauth user:pass) or listen on 127.0.0.1.") if open_to_network else ""
        if ctx.options.leakmap_announce:
            print("\n".join(lines + ca_lines() + ([warning] if warning else [])), file=sys.stderr, flush=True)
        elif warning and not self.warned:
            self.warned = True
            log.warning(warning)
