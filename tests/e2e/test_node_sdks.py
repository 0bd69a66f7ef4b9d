"""End to end with the official Node.js analytics SDKs (npm, pinned in tests/js/node):
mixpanel, @segment/analytics-node, posthog-node, @amplitude/analytics-node,
@snowplow/node-tracker and @rudderstack/rudder-sdk-node each send a honey user id, a honey
email (trait / profile property) and an event with a honey custom property through a real
`mitmdump -s addons/leakmap.py` in block mode. Each honey value must come out of the
findings store with its tracker, endpoint, data type and path; every tracker request must
be decoded, and every SDK must have accepted the proxy's answers.

Node 20's fetch ignores HTTPS_PROXY, so each driver runs under tests/js/node/proxy-preload.cjs,
which routes fetch (undici ProxyAgent) and https.request (https-proxy-agent) through the proxy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.chromium import not_answered, proxy_flows
from support.node import require_node, run_drivers, stored_requests, tracker_findings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("mixpanel", "mixpanel (npm)"),
    pytest.mark.real_client("segment", "@segment/analytics-node (npm)"),
    pytest.mark.real_client("posthog", "posthog-node (npm)"),
    pytest.mark.real_client("amplitude", "@amplitude/analytics-node (npm)"),
    pytest.mark.real_client("snowplow", "@snowplow/node-tracker (npm)"),
    pytest.mark.real_client("rudderstack", "@rudderstack/rudder-sdk-node (npm)"),
]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "node"
SDKS = ("mixpanel", "segment", "posthog", "amplitude", "snowplow", "rudderstack")
PACKAGES = ("mixpanel", "@segment/analytics-node", "posthog-node", "@amplitude/analytics-node",
            "@snowplow/node-tracker", "@rudderstack/rudder-sdk-node", "undici", "https-proxy-agent")

HONEY = {
    "user": "honey-node-user-8842",
    "email": "honey.node@example.net",
    "anon": "honey-node-anon-3e9f",
    "coupon": "HONEYNODE77",
    "mixpanel_token": "honeymptoken61c2",
    "segment_key": "honeySegNodeKey5521",
    "posthog_key": "phc_honeyNodePostHogKey000000000000000000001",
    "amplitude_key": "honeyampnode0a1b2c3d4e5f6071829",
    "rudder_key": "honeyRudderNodeKey7734",
    "collector": "collector.honey.snowplow.io",
}

# Every request each SDK makes: (tracker, endpoint, method), how many times.
EXPECTED_REQUESTS = {
    ("mixpanel", "track", "GET"): 1,       # mp.track: one event, base64 JSON in query `data`
    ("mixpanel", "engage", "GET"): 1,      # mp.people.set
    ("mixpanel", "track", "POST"): 1,      # mp.track_batch: form `data=<base64 JSON array>`
    ("segment", "tracking", "POST"): 1,    # identify + track in one /v1/batch
    ("posthog", "capture", "POST"): 1,     # $identify + capture in one /batch/
    ("amplitude", "httpapi", "POST"): 1,   # $identify + track in one /2/httpapi
    ("snowplow", "tp2", "POST"): 1,        # both events in one tp2 batch
    ("snowplow", "pixel", "GET"): 2,       # one /i per event
    ("rudderstack", "batch", "POST"): 2,   # the first message goes at once, the rest on flush()
}

U, E, C = HONEY["user"], HONEY["email"], HONEY["coupon"]

# (endpoint, data_type, value, path, detector) that must be found, per tracker.
EXPECTED_FINDINGS = {
    "mixpanel": {
        ("track", "user_id", U, "query.data.properties.distinct_id", "rule"),
        ("track", "email", E, "query.data.properties.user_email", "key_name"),  # custom property named like an email
        ("track", "custom_property", C, "query.data.properties.coupon", "rule"),
        ("track", "event_name", "Honey Checkout", "query.data.event", "rule"),
        ("track", "project_key", HONEY["mixpanel_token"], "query.data.properties.token", "rule"),
        ("track", "sdk_name", "node", "query.data.properties.mp_lib", "rule"),
        ("engage", "user_id", U, "query.data.$distinct_id", "rule"),
        ("engage", "email", E, "query.data.$set.$email", "rule"),
        ("engage", "project_key", HONEY["mixpanel_token"], "query.data.$token", "rule"),
        ("track", "user_id", U, "body.data[0].properties.distinct_id", "rule"),
        ("track", "custom_property", C, "body.data[0].properties.coupon", "rule"),
        ("track", "event_name", "Honey Step 1", "body.data[0].event", "rule"),
        ("track", "event_name", "Honey Step 2", "body.data[1].event", "rule"),
    },
    "segment": {
        ("tracking", "user_id", U, "body.batch[0].userId", "rule"),
        ("tracking", "email", E, "body.batch[0].traits.email", "rule"),
        ("tracking", "installation_id", HONEY["anon"], "body.batch[0].anonymousId", "rule"),
        ("tracking", "event_name", "Honey Purchased", "body.batch[1].event", "rule"),
        ("tracking", "custom_property", C, "body.batch[1].properties.coupon", "rule"),
        ("tracking", "project_key", HONEY["segment_key"], "body.writeKey", "rule"),
        ("tracking", "sdk_name", "@segment/analytics-node", "body.batch[0].context.library.name", "rule"),
    },
    "posthog": {
        ("capture", "user_id", U, "body.batch[0].distinct_id", "rule"),
        ("capture", "email", E, "body.batch[0].properties.$set.email", "rule"),
        ("capture", "event_name", "$identify", "body.batch[0].event", "rule"),
        ("capture", "event_name", "Honey Clicked", "body.batch[1].event", "rule"),
        ("capture", "custom_property", C, "body.batch[1].properties.coupon", "rule"),
        ("capture", "project_key", HONEY["posthog_key"], "body.api_key", "rule"),
        ("capture", "sdk_name", "posthog-node", "body.batch[0].properties.$lib", "rule"),
    },
    "amplitude": {
        ("httpapi", "user_id", U, "body.events[0].user_id", "rule"),
        ("httpapi", "installation_id", HONEY["anon"], "body.events[0].device_id", "rule"),
        ("httpapi", "email", E, "body.events[0].user_properties.$set.email", "rule"),
        ("httpapi", "event_name", "Honey Viewed", "body.events[1].event_type", "rule"),
        ("httpapi", "custom_property", C, "body.events[1].event_properties.coupon", "rule"),
        ("httpapi", "project_key", HONEY["amplitude_key"], "body.api_key", "rule"),
    },
    "snowplow": {
        ("tp2", "user_id", U, "body.data[0].uid", "rule"),
        ("tp2", "event_name", "honey-post", "body.data[0].se_ac", "rule"),
        ("tp2", "custom_property", C, "body.data[0].se_la", "rule"),
        ("tp2", "app_id", "honey-app", "body.data[0].aid", "rule"),
        ("tp2", "timezone", "Europe/London", "body.data[0].tz", "rule"),
        ("tp2", "language", "en-GB", "body.data[0].lang", "rule"),
        # The email is a property of the app's own self-describing event (base64 `ue_px`).
        ("tp2", "email", E, "body.data[1].ue_px.data.data.email", "key_name"),
        ("pixel", "user_id", U, "query.uid", "rule"),
        ("pixel", "event_name", "honey-get", "query.se_ac", "rule"),
        ("pixel", "custom_property", C, "query.se_la", "rule"),
        ("pixel", "email", E, "query.ue_px.data.data.email", "key_name"),
        ("pixel", "custom_property", C, "query.ue_px.data.data.coupon", "rule"),
    },
    "rudderstack": {
        ("batch", "user_id", U, "body.batch[0].userId", "rule"),
        ("batch", "email", E, "body.batch[0].traits.email", "rule"),
        ("batch", "installation_id", HONEY["anon"], "body.batch[0].anonymousId", "rule"),
        ("batch", "event_name", "Honey Shared", "body.batch[0].event", "rule"),
        ("batch", "custom_property", C, "body.batch[0].properties.coupon", "rule"),
        ("batch", "project_key", HONEY["rudder_key"], "header.authorization.user", "rule"),
    },
}

# What each driver prints once the SDK reported success (HTTP statuses as the SDK saw them).
EXPECTED_OUTPUT = {
    "mixpanel": ["ok track", "ok engage", "ok track_batch"],   # callback without error: body was "1"
    "segment": ["status 200", "flushed"],
    "posthog": ["status 200 /batch/", "flushed"],
    "amplitude": ["status 200 success", "status 200 success"],
    "snowplow": ["status 200 post", "status 200 get", "status 200 get", "flushed"],
    "rudderstack": ["status 200", "status 200", "flushed"],
}


@pytest.fixture(scope="module")
def capture(tmp_path_factory, mitm_confdir):
    """One proxy; the six SDK drivers run side by side through it."""
    require_node(JS_DIR, PACKAGES)
    from conftest import start_proxy

    proxy = start_proxy(tmp_path_factory.mktemp("node-sdks"), mitm_confdir)
    return proxy, run_drivers(proxy, JS_DIR, SDKS, HONEY)


@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_accepted_the_proxys_answers(capture, sdk):
    _, outputs = capture
    returncode, out, err = outputs[sdk]
    assert returncode == 0, out + err
    lines = out.splitlines()
    for expected in EXPECTED_OUTPUT[sdk]:
        assert any(line.startswith(expected) for line in lines), (expected, out, err)
        lines.remove(next(line for line in lines if line.startswith(expected)))


def test_every_request_is_a_decoded_tracker_request(capture):
    proxy, _ = capture
    rows = stored_requests(proxy.db)
    assert all(status == "decoded" for *_, status in rows), rows
    counts: dict[tuple[str, str, str], int] = {}
    for tracker, endpoint, method, _ in rows:
        counts[(tracker, endpoint, method)] = counts.get((tracker, endpoint, method), 0) + 1
    assert counts == EXPECTED_REQUESTS


def test_every_answer_came_from_the_proxy_with_2xx(capture):
    proxy, _ = capture
    flows = proxy_flows(proxy)
    assert len(flows) == sum(EXPECTED_REQUESTS.values())
    assert not not_answered(flows)


@pytest.mark.parametrize("sdk", SDKS)
def test_honey_values_found(capture, sdk):
    proxy, _ = capture
    found = tracker_findings(proxy.db, sdk)
    missing = EXPECTED_FINDINGS[sdk] - found
    assert not missing, (sorted(missing), sorted(found))
