"""The mitmproxy addon: analyse live traffic as it passes, append findings to the store.

Modelled on mitmproxy's own addons: options declared in `load`, validated in `configure`,
hooks that return early. Analysis failures are logged and never alter or break the flow:
the proxy keeps working for the app under test whatever leakmap thinks of a request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import command, ctx, exceptions, http

from .decode import DEFAULT_MAX_BODY, Limits
from .limits import DEFAULT_MAX_SECONDS
from .read import request_from_flow
from .report import write_report
from .rules import Endpoint
from .session import Session, parse_indicator, parse_keys
from .store import Store, StoreError

log = logging.getLogger(__name__)
LIVE_SOURCE = "live"


def script_path() -> Path:
    """The `-s` script for mitmdump/mitmweb: the checkout's addons/leakmap.py, or the copy
    installed inside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "addons" / "leakmap.py", here / "addons" / "leakmap.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("addons/leakmap.py not found next to the leakmap package")


class Leakmap:
    """Options are prefixed `leakmap_` so they never collide with mitmproxy's own."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.limits = Limits()

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option("leakmap_db", str, "leakmap.db", "Findings store (SQLite), appended to as requests arrive.")
        loader.add_option("leakmap_report", str, "", "HTML report written on exit and by the leakmap.report command.")
        loader.add_option("leakmap_app", str, "", "Label all traffic as sent by this app (one app per capture).")
        loader.add_option("leakmap_rules", Sequence[str], [], "Extra rule files or directories.")
        loader.add_option("leakmap_honey", Sequence[str], [], "Honey values as TYPE=VALUE, found however encoded.")
        loader.add_option("leakmap_keys", Sequence[str], [],
                          "Keys rules need to decode obfuscated payloads, as NAME=KEY (applovin=<the app's SDK key>), "
                          "for auditing your own app. Kept in memory only, never stored or logged.")
        loader.add_option("leakmap_block", bool, False,
                          "Answer tracker requests locally instead of forwarding them: the data never leaves.")
        loader.add_option("leakmap_max_body", int, DEFAULT_MAX_BODY, "Bodies larger than this (bytes) are not decoded.")
        loader.add_option("leakmap_max_seconds", str, f"{DEFAULT_MAX_SECONDS:g}",  # str: --set has no float options
                          "CPU seconds one request may take to decode (e.g. 0.5).")

    def configure(self, updated: set[str]) -> None:
        if "leakmap_block" in updated and ctx.options.leakmap_block and "connection_strategy" in ctx.options.keys():
            # Connect upstream only when a request must be forwarded: a blocked tracker then
            # never even sees a TCP connection, and capture works with no network at all.
            ctx.options.update(connection_strategy="lazy")
        if not updated & {"leakmap_db", "leakmap_rules", "leakmap_honey", "leakmap_app", "leakmap_max_body",
                          "leakmap_keys", "leakmap_max_seconds"}:
            return
        opts = ctx.options
        if opts.leakmap_max_body <= 0:
            raise exceptions.OptionsError("leakmap_max_body must be a positive number of bytes")
        max_seconds = float(opts.leakmap_max_seconds) if re.fullmatch(r"\d*\.?\d+", opts.leakmap_max_seconds) else 0
        if max_seconds <= 0:
            raise exceptions.OptionsError("leakmap_max_seconds must be a positive number of seconds")
        for directory in opts.leakmap_rules:
            if not Path(directory).exists():
                raise exceptions.OptionsError(f"leakmap_rules: {directory} does not exist")
        try:
            indicators = [parse_indicator(h) for h in opts.leakmap_honey]
        except ValueError as e:
            raise exceptions.OptionsError(f"leakmap_honey: {e}") from None
        try:
            keys = parse_keys(opts.leakmap_keys)
        except ValueError as e:
            raise exceptions.OptionsError(f"leakmap_keys: {e}") from None
        try:
            store = Store(opts.leakmap_db)
        except StoreError as e:
            raise exceptions.OptionsError(f"leakmap_db: {e}") from None
        limits = Limits(max_body=opts.leakmap_max_body, max_seconds=max_seconds)
        try:
            session = Session(store, [Path(d) for d in opts.leakmap_rules], True, limits, indicators,
                              opts.leakmap_app, keys)
        except ValueError as e:
            store.close()
            raise exceptions.OptionsError(f"leakmap_keys: {e}") from None
        if self.session is not None:
            self.session.store.close()
        self.limits, self.session = limits, session
        for problem in self.session.rule_problems:
            log.warning(f"leakmap: rule skipped: {problem}")
        log.info(f"leakmap: {len(self.session.analyzer.rules)} tracker rules loaded; findings go to {opts.leakmap_db}")

    def request(self, flow: http.HTTPFlow) -> None:
        if self.session is None or flow.response is not None:
            return
        try:
            request = request_from_flow(flow, LIVE_SOURCE, self.limits)
            analysis = self.session.feed(request)
            if not ctx.options.leakmap_block:
                return
            if analysis is not None and analysis.tracker:
                self._answer(flow, self.session.analyzer.endpoints.get((analysis.tracker, analysis.endpoint)))
            elif request.method == "OPTIONS" and self.session.analyzer.index.match(request) is not None:
                self._answer(flow, None)  # a CORS preflight to a tracker: allow it, store nothing
        except Exception:  # never let analysis break the traffic
            log.exception(f"leakmap: could not analyse {flow.request.pretty_url[:200]}")

    @staticmethod
    def _answer(flow: http.HTTPFlow, endpoint: Endpoint | None) -> None:
        """Answer a tracker request in the proxy (block mode), with the reply the rule
        declares and CORS headers so browser SDKs see a normal response."""
        params = dict(flow.request.query)
        if "urlencoded" in flow.request.headers.get("content-type", ""):
            params |= dict(flow.request.urlencoded_form)
        reply = endpoint.reply(params) if endpoint else {}
        headers = {"content-type": reply.get("content_type", "text/plain"), "x-leakmap": "answered-by-proxy"}
        origin = flow.request.headers.get("origin")
        if origin:
            headers |= {"access-control-allow-origin": origin, "access-control-allow-credentials": "true",
                        "access-control-allow-headers": flow.request.headers.get("access-control-request-headers", "*"),
                        "access-control-allow-methods": "GET, POST, OPTIONS"}
        status = 204 if flow.request.method == "OPTIONS" else int(reply.get("status", 200))
        body = b"" if status == 204 else reply.get("body", "1").encode()
        flow.response = http.Response.make(status, body, headers)

    @command.command("leakmap.report")
    def report(self, path: str = "") -> None:
        """Write the HTML report now (to PATH, or to the leakmap_report option)."""
        target = path or ctx.options.leakmap_report
        if self.session is None or not target:
            log.warning("leakmap: no report path: set leakmap_report or pass a path")
            return
        started = time.monotonic()
        try:
            self.session.save_stats()
            write_report(self.session.store, Path(target))
        except Exception:
            log.exception("leakmap: could not write the report")
            return
        log.info(f"leakmap: report written to {target} in {time.monotonic() - started:.1f}s")

    def done(self) -> None:
        if self.session is None:
            return
        self.session.save_stats()
        if ctx.options.leakmap_report:
            self.report()
        self.session.store.close()
        self.session = None
