"""The report in Debian's headless Chromium: the key facts of a real capture are visible, the
filters change what is shown, nothing logs an error, and a capture made of XSS vectors runs
no script and injects no markup, with the page's CSP and without it (escaping alone holds).
"""

from __future__ import annotations

import re

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.chromium import CHROMIUM, CONFINED, require_browser

from test_report import (ALLOWED_ATTRS, ALLOWED_TAGS, SAMPLE_APP, XSS_VECTORS, hostile_store,
                         sample_store)
from leakmap.report import write_report

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Runs before the page's own script (Playwright injects it outside the page's CSP): records
# CSP violations and anything a vector would do.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
                          e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""

# What the page holds after its script ran: every tag and attribute, links, and traces of XSS.
DOM_FACTS = """() => {
  const tags = new Set(), attrs = new Set(), links = [];
  for (const el of document.querySelectorAll("*")) {
    tags.add(el.localName);
    for (const a of el.attributes) attrs.add(a.name);
    if (el.hasAttribute("href")) links.push(el.getAttribute("href"));
  }
  return {tags: [...tags], attrs: [...attrs], links, xss: window.__xss === undefined ? null : String(window.__xss),
          title: document.title, violations: window.__violations, scripts: document.scripts.length};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # The report is a file: confined Chromium reaches no network (and needs none).
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CONFINED)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    store = sample_store(tmp / "s.db")
    write_report(store, tmp / "report.html")
    store.close()
    return tmp / "report.html"


class Page:
    """A page opened from file:// with every console message, page error and dialog recorded."""

    def __init__(self, browser, path: Path, bypass_csp: bool = False) -> None:
        self.context = browser.new_context(bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900})
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

        def dialog(d) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("html[data-ready]", timeout=30_000)

    def visible_rows(self, selector: str) -> int:
        return self.page.locator(f"{selector} tbody tr:visible").count()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def sample_page(browser, sample_report) -> Iterator[Page]:
    page = Page(browser, sample_report)
    yield page
    page.close()


def test_key_facts_are_visible(sample_page):
    page = sample_page.page
    row = page.locator("#matrix tbody tr", has_text=SAMPLE_APP)
    column = [h.strip() for h in page.locator("#matrix thead th").all_inner_texts()].index("Mixpanel")  # the product name heads the column
    cell = row.locator("td").nth(column - 1)
    assert cell.is_visible()
    assert {"email", "name", "phone", "user_id"} <= set(cell.locator(".badge").all_inner_texts())
    assert "high" in (cell.get_attribute("class") or "")
    # follow the proof of the email from the key findings to its node in the payload tree
    page.locator("tr", has_text="jane.doe@example.com").locator("a[href='#req-1']").first.click()
    evidence = page.locator("#req-1")
    assert evidence.get_attribute("open") is not None
    node = evidence.locator("li.hit", has_text="user_email")
    assert node.is_visible() and "jane.doe@example.com" in node.inner_text()
    evidence.locator("a", has_text="body.data.properties.user_email").first.click()
    assert page.evaluate("location.hash").startswith("#r1-n")
    assert sample_page.errors == [] and sample_page.dialogs == []
    assert all(url.startswith("file://") for url in sample_page.requests)


def test_filters_search_and_sorting_change_what_is_shown(sample_page):
    page = sample_page.page
    all_rows = sample_page.visible_rows("#findings-table")
    other_app = "mixpanel project b61e0d2c9a8f4e3b8c7d6a5f4e3d2c1b"

    # the filter bar counts findings, the header's unit: both say 43 (3 of them heart rates: health)
    header = page.locator("div:has(> b)").filter(has_text=re.compile(r"^\s*\d+\s*findings\s*$")).first.inner_text()
    status = page.locator("#filter-status").inner_text()
    assert header.split()[0] == "43" and status.startswith("43 of 43 findings shown (21 rows)"), (header, status)
    page.select_option("#f-app", other_app)
    assert not page.locator("#matrix tbody tr", has_text=SAMPLE_APP).is_visible()
    narrowed_status = page.locator("#filter-status").inner_text()
    assert narrowed_status.startswith(("21 of 43", "22 of 43")), narrowed_status
    assert page.locator("#matrix tbody tr", has_text=other_app).is_visible()
    narrowed = sample_page.visible_rows("#findings-table")
    assert 0 < narrowed < all_rows
    assert set(page.locator("#findings-table tbody tr:visible td:first-child").all_inner_texts()) == {other_app}
    assert not page.locator("section.app", has_text=SAMPLE_APP).first.is_visible()

    page.select_option("#f-sens", "special")  # special categories rank above high: the heart rates
    levels = set(page.locator("#findings-table tbody tr:visible td:nth-child(5)").all_inner_texts())
    assert levels == {"SPECIAL"}
    page.select_option("#f-sens", "high")
    levels = set(page.locator("#findings-table tbody tr:visible td:nth-child(5)").all_inner_texts())
    assert levels == {"HIGH", "SPECIAL"}
    # the matrix follows the sensitivity filter too: only high-sensitivity types are left in it
    assert page.locator("#matrix td[data-cell] .badge.b-high:visible").count() > 0
    assert page.locator("#matrix td[data-cell] .badge.b-low:visible").count() == 0
    assert page.locator("#matrix td[data-cell] .badge.b-medium:visible").count() == 0

    page.click("#f-reset")
    assert sample_page.visible_rows("#findings-table") == all_rows
    page.fill("#f-q", "doctor appointment")  # applied after a short debounce
    page.locator("#findings-table tbody tr.fout").first.wait_for(state="attached")
    assert sample_page.visible_rows("#findings-table") == 1

    page.click("#f-reset")
    page.select_option("#f-type", "latitude")
    assert sample_page.visible_rows("#findings-table") == 1
    assert page.locator("#matrix td.dim").count() > 0
    assert page.locator("#matrix td[data-cell] .badge:visible").all_inner_texts() == ["latitude"]

    page.click("#f-reset")
    header = page.locator("#findings-table th", has_text="Sensitivity")
    header.click()
    header.click()  # descending: special first, then high
    first = page.locator("#findings-table tbody tr:visible td:nth-child(5)").first.inner_text()
    assert first == "SPECIAL" and header.get_attribute("aria-sort") == "descending"
    assert sample_page.errors == []


def test_print_layout_hides_the_controls(sample_page):
    page = sample_page.page
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert page.locator("#matrix").is_visible()


def test_printing_keeps_the_evidence_of_listed_requests(sample_page):
    """Saving as PDF (Chromium's own print path) includes every listed request's proof, which
    the page keeps as inert templates until opened, and leaves the page as it was."""
    import io

    import pypdf

    page = sample_page.page
    assert page.locator("details.req[open]").count() == 0
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(page.pdf())).pages)
    text = text.replace("\ufb01", "fi")  # the PDF's "fi" ligature
    assert text.count("Decoded request (findings outlined)") == page.locator("details.req").count() > 0
    assert "user_email" in text and "jane.doe@example.com" in text
    assert page.locator("details.req[open]").count() == 0  # closed again after printing


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_hostile_capture_runs_no_script_and_injects_no_markup(browser, tmp_path, bypass_csp):
    store = hostile_store(tmp_path / "h.db")
    write_report(store, tmp_path / "hostile.html")
    store.close()
    page = Page(browser, tmp_path / "hostile.html", bypass_csp=bypass_csp)
    try:
        page.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.page.select_option("#f-app", XSS_VECTORS[1])  # filtering by a hostile app name
        page.page.fill("#f-q", "<script>")
        page.page.wait_for_timeout(400)
        facts = page.page.evaluate(DOM_FACTS)
    finally:
        page.close()
    assert page.dialogs == [], page.dialogs
    assert facts["xss"] is None and facts["title"] == "leakmap report"
    assert facts["scripts"] == 1 and facts["violations"] == []
    assert set(facts["tags"]) <= ALLOWED_TAGS, set(facts["tags"]) - ALLOWED_TAGS
    assert {a.lower() for a in facts["attrs"] if not a.startswith("data-")} <= ALLOWED_ATTRS
    assert all(link == "data:," or link.startswith("#") for link in facts["links"])
    assert page.errors == [], page.errors
    assert all(url.startswith("file://") for url in page.requests), page.requests
