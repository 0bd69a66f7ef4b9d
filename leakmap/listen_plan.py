"""Where `leakmap capture` listens, and whether the proxy asks for a password.

Bare mitmdump listens on every interface with no authentication: on a shared network anyone
could use it as an open proxy and their traffic would land in the findings store. So capture
listens on loopback (127.0.0.1 and ::1) unless the user asks for the network: `--lan`, or
mitmproxy's own `--listen-host`/`--mode MODE@HOST:PORT`. Reachable from the network in a
mode whose clients can authenticate (regular, upstream, SOCKS5), it requires credentials:
the user's own (`--proxyauth`) or generated ones, unless the user says `--no-auth`.
WireGuard clients are already authenticated by their keys.

mitmproxy's `listen_host` option holds one host, so loopback-only listening rewrites each
mode to two listen addresses (`regular@127.0.0.1:8080`, `regular@::1:8080`).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from mitmproxy.proxy.mode_specs import ProxyMode

LOOPBACK_HOSTS = ("127.0.0.1", "::1")
AUTH_MODES = frozenset({"regular", "upstream", "socks5"})  # clients that can send proxy credentials
PROXY_USER = "leakmap"


@dataclass
class ListenPlan:
    """The mitmdump arguments capture passes, and what to tell the user about them."""

    args: list[str]
    exposed: bool  # reachable from other machines
    generated_auth: str | None = None  # "user:password" leakmap made up, to print
    notes: list[str] = field(default_factory=list)


def _option_value(args: Sequence[str], flags: tuple[str, ...], option: str) -> str | None:
    """The value the user gave mitmdump for *option*, as a flag (`--listen-host X`,
    `--listen-host=X`) or `--set option=X`; the last one given wins."""
    value = None
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        if arg in flags and following is not None:
            value = following
        elif any(arg.startswith(f + "=") for f in flags if f.startswith("--")):
            value = arg.partition("=")[2]
        elif any(arg.startswith(f) and len(arg) > len(f) for f in flags if not f.startswith("--")):
            value = arg[2:]  # -p8080
        elif arg == "--set" and following is not None and following.startswith(option + "="):
            value = following.partition("=")[2]
        elif arg.startswith(f"--set={option}="):
            value = arg.split("=", 2)[2]
    return value


def _split_modes(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the `--mode`/`-m` specs the user gave, the other arguments)."""
    modes: list[str] = []
    rest: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in ("--mode", "-m") and i + 1 < len(args):
            modes.append(args[i + 1])
            skip = True
        elif arg.startswith("--mode="):
            modes.append(arg.partition("=")[2])
        else:
            rest.append(arg)
    return modes, rest


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: assume it resolves to the network


def ipv6_loopback_works() -> bool:
    """Whether this machine can bind ::1 (containers often have no IPv6 loopback)."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def _parse_mode(spec: str) -> ProxyMode | None:
    try:
        return ProxyMode.parse(spec)
    except ValueError:
        return None  # mitmdump reports the bad spec itself


def _loopback_specs(mode: ProxyMode, port: int | None) -> list[str]:
    """*mode* listening on each loopback address, or unchanged if it listens nowhere (local)."""
    listen_port = mode.listen_port(port)
    if listen_port is None:
        return [mode.full_spec]
    head = mode.type_name + (f":{mode.data}" if mode.data else "")
    hosts = LOOPBACK_HOSTS if ipv6_loopback_works() else LOOPBACK_HOSTS[:1]
    return [f"{head}@{host}:{listen_port}" for host in hosts]


def _loopback_args(args: Sequence[str], modes: list[ProxyMode], rest: list[str]) -> list[str]:
    """The arguments with every mode that listens somewhere bound to loopback only."""
    port_text = _option_value(rest, ("-p", "--listen-port"), "listen_port")
    port = int(port_text) if port_text and port_text.isdigit() else None
    specs = [s for m in modes for s in
             ([m.full_spec] if m.custom_listen_host is not None else _loopback_specs(m, port))]
    return [a for spec in specs for a in ("--mode", spec)] + rest


def _protect(result: ListenPlan, types: set[str], proxyauth: str | None, no_auth: bool) -> None:
    """Credentials for a proxy on the network, or a note saying why there are none.
    proxyauth applies to every mode of the process and clients of the other modes cannot
    answer it, so it is generated only when every mode is a proxy mode."""
    if "wireguard" in types:
        result.notes.append("WireGuard mode: only devices with this proxy's WireGuard keys can connect.")
    if proxyauth is not None:
        return
    open_modes = sorted(types - {"wireguard", "local"})
    if no_auth:
        result.notes.append("--no-auth: anyone who can reach this machine can use the proxy, and their "
                            "traffic lands in your findings.")
    elif types and types <= AUTH_MODES:
        result.generated_auth = f"{PROXY_USER}:{secrets.token_urlsafe(12)}"
        result.args = ["--proxyauth", result.generated_auth, *result.args]
    elif open_modes:
        result.notes.append(f"no proxy password for {', '.join(open_modes)} mode (leakmap generates one only when "
                            "every mode can send it): anyone who can reach this machine can use the proxy; "
                            "set one with --proxyauth user:pass.")


def plan(args: Sequence[str], lan: bool, no_auth: bool) -> ListenPlan:
    """Decide listen addresses and authentication from capture's flags and the arguments
    the user passes through to mitmdump."""
    mode_specs, rest = _split_modes(args)
    set_modes = _option_value(rest, (), "mode")
    listen_host = _option_value(rest, ("--listen-host",), "listen_host")
    modes = [m for m in (_parse_mode(s) for s in mode_specs or ["regular"]) if m is not None]
    user_chose = lan or listen_host is not None or set_modes is not None
    new_args = list(args) if user_chose else _loopback_args(args, modes, rest)
    hosts = [m.listen_host(listen_host) if (user_chose or m.custom_listen_host is not None) else "127.0.0.1"
             for m in modes if m.type_name != "local"]
    exposed = lan or set_modes is not None or any(not is_loopback(h) for h in hosts)
    result = ListenPlan(new_args, exposed)
    if exposed:
        _protect(result, {m.type_name for m in modes}, _option_value(rest, ("--proxyauth",), "proxyauth"), no_auth)
    return result
