"""Official SDKs of vendors that have no leakmap rule, driven with honey values.

Run as `python thirdparty_sdks.py VENDOR HONEY_JSON` in a process whose environment points
at a mitmdump (Proxy.client_env()): each vendor's function makes the SDK send what it sends
in real use (identify, track, an error report with user context), with the honey values in
the fields an app would fill. The SDKs collect more by themselves (host name, runtime,
stack frames); the tests decode every value from the capture on their own.

Vendors and their receivers (registrable domain of the collection host, from each SDK's
defaults): RECEIVERS below. None has a rule in tracker_rules/ today; the tests drop any
rule that would cover these hosts, so they measure the generic path whatever rules exist.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from typing import Any

RECEIVERS = {
    "rollbar": "rollbar.com",
    "honeybadger": "honeybadger.io",
    "launchdarkly": "launchdarkly.com",
    "customerio": "customer.io",
    "raygun": "raygun.io",
    "keen": "keen.io",
    "airbrake": "airbrake.io",
    "devcycle": "devcycle.com",
}

# Collection hosts the SDKs above send to (their defaults).
HOSTS = ("api.rollbar.com", "api.honeybadger.io", "events.launchdarkly.com", "track.customer.io", "api.raygun.io",
         "api.keen.io", "api.airbrake.io", "bucketing-api.devcycle.com")

# Honey values and the data types a reader should see for them (several are acceptable
# where the key name decides between two honest labels).
HONEY: dict[str, tuple[str, set[str]]] = {
    "email": ("hana.honey@example.net", {"email"}),
    "name": ("Hana Honeywell", {"name", "username"}),
    "phone": ("+4915123456789", {"phone"}),
    "user_id": ("honey-user-4711", {"user_id"}),
    "ip": ("81.2.69.160", {"public_ip"}),
    "coordinates": ("52.5163,13.3777", {"geo_coordinates"}),
    "screen": ("2560x1440", {"screen_resolution"}),
    "locale": ("de-DE", {"language"}),
    "timezone": ("Europe/Berlin", {"timezone"}),
    "url": ("https://shop.example.org/checkout?step=2", {"url", "page_url"}),
    "user_agent": ("Mozilla/5.0 (X11; Linux x86_64) HoneyBrowser/1.0", {"user_agent"}),
    "device": ("6f1c2a4e-9b3d-4e5f-8a7b-1c2d3e4f5a6b", {"device_id", "other_id"}),
}
EMAIL_BASE64 = base64.b64encode(HONEY["email"][0].encode()).decode()
EMAIL_SHA256 = hashlib.sha256(HONEY["email"][0].encode()).hexdigest()


def custom(h: dict[str, str]) -> dict[str, Any]:
    """What an app puts into an SDK's free-form data: neutral key names on purpose, so the
    type must come from the value's shape ("display", "loc", "hw", "blob")."""
    return {"plan": "gold", "loc": h["coordinates"], "display": h["screen"], "locale": h["locale"],
            "timezone": h["timezone"], "page": h["url"], "browser": h["user_agent"], "hw": h["device"],
            "phone": h["phone"], "ip": h["ip"], "email": h["email"], "blob": EMAIL_BASE64, "eh": EMAIL_SHA256,
            "basket": 42.5}


def _error() -> BaseException:
    try:
        raise ValueError("checkout failed for honey user")
    except ValueError as e:
        return e


def rollbar(h: dict[str, str]) -> None:
    import rollbar as sdk

    sdk.init("0123456789abcdef0123456789abcdef", environment="honey-test", handler="blocking",
                timeout=30)  # the first TLS handshake through a fresh proxy can take seconds
    sdk.report_message("Checkout started", "info", extra_data=custom(h),
                       payload_data={"person": {"id": h["user_id"], "email": h["email"], "username": h["name"]}})


def honeybadger(h: dict[str, str]) -> None:
    from honeybadger import honeybadger as sdk

    sdk.configure(api_key="hbp_honey0123456789", force_report_data=True, force_sync=True, environment="honey-test")
    sdk.notify(_error(), context={"user_id": h["user_id"], "user_email": h["email"], "name": h["name"], **custom(h)})


def launchdarkly(h: dict[str, str]) -> None:
    import ldclient
    from ldclient import Context
    from ldclient.config import Config, HTTPConfig

    proxy = os.environ["HTTPS_PROXY"]
    config = Config("sdk-honey-0123456789", stream=False, use_ldd=True, enable_event_compression=True,
                    diagnostic_opt_out=True, http=HTTPConfig(http_proxy=proxy, ca_certs=os.environ["SSL_CERT_FILE"]))
    ldclient.set_config(config)
    client = ldclient.get()
    context = (Context.builder(h["user_id"]).name(h["name"]).set("email", h["email"]).set("country", "DE")
               .set("ip", h["ip"]).set("display", h["screen"]).set("loc", h["coordinates"]).build())
    client.identify(context)
    client.track("checkout", context, data=custom(h), metric_value=42.5)
    client.flush()
    client.close()


def customerio(h: dict[str, str]) -> None:
    from customerio import CustomerIO

    cio = CustomerIO("honeysite01", "honeykey0123456789")
    cio.identify(id=h["user_id"], email=h["email"], name=h["name"], phone=h["phone"], created_at=1767225600)
    cio.track(h["user_id"], "purchased", data=custom(h))


def raygun(h: dict[str, str]) -> None:
    from raygun4py import raygunprovider

    sender = raygunprovider.RaygunSender("honeyRaygunKey0123")
    sender.set_user({"identifier": h["user_id"], "email": h["email"], "fullName": h["name"], "isAnonymous": False,
                     "uuid": h["device"]})
    err = _error()
    sender.send_exception(exc_info=(type(err), err, err.__traceback__), userCustomData=custom(h), tags=["honey"])


def keen(h: dict[str, str]) -> None:
    import keen as sdk

    sdk.project_id = "honeyproject0123"
    sdk.write_key = "honeywritekey0123456789"
    sdk.add_event("purchases", {"user": {"id": h["user_id"], "email": h["email"], "name": h["name"]}, **custom(h)})


def airbrake(h: dict[str, str]) -> None:
    import pybrake

    notifier = pybrake.Notifier(project_id=4711, project_key="honeyairbrakekey0123", environment="honey-test",
                                performance_stats=False, query_stats=False, queue_stats=False, remote_config=False)
    notice = notifier.build_notice(_error())
    notice["context"]["user"] = {"id": h["user_id"], "email": h["email"], "name": h["name"]}
    notice["params"] = custom(h)
    notifier.send_notice_sync(notice)


def devcycle(h: dict[str, str]) -> None:
    from devcycle_python_sdk import DevCycleCloudClient, DevCycleCloudOptions
    from devcycle_python_sdk.models.event import DevCycleEvent
    from devcycle_python_sdk.models.user import DevCycleUser

    client = DevCycleCloudClient("dvc_server_honey0123456789", DevCycleCloudOptions(request_retries=0))
    user = DevCycleUser(user_id=h["user_id"], email=h["email"], name=h["name"], country="DE",
                        customData={"display": h["screen"], "loc": h["coordinates"], "hw": h["device"]})
    client.variable_value(user, "checkout-flow", "classic")
    client.track(user, DevCycleEvent(type="checkout", target="basket", value=42.5, metaData=custom(h)))


if __name__ == "__main__":
    vendor, honey = sys.argv[1], json.loads(sys.argv[2])
    try:
        globals()[vendor](honey)
    except Exception as e:  # the proxy's answer may not be what the SDK expects: what was sent counts
        print(f"{vendor}: {type(e).__name__}: {e}", file=sys.stderr)
    print("sent")
