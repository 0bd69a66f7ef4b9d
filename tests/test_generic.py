"""The generic path for requests no rule covers: first-party triage, cheap skips, generic
decoders, honest typing, named receivers, and the report's headline and section."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from leakmap.decode import Limits
from leakmap.entities import receiver
from leakmap.model import Request
from leakmap.pipeline import Analyzer
from leakmap.rules import load_rules

LEAKMAP = Path(sys.executable).parent / "leakmap"


@pytest.fixture(scope="module")
def rules():
    return load_rules([], bundled=True)[0]


def request(url: str, body: bytes | str = b"", headers: list[tuple[str, str]] | None = None, method: str = "POST") -> Request:
    data = body.encode() if isinstance(body, str) else body
    return Request("f", "test", 1000.0, method, url, headers or [], data)


def typed(analysis) -> dict[str, tuple[str, str]]:
    """value → (data type, detail) of the generic findings."""
    return {f.value: (f.data_type, f.detail) for f in analysis.findings}


def test_third_party_upload_is_decoded_and_every_leaf_is_a_field(rules):
    body = json.dumps({"events": [{"uid": "u-77", "props": json.dumps({"plan": "gold", "n": 3})}], "ok": True})
    a = Analyzer(rules).analyze(request("https://ingest.newvendor.example/v2/e?ver=3&sid=s-12345",
                                        gzip.compress(body.encode())))
    assert (a.status, a.match_via, a.tracker, a.company) == ("no_rule", "generic", "newvendor.example", "newvendor.example")
    fields = {path: (value, data_type) for path, value, data_type in a.fields}
    assert fields["body.events[0].uid"] == ("u-77", "user_id")
    assert fields["body.events[0].props.plan"] == ("gold", "unlabelled")  # JSON inside a string, opened
    assert fields["body.ok"] == ("true", "")  # a flag is a field, never a typed finding
    assert fields["query.sid"] == ("s-12345", "session_id")
    assert all(f.detector == "generic" and f.detail for f in a.findings)
    assert "true" not in typed(a)
    assert any("gzip" in step for step in a.decode_chain)


def test_credentials_sent_to_a_third_party_without_a_rule_are_caught_by_their_value(rules):
    """A secret key, a JWT or a Bearer header reaching a vendor no rule covers is a
    credential finding (its format says so, whatever its key), not an unlabelled value."""
    key = "sk-proj-" + "Ab3dE6fG9hJ2kL5mN8pQ1rS4tU7vW0xY3zA6bC9dE2fG5hJ8kL1mN4pQ7rS0" + "T3BlbkFJ" + "x" * 20
    jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.urlsafe_b64encode(b'{"sub":"user-42","exp":1893456000}').decode().rstrip("=")
           + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
    a = Analyzer(rules).analyze(request("https://ingest.newvendor.example/v2/e",
                                        json.dumps({"cfg": {"k": key}, "note": f"token {jwt} attached"}),
                                        [("authorization", "Bearer ab12CD34ef56GH78ij90KL12")]))
    found = {(f.data_type, f.value): f.detector for f in a.findings}
    assert found[("api_key", key)] == found[("auth_token", jwt)] == "credential"
    assert found[("auth_token", "Bearer ab12CD34ef56GH78ij90KL12")] == "credential"
    assert ("unlabelled", key) not in found  # the value is the key: one finding, not two
    fields = {path: data_type for path, _, data_type in a.fields}
    assert fields["body.cfg.k"] == "api_key" and fields["header.authorization"] == "auth_token"


def test_encoded_values_are_opened_for_typing(rules):
    analyzer = Analyzer(rules)
    email = "bob@example.net"
    wrapped = base64.b64encode(json.dumps({"contact": email, "display": "2560x1440"}).encode()).decode()
    a = analyzer.analyze(request(f"https://px.newvendor.example/p?e=bob%40example.net&d={wrapped}", method="GET"))
    found = typed(a)
    assert found[email][0] == "email"
    assert found["2560x1440"][0] == "screen_resolution"
    assert {"query.d: base64", "query.d: JSON"} <= set(a.decode_chain)
    # A hash of an email seen earlier in the capture is named as such.
    digest = hashlib.sha256(email.encode()).hexdigest()
    b = analyzer.analyze(request("https://sync.other-vendor.example/s", json.dumps({"h": digest})))
    assert typed(b)[digest] == ("hashed_email", "sha256 of an email seen in this capture")
    # base64url JSON and a JWT in a header are opened too
    token = ".".join(base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=")
                     for p in ({"alg": "HS256"}, {"sub": "user-99", "email": "eve@example.org"})) + ".sig"
    c = analyzer.analyze(request("https://api.third.example/v1", b"", [("Authorization", f"Bearer {token}")], "GET"))
    assert typed(c)["eve@example.org"][0] == "email"


def test_high_sensitivity_types_need_strong_evidence(rules):
    a = Analyzer(rules).analyze(request(
        "https://t.newvendor.example/c",
        json.dumps({"lat": 0, "lon": "1", "phone": True, "mobile": "1", "loc": "52.5163,13.3777", "zero": "0.000,0.000",
                    "ifa": "00000000-0000-0000-0000-000000000000", "tz": "Europe/Berlin", "l": "de-DE",
                    "ua": "Mozilla/5.0 (X11; Linux x86_64)", "ip": "81.2.69.160", "v": "10.2.0.1",
                    "app_version": "1.2.3.4"})))
    found = typed(a)
    assert found["0"][0] == "unlabelled" and found["1"][0] == "unlabelled"  # lat=0 / lon=1 are flags
    assert "true" not in found  # a boolean is not a phone number
    assert found["52.5163,13.3777"][0] == "geo_coordinates"
    assert found["0.000,0.000"][0] == "unlabelled"
    assert found["00000000-0000-0000-0000-000000000000"][0] == "advertising_id"
    assert found["Europe/Berlin"][0] == "timezone" and found["de-DE"][0] == "language"
    assert found["81.2.69.160"][0] == "public_ip"
    assert found["1.2.3.4"][0] == "app_version"  # a version, not an IP address
    assert found["10.2.0.1"][0] == "local_ip"


def test_static_assets_preflights_and_empty_requests_are_counted_not_decoded(rules, tmp_path):
    from leakmap.session import Session
    from leakmap.store import Store

    session = Session(Store(tmp_path / "s.db"))
    for url, method, headers in (
            ("https://cdn.jsdelivr.example/npm/lib@1/dist/lib.min.js", "GET", []),
            ("https://fonts.vendor.example/s/roboto.woff2?v=3", "GET", [("Cookie", "cdn=1")]),
            ("https://img.vendor.example/banner", "GET", [("Sec-Fetch-Dest", "image")]),
            ("https://api.vendor.example/collect", "OPTIONS", [("Origin", "https://shop.example")]),
            ("https://api.vendor.example/ping?_=1767225600", "GET", [("User-Agent", "Mozilla/5.0")])):
        assert session.feed(request(url, method=method, headers=headers)) is None
    stats = session.stats["test"]
    assert stats.generic_skipped == {"static_asset": 3, "cors_preflight": 1, "no_upload": 1}
    assert session.store.db.execute("SELECT count(*) FROM requests").fetchone() == (0,)


def test_first_party_domains_from_option_page_loads_and_app_names(rules):
    site = Analyzer(rules, first_party=["shop.example"])
    assert site.analyze(request("https://api.shop.example/cart", '{"email": "bob@example.net"}')) is None
    assert site.generic.last_skip == "first_party"
    browser = Analyzer(rules)
    page = [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Mode", "navigate")]
    assert browser.analyze(request("https://www.news.example/", method="GET", headers=page)) is None
    assert browser.analyze(request("https://api.news.example/v1/comments", '{"text": "hi"}',
                                   [("Origin", "https://www.news.example")])) is None
    # ...but a third party called from that page is one, Origin or not
    third = browser.analyze(request("https://collect.vendor.example/e", '{"page": "https://www.news.example/"}',
                                    [("Origin", "https://www.news.example")]))
    assert third.tracker == "vendor.example"
    app = Analyzer(rules)
    own = [("User-Agent", "AcmeShop/2.1 CFNetwork/1410 Darwin/22.6")]
    assert app.analyze(request("https://api.acme-shop.example/v1/orders", '{"id": 1}', own)) is None
    assert app.analyze(request("https://img.acmeshop-cdn.example/p/1", '{"w": 2}', own)) is None
    assert app.analyze(request("https://in.vendor.example/b", '{"id": 1}', own)).tracker == "vendor.example"


def test_receiver_is_named_from_the_bundled_entity_list():
    google = receiver("ssl.google-analytics.com")
    assert (google.domain, google.tracker, google.company, google.category) == (
        "google-analytics.com", "Google Analytics", "Google", "site_analytics")
    assert receiver("events.launchdarkly.com").company == "Launch Darkly"
    unknown = receiver("in.nobody-knows.example")
    assert (unknown.domain, unknown.tracker, unknown.company, unknown.known) == (
        "nobody-knows.example", "nobody-knows.example", "nobody-knows.example", False)
    notice = (ROOT / "leakmap" / "data" / "ENTITIES.md").read_text()
    assert "CC BY-SA 4.0" in notice or "ShareAlike 4.0" in notice


def test_hostile_bodies_stay_within_the_limits(rules):
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))
    a = Analyzer(rules, Limits(max_decompressed=1024 * 1024)).analyze(request("https://x.vendor.example/u", bomb))
    assert any("gzip" in step and "limit" in step for step in a.decode_chain), a.decode_chain
    nested = "hello@example.net"
    for _ in range(12):  # base64 of base64 of ...: opened only MAX_NESTING deep
        nested = base64.b64encode(nested.encode()).decode()
    b = Analyzer(rules).analyze(request("https://x.vendor.example/n", json.dumps({"d": nested})))
    assert b is not None and len(b.fields) == 1


def test_random_bytes_never_break_the_generic_path(rules):
    import random

    rng = random.Random(15)
    analyzer = Analyzer(rules)
    prefixes = [b"", b"\x1f\x8b", b"\x78\x9c", b"\x28\xb5\x2f\xfd", b"--b\r\n", b"\n\x05", b"{\"a\":", b"eyJ"]
    for n in range(120):
        body = rng.choice(prefixes) + rng.randbytes(rng.randrange(1, 4096))
        a = analyzer.analyze(request(f"https://fuzz.vendor.example/{n}", body))
        assert a is None or a.match_via == "generic"


def _write_capture(path: Path, flows: list[tuple[str, str, bytes, dict[str, str]]]) -> None:
    from mitmproxy import io
    from mitmproxy.test import tflow

    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for method, url, body, headers in flows:
            flow = tflow.tflow()
            flow.request.method = method
            flow.request.url = url
            flow.request.headers.clear()
            flow.request.headers.update(headers)
            flow.request.content = body
            writer.add(flow)


def test_report_headline_names_the_only_third_party_and_its_field_count(tmp_path):
    capture = tmp_path / "one.mitm"
    body = json.dumps({"visitor": {"id": "v-1", "email": "ann@example.org"}, "screen": "1920x1080", "n": 4}).encode()
    _write_capture(capture, [("POST", "https://beacon.onlyvendor.example/v1/hit", body, {"content-type": "application/json"}),
                             ("GET", "https://cdn.onlyvendor.example/sdk.js", b"", {})])
    out = tmp_path / "r.html"
    result = subprocess.run([str(LEAKMAP), "analyze", str(capture), "-q", "-o", str(out), "--db", str(tmp_path / "s.db"),
                             "--findings", str(tmp_path / "f.csv")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 requests decoded generically; not decoded: 1 static_asset" in result.stdout
    html = out.read_text()
    headline = re.search(r'<p class="tp-headline[^>]*>(.*?)</p>', html, re.S).group(1)
    assert "1 third party without a tracker rule" in headline
    assert "onlyvendor.example</a>: 4 fields" in headline
    assert "No tracker requests were found" not in html
    section = html[html.index('id="third-parties"'):html.index('id="key"')]
    assert "ann@example.org" in section and "screen_resolution" in section and "value is a size" not in section
    assert "key name &#39;screen&#39;" in section or "key name 'screen'" in section
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT DISTINCT tracker, company, status, match_via FROM requests").fetchall() == [
            ("onlyvendor.example", "onlyvendor.example", "no_rule", "generic")]
    with (tmp_path / "f.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {(r["tracker"], r["company"]) for r in rows} == {("onlyvendor.example", "onlyvendor.example")}


def test_recorded_first_party_app_yields_no_third_party_rows(proxy_factory, tmp_path):
    """A real client, through a real mitmdump, talking to its own REST API and CDN only."""
    script = """
import requests, sys
ua = {"User-Agent": "AcmeShop/2.1 CFNetwork/1410 Darwin/22.6"}
calls = [("POST", "https://api.acmeshop.example/v1/login", {"json": {"email": "bob@example.net", "password": "x"}}),
         ("GET", "https://api.acmeshop.example/v1/cart?user=42&currency=EUR", {}),
         ("PUT", "https://api.acmeshop.example/v1/cart/42", {"json": {"items": [{"sku": "A-1", "n": 2}]}}),
         ("GET", "https://cdn.acmeshop-static.example/img/hero.webp", {}),
         ("GET", "https://cdn.acmeshop-static.example/config.json?v=12", {}),
         ("OPTIONS", "https://api.acmeshop.example/v1/cart", {})]
for method, url, kw in calls:
    try:
        requests.request(method, url, headers=ua, timeout=20, **kw)
    except requests.RequestException:
        pass
print("sent")
"""
    proxy = proxy_factory()
    result = subprocess.run([sys.executable, "-c", script], env=proxy.client_env(), capture_output=True, text=True,
                            timeout=120)
    assert "sent" in result.stdout, result.stderr
    proxy.stop()
    from leakmap.session import Session
    from leakmap.store import Store

    replay = Session(Store(tmp_path / "s.db"))
    stats = replay.replay(proxy.dump, Limits())
    assert stats.flows_read == 6
    assert stats.generic_skipped == {"first_party": 4, "static_asset": 1, "cors_preflight": 1}, stats.generic_skipped
    assert replay.store.db.execute("SELECT count(*) FROM requests").fetchone() == (0,)
    with sqlite3.connect(proxy.db) as db:  # the live store too
        assert db.execute("SELECT count(*) FROM requests").fetchone() == (0,)
