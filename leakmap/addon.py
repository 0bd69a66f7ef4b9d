"""The mitmproxy addon: analyse live traffic as it passes, append findings to the store.

Modelled on mitmproxy's own addons: options declared in `load`, validated in `configure`,
hooks that return early. The event loop serves every connection, so the `request` hook
only takes a cheap snapshot (no decoding, raw header bytes) and decides what is cheap to
decide (is the host a tracker's? then block mode answers now, from the rules' host index);
decoding, storing and reports run in one child process (leakmap/live.py explains why and
what crosses the pipe), in arrival order. Analysis never alters or delays a flow, except
that in block mode a tracker's answer waits (briefly, bounded) for its findings to be
committed, so an SDK never sees an acknowledgement for a request a crash could still lose.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import command, contentviews, ctx, exceptions, hooks, http, tls

from .block import block_response
from .contentview import LeakmapContentview, mark_flow
from .decode import DEFAULT_MAX_BODY, Limits
from .limits import DEFAULT_MAX_SECONDS
from .live import LiveAnalysis
from .live_wire import Outcome, printable, request_of, snapshot, snapshot_of
from .match import registrable_domain
from .model import LIVE_SOURCE, Request
from .pipeline import Analyzer
from .rules import load_rules
from .session import parse_indicator, parse_keys
from .store import Store, StoreError

log = logging.getLogger(__name__)
# Longest a block-mode flow waits for its analysis: to acknowledge a tracker request only
# once it is committed, or to tell a tracker recognised by payload shape. After that the
# proxy answers anyway (fail closed) and the analysis finishes in the background.
MAX_WAIT_SECONDS = 5.0
SESSION_OPTIONS = {"leakmap_db", "leakmap_rules", "leakmap_honey", "leakmap_app", "leakmap_max_body",
                   "leakmap_keys", "leakmap_first_party", "leakmap_max_seconds"}


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
        self.limits = Limits()
        # The proxy's own analyzer over the loaded rules: its host index answers block mode at
        # once, and the content view decodes with it. The live analysis state is the child's.
        self.analyzer: Analyzer | None = None
        self._live: LiveAnalysis | None = None
        self._block = self._mark = False

    @property
    def live(self) -> LiveAnalysis:
        if self._live is None:
            self._live = LiveAnalysis(self._show)
        return self._live

    @property
    def active(self) -> bool:
        """Configured and analysing (WebSocket messages are queued only then)."""
        return self._live is not None and self.analyzer is not None

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option("leakmap_db", str, "leakmap.db", "Findings store (SQLite), appended to as requests arrive.")
        loader.add_option("leakmap_report", str, "", "HTML report written on exit and by the leakmap.report command.")
        loader.add_option("leakmap_app", str, "", "Label all traffic as sent by this app (one app per capture).")
        loader.add_option("leakmap_rules", Sequence[str], [], "Extra rule files or directories.")
        loader.add_option("leakmap_honey", Sequence[str], [], "Honey values as TYPE=VALUE, found however encoded.")
        loader.add_option("leakmap_keys", Sequence[str], [],
                          "Keys rules need to decode obfuscated payloads, as NAME=KEY (applovin=<the app's SDK key>), "
                          "for auditing your own app. Kept in memory only, never stored or logged.")
        loader.add_option("leakmap_first_party", Sequence[str], [],
                          "Domains of the app or site under test: never counted as third parties.")
        loader.add_option("leakmap_block", bool, False,
                          "Answer tracker requests locally instead of forwarding them: the data never leaves.")
        loader.add_option("leakmap_max_body", int, DEFAULT_MAX_BODY, "Bodies larger than this (bytes) are not decoded.")
        loader.add_option("leakmap_mark", bool, True,
                          "Mark tracker flows and comment them with receiver and data types (`Mixpanel: email, "
                          "user_id`), for mitmweb's flow list and the filters ~marked and ~comment.")
        contentviews.add(LeakmapContentview(self.view_analyzer))
        loader.add_option("leakmap_max_seconds", str, f"{DEFAULT_MAX_SECONDS:g}",  # str: --set has no float options
                          "CPU seconds one request may take to decode (e.g. 0.5).")

    def configure(self, updated: set[str]) -> None:
        self._block, self._mark = bool(ctx.options.leakmap_block), bool(ctx.options.leakmap_mark)
        if "leakmap_block" in updated and ctx.options.leakmap_block and "connection_strategy" in ctx.options.keys():
            # Connect upstream only when a request must be forwarded: a blocked tracker then
            # never even sees a TCP connection, and capture works with no network at all.
            ctx.options.update(connection_strategy="lazy")
        if not updated & SESSION_OPTIONS:
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
        limits = Limits(max_body=opts.leakmap_max_body, max_seconds=max_seconds)
        rules, rule_problems = load_rules([Path(d) for d in opts.leakmap_rules])
        try:
            analyzer = Analyzer(rules, limits, indicators, opts.leakmap_app, keys, list(opts.leakmap_first_party))
        except ValueError as e:
            raise exceptions.OptionsError(f"leakmap_keys: {e}") from None
        try:  # the child opens it again: a store that cannot be opened is an option error here
            Store(opts.leakmap_db).close()
        except StoreError as e:
            raise exceptions.OptionsError(f"leakmap_db: {e}") from None
        registrable_domain("warm.example")  # load the public-suffix list now, not on the first request
        self.limits, self.analyzer = limits, analyzer
        error = self.live.open({"db": opts.leakmap_db, "rules": list(opts.leakmap_rules),
                                "honey": list(opts.leakmap_honey), "app": opts.leakmap_app, "keys": keys,
                                "first_party": list(opts.leakmap_first_party), "max_body": limits.max_body,
                                "max_seconds": limits.max_seconds, "announce": self._console(),
                                "color": sys.stderr.isatty()})
        if error:  # requests are still answered (block mode) and recorded once it runs
            log.error(f"leakmap: {error}")
        for problem in rule_problems:
            log.warning(f"leakmap: rule skipped: {problem}")
            if self._console():  # `leakmap capture` runs mitmdump quietly: say it on the console
                print(f"leakmap: warning: rule skipped: {printable(str(problem), 300)}", file=sys.stderr, flush=True)
        log.info(f"leakmap: {len(rules)} tracker rules loaded; findings go to {opts.leakmap_db}")

    async def request(self, flow: http.HTTPFlow) -> None:
        """Snapshot the request and queue its analysis. In block mode, answer a tracker's
        host here and now, before any decoding: whatever analysis later makes of the
        request (or fails to), the data has not left. A request recognised only by its
        payload shape waits for that analysis, and is answered if it fails."""
        live, analyzer = self._live, self.analyzer
        if live is None or analyzer is None or flow.response is not None:
            return
        live.attach(asyncio.get_running_loop())
        try:
            shot = snapshot(flow)
            request = request_of(shot, LIVE_SOURCE) if self._block else None
        except Exception as e:  # a flow mitmproxy itself could not make sense of
            log.error(f"leakmap: cannot read {printable(flow.request.pretty_url)}: {type(e).__name__}: {e}")
            return
        marked = flow if self._mark else None
        if request is None:
            live.analyse(shot, marked)
            return
        match = analyzer.index.match(request)
        if match is not None:
            flow.response = block_response(request, match.endpoint)
            job = live.analyse(shot, marked, awaited=request.method != "OPTIONS")
            if job is not None:
                await self._wait(job, request)  # acknowledge once committed
            return
        candidates = [c.endpoint for c in analyzer.index.shape_candidates(request)
                      if c.endpoint.shape_accepts(request.method, request.path)]
        job = live.analyse(shot, marked, awaited=bool(candidates))
        if job is not None:
            outcome = await self._wait(job, request)
            if outcome is not None and outcome[0] == "found" and outcome[3] != "no_rule":  # a rule's payload shape
                flow.response = block_response(request, analyzer.endpoints.get((outcome[1], outcome[2])))
            elif outcome is not None and outcome[0] in ("failed", "timed out"):
                flow.response = block_response(request, candidates[0])  # cannot tell: fail closed

    def tls_failed_client(self, data: tls.TlsData) -> None:
        """The client refused the proxy's certificate (pinning, or mitmproxy's CA not trusted):
        nothing it sends on that connection reaches leakmap. Recorded, so the report can say
        what it could not see."""
        if not self.active:
            return
        client = data.context.client
        address = client.peername[0] if client.peername else ""
        host = data.conn.sni or (data.context.server.address[0] if data.context.server.address else "")
        mode = client.proxy_mode.full_spec if client.proxy_mode else ""
        self.live.command("unseen", time.time(), str(address), host, mode,
                          printable(data.conn.error or "handshake failed"))
        if self._console():
            print(f"{time.strftime('%H:%M:%S')}  {printable(address)} ✗ {printable(host)}: refused the proxy's "
                  "certificate (pinning, or the CA is not trusted): not seen", file=sys.stderr, flush=True)

    def submit(self, request: Request) -> None:
        """Queue a request that is not an HTTP flow's own (a WebSocket message, from
        leakmap/websocket.py) for the analysis process, like every other request."""
        if self.active:
            self.live.analyse(snapshot_of(request))

    def _show(self, flow: http.HTTPFlow, outcome: Outcome) -> None:
        """The child found *flow* to be a tracker's: mark and comment it for mitmweb's flow list."""
        if self._mark and outcome is not None:
            mark_flow(flow, outcome[3], outcome[4])
            ctx.master.addons.trigger(hooks.UpdateHook([flow]))  # mitmweb redraws the flow

    @staticmethod
    def _console() -> bool:
        """`leakmap capture` (option leakmap_announce) prints one line per tracker request."""
        return bool(getattr(ctx.options, "leakmap_announce", False))

    def view_analyzer(self) -> tuple[Analyzer, Limits] | None:
        """The content view's analyzer over the loaded rules: the proxy's own, so viewing a
        flow neither stores it nor moves the live attribution state (the child's)."""
        return None if self.analyzer is None else (self.analyzer, self.limits)

    @staticmethod
    async def _wait(job: asyncio.Future, request: Request) -> Outcome:
        """The job's outcome, or ("timed out", ...) after MAX_WAIT_SECONDS (the job goes on)."""
        done, _ = await asyncio.wait({job}, timeout=MAX_WAIT_SECONDS)
        if not done:
            log.warning(f"leakmap: {printable(request.url)}: analysis takes longer than {MAX_WAIT_SECONDS:g}s; "
                        "answered without waiting")
            return ("timed out", "")
        return job.result()

    @command.command("leakmap.report")
    def report(self, path: str = "") -> None:
        """Write the HTML report (to PATH, or to the leakmap_report option) once the requests
        seen so far are analysed; the proxy keeps serving meanwhile."""
        target = path or ctx.options.leakmap_report
        if not self.active or not target:
            log.warning("leakmap: no report path: set leakmap_report or pass a path")
            return
        self.live.command("report", str(Path(target).resolve()))

    def running(self) -> None:
        """mitmdump has no command prompt: `kill -USR1 <pid>` writes the report too.

        Also moves every object that exists now (the rules' tables, the analyzer for the
        content view, mitmproxy's own start-up state: all kept for the proxy's lifetime) out
        of the cyclic garbage collector's sight (`gc.freeze`): otherwise every full
        collection walks them again while the proxy serves traffic. Measured with
        benchmarks/bench_proxy_load.py: the proxy's collections took about 0.47 s in a run
        with the addon and 0.45 s without; frozen, 0.32-0.36 s."""
        gc.freeze()
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR1, self.report)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals (Windows) or no loop
            log.debug("leakmap: SIGUSR1 not available; use the leakmap.report command")
            return
        if self._live is not None:
            self._live.attach(loop)

    def done(self) -> None:
        """Analyse everything still queued, then save, report and close: nothing seen is lost
        on a clean exit. Runs synchronously (mitmproxy also calls `done` when it reloads a
        script), so the exit waits for the analysis process."""
        live, self._live, self.analyzer = self._live, None, None
        if live is None:
            return
        report = ctx.options.leakmap_report
        live.close([("report", str(Path(report).resolve()))] if report else [("stats",)])
