"""Session replays revealed (leakmap/replay.py, replay_dom.py, replay_report.py) and
credentials by value (leakmap/credentials.py), on payloads built to the recorders' formats
(tests/support/replay_payloads.py) and carried in real mitmproxy flows."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from support.replay_payloads import (T0, event, flow, login_tree, posthog_batch, posthog_compressed, posthog_mobile,
                                     rrweb_page, write_capture)

from leakmap.cli import main
from leakmap.credentials import SecretHider, in_value, mask
from leakmap.decode import Limits
from leakmap.read import request_from_flow
from leakmap.replay import ReplayBook, ReplayLimits, is_masked
from leakmap.rules import load_rules
from leakmap.pipeline import Analyzer

EMAIL, PASSWORD = "jane.doe@example.org", "Correct-Horse-9!"
OPENAI = "sk-proj-" + "Ab3dE6fG9hJ2kL5mN8pQ1rS4tU7vW0xY3zA6bC9dE2fG5hJ8kL1mN4pQ7rS0" + "T3BlbkFJ" + "x" * 20
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
       base64.urlsafe_b64encode(json.dumps({"sub": "user-42", "email": EMAIL, "exp": 1893456000}).encode())
       .decode().rstrip("=") + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
RESET = "q8Zk3Lw9Tx2Rb7Yh5Nc4"


@pytest.fixture(scope="module")
def analyzer_factory():
    rules, problems = load_rules([], bundled=True)
    assert not problems
    return lambda **kw: Analyzer(rules, **kw)


def analyse(analyzer, *flows):
    return [analyzer.analyze(request_from_flow(f, "test", Limits())) for f in flows]


def collector_flows(password_shown: str):
    first, second = rrweb_page(EMAIL, password_shown)
    url = "https://rec.selfhosted.example/collect"
    return [flow("POST", url, json.dumps({"sessionId": "s-1", "events": first}).encode()),
            flow("POST", url, json.dumps({"sessionId": "s-1", "events": second}).encode(), timestamp=1_765_000_002)]


def test_rrweb_to_an_unknown_host_is_rebuilt_across_requests(analyzer_factory) -> None:
    analyzer = analyzer_factory()
    first, second = analyse(analyzer, *collector_flows("*" * len(PASSWORD)))
    assert first.status == "no_rule" and first.replays
    [summary] = analyzer.replays.summaries()
    assert (summary["receiver"], summary["replay_id"], summary["requests"]) == ("selfhosted.example", "s-1", 2)
    assert summary["pages"][0]["url"] == "https://clinic.example/login"
    inputs = {i["selector"]: i for i in summary["inputs"]}
    assert inputs["input#user"]["value"] == EMAIL and inputs["input#user"]["masked"] is False
    assert inputs["input#user"]["label"] == "Email"
    assert inputs["input#pw"]["masked"] is True and inputs["input#pw"]["password"] is True
    assert "Diabetes clinic" in summary["text"] and "Welcome back" in summary["text"]
    assert summary["clicks"] == [{"time": summary["clicks"][0]["time"], "target": "button", "text": "Sign in"}]
    # The typed email is a finding of the request that carried it, with where and when.
    email = [f for f in second.findings if f.data_type == "email"]
    assert email and email[0].detector == "replay" and email[0].path == "body.events[1].data.text"
    assert "typed into input#user" in email[0].detail and "sent unmasked" in email[0].detail
    assert not [f for f in first.findings + second.findings if f.data_type == "password"]
    # The still: scripts, handlers and forms gone; drawn as text only.
    xhtml = summary["stills"][0]["xhtml"]
    assert "<h1>Diabetes clinic</h1>" in xhtml and "script" not in xhtml.lower() and "onclick" not in xhtml


def test_unmasked_password_is_a_finding_never_printed_in_full(analyzer_factory, tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "c.mitm", collector_flows(PASSWORD))
    result = CliRunner().invoke(main, ["replay", str(capture), "--format", "json", "--html", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    [rec] = json.loads(result.stdout)
    assert {"receiver", "app", "replay_id", "pages", "inputs", "text", "images", "findings"} <= set(rec)
    pw = [i for i in rec["inputs"] if i["selector"] == "input#pw"][0]
    assert pw["masked"] is False and pw["value"] == mask(PASSWORD)
    assert {(f["data_type"], f["masked"]) for f in rec["findings"]} >= {("password", False), ("email", False)}
    assert PASSWORD not in result.output
    page = next((tmp_path / "p").glob("*.html")).read_text()
    assert PASSWORD not in page and "<script" not in page and "default-src 'none'" in page and EMAIL in page
    shown = CliRunner().invoke(main, ["replay", str(capture), "--format", "json", "--show-secrets"])
    assert PASSWORD in shown.stdout
    # analyze: the finding in the report and every export, masked everywhere.
    out = CliRunner().invoke(main, ["analyze", str(capture), "-o", str(tmp_path / "r.html"), "--findings",
                                    str(tmp_path / "f.json"), "--evidence-har", str(tmp_path / "e.har"), "-q"])
    assert out.exit_code == 0, out.output
    for name in ("r.html", "f.json", "e.har"):
        assert PASSWORD not in (tmp_path / name).read_text(), name
    rows = json.loads((tmp_path / "f.json").read_text())
    assert any(r["data_type"] == "password" and r["value"] == mask(PASSWORD) for r in rows)
    html = (tmp_path / "r.html").read_text()
    assert 'id="replays"' in html and "data:image/svg+xml;base64," in html
    # Credentials come first among the most sensitive findings.
    key = html.split('<h2 id="key">')[1].split('<h2 id="charts">')[0]
    assert ">password<" in key and key.index(">password<") < key.index(">email<")


def test_posthog_compressed_events_are_opened(analyzer_factory) -> None:
    first, second = rrweb_page(EMAIL, "*" * 8)
    analyzer = analyzer_factory()
    [a] = analyse(analyzer, flow("POST", "https://us.i.posthog.com/s/?compression=gzip-js",
                                 posthog_batch(posthog_compressed(first + second)), {"content-type": "text/plain"}))
    assert a.tracker == "posthog"
    [summary] = analyzer.replays.summaries()
    assert summary["receiver"] == a.company and summary["replay_id"].startswith("0190c1a2-0000-7000-8000-000000000001/")
    assert any(i["value"] == EMAIL and not i["masked"] for i in summary["inputs"])
    assert "Welcome back" in summary["text"]


def test_posthog_mobile_wireframes_and_screenshot(analyzer_factory, tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "m.mitm", [flow("POST", "https://us.i.posthog.com/s/",
                                                        posthog_mobile(EMAIL, "Blood pressure diary"))])
    rec = json.loads(CliRunner().invoke(main, ["replay", str(capture), "--format", "json"]).stdout)[0]
    assert rec["images"]["count"] == 1
    assert rec["images"]["sizes"][0] | {"bytes": 0} == {"type": "image/png", "width": 90, "height": 160, "bytes": 0}
    assert "Blood pressure diary" in rec["text"]
    inputs = {i["type"]: i for i in rec["inputs"]}
    assert inputs["email"]["value"] == EMAIL and not inputs["email"]["masked"] and inputs["password"]["masked"]
    assert any(f["data_type"] == "email" for f in rec["findings"])
    CliRunner().invoke(main, ["analyze", str(capture), "-o", str(tmp_path / "r.html"), "-q"])
    assert '<img class="still" src="data:image/png;base64,' in (tmp_path / "r.html").read_text()


def test_damaged_deep_and_capped_recordings_keep_what_was_read(analyzer_factory) -> None:
    analyzer = analyzer_factory(replay_limits=ReplayLimits(max_events=3, max_depth=50))
    deep = {"type": 2, "id": 100, "tagName": "div", "attributes": {}, "childNodes": []}
    node = deep
    for i in range(101, 400):
        child = {"type": 2, "id": i, "tagName": "div", "attributes": {}, "childNodes": []}
        node["childNodes"].append(child)
        node = child
    tree = login_tree("Still readable", [deep])
    events = [event(4, T0, {"href": "https://a.example/", "width": 10, "height": 10}),
              event(2, T0 + 1, {"node": tree, "initialOffset": {}}),
              event(3, T0 + 2, {"source": 5, "id": 9, "text": EMAIL}),
              event(3, T0 + 3, {"source": 5, "id": 10, "text": "lost"})]
    analyse(analyzer, flow("POST", "https://rec.other.example/c", json.dumps(events).encode()))
    [summary] = analyzer.replays.summaries()
    assert "Still readable" in summary["text"] and summary["inputs"][0]["value"] == EMAIL
    assert any("deeper than 50" in p for p in summary["problems"])
    assert any("more than 3 events" in p for p in summary["problems"])
    # A truncated compressed FullSnapshot: the rest is still read, with a problem line.
    broken = posthog_compressed(rrweb_page(EMAIL, "***")[0])
    broken[1]["data"] = broken[1]["data"][:40]
    analyzer = analyzer_factory()
    analyse(analyzer, flow("POST", "https://us.i.posthog.com/s/", posthog_batch(broken + rrweb_page(EMAIL, "***")[1])))
    [summary] = analyzer.replays.summaries()
    assert summary["pages"] and any("could not be read" in p for p in summary["problems"])


def test_credentials_by_value_context_and_url(analyzer_factory) -> None:
    analyzer = analyzer_factory()
    track = [{"event": "signup", "properties": {"token": "0123456789abcdef0123456789abcd01", "distinct_id": "u1",
                                                 "debug_note": f"key={OPENAI}", "session": JWT,
                                                 "$current_url": f"https://app.example/reset-password?token={RESET}"}}]
    [mp] = analyse(analyzer, flow("POST", "https://api-js.mixpanel.com/track/?ip=1",
                                  b"data=" + base64.b64encode(json.dumps(track).encode()),
                                  {"content-type": "application/x-www-form-urlencoded",
                                   "authorization": "Bearer ab12CD34ef56GH78ij90KL12"}))
    found = {(f.data_type, f.value, f.detector) for f in mp.findings}
    assert ("api_key", OPENAI, "credential") in found
    assert ("auth_token", RESET, "credential") in found
    assert ("auth_token", JWT, "credential") in found
    assert ("auth_token", "Bearer ab12CD34ef56GH78ij90KL12", "credential") in found
    assert any("user-42" in f.detail for f in mp.findings if f.value == JWT)  # claims decoded as evidence
    # The tracker's own publishable keys stay project keys.
    assert not in_value("pk_live_51Habcdefghijklmnopqrstuvwx AIzaSyA1234567890abcdefghijklmnopqrstu "
                        "phc_abcdefghijklmnopqrstuvwxyz0123456789AB 0123456789abcdef0123456789abcdef")
    assert [s.kind for s in in_value("ghp_" + "a1B2" * 9 + " xoxb-1234567890-1234567890123-abcdefghij "
                                     "AKIAIOSFODNN7EXAMPLE sk_live_4eC39HqLyjWDarjtT1zdp7dc")] == \
        ["GitHub token", "Slack token", "AWS access key id", "Stripe secret key"]


def test_secret_hider_masks_all_forms() -> None:
    hider = SecretHider([RESET, "Bearer ab12CD34ef56GH78ij90KL12"])
    text = f"u=https://x/?t={RESET}&v=%22{RESET}%22 h=ab12CD34ef56GH78ij90KL12"
    shown = hider.text(text)
    assert RESET not in shown and "ab12CD34ef56GH78ij90KL12" not in shown and "20 chars, sha256:" in shown
    assert SecretHider([RESET], show=True).text(text) == text


def test_secret_hider_masks_the_longest_secret_at_the_first_place_one_starts() -> None:
    """Leftmost-longest, as the one regex of all forms (longest first) did: a secret that is
    the start of a longer one masks only where the longer one is not."""
    short, long = "tok_ab12CD34", "tok_ab12CD34ef56GH78"
    hider = SecretHider([short, long])
    shown = hider.text(f"a={long}; b={short}x; c=xx{short}")
    assert shown == f"a={mask(long)}; b={mask(short)}x; c=xx{mask(short)}"
    assert hider.text("nothing secret here") == "nothing secret here" and hider.text(42) == 42
    assert not SecretHider([]) and SecretHider([]).text(long) == long


def test_secret_hider_with_many_distinct_secrets_masks_each_wherever_it_sits() -> None:
    """An app that signs every request with a fresh token leaves a secret per request: every
    one of 20,000 is masked in every form, and the text around them is left as it was."""
    chance = random.Random(3)
    alphabet = string.ascii_letters + string.digits + "+/="
    secrets = ["".join(chance.choices(alphabet, k=chance.randint(20, 60))) for _ in range(20_000)]
    hider = SecretHider(secrets)
    picked = chance.sample(secrets, 50)
    filler = [" ".join(chance.choices(["GET", "/v1/events", "app=shop", "x=1", "ok"], k=6)) for _ in picked]
    text = " | ".join(f"{f} token={quote(v, safe='')} json=\"{v}\" {f}" for f, v in zip(filler, picked))
    shown = hider.text(text)
    for value in picked:
        assert value not in shown and quote(value, safe="") not in shown
        assert shown.count(mask(value)) == 2
    assert all(f in shown for f in filler)


def test_secret_hider_masks_text_that_is_not_valid_unicode_in_its_display_form() -> None:
    hider = SecretHider([RESET])
    shown = hider.text(f"bad \udcff byte then {RESET}")
    assert RESET not in shown and shown.startswith("bad \\xff byte then ")


def test_masked_value_shapes() -> None:
    assert is_masked("*****") and is_masked("•••• ••••") and is_masked("***") and is_masked("xxxx")
    assert not is_masked("jane") and not is_masked("") and not is_masked("x@y.z")


def test_book_closes_oldest_recording_past_the_limit() -> None:
    book = ReplayBook(ReplayLimits(max_recordings=2))
    for n in range(3):
        book.read(book.find({"query": {"replay_id": f"r{n}"}, "body": rrweb_page(EMAIL, "*")[0]}), "x.example", "", "")
    assert [s["replay_id"] for s in book.summaries()] == ["r0", "r1", "r2"] and len(book.open) == 2


def test_hostile_recording_is_escaped_and_its_stills_inert(tmp_path: Path) -> None:
    """Every captured string of a recording (page URL, text, attributes, CSS, typed values) is
    an XSS vector: the report shows them as text only, and each still is a data: SVG picture
    whose XHTML keeps no script, handler, link, frame or remote URL."""
    import html as html_lib
    from html.parser import HTMLParser
    from xml.etree import ElementTree

    from test_report import XSS_VECTORS

    from leakmap.model import Analysis, Request
    from leakmap.report import build_context, render
    from leakmap.store import Store

    kids = []
    for i, v in enumerate(XSS_VECTORS):
        kids.append({"type": 2, "id": 100 + 2 * i, "tagName": "div",
                     "attributes": {"class": v, "style": f"background:url(https://evil.example/{i})", "onclick": v,
                                    "href": v, "src": v, v[:20]: v},
                     "childNodes": [{"type": 3, "id": 101 + 2 * i, "textContent": v}]})
    tree = login_tree("Hostile", kids + [{"type": 2, "id": 9000, "tagName": "iframe", "attributes": {"src": "x"},
                                          "childNodes": []},
                                         {"type": 2, "id": 9001, "tagName": "style",
                                          "attributes": {"_cssText": "@import url(https://evil.example/c.css);"
                                                                     "body{background:url(https://evil.example/b)}"},
                                          "childNodes": []}])
    events = [event(4, T0, {"href": XSS_VECTORS[0], "width": 800, "height": 600}),
              event(2, T0 + 1, {"node": tree, "initialOffset": {}}),
              *[event(3, T0 + 2 + i, {"source": 5, "id": 9, "text": v}) for i, v in enumerate(XSS_VECTORS[:10])]]
    book = ReplayBook()
    recordings, _ = book.read(book.find({"body": events, "query": {"replay_id": XSS_VECTORS[1]}}),
                              XSS_VECTORS[2], "", "")
    store = Store(tmp_path / "h.db")
    analysis = Analysis(Request("f", "s", 1.0, "POST", "https://rec.example/c", []), "no_rule", app=XSS_VECTORS[3],
                        replays=recordings)
    store.add(analysis)
    page = render(build_context(store))
    section = page.split('<h2 id="replays">')[1].split('<h2 id="evidence">')[0]

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.found.append((tag, dict(attrs)))

    parser = Tags()
    parser.feed(section)
    allowed = {"section", "h3", "p", "code", "b", "ul", "li", "span", "table", "thead", "tbody", "tr", "th", "td",
               "figure", "figcaption", "img"}
    assert {t for t, _ in parser.found} <= allowed
    for tag, attrs in parser.found:
        assert not [a for a in attrs if a.startswith("on") or a in ("href", "style", "srcdoc")], (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith(("data:image/svg+xml;base64,", "data:image/png;base64,"))
            svg = base64.b64decode(attrs["src"].split(",", 1)[1]).decode()
            assert "evil.example" not in svg and "@import" not in svg
            if attrs["src"].startswith("data:image/svg"):
                for element in ElementTree.fromstring(svg).iter():  # well-formed, and only inert parts
                    name = element.tag.rsplit("}", 1)[-1]
                    assert name not in ("script", "iframe", "a", "link", "object", "embed", "form", "base"), name
                    assert not [a for a in element.attrib if a.lower().startswith("on") or "href" in a.lower()]
    for vector in XSS_VECTORS:
        assert html_lib.escape(vector, quote=False) in section or vector not in section


@pytest.mark.xfail(strict=True, reason="decode.py's multipart step (mitmproxy's decode_multipart) drops CR/LF bytes "
                                      "inside binary parts, so a zlib segment holding them no longer inflates")
def test_datadog_replay_segment(analyzer_factory) -> None:
    """@datadog/browser-rum: multipart `segment` = zlib({records: [...], session, view, ...})
    (DataDog/browser-sdk@b2344e74 segmentCollection/buildReplayPayload.ts); Datadog masks input
    values as `***` (privacyConstants.ts)."""
    first, second = rrweb_page(EMAIL, "***")
    segment = zlib.compress(json.dumps({"records": first + second, "session": {"id": "dd-session-1"},
                                        "view": {"id": "v1"}, "source": "browser"}).encode())
    boundary = "----ddreplay"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"segment\"; filename=\"dd-session-1-1\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + segment + \
        (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"event\"; filename=\"blob\"\r\n"
         "Content-Type: application/json\r\n\r\n{\"session\":{\"id\":\"dd-session-1\"}}\r\n"
         f"--{boundary}--\r\n").encode()
    analyzer = analyzer_factory()
    [a] = analyse(analyzer, flow("POST", "https://browser-intake-datadoghq.com/api/v2/replay?dd-api-key=pub0123",
                                 body, {"content-type": f"multipart/form-data; boundary={boundary}"}))
    assert a.tracker == "datadog"
    [summary] = analyzer.replays.summaries()
    assert summary["replay_id"] == "dd-session-1"
    inputs = {i["selector"]: i for i in summary["inputs"]}
    assert inputs["input#user"]["value"] == EMAIL and inputs["input#pw"]["masked"] is True
    assert any(f.data_type == "email" and f.detector == "replay" for f in a.findings)


def test_redacted_report_shows_no_page_pictures(analyzer_factory, tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "c.mitm", collector_flows("*" * 8))
    CliRunner().invoke(main, ["analyze", str(capture), "-o", str(tmp_path / "r.html"), "--redact", "-q"])
    section = (tmp_path / "r.html").read_text().split('<h2 id="replays">')[1].split('<h2 id="evidence">')[0]
    assert EMAIL not in section and "Diabetes clinic" not in section and "<img" not in section


def test_the_quick_precheck_never_hides_a_recording() -> None:
    """find_streams first asks a lean walk whether a document can hold a recording at all;
    every form a recording travels in must pass it (and then be found), a bid request
    full of long texts must not."""
    import gzip

    from support.replay_payloads import binary_string

    from leakmap.replay_formats import Budget, _may_hold_streams, find_streams
    first, _ = rrweb_page(EMAIL, PASSWORD)
    forms = {
        "plain, deep in lists": {"body": {"batch": [{"props": {"list": [[{"events": first}]]}}]}},
        "events as JSON strings": {"body": {"events": [json.dumps(e) for e in first]}},
        "gzip bytes": {"body": {"items": [{"payload": gzip.compress(json.dumps(first).encode())}]}},
        "zlib bytes": {"body": zlib.compress(json.dumps(first).encode())},
        "gzip binary string": {"body": {"data": binary_string(gzip.compress(json.dumps(first).encode()))}},
        "JSON text inside a value": {"query": {"d": json.dumps(first)}},
    }
    for name, doc in forms.items():
        assert _may_hold_streams(doc), name
        assert find_streams(doc, Budget(10 * 2**20)), name
    bid = {"body": {"id": "auction-1", "site": {"page": "https://shop.example/" + "p" * 60},
                    "device": {"ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 Safari/537.36"},
                    "imp": [{"id": str(i), "banner": {"format": [{"w": 300, "h": 250}]}} for i in range(20)],
                    "user": {"ext": {"eids": [{"source": "id5-sync.com", "uids": [{"id": "ID5*" + "a" * 60}]}]}}},
           "header": {"user-agent": "Mozilla/5.0 " + "x" * 60}}
    assert not _may_hold_streams(bid)
    assert find_streams(bid, Budget(10 * 2**20)) == []
