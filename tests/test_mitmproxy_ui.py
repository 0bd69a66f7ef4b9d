"""leakmap inside mitmproxy: the `leakmap` content view and the marks on tracker flows,
driven through mitmproxy's own addon test context, test flows and content-view registry."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

import pytest
from mitmproxy import contentviews
from mitmproxy.test import taddons, tflow

from leakmap.addon import Leakmap

EVENTS = [{"event": "Signed up", "properties": {"token": "tok123", "distinct_id": "user-42",
                                                "$email": "alice@example.com", "$os": "Android"}}]


def mixpanel_flow():
    flow = tflow.tflow()
    flow.request.host, flow.request.path, flow.request.method = "api-js.mixpanel.com", "/track/?ip=1", "POST"
    flow.request.headers["content-type"] = "application/x-www-form-urlencoded"
    flow.request.content = b"data=" + base64.b64encode(json.dumps(EVENTS).encode())
    return flow


@pytest.fixture
def addon(tmp_path):
    leakmap = Leakmap()
    with taddons.context(leakmap) as tctx:
        tctx.configure(leakmap, leakmap_db=str(tmp_path / "ui.db"))
        yield leakmap, tctx
        leakmap.done()


def through_addon(leakmap: Leakmap, tctx, flow) -> None:
    """The request hook as mitmproxy runs it, then the analysis process's result, which marks
    the flow."""
    loop = tctx.master.event_loop
    loop.run_until_complete(leakmap.request(flow))
    loop.run_until_complete(asyncio.sleep(0.1))  # the batch goes out
    assert leakmap.live.settle()  # the analysis process has answered for everything sent


def test_tracker_request_is_shown_in_the_leakmap_view_automatically(addon):
    flow = mixpanel_flow()
    shown = contentviews.prettify_message(flow.request, flow)
    assert shown.view_name == "leakmap" and shown.syntax_highlight == "yaml"
    assert "receiver: Mixpanel, Inc." in shown.text
    email = next(line for line in shown.text.splitlines() if "alice@example.com" in line)
    assert "value: alice@example.com" in email
    block = shown.text.split("- type: email", 1)[1].split("- type:", 1)[0]
    assert "sensitivity: high" in block and "path: body.data[0].properties.$email" in block
    assert "detector: key_name ($email)" in block
    user = shown.text.split("- type: user_id", 1)[1].split("- type:", 1)[0]
    assert "value: user-42" in user and "detector: rule (properties.distinct_id)" in user
    assert "decoding:" in shown.text and "base64" in shown.text


def test_viewing_a_flow_stores_nothing(addon, tmp_path):
    leakmap, _ = addon
    flow = mixpanel_flow()
    contentviews.prettify_message(flow.request, flow)
    leakmap.live.settle()
    with sqlite3.connect(tmp_path / "ui.db") as conn:
        assert conn.execute("SELECT count(*) FROM requests").fetchone()[0] == 0


def test_other_flows_keep_mitmproxys_views_and_offer_leakmap_by_name(addon):
    flow = tflow.tflow(resp=True)
    flow.request.host, flow.request.path = "cdn.example.org", "/app.json"
    flow.request.content = b'{"theme": "dark"}'
    flow.request.headers["content-type"] = "application/json"
    auto = contentviews.prettify_message(flow.request, flow)
    assert auto.view_name != "leakmap"
    named = contentviews.prettify_message(flow.request, flow, view_name="leakmap")
    # a third party without a rule: what the generic path decoded
    assert named.view_name == "leakmap" and "rule: (no rule)" in named.text and "theme: dark" in named.text
    response = contentviews.prettify_message(flow.response, flow)
    assert response.view_name != "leakmap"


def test_tracker_flows_are_marked_and_commented(addon):
    leakmap, tctx = addon
    flow = mixpanel_flow()
    through_addon(leakmap, tctx, flow)
    assert flow.marked == ":eye:"
    assert flow.comment.startswith("Mixpanel: email")
    assert "user_id" in flow.comment and "os_name" in flow.comment

    own = mixpanel_flow()
    own.comment, own.marked = "my note", ":star:"
    through_addon(leakmap, tctx, own)
    assert (own.comment, own.marked) == ("my note", ":star:")

    tctx.configure(leakmap, leakmap_mark=False)
    quiet = mixpanel_flow()
    through_addon(leakmap, tctx, quiet)
    assert quiet.comment == "" and quiet.marked == ""


def test_ordinary_flows_are_not_marked(addon):
    leakmap, tctx = addon
    flow = tflow.tflow()
    flow.request.host, flow.request.path, flow.request.content = "cdn.example.org", "/logo.png", b""
    through_addon(leakmap, tctx, flow)
    assert flow.marked == "" and flow.comment == ""
