"""Typing of fields that no rule describes: a data type from the key name or the value's
shape, with the reason, or `unlabelled` when nothing says more.

Honest about itself: every guess says what decided it, and a high-sensitivity type needs
strong evidence. A key name is only believed when the value fits the type (`lat=0` is a
flag, not a latitude; `phone=true` is no phone number), and a value's shape alone decides
only where the shape is unmistakable (an email address, an E.164 number, a coordinate pair
with decimals).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from . import paths
from .value_types import E164, EMAIL_IN_TEXT, GENERIC_KEY_NAMES, HEX_HASH as _HEX_DIGEST, UUID_TEXT, classify_key, normalize_key

UNLABELLED = "unlabelled"

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$")
_COORDINATES = re.compile(r"^\s*(-?\d{1,2}\.\d{2,})\s*[,;\s]\s*(-?\d{1,3}\.\d{2,})\s*$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?$")
_SIZE = re.compile(r"^(\d{3,5})\s*[x×*]\s*(\d{3,5})$")
_LOCALE = re.compile(r"^[a-z]{2,3}[-_](?:[A-Z]{2}|[A-Z][a-z]{3}|\d{3})$")
_TIMEZONE = re.compile(r"^(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[A-Za-z0-9_+\-/]{2,40}$")
_USER_AGENT = re.compile(r"^(?:Mozilla/\d|Dalvik/\d|[A-Za-z][\w.-]{1,40}/[\d.]+ \((?:Linux|iPhone|iPad|Macintosh|Windows|"
                         r"X11|Android|iOS|compatible)[^)]*\))")
_URL = re.compile(r"^(?:https?|wss?)://[^\s/?#]+[^\s]*$", re.I)
_VIEWPORT_KEYS = ("viewport", "window", "inner", "vp", "browser_size", "client_size")
_REFERRER_KEYS = ("referrer", "referer", "ref", "dr", "document_referrer")
_PAGE_KEYS = ("url", "page", "page_url", "href", "location", "dl", "current_url", "page_location", "uri", "path")
_VERSION_HINTS = ("version", "ver", "build", "release")


# Keys that say who the person is when their object is a user (`user.id`, `person.name`).
_PERSON_KEYS = {"id": "user_id", "key": "user_id", "uuid": "user_id", "identifier": "user_id", "name": "name"}
_USER_OBJECTS = frozenset("user person customer profile member account visitor identity context contact "
                          "subscriber".split())
# `notifier.name`, `sdk.version`: the SDK naming itself (error and analytics SDKs' envelopes).
_SDK_KEYS = {"name": "sdk_name", "version": "sdk_version"}
_SDK_OBJECTS = frozenset("notifier sdk library lib client_sdk".split())


def _parent_key(path: str) -> str:
    """Normalised key of the object holding the leaf at *path* (`body.user.id` → `user`)."""
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    return normalize_key(paths.last_key(parent)) if parent else ""


@dataclass(frozen=True, slots=True)
class Guess:
    data_type: str
    value: str  # what the finding stores (an email found inside a longer text: the address)
    reason: str


def _ip_type(value: str, key: str) -> str:
    if any(hint in key for hint in _VERSION_HINTS):
        return ""
    if value.count(".") == 3 or (":" in value and value.count(":") >= 2):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return ""
        return "public_ip" if address.is_global else "local_ip"
    return ""


def _coordinates(value: str) -> bool:
    found = _COORDINATES.match(value)
    if not found:
        return False
    lat, lon = float(found.group(1)), float(found.group(2))
    return -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0)


def _by_shape(key: str, value: str) -> Guess | None:
    """The type an unmistakable value shape names, with the shape as the reason."""
    if _NUMBER.match(value):
        return None  # a plain number has none of the shapes below (the common case: cheap)
    if "@" in value:
        if _EMAIL.match(value):
            return Guess("email", value, "value is an email address")
        inside = EMAIL_IN_TEXT.search(value[:4096])
        if inside:
            return Guess("email", inside.group(0), "an email address inside the value")
    if value[:1] == "+" and E164.match(value):
        return Guess("phone", value, "value is an E.164 phone number")
    if _URL.match(value):
        if key in _REFERRER_KEYS or "referrer" in key or "referer" in key:
            return Guess("referrer", value, f"URL under key {key!r}")
        if key in _PAGE_KEYS or key.startswith("page") or key.endswith("url"):
            return Guess("page_url", value, f"URL under key {key!r}")
        return Guess("url", value, "value is a URL")
    if _USER_AGENT.match(value):
        return Guess("user_agent", value, "value is a User-Agent string")
    ip = _ip_type(value, key)
    if ip:
        return Guess(ip, value, "value is an IP address" + (" (public)" if ip == "public_ip" else " (private)"))
    if _coordinates(value):
        return Guess("geo_coordinates", value, "value is a latitude,longitude pair")
    size = _SIZE.match(value)
    if size:
        kind = "viewport_size" if any(k in key for k in _VIEWPORT_KEYS) else "screen_resolution"
        return Guess(kind, value, f"value is a size W×H ({size.group(1)}×{size.group(2)})")
    if _TIMEZONE.match(value):
        return Guess("timezone", value, "value is an IANA time zone")
    if _LOCALE.match(value):
        return Guess("language", value, "value is a locale (language-REGION)")
    if UUID_TEXT.match(value):
        if value.strip("0-") == "":
            return Guess("advertising_id", value, "all-zero UUID: the advertising id of a device with ad tracking limited")
        return Guess("other_id", value, "value is a UUID (an identifier)")
    return None


# Shapes specific enough to type a value that a rule's catch-all only calls a custom
# property (an app's `display: "2560x1440"` in LaunchDarkly's custom attributes).
CATCH_ALL_SHAPES = frozenset("user_agent public_ip local_ip geo_coordinates screen_resolution viewport_size timezone "
                             "language page_url referrer url".split())


def catch_all_shape(key: str, value: str) -> Guess | None:
    """The type of a custom property's value when its shape is unmistakable (CATCH_ALL_SHAPES);
    identifiers stay custom properties (a UUID under an app's own key says nothing more)."""
    found = _by_shape(normalize_key(key) if key else "", value)
    return found if found and found.data_type in CATCH_ALL_SHAPES else None


class Guesser:
    """Types generic fields. Remembers the digests of emails and phone numbers it typed,
    so a hash of one of them elsewhere in the capture is recognised as such (bounded)."""

    MAX_DIGESTS = 30_000

    def __init__(self) -> None:
        self._digests: dict[str, tuple[str, str]] = {}  # hex digest → (hashed type, algorithm)

    def guess(self, path: str, value: str) -> Guess:
        """The data type of the leaf at *path*: key name first (when the value fits), then
        the SDK's own name and version (`notifier.name`) or the id of a user-like parent
        object (`user.id`), then the value's shape."""
        key = paths.last_key(path)
        normalized = normalize_key(key) if key else ""
        by_key = classify_key(key, value, GENERIC_KEY_NAMES) if key else ""
        parent = _parent_key(path) if normalized in _PERSON_KEYS or normalized in _SDK_KEYS else ""
        if by_key:
            found = Guess(by_key, value, f"key name {key!r}")
        elif parent in _SDK_OBJECTS and normalized in _SDK_KEYS and len(value) >= 2:
            found = Guess(_SDK_KEYS[normalized], value, f"key {key!r} of the {parent!r} object")
        elif parent in _USER_OBJECTS and len(value) >= 2 and not _by_shape(normalized, value):
            found = Guess(_PERSON_KEYS[normalized], value, f"key {key!r} of the {parent!r} object")
        else:
            found = _by_shape(normalized, value) or self._digest(value) or Guess(UNLABELLED, value, "no key name or value shape says more")
        if found.data_type in ("email", "phone"):
            self._remember(found.data_type, found.value)
        return found

    def _digest(self, value: str) -> Guess | None:
        if not _HEX_DIGEST.match(value):
            return None
        known = self._digests.get(value.lower())
        if known:
            return Guess(known[0], value, f"{known[1]} of an {known[0][7:]} seen in this capture")
        return Guess("other_id", value, f"value is a {len(value) * 4}-bit hex digest (a hashed identifier)")

    def _remember(self, data_type: str, value: str) -> None:
        if len(self._digests) >= self.MAX_DIGESTS:
            return
        hashed = "hashed_email" if data_type == "email" else "hashed_phone"
        for form in dict.fromkeys((value, value.strip().lower())):
            for algorithm in ("md5", "sha1", "sha256"):
                self._digests[hashlib.new(algorithm, form.encode()).hexdigest()] = (hashed, algorithm)
