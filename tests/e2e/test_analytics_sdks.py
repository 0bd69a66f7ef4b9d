"""End to end with real server SDKs: the official Segment, Amplitude, PostHog, RudderStack
and Snowplow Python SDKs (PyPI) send honey values through a real `mitmdump -s
addons/leakmap.py` in block mode; each honey value must come out with its tracker and
data type. Nothing leaves the machine: the proxy answers every tracker request itself.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("segment", "segment-analytics-python (PyPI)"),
    pytest.mark.real_client("amplitude", "amplitude-analytics (PyPI)"),
    pytest.mark.real_client("posthog", "posthog (PyPI)"),
    pytest.mark.real_client("rudderstack", "rudder-sdk-python (PyPI)"),
    pytest.mark.real_client("snowplow", "snowplow-tracker (PyPI)"),
]

HONEY = {
    "user": "honey-analytics-user-5521",
    "email": "honey.analytics@example.net",
    "anon": "honey-anon-7f1d2c3b",
    "segment_key": "honeySegWriteKey9931",
    "amplitude_key": "honeyampkey0a1b2c3d4e5f60718293",
    "posthog_key": "phc_honeyPostHogKey00000000000000000000001",
    "rudder_key": "honeyRudderWriteKey4471",
    "collector": "collector.shop.example",
}

SDK_SCRIPT = r"""
import json, sys
h = json.loads(sys.argv[1])
which = sys.argv[2]

if which == "segment":
    from segment.analytics import Client
    c = Client(h["segment_key"], sync_mode=True, max_retries=1)
    c.identify(h["user"], {"email": h["email"], "plan": "honey-plan"}, anonymous_id=h["anon"])
    c.track(h["user"], "Honey Purchased", {"coupon": "HONEY10"})

elif which == "amplitude":
    from amplitude import Amplitude, BaseEvent, Config, Identify, EventOptions
    amp = Amplitude(h["amplitude_key"], Config(flush_max_retries=1))
    amp.track(BaseEvent("Honey Viewed", user_id=h["user"], device_id=h["anon"], city="Honeyville",
                        event_properties={"coupon": "HONEY10"}))
    identify = Identify().set("email", h["email"])
    amp.identify(identify, EventOptions(user_id=h["user"], device_id=h["anon"]))
    amp.flush()
    amp.shutdown()

elif which == "posthog":
    from posthog import Posthog
    ph = Posthog(h["posthog_key"], host="https://us.i.posthog.com", sync_mode=True, max_retries=1)
    ph.capture("Honey Clicked", distinct_id=h["user"], properties={"$set": {"email": h["email"]}, "coupon": "HONEY10"})
    ph.shutdown()

elif which == "rudderstack":
    import rudderstack.analytics as ra
    ra.write_key = h["rudder_key"]
    ra.host = "https://honeyco.dataplane.rudderstack.com"
    ra.sync_mode = True
    ra.identify(h["user"], {"email": h["email"]}, anonymous_id=h["anon"])
    ra.track(h["user"], "Honey Shared", {"coupon": "HONEY10"})
    ra.flush()

elif which == "snowplow":
    from snowplow_tracker import Emitter, Tracker, Subject, StructuredEvent, PagePing
    for method in ("post", "get"):
        e = Emitter(h["collector"], protocol="https", method=method, batch_size=1)
        subject = Subject().set_user_id(h["user"]).set_lang("en-GB").set_timezone("Europe/London")
        t = Tracker("honey-ns", e, app_id="honey-app", subject=subject, encode_base64=True)
        t.track(StructuredEvent(category="shop", action="honey-" + method, label=h["email"]))
        t.flush()
print("sent")
"""


def run_sdk(proxy, which: str) -> None:
    import json

    result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, json.dumps(HONEY), which], env=proxy.client_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sent" in result.stdout, result.stdout + result.stderr


def rows(db: Path) -> list[tuple[str, str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT r.tracker, r.endpoint, r.status, f.data_type, f.value, f.detector FROM findings f "
                            "JOIN requests r ON r.id = f.request_id").fetchall()


def statuses(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT tracker, endpoint, status FROM requests").fetchall())


@pytest.fixture(scope="module")
def capture(tmp_path_factory, mitm_confdir):
    """One proxy; the five SDKs one after the other."""
    from conftest import start_proxy

    tmp = tmp_path_factory.mktemp("analytics-sdks")
    proxy = start_proxy(tmp, mitm_confdir)
    try:
        for which in ("segment", "amplitude", "posthog", "rudderstack", "snowplow"):
            run_sdk(proxy, which)
    finally:
        log = proxy.stop()
    assert "Traceback" not in log, log
    return proxy


def found(capture, tracker: str) -> set[tuple[str, str, str]]:
    return {(endpoint, data_type, value) for t, endpoint, _, data_type, value, _ in rows(capture.db) if t == tracker}


def test_all_requests_decoded(capture):
    got = statuses(capture.db)
    assert {t for t, _, _ in got} == {"segment", "amplitude", "posthog", "rudderstack", "snowplow"}, got
    assert all(status == "decoded" for _, _, status in got), got


def test_segment_python(capture):
    f = found(capture, "segment")
    assert {("tracking", "user_id", HONEY["user"]), ("tracking", "email", HONEY["email"]),
            ("tracking", "installation_id", HONEY["anon"]), ("tracking", "project_key", HONEY["segment_key"]),
            ("tracking", "event_name", "Honey Purchased"), ("tracking", "custom_property", "HONEY10")} <= f, f


def test_amplitude_python(capture):
    f = found(capture, "amplitude")
    assert {("httpapi", "user_id", HONEY["user"]), ("httpapi", "installation_id", HONEY["anon"]),
            ("httpapi", "email", HONEY["email"]), ("httpapi", "city", "Honeyville"),
            ("httpapi", "project_key", HONEY["amplitude_key"]), ("httpapi", "event_name", "Honey Viewed")} <= f, f


def test_posthog_python(capture):
    f = found(capture, "posthog")
    assert {("capture", "user_id", HONEY["user"]), ("capture", "email", HONEY["email"]),
            ("capture", "project_key", HONEY["posthog_key"]), ("capture", "event_name", "Honey Clicked"),
            ("capture", "sdk_name", "posthog-python")} <= f, f


def test_rudderstack_python(capture):
    f = found(capture, "rudderstack")
    assert {("batch", "user_id", HONEY["user"]), ("batch", "email", HONEY["email"]),
            ("batch", "installation_id", HONEY["anon"]), ("batch", "project_key", HONEY["rudder_key"]),
            ("batch", "event_name", "Honey Shared")} <= f, f


def test_snowplow_python_post_and_get(capture):
    f = found(capture, "snowplow")
    for endpoint in ("tp2", "pixel"):
        assert {(endpoint, "user_id", HONEY["user"]), (endpoint, "app_id", "honey-app"),
                (endpoint, "timezone", "Europe/London"), (endpoint, "language", "en-GB")} <= f, (endpoint, f)
    assert ("tp2", "event_name", "honey-post") in f and ("pixel", "event_name", "honey-get") in f, f


def test_every_sdk_got_the_proxys_answer(capture):
    from mitmproxy import io

    with capture.dump.open("rb") as fh:
        flows = list(io.FlowReader(fh).stream())
    assert flows and all(f.response and f.response.status_code == 200
                         and f.response.headers.get("x-leakmap") == "answered-by-proxy" for f in flows), \
        [(f.request.pretty_url, f.response and f.response.status_code) for f in flows]
