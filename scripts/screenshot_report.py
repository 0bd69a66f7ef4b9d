#!/usr/bin/env python3
"""Render the report of the bundled sample capture and screenshot it for the README.

    python scripts/screenshot_report.py [--out docs/report.png] [--html report.html] [--full]

The sample is analysed into a temporary store (the same code path as `leakmap analyze`), the
report is opened from file:// in Debian's headless Chromium through Playwright, and the top
of the page (or the whole page with --full) is saved as PNG. No network is used.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "multi-app-sample.mitm"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def build_report(html: Path, db: Path) -> None:
    """Analyse the sample capture into *db* and write its report to *html*."""
    from leakmap.decode import Limits
    from leakmap.report import write_report
    from leakmap.session import Session
    from leakmap.store import Store

    store = Store(db)
    Session(store).replay(SAMPLE, Limits())
    write_report(store, html)
    store.close()


def screenshot(html: Path, out: Path, full_page: bool, width: int = 1280, height: int = 1500) -> None:
    """Open *html* in headless Chromium and save a PNG; fails on any console error."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.resolve().as_uri())
        page.wait_for_selector("html[data-ready]")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=full_page)
        browser.close()
    if errors:
        raise SystemExit(f"console errors in the report: {errors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--html", type=Path, help="screenshot this report instead of the sample's")
    parser.add_argument("--full", action="store_true", help="the whole page, not only the top")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakmap-shot-") as tmp:
        html = args.html or Path(tmp) / "report.html"
        if args.html is None:
            build_report(html, Path(tmp) / "sample.db")
        screenshot(html, args.out, args.full)
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
