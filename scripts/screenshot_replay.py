#!/usr/bin/env python3
"""Screenshot a revealed session replay for the README (docs/replay.png).

    python scripts/screenshot_replay.py [--out docs/replay.png]

Builds a capture from recordings in the recorders' own formats (tests/support/replay_payloads.py:
rrweb events to a self-hosted collector, the recorder set not to mask passwords; a PostHog
Android wireframe recording with a screenshot), runs it through `leakmap analyze`'s code
path, and saves the report's Session replays section from headless Chromium. No network.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot_report import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from support.replay_payloads import flow, posthog_mobile, rrweb_page, write_capture  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "replay.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from leakmap.decode import Limits
    from leakmap.report import write_report
    from leakmap.session import Session
    from leakmap.store import Store

    first, second = rrweb_page("jane.doe@example.org", "Correct-Horse-9!", heading="Diabetes clinic: sign in")
    with tempfile.TemporaryDirectory() as tmp:
        url = "https://rec.selfhosted.example/collect"
        capture = write_capture(Path(tmp) / "c.mitm", [
            flow("POST", url, json.dumps({"sessionId": "s-1", "events": first}).encode()),
            flow("POST", url, json.dumps({"sessionId": "s-1", "events": second}).encode(), timestamp=1_765_000_002),
            flow("POST", "https://us.i.posthog.com/s/", posthog_mobile("jane.doe@example.org", "Blood pressure diary"),
                 timestamp=1_765_000_010)])
        store = Store(Path(tmp) / "f.db")
        Session(store).replay(capture, Limits())
        html = Path(tmp) / "r.html"
        write_report(store, html)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(html.as_uri())
            page.wait_for_selector("html[data-ready]")
            page.evaluate("document.getElementById('filters').style.display = 'none'")  # the sticky bar
            web = page.locator("section.replay", has_text="Diabetes clinic").first
            args.out.parent.mkdir(parents=True, exist_ok=True)
            web.screenshot(path=str(args.out))
            browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
