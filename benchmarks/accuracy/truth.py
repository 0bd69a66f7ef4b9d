"""Ground truth for the accuracy benchmark, built without leakmap's rules.

Every captured request is opened by decode_independent.py; each uploaded value gets the data
types a careful reader would accept for it, from two sources only:

1. **Honey values** the test drivers planted (honey.json of each recording): the name the
   driver gave each value says what it is (`email`, `PROFILE_PHONE`, `user`, `prop`...).
   SHA-256 of a honey email or phone is the hashed form.
2. **SDK-collected values** named by the key the SDK puts them under, as the SDKs' own
   documentation and source name them (KEYS for names shared by many SDKs, PARENT_KEYS for
   `parent.key` pairs such as Segment's `context.os.name`, SDK_KEYS for short keys one SDK
   defines, e.g. Snowplow's tracker protocol `res`, `vp`, `duid`).

A value neither honey nor under a documented key stays out of the typed truth. Several
types are accepted where two honest labels exist (an anonymous id is a device id or a
browser id). The receiver of each request is named by HOSTS (collection hosts from each
SDK's defaults); a host not listed is named by itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decode_independent import leaves_of_request

# Receiver → host suffixes, from each SDK's default collection endpoint.
HOSTS: dict[str, tuple[str, ...]] = {
    "Mixpanel": ("mixpanel.com",), "Segment": ("segment.io", "segment.com"), "Amplitude": ("amplitude.com",),
    "PostHog": ("posthog.com",), "RudderStack": ("rudderstack.com",), "Snowplow": ("collector.shop.example", "snowplow.io"),
    "Sentry": ("sentry.io",), "Bugsnag": ("bugsnag.com",), "Rollbar": ("rollbar.com",),
    "Honeybadger": ("honeybadger.io",), "LaunchDarkly": ("launchdarkly.com",), "Customer.io": ("customer.io",),
    "Raygun": ("raygun.io", "raygun.com"), "Keen": ("keen.io",), "Airbrake": ("airbrake.io",),
    "DevCycle": ("devcycle.com",), "HubSpot": ("hubapi.com", "hubspot.com"), "Intercom": ("intercom.io",),
    "Klaviyo": ("klaviyo.com",), "Optimizely": ("optimizely.com",), "Split": ("split.io",),
    "Statsig": ("statsigapi.net", "featuregates.org", "statsig.com", "prodregistryv2.org", "featureassets.org"), "OneSignal": ("onesignal.com",),
    "Facebook": ("facebook.com", "facebook.net"), "Datadog": ("datadoghq.com", "datadoghq.eu", "browser-intake-datadoghq.com"),
    "Countly": ("count.ly",), "New Relic": ("nr-data.net", "newrelic.com"), "Braze": ("braze.com", "appboy.com"),
    "CleverTap": ("clevertap-prod.com", "wzrkt.com"), "mParticle": ("mparticle.com",), "Iterable": ("iterable.com",),
    "Pendo": ("pendo.io",), "Piano": ("xiti.com", "piano.io", "pa-cd.com"), "Adjust": ("adjust.com",),
    "Branch": ("branch.io", "app.link"), "Singular": ("singular.net",), "Adobe": ("adobedc.net", "demdex.net"),
    "Clarity": ("clarity.ms",), "Firebase": ("googleapis.com",), "Google Analytics": ("google-analytics.com", "googletagmanager.com"),
}
FIRST_PARTY = ("shop.example",)

# Key names many SDKs share (lower-case, leading `$`/`_` dropped), with their data types.
KEYS: dict[str, tuple[str, ...]] = {}
for names, types in [  # written as the SDKs spell them; looked up without `_`, `-`, `$`
    ("email emailaddress email_address user_email", ("email",)),
    ("phone phone_number phonenumber", ("phone",)),
    ("device_id deviceid did device_uuid", ("device_id", "browser_id", "installation_id")),
    ("anonymous_id anonymousid anon_id anon_distinct_id",
     ("device_id", "browser_id", "installation_id", "user_id", "other_id")),
    ("user_id userid external_id customer_id", ("user_id",)),
    ("distinct_id", ("user_id", "device_id", "browser_id", "installation_id")),
    ("session_id sessionid", ("session_id",)),
    ("os os_name osname", ("os_name",)),
    ("os_version osversion", ("os_version",)),
    ("model device_model devicemodel", ("device_model",)),
    ("manufacturer device_manufacturer device_brand", ("manufacturer",)),
    ("browser browser_name", ("browser",)),
    ("browser_version", ("browser_version",)),
    ("screen_width screenwidth", ("screen_width",)),
    ("screen_height screenheight", ("screen_height",)),
    ("viewport_width", ("viewport_width",)),
    ("viewport_height", ("viewport_height",)),
    ("resolution screen_resolution", ("screen_resolution",)),
    ("language locale browser_language", ("language",)),
    ("timezone time_zone timezone_name", ("timezone",)),
    ("user_agent useragent raw_user_agent", ("user_agent",)),
    ("ip ip_address ipaddress client_ip", ("public_ip", "local_ip")),
    ("current_url page_url href", ("page_url", "url")),
    ("referrer referer initial_referrer", ("referrer",)),
    ("event_name event_type", ("event_name",)),
    ("lib sdk_name mp_lib", ("sdk_name",)),
    ("lib_version sdk_version library_version", ("sdk_version",)),
    ("app_version version_name appversion app_version_string", ("app_version",)),
    ("app_id appid bundle_id package_name", ("app_id",)),
    ("api_key apikey write_key writekey app_key client_token sdk_key", ("project_key", "api_key")),
    ("country country_code", ("country",)),
    ("city", ("city",)),
    ("carrier", ("carrier",)),
    ("idfa gaid adid advertising_id ifa gps_adid", ("advertising_id",)),
    ("idfv", ("vendor_id",)),
    ("server_name hostname machinename machine_name", ("device_name",)),
]:
    for name in names.split():
        KEYS[name.replace("_", "")] = types

# (parent key, key) pairs of nested SDK payloads (Segment/RudderStack `context`, Sentry and
# Bugsnag events, Datadog RUM), from each SDK's documented event schema.
PARENT_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("session", "id"): ("session_id",), ("usr", "id"): ("user_id",), ("user", "id"): ("user_id",),
    ("usr", "email"): ("email",), ("user", "email"): ("email",), ("os", "name"): ("os_name",),
    ("os", "version"): ("os_version",), ("browser", "name"): ("browser",), ("browser", "version"): ("browser_version",),
    ("library", "name"): ("sdk_name",), ("library", "version"): ("sdk_version",), ("sdk", "name"): ("sdk_name",),
    ("sdk", "version"): ("sdk_version",), ("notifier", "name"): ("sdk_name",), ("notifier", "version"): ("sdk_version",),
    ("app", "version"): ("app_version",), ("screen", "width"): ("screen_width",), ("screen", "height"): ("screen_height",),
    ("page", "url"): ("page_url", "url"), ("view", "url"): ("page_url", "url"), ("view", "referrer"): ("referrer",),
    ("device", "model"): ("device_model",), ("device", "osname"): ("os_name",), ("device", "osversion"): ("os_version",),
    ("viewport", "width"): ("viewport_width",), ("viewport", "height"): ("viewport_height",),
}

# Short keys one SDK defines, per receiver.
SDK_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    # Snowplow tracker protocol (docs.snowplow.io, "Snowplow Tracker Protocol").
    "Snowplow": {"uid": ("user_id",), "duid": ("device_id", "browser_id"), "sid": ("session_id",),
                 "lang": ("language",), "tz": ("timezone",), "res": ("screen_resolution",), "vp": ("viewport_size",),
                 "ua": ("user_agent",), "url": ("page_url", "url"), "refr": ("referrer",), "aid": ("app_id",),
                 "tv": ("sdk_version",), "ip": ("public_ip",)},
    # Countly Web SDK request parameters and `metrics` (support.count.ly, "API reference").
    "Countly": {"os": ("os_name",), "os_version": ("os_version",), "locale": ("language",),
                "resolution": ("screen_resolution",), "app_version": ("app_version",), "device": ("device_model",),
                "browser": ("browser",), "ua": ("user_agent",), "app_key": ("project_key",)},
    # Google Analytics 4 measurement protocol (`ul`, `sr`, `dl`, `dr`, `tid`, `cid`).
    "Google Analytics": {"ul": ("language",), "sr": ("screen_resolution",), "dl": ("page_url", "url"),
                         "dr": ("referrer",), "tid": ("project_key", "app_id"), "cid": ("browser_id", "device_id")},
    # Amplitude HTTP API v2 (`library` is "name/version").
    "Amplitude": {"library": ("sdk_name", "sdk_version"), "platform": ("os_name",)},
    # Mixpanel: `token` is the project token.
    "Mixpanel": {"token": ("project_key",)},
    # New Relic browser agent: `appId`/`app_id` is the New Relic application (the account's
    # key), `hostname` the host of an AJAX call the agent observed, not the machine.
    "New Relic": {"appid": ("app_id", "project_key"), "app_id": ("app_id", "project_key"), "hostname": ()},
    # mParticle events API: `event_type` is the message type (session_start, custom_event).
    "mParticle": {"event_type": ()},
    # CleverTap web SDK (`d` payload): `evtName` is the event's name.
    "CleverTap": {"evtname": ("event_name",)},
    # Pendo agent: `visitor_id` is the app's user id, or the agent's anonymous visitor id.
    "Pendo": {"visitor_id": ("user_id", "browser_id")},
    # Datadog browser SDKs: `_dd.sdk_name` is "rum" or "logs".
    "Datadog": {"sdk_name": ("sdk_name",)},
}

SDK_KEYS = {sdk: {k.replace("_", ""): v for k, v in keys.items()} for sdk, keys in SDK_KEYS.items()}
PARENT_KEYS = {(p.replace("_", ""), k.replace("_", "")): v for (p, k), v in PARENT_KEYS.items()}


def honey_types(name: str) -> tuple[str, ...]:
    """The types a planted value's name says (HONEY keys and test constants alike)."""
    n = name.lower()
    rules = [
        (r"password", ("password",)), (r"email", ("email",)), (r"phone", ("phone",)),
        (r"(^|_)name$|username", ("name", "username")),
        (r"anon", ("device_id", "browser_id", "installation_id", "user_id", "other_id")),
        (r"distinct_id|^user(_id)?$|^user_id$|_user$|user_id$", ("user_id",)),
        (r"session", ("session_id",)), (r"hostname", ("device_name",)), (r"^ip$", ("public_ip",)),
        (r"coordinates", ("geo_coordinates",)), (r"^screen$", ("screen_resolution",)), (r"^locale$", ("language",)),
        (r"^timezone$", ("timezone",)), (r"^url$", ("url", "page_url")), (r"user_agent", ("user_agent",)),
        (r"^device$", ("device_id", "other_id")),
        (r"debug_token", ("auth_token", "api_key")),
        (r"token$", ("project_key", "api_key", "app_id", "auth_token")),
        (r"key$|^pixel$|app_id$|^project$|measurement_id|datastream|org_id|product$|_account$|account_id",
         ("project_key", "api_key", "app_id")),
        (r"^event$|trace$", ("event_name", "custom_property")),
        (r"message", ("message_content", "error_report", "custom_property")),
        (r"breadcrumb", ("interaction", "error_report", "custom_property")),
        (r"prop$|coupon|^tag$|^plan$", ("custom_property",)),
    ]
    return next((types for pattern, types in rules if re.search(pattern, n)), ())


def _honey_pairs(node: Any, name: str = "") -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, value, types) of every planted value; a [value, [types...]] pair gives its own types."""
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _honey_pairs(value, str(key))]
    if isinstance(node, list) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], list):
        return [(name, node[0], tuple(node[1]))]
    if isinstance(node, str) and node.strip():
        return [(name, node.strip(), honey_types(name))]
    return []


def honey_table(honey: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Planted value (and its SHA-256 forms for emails and phones) → accepted types."""
    table: dict[str, tuple[str, ...]] = {}
    pairs = _honey_pairs(honey.get("HONEY", {})) + _honey_pairs(honey.get("constants", {}))
    for name, value, types in pairs:
        if not types:
            continue
        table[value] = types
        if "email" in types or "phone" in types:
            hashed = "hashed_email" if "email" in types else "hashed_phone"
            for form in {value, value.lower(), re.sub(r"[^0-9]", "", value)}:
                if form:
                    table[hashlib.sha256(form.encode()).hexdigest()] = (hashed,)
    return table


def receiver_of(host: str) -> str | None:
    """The receiver a host belongs to; None for the test site itself."""
    host = host.lower().rstrip(".")
    for name, suffixes in HOSTS.items():
        if any(host == s or host.endswith("." + s) for s in suffixes):
            return name
    if any(host == h or host.endswith("." + h) for h in FIRST_PARTY):
        return None
    return host


def _norm(key: str) -> str:
    """`$os_version`, `osVersion`, `os-version` → `osversion`: one spelling per key."""
    return re.sub(r"[$_\-@]", "", key.lower())


# What a value must look like to be what its key says: a key name alone is not enough
# (Mixpanel's `ip=1` is a flag, Rollbar's `language` is "python 3.12", a serialized honey
# table has a value "email" under a key "email").
_SHAPES: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I),
    "phone": re.compile(r"\+?[0-9][0-9 ()-]{6,}"),
    "language": re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]{2,4})*", re.I),
    "timezone": re.compile(r"[A-Za-z_]+/[A-Za-z_/+-]+|UTC|GMT|[+-]?[0-9]{1,4}|[+-][0-9]{2}:?[0-9]{2}"),
    "screen_width": re.compile(r"[0-9]{2,5}"), "screen_height": re.compile(r"[0-9]{2,5}"),
    "viewport_width": re.compile(r"[0-9]{2,5}"), "viewport_height": re.compile(r"[0-9]{2,5}"),
    "screen_resolution": re.compile(r"[0-9]{2,5}\s*[x*X,]\s*[0-9]{2,5}"),
    "viewport_size": re.compile(r"[0-9]{2,5}\s*[x*X,]\s*[0-9]{2,5}"),
    "page_url": re.compile(r"https?://\S+"), "referrer": re.compile(r"https?://\S+"),
    "user_agent": re.compile(r"\S+/\S+.*"),
    "os_version": re.compile(r".*[0-9].*"), "app_version": re.compile(r".*[0-9].*"),
    "sdk_version": re.compile(r".*[0-9].*"), "browser_version": re.compile(r"[0-9][0-9.]*"),
    "country": re.compile(r"[A-Za-z]{2,3}|[A-Z][a-z]+( [A-Z][a-z]+)*"),
}
# Identifiers: at least four characters, not a run of zeros (Branch sends `session_id: 0`).
ID_TYPES = frozenset("user_id device_id browser_id installation_id session_id other_id advertising_id vendor_id".split())
for _id in ID_TYPES:
    _SHAPES[_id] = re.compile(r"(?!0+$).{4,}")


def _plausible(types: tuple[str, ...], value: str) -> bool:
    """Whether *value* can be an instance of the first of *types* (see _SHAPES)."""
    if types[0] in ("public_ip", "local_ip"):
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    shape = _SHAPES.get(types[0])
    return shape is None or shape.fullmatch(value) is not None


def types_by_key(receiver: str, path: str, value: str = "") -> tuple[str, ...]:
    """The documented types of the value at *path* (SDK-specific keys first), if the value
    looks like one (_plausible)."""
    types = _types_by_key(receiver, path)
    if types == ("sdk_name",) and re.search(r"\d+\.\d+", value):
        types = ("sdk_name", "sdk_version")  # "web-sdk-v2.5.2", "amplitude-ts/2.47.0": both at once
    return types if types and _plausible(types, value) else ()


def _types_by_key(receiver: str, path: str) -> tuple[str, ...]:
    segments = [s for s in path.split(".") if not s.isdigit()]
    if not segments:
        return ()
    key = _norm(segments[-1])
    parent = _norm(segments[-2]) if len(segments) > 1 else ""
    own = SDK_KEYS.get(receiver, {})
    if key in own:  # the SDK's own meaning, even "none" (New Relic's `hostname` is a host it observed)
        return own[key]
    return PARENT_KEYS.get((parent, key)) or KEYS.get(key) or ()


@dataclass
class TruthValue:
    """One uploaded value of one receiver and what it may honestly be called."""

    types: set[str] = field(default_factory=set)
    honey: bool = False
    paths: set[str] = field(default_factory=set)


Truth = dict[tuple[str, str], TruthValue]  # (receiver, value) → truth


def label_request(truth: Truth, host: str, url: str, body: bytes, honey: dict[str, tuple[str, ...]]) -> None:
    """Add one request's typed values to *truth*."""
    receiver = receiver_of(host)
    if receiver is None:
        return
    for path, value in leaves_of_request(url, body):
        value = value.strip()
        if not value or value.lower() in ("null", "undefined", "true", "false"):
            continue
        planted = honey.get(value)
        by_key = types_by_key(receiver, path, value)
        types = planted or by_key
        if not types:
            continue
        if planted and by_key and set(planted) <= ID_TYPES and set(by_key) <= ID_TYPES:
            types = planted + by_key  # an app's id in the SDK's id field: both names are honest
        entry = truth.setdefault((receiver, value), TruthValue())
        if planted and not entry.honey:  # the planted meaning wins over a key name
            entry.types, entry.honey = set(), True
        if planted or not entry.honey:
            entry.types.update(types)
        entry.paths.add(path)


def truth_of_recording(directory: Path) -> Truth:
    """The typed truth of one recording: every request of its dumps, with its honey values."""
    from mitmproxy import http, io

    honey = honey_table(json.loads((directory / "honey.json").read_text()))
    truth: Truth = {}
    for dump in sorted(directory.glob("capture*.mitm")):
        with dump.open("rb") as f:
            for flow in io.FlowReader(f).stream():
                if isinstance(flow, http.HTTPFlow):
                    body = flow.request.get_content(strict=False) or b""
                    label_request(truth, flow.request.pretty_host, flow.request.pretty_url, body, honey)
    return truth

