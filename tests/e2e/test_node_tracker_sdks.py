"""End to end with the official Node.js SDKs of feature-flag, experimentation and
customer-engagement vendors (npm, pinned in tests/js/trackers): statsig-node,
@launchdarkly/node-server-sdk, @optimizely/optimizely-sdk, @splitsoftware/splitio,
klaviyo-api, intercom-client and @hubspot/api-client. Each runs as a site's backend runs it:
its default hosts, a user with a honey id, email (and phone) and a custom property, one
evaluation or profile write and one tracked event, through a real `mitmdump -s
addons/leakmap.py` in block mode. Each honey value must come out of the findings store with
its tracker, endpoint, data type and path; every request must be decoded, and every SDK must
have accepted the proxy's answers (the drivers print what the SDK reported).

The drivers run under tests/js/node/proxy-preload.cjs (shared with tests/e2e/test_node_sdks.py),
which takes undici and https-proxy-agent from this folder's node_modules through NODE_PATH.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from support.chromium import not_answered, proxy_flows
from support.node import require_node, run_drivers, stored_requests, tracker_findings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.real_client("statsig", "statsig-node (npm)"),
    pytest.mark.real_client("launchdarkly", "@launchdarkly/node-server-sdk (npm)"),
    pytest.mark.real_client("optimizely", "@optimizely/optimizely-sdk (npm, Node)"),
    pytest.mark.real_client("split", "@splitsoftware/splitio (npm, Node)"),
    pytest.mark.real_client("klaviyo", "klaviyo-api (npm)"),
    pytest.mark.real_client("intercom", "intercom-client (npm)"),
    pytest.mark.real_client("hubspot", "@hubspot/api-client (npm)"),
]

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "trackers"
SDKS = ("statsig", "launchdarkly", "optimizely", "split", "klaviyo", "intercom", "hubspot")
PACKAGES = ("statsig-node", "@launchdarkly/node-server-sdk", "@optimizely/optimizely-sdk", "@splitsoftware/splitio",
            "klaviyo-api", "intercom-client", "@hubspot/api-client", "undici", "https-proxy-agent")

HONEY = {
    "user": "honey-trk-user-5d21",
    "email": "honey.trackers@example.net",
    "phone": "+4915112345678",
    "coupon": "HONEYTRK42",
    "statsig_key": "secret-honeyStatsigServerKey0a1b2c",
    "launchdarkly_key": "sdk-honey-ld-0a1b2c3d-4e5f",
    "optimizely_key": "HoneyOptSdkKey77",
    "optimizely_account": "31415926",
    "optimizely_project": "27182818",
    "split_key": "honeysplitserverkey0123456789ab",
    "klaviyo_key": "pk_honeyklaviyoprivate0123456789",
    "intercom_token": "dG9rOmhvbmV5LWludGVyY29t",
    "hubspot_token": "pat-na1-honey-0a1b2c3d",
}
U, E, C, P = HONEY["user"], HONEY["email"], HONEY["coupon"], HONEY["phone"]

# Requests whose number the test fixes: (tracker, endpoint, method) → count. Flag and rule
# downloads, streams and telemetry are polled on timers, so only their presence is asserted.
EXACT_REQUESTS = {
    ("statsig", "log_event", "POST"): 1,        # shutdown flushes exposure + event in one batch
    ("launchdarkly", "events", "POST"): 1,      # flush: identify, custom event, summary
    ("optimizely", "events", "POST"): 1,        # close flushes the batch
    ("split", "track", "POST"): 1,              # events/bulk
    ("klaviyo", "server_api", "POST"): 2,       # profile-import, events
    ("intercom", "rest_api", "POST"): 2,        # contacts, events
    ("hubspot", "crm_api", "POST"): 1,          # crm/v3/objects/contacts
    ("hubspot", "events_api", "POST"): 1,       # events/v3/send
}
PRESENT = {("statsig", "config_specs"), ("launchdarkly", "server_flags"), ("launchdarkly", "diagnostic"),
           ("split", "definitions"), ("split", "auth"), ("split", "telemetry")}

# (endpoint, data_type, value, path, detector) that must be found, per tracker.
EXPECTED_FINDINGS = {
    "statsig": {
        ("log_event", "user_id", U, "body.events[1].user.userID", "rule"),
        ("log_event", "email", E, "body.events[1].user.email", "rule"),
        ("log_event", "country", "DE", "body.events[1].user.country", "rule"),
        ("log_event", "custom_property", C, "body.events[1].user.custom.coupon", "rule"),
        ("log_event", "event_name", "statsig::gate_exposure", "body.events[1].eventName", "rule"),
        ("log_event", "event_name", "honey_purchase", "body.events[2].eventName", "rule"),
        ("log_event", "custom_property", "42.5", "body.events[2].value", "rule"),
        ("log_event", "sdk_name", "statsig-node", "body.statsigMetadata.sdkType", "rule"),
        ("log_event", "auth_token", HONEY["statsig_key"], "header.statsig-api-key", "rule"),
        ("config_specs", "auth_token", HONEY["statsig_key"], "path.key", "rule"),
    },
    "launchdarkly": {
        ("events", "user_id", U, "body[0].context.key", "rule"),
        ("events", "email", E, "body[0].context.email", "rule"),
        ("events", "name", "Honey Tester", "body[0].context.name", "rule"),
        ("events", "custom_property", C, "body[0].context.coupon", "rule"),
        ("events", "event_name", "honey-purchase", "body[1].key", "rule"),
        ("events", "custom_property", "42.5", "body[1].metricValue", "rule"),
        ("events", "auth_token", HONEY["launchdarkly_key"], "header.authorization", "rule"),
        ("diagnostic", "project_key", HONEY["launchdarkly_key"][-6:], "body.id.sdkKeySuffix", "rule"),
        ("diagnostic", "sdk_name", "@launchdarkly/node-server-sdk", "body.sdk.name", "rule"),
        ("server_flags", "auth_token", HONEY["launchdarkly_key"], "header.authorization", "rule"),
    },
    "optimizely": {
        ("events", "user_id", U, "body.visitors[0].visitor_id", "rule"),
        ("events", "event_name", "honey_purchase", "body.visitors[0].snapshots[0].events[0].key", "rule"),
        ("events", "revenue", "4250", "body.visitors[0].snapshots[0].events[0].tags.revenue", "rule"),
        ("events", "custom_property", C, "body.visitors[0].snapshots[0].events[0].tags.coupon", "rule"),
        ("events", "project_key", HONEY["optimizely_account"], "body.account_id", "rule"),
        ("events", "project_key", HONEY["optimizely_project"], "body.project_id", "rule"),
        ("events", "sdk_name", "node-sdk", "body.client_name", "rule"),
    },
    "split": {
        ("track", "user_id", U, "body[0].key", "rule"),
        ("track", "event_name", "honey_purchase", "body[0].eventTypeId", "rule"),
        ("track", "custom_property", C, "body[0].properties.coupon", "rule"),
        ("track", "email", E, "body[0].properties.email", "key_name"),   # a property named like an email
        ("track", "auth_token", "Bearer " + HONEY["split_key"], "header.authorization", "rule"),
        ("definitions", "auth_token", "Bearer " + HONEY["split_key"], "header.authorization", "rule"),
    },
    "klaviyo": {
        ("server_api", "email", E, "body.data.attributes.email", "rule"),
        ("server_api", "phone", P, "body.data.attributes.phone_number", "rule"),
        ("server_api", "user_id", U, "body.data.attributes.external_id", "rule"),
        ("server_api", "name", "Honey", "body.data.attributes.first_name", "rule"),
        ("server_api", "custom_property", C, "body.data.attributes.properties.coupon", "rule"),
        ("server_api", "event_name", "Honey Purchase", "body.data.attributes.metric.data.attributes.name", "rule"),
        ("server_api", "email", E, "body.data.attributes.profile.data.attributes.email", "rule"),
        ("server_api", "revenue", "42.5", "body.data.attributes.value", "rule"),
        ("server_api", "auth_token", "Klaviyo-API-Key " + HONEY["klaviyo_key"], "header.authorization", "rule"),
    },
    "intercom": {
        ("rest_api", "user_id", U, "body.external_id", "rule"),
        ("rest_api", "email", E, "body.email", "rule"),
        ("rest_api", "phone", P, "body.phone", "rule"),
        ("rest_api", "name", "Honey Tester", "body.name", "rule"),
        ("rest_api", "custom_property", C, "body.custom_attributes.coupon", "rule"),
        ("rest_api", "event_name", "honey-purchase", "body.event_name", "rule"),
        ("rest_api", "user_id", U, "body.user_id", "rule"),
        ("rest_api", "custom_property", C, "body.metadata.coupon", "rule"),
        ("rest_api", "auth_token", "Bearer " + HONEY["intercom_token"], "header.authorization", "rule"),
    },
    "hubspot": {
        ("crm_api", "email", E, "body.properties.email", "rule"),
        ("crm_api", "name", "Honey", "body.properties.firstname", "rule"),
        ("crm_api", "phone", P, "body.properties.phone", "rule"),
        ("crm_api", "custom_property", C, "body.properties.coupon", "rule"),
        ("crm_api", "auth_token", "Bearer " + HONEY["hubspot_token"], "header.authorization", "rule"),
        ("events_api", "event_name", "pe12345_honey_purchase", "body.eventName", "rule"),
        ("events_api", "email", E, "body.email", "rule"),
        ("events_api", "custom_property", C, "body.properties.coupon", "rule"),
    },
}

# What each driver prints once the SDK reported success.
EXPECTED_OUTPUT = {
    "statsig": ["flushed"],
    "launchdarkly": ["initialized", "flushed"],
    "optimizely": ["ready", "closed"],
    "split": ["ready", "destroyed"],
    "klaviyo": ["profile 202", "event 202"],
    "intercom": ["contact ok", "event ok"],
    "hubspot": ["contact 5521", "event ok"],
}


@pytest.fixture(scope="module")
def capture(tmp_path_factory, mitm_confdir):
    """One proxy; the seven SDK drivers run side by side through it."""
    require_node(JS_DIR, PACKAGES)
    from conftest import start_proxy

    proxy = start_proxy(tmp_path_factory.mktemp("node-tracker-sdks"), mitm_confdir)
    return proxy, run_drivers(proxy, JS_DIR, SDKS, HONEY)


@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_accepted_the_proxys_answers(capture, sdk):
    _, outputs = capture
    returncode, out, err = outputs[sdk]
    assert returncode == 0, out + err
    assert [line for line in out.splitlines() if line] == EXPECTED_OUTPUT[sdk], (out, err)


def test_every_request_is_a_decoded_tracker_request(capture):
    proxy, _ = capture
    rows = stored_requests(proxy.db)
    assert rows and all(status == "decoded" for *_, status in rows), rows
    counts = Counter((tracker, endpoint, method) for tracker, endpoint, method, _ in rows)
    assert {key: counts[key] for key in EXACT_REQUESTS} == EXACT_REQUESTS, counts
    assert PRESENT <= {(tracker, endpoint) for tracker, endpoint, *_ in rows}, counts


def test_every_answer_came_from_the_proxy_with_2xx(capture):
    proxy, _ = capture
    flows = proxy_flows(proxy)
    assert len(flows) == len(stored_requests(proxy.db))
    assert not not_answered(flows)


@pytest.mark.parametrize("sdk", SDKS)
def test_honey_values_found(capture, sdk):
    proxy, _ = capture
    found = tracker_findings(proxy.db, sdk)
    missing = EXPECTED_FINDINGS[sdk] - found
    assert not missing, (sorted(missing), sorted(found))
