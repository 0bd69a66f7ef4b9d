"""The mitmproxy addon: analyse live traffic as it passes, append findings to the store.

Modelled on mitmproxy's own addons: options declared in `load`, validated in `configure`,
hooks that return early. The event loop serves every connection, so the `request` hook
only takes a cheap snapshot and decides what is cheap to decide (is the host a tracker's?
then block mode answers now); decoding, storing and reports run in one worker thread
(leakmap/live.py), in arrival order. Analysis never alters or delays a flow, except that
in block mode a tracker's answer waits (briefly, bounded) for its findings to be committed,
so an SDK never sees an acknowledgement for a request a crash could still lose.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from mitmproxy import command, contentviews, ctx, exceptions, hooks, http, tls

from .block import block_response
from .contentview import LeakmapContentview, console_line, mark_flow
from .decode import DEFAULT_MAX_BODY, Limits
from .extract import Indicator
from .match import registrable_domain
from .live import Failed, LiveQueue, Outcome, printable
from .model import LIVE_SOURCE, Analysis, Request
from .pipeline import Analyzer
from .limits import DEFAULT_MAX_SECONDS
from .read import request_from_flow
from .report import write_report
from .session import Session, parse_indicator, parse_keys
from .store import Store, StoreError

log = logging.getLogger(__name__)
# Longest a block-mode flow waits for its analysis: to acknowledge a tracker request only
# once it is committed, or to tell a tracker recognised by payload shape. After that the
# proxy answers anyway (fail closed) and the analysis finishes in the background.
MAX_WAIT_SECONDS = 5.0


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
        self._view: tuple[Analyzer, Limits] | None = None
        self._rule_names: dict[str, str] = {}
        self._queue: LiveQueue | None = None

    @property
    def queue(self) -> LiveQueue:
        if self._queue is None:
            self._queue = LiveQueue()
        return self._queue

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
        if "leakmap_block" in updated and ctx.options.leakmap_block and "connection_strategy" in ctx.options.keys():
            # Connect upstream only when a request must be forwarded: a blocked tracker then
            # never even sees a TCP connection, and capture works with no network at all.
            ctx.options.update(connection_strategy="lazy")
        if not updated & {"leakmap_db", "leakmap_rules", "leakmap_honey", "leakmap_app", "leakmap_max_body",
                          "leakmap_keys", "leakmap_first_party", "leakmap_max_seconds"}:
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
        rule_dirs = [Path(d) for d in opts.leakmap_rules]
        try:  # built in the worker thread: the SQLite connection lives there
            session = self.queue.call(self._open_session, opts.leakmap_db, rule_dirs, limits, indicators,
                                      opts.leakmap_app, keys, list(opts.leakmap_first_party))
        except StoreError as e:
            raise exceptions.OptionsError(f"leakmap_db: {e}") from None
        except ValueError as e:
            raise exceptions.OptionsError(f"leakmap_keys: {e}") from None
        if self.session is not None:
            self.queue.submit(self.session.store.close)  # after the requests queued for it
        self.limits, self.session, self._view = limits, session, None
        self._rule_names = {rule.id: rule.name for rule in session.analyzer.rules}
        for problem in self.session.rule_problems:
            log.warning(f"leakmap: rule skipped: {problem}")
            if self._console():  # `leakmap capture` runs mitmdump quietly: say it on the console
                print(f"leakmap: warning: rule skipped: {printable(str(problem), 300)}", file=sys.stderr, flush=True)
        log.info(f"leakmap: {len(self.session.analyzer.rules)} tracker rules loaded; findings go to {opts.leakmap_db}")

    @staticmethod
    def _open_session(db: str, rule_dirs: list[Path], limits: Limits, indicators: list[Indicator], app: str,
                      keys: dict[str, str], first_party: list[str]) -> Session:
        registrable_domain("warm.example")  # load the public-suffix list now, not on the first request
        store = Store(db)
        try:
            return Session(store, rule_dirs, True, limits, indicators, app, keys, first_party)
        except BaseException:
            store.close()
            raise

    async def request(self, flow: http.HTTPFlow) -> None:
        """Snapshot the request and queue its analysis. In block mode, answer a tracker's
        host here and now, before any decoding: whatever analysis later makes of the
        request (or fails to), the data has not left. A request recognised only by its
        payload shape waits for that analysis, and is answered if it fails."""
        session = self.session
        if session is None or flow.response is not None:
            return
        try:
            request = request_from_flow(flow, LIVE_SOURCE, self.limits, decode=False)
        except Exception as e:  # a flow mitmproxy itself could not make sense of
            log.error(f"leakmap: cannot read {printable(flow.request.pretty_url)}: {type(e).__name__}: {e}")
            return
        if not ctx.options.leakmap_block:
            self._follow(self.queue.analyse(session, request, self.limits), flow)
            return
        match = session.analyzer.index.match(request)
        if match is not None:
            flow.response = block_response(request, match.endpoint)
            job = self.queue.analyse(session, request, self.limits)
            self._follow(job, flow)
            if request.method != "OPTIONS":
                await self._wait(job, request)  # acknowledge once committed
            return
        candidates = [c.endpoint for c in session.analyzer.index.shape_candidates(request)
                      if c.endpoint.shape_accepts(request.method, request.path)]
        job = self.queue.analyse(session, request, self.limits)
        self._follow(job, flow)
        if candidates:
            outcome = await self._wait(job, request)
            if isinstance(outcome, Analysis) and outcome.status != "no_rule":  # a rule's payload shape
                flow.response = block_response(request, session.analyzer.endpoints.get(
                    (outcome.tracker, outcome.endpoint)))
            elif isinstance(outcome, Failed) or outcome is _TIMED_OUT:
                flow.response = block_response(request, candidates[0])  # cannot tell: fail closed

    def tls_failed_client(self, data: tls.TlsData) -> None:
        """The client refused the proxy's certificate (pinning, or mitmproxy's CA not trusted):
        nothing it sends on that connection reaches leakmap. Recorded, so the report can say
        what it could not see."""
        session = self.session
        if session is None:
            return
        client = data.context.client
        address = client.peername[0] if client.peername else ""
        host = data.conn.sni or (data.context.server.address[0] if data.context.server.address else "")
        request = Request("", LIVE_SOURCE, time.time(), "CONNECT", f"https://{host}/", [], client=str(address),
                          proxy_mode=client.proxy_mode.full_spec if client.proxy_mode else "")
        self.queue.submit(self._record_unseen, session, request, printable(data.conn.error or "handshake failed"))
        if self._console():
            print(f"{time.strftime('%H:%M:%S')}  {printable(address)} ✗ {printable(host)}: refused the proxy's "
                  "certificate (pinning, or the CA is not trusted): not seen", file=sys.stderr, flush=True)

    @staticmethod
    def _record_unseen(session: Session, request: Request, reason: str) -> None:
        try:
            found = session.analyzer.attributor.attribute(Analysis(request, "no_rule"))
            session.store.add_unseen(request.source, request.timestamp, request.client, request.host, reason,
                                     found.app, found.evidence)
        except StoreError as e:
            log.error(f"leakmap: {e}")

    def submit(self, request: Request) -> None:
        """Queue a request that is not an HTTP flow's own (a WebSocket message, from
        leakmap/websocket.py) for the worker, like every other request."""
        if self.session is not None:
            self.queue.analyse(self.session, request, self.limits)

    def _follow(self, job: Future[Outcome], flow: http.HTTPFlow) -> None:
        """Once the worker has analysed *flow*, show the result on the event loop: the mark and
        comment in mitmweb's flow list, and the console line under `leakmap capture`."""
        if not (ctx.options.leakmap_mark or self._console()):
            return
        loop = asyncio.get_running_loop()

        def analysed(future: Future[Outcome]) -> None:
            outcome = None if future.cancelled() or future.exception() else future.result()
            if isinstance(outcome, Analysis):
                try:
                    loop.call_soon_threadsafe(self._show, flow, outcome)
                except RuntimeError:  # the loop has closed: mitmproxy is exiting
                    pass

        job.add_done_callback(analysed)

    def _show(self, flow: http.HTTPFlow, analysis: Analysis) -> None:
        receiver = self.receiver_name(analysis)
        if ctx.options.leakmap_mark:
            mark_flow(flow, analysis, receiver)
            ctx.master.addons.trigger(hooks.UpdateHook([flow]))  # mitmweb redraws the flow
        if self._console():
            print(console_line(analysis, receiver, color=sys.stderr.isatty()), file=sys.stderr, flush=True)

    @staticmethod
    def _console() -> bool:
        """`leakmap capture` (option leakmap_announce) prints one line per tracker request."""
        return bool(getattr(ctx.options, "leakmap_announce", False))

    def view_analyzer(self) -> tuple[Analyzer, Limits] | None:
        """The content view's own analyzer over the loaded rules (built on first use): viewing
        a flow must neither store it nor move the live attribution state."""
        if self.session is None:
            return None
        if self._view is None:
            live = self.session.analyzer
            self._view = Analyzer(live.rules, self.limits, live.indicators, keys=live.keys), self.limits
        return self._view

    def receiver_name(self, analysis: Analysis) -> str:
        """The rule's product name (Mixpanel), else the company or receiving domain."""
        name = self._rule_names.get(analysis.tracker)
        return name or analysis.company or registrable_domain(analysis.request.host)

    @staticmethod
    async def _wait(job: Future[Outcome], request: Request) -> Outcome | object:
        """The job's outcome, or _TIMED_OUT after MAX_WAIT_SECONDS (the job goes on)."""
        done, _ = await asyncio.wait({asyncio.wrap_future(job)}, timeout=MAX_WAIT_SECONDS)
        if not done:
            log.warning(f"leakmap: {printable(request.url)}: analysis takes longer than {MAX_WAIT_SECONDS:g}s; "
                        "answered without waiting")
            return _TIMED_OUT
        try:
            return done.pop().result()
        except Exception as e:  # the job's own safety net failed: treat it as a failure
            log.error(f"leakmap: {printable(request.url)}: {type(e).__name__}: {e}")
            return Failed(f"{type(e).__name__}: {e}")

    @command.command("leakmap.report")
    def report(self, path: str = "") -> None:
        """Write the HTML report (to PATH, or to the leakmap_report option) once the requests
        seen so far are analysed; the proxy keeps serving meanwhile."""
        target = path or ctx.options.leakmap_report
        if self.session is None or not target:
            log.warning("leakmap: no report path: set leakmap_report or pass a path")
            return
        self.queue.submit(self._write_report, self.session, Path(target))

    @staticmethod
    def _write_report(session: Session, target: Path) -> None:
        started = time.monotonic()
        try:
            session.save_stats()
            write_report(session.store, target)
        except StoreError as e:
            log.error(f"leakmap: could not write the report: {e}")
            return
        except Exception:
            log.exception("leakmap: could not write the report")
            return
        log.info(f"leakmap: report written to {target} in {time.monotonic() - started:.1f}s")

    def running(self) -> None:
        """mitmdump has no command prompt: `kill -USR1 <pid>` writes the report too."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.report)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals (Windows) or no loop
            log.debug("leakmap: SIGUSR1 not available; use the leakmap.report command")

    def done(self) -> None:
        """Analyse everything still queued, then save, report and close: nothing seen is lost
        on a clean exit. Runs synchronously (mitmproxy also calls `done` when it reloads a
        script), so the exit waits for the queue."""
        session, self.session = self.session, None
        if session is None or self._queue is None:
            return
        report = ctx.options.leakmap_report
        queue, self._queue = self._queue, None
        if report:
            queue.submit(self._write_report, session, Path(report))
        else:
            queue.submit(self._save_stats, session)
        queue.submit(self._close, session)
        queue.close()

    @staticmethod
    def _save_stats(session: Session) -> None:
        try:
            session.save_stats()
        except StoreError as e:
            log.error(f"leakmap: could not save the capture's counters: {e}")

    @staticmethod
    def _close(session: Session) -> None:
        try:
            session.store.close()
        except StoreError as e:
            log.error(f"leakmap: {e}")


_TIMED_OUT = object()
