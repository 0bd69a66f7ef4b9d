"""A test-only mitmproxy script that stands in for the internet: every request nothing else
answered gets `200 1` from the proxy. Load it after the leakmap addon (`-s` order), so
leakmap sees each request first; block mode answers only what the tracker rules know, and
tests of hosts without a rule still run with no network."""

from mitmproxy import http

HEADER = ("x-test-answer", "offline")


def request(flow: http.HTTPFlow) -> None:
    if flow.response is None:
        flow.response = http.Response.make(200, b"1", {"content-type": "text/plain", HEADER[0]: HEADER[1]})
