"""Extract stage: every uploaded field of a decoded request, labelled with a data type.

Three detectors label a field, strongest first, and each finding says which decided:
- ``rule``: the tracker rule maps this path to a type (or marks it as not personal);
- ``key_name``: the key itself names a type (`user_email`, `phoneNumber`, `lat`...), and the
  value passes that type's sanity check (an email key needs an `@`, a latitude a number);
- ``pattern``: the value has an unmistakable shape (an email address, an E.164 phone number);
- ``indicator``: a honey value the user planted, found plain, URL-, base64-, hex-encoded or hashed;
- ``credential``: an API key, token or session cookie recognised by its format (credentials.py).
Key names and patterns live here, not in any rule, so every tracker gets them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from . import credentials, paths, special
from .limits import CHECK_EVERY, TookTooLong, clock
from .model import Finding
from .rules import NOT_PERSONAL, Endpoint, FieldMap

IDENTITY_TYPES = ("app_id", "app_name", "project_key")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_HEX_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$", re.I)
EMAIL_IN_TEXT = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@lru_cache(maxsize=65536)
def normalize_key(key: str) -> str:
    """`$userEmail` → `user_email`: the form KEY_NAMES is written in. Cached: every record
    repeats the same keys, and this runs for every leaf."""
    return _NON_ALNUM.sub("_", _CAMEL.sub("_", key.lstrip("$_@")).lower()).strip("_")


def _names(data_type: str, names: str) -> dict[str, str]:
    return {name: data_type for name in names.split()}


# Normalized key → data type. Exact names only: a token match on "name" or "id" alone would
# label every event name and insert id, which is worse than no label.
KEY_NAMES: dict[str, str] = {
    **_names("email", "email e_mail email_address emailaddress mail user_email useremail customer_email "
             "contact_email account_email login_email billing_email"),
    **_names("hashed_email", "email_hash hashed_email email_sha256 email_md5 email_sha1 em sha256_email md5_email"),
    **_names("phone", "phone phone_number phonenumber mobile mobile_number mobile_phone telephone tel msisdn "
             "user_phone contact_phone"),
    **_names("hashed_phone", "phone_hash hashed_phone phone_sha256 ph"),
    **_names("name", "first_name firstname last_name lastname full_name fullname given_name family_name surname "
             "middle_name user_full_name customer_name"),
    **_names("username", "username user_name login screen_name_user nickname"),
    **_names("password", "password passwd pwd pass_word user_password"),
    **_names("birth_date", "birthday birth_date birthdate dob date_of_birth"),
    **_names("gender", "gender sex"),
    **_names("age", "age user_age"),
    **_names("postal_address", "address street street_address address_line1 address_line_1 home_address "
             "postal_address billing_address shipping_address"),
    **_names("postal_code", "zip zipcode zip_code postal_code postcode post_code"),
    **_names("city", "city user_city"),
    **_names("region", "region province"),
    **_names("country", "country country_code user_country"),
    **_names("latitude", "lat latitude geo_lat location_lat"),
    **_names("longitude", "lng lon long longitude geo_lng geo_lon location_lng location_lon"),
    **_names("public_ip", "ip ip_address ipaddress client_ip user_ip remote_ip"),
    **_names("advertising_id", "advertising_id advertisingid ad_id adid idfa gaid aaid google_ad_id gps_adid "
             "android_advertising_id ios_ifa ifa"),
    **_names("vendor_id", "idfv vendor_id identifier_for_vendor"),
    **_names("android_id", "android_id androidid"),
    **_names("user_id", "user_id userid customer_id member_id account_id"),
    **_names("device_id", "device_id deviceid"),
    **_names("session_id", "session_id sessionid"),
    **_names("auth_token", "access_token auth_token id_token refresh_token bearer_token session_token api_token"),
    **_names("payment_card", "card_number credit_card credit_card_number cc_number card_no"),
    **_names("push_token", "push_token fcm_token apns_token device_token registration_id"),
    **_names("wifi_ssid", "ssid wifi_ssid"),
    **_names("wifi_bssid", "bssid wifi_bssid"),
    **_names("search_term", "search_term search_query searchterm keyword"),
}

# The generic path (requests no rule covers, leakmap/guess.py) also believes these names: too
# ambiguous to override a rule's catch-all (`model`, `user`, `screen`), telling where nothing
# else says anything.
GENERIC_KEY_NAMES: dict[str, str] = {
    **KEY_NAMES,
    **_names("email", "user_mail email_addr emailaddr recipient_email e_mail_address"),
    **_names("phone", "phone_no cell cellphone cell_phone mobile_no whatsapp"),
    **_names("name", "name_first name_last display_name real_name person_name"),
    **_names("user_id", "uid user distinct_id anonymous_id anon_id external_id external_user_id visitor_id "
             "user_key customer_key profile_id person_id contact_id subscriber_id player_id"),
    **_names("device_id", "device_uuid device_identifier hardware_id install_id installation_id machine_id "
             "client_id"),
    **_names("session_id", "session sid session_key session_uuid"),
    **_names("timezone", "timezone time_zone tz tz_name timezone_name"),
    **_names("language", "locale language lang accept_language user_language preferred_language"),
    **_names("os_name", "os os_name platform_os operating_system"),
    **_names("os_version", "os_version osversion os_ver platform_version system_version"),
    **_names("device_model", "device_model model hardware_model"),
    **_names("manufacturer", "manufacturer device_manufacturer brand device_brand"),
    **_names("user_agent", "user_agent useragent ua"),
    **_names("screen_resolution", "screen_resolution resolution screen_size screen display_resolution"),
    **_names("viewport_size", "viewport viewport_size window_size browser_size"),
    **_names("screen_width", "screen_width screenwidth sw"),
    **_names("screen_height", "screen_height screenheight sh"),
    **_names("page_url", "page_url pageurl current_url href page_location"),
    **_names("referrer", "referrer referer document_referrer"),
    **_names("app_version", "app_version appversion version_name build_version"),
    **_names("carrier", "carrier network_operator operator_name"),
    **_names("public_ip", "ip_addr remote_addr public_ip"),
    **_names("hashed_email", "email_sha256_hash sha256_email_address hashed_email_address"),
    # The machine's name, which error SDKs (Sentry, Rollbar, Airbrake, Raygun, Honeybadger) send.
    **_names("device_name", "hostname host_name server_name machine_name computer_name device_name"),
    **_names("sdk_version", "sdk_version library_version lib_version notifier_version"),
}


def _is_number_in(text: str, low: float, high: float) -> bool:
    try:
        return low <= float(text) <= high
    except ValueError:
        return False


def _is_coordinate(text: str, bound: float) -> bool:
    """Strong evidence only: a number in range that is not a flag (`lat=0` is the
    limit-ad-tracking flag, `lon=1` a boolean): it has decimals or is beyond ±1."""
    try:
        number = float(text)
    except ValueError:
        return False
    return -bound <= number <= bound and ("." in text or abs(number) > 1) and number not in (0.0, 1.0, -1.0)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(digits) != len(re.sub(r"[\s-]", "", text)):
        return False
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


# A key name labels a value only when the value could be of that type.
_VALUE_CHECKS = {
    "email": lambda v: "@" in v or bool(_HEX_HASH.match(v)),
    "hashed_email": lambda v: bool(_HEX_HASH.match(v)),
    "hashed_phone": lambda v: bool(_HEX_HASH.match(v)),
    "phone": lambda v: 7 <= sum(c.isdigit() for c in v) <= 15 and not re.search(r"[A-Za-z]", v),
    "latitude": lambda v: _is_coordinate(v, 90),
    "longitude": lambda v: _is_coordinate(v, 180),
    "public_ip": _is_ip,
    "advertising_id": lambda v: bool(_UUID.match(v)) or bool(_HEX_HASH.match(v)),
    "payment_card": _luhn,
    "age": lambda v: _is_number_in(v, 0, 130),
    "screen_resolution": lambda v: bool(re.match(r"^\d{2,5}\s*[x×*]\s*\d{2,5}$", v)),
    "viewport_size": lambda v: bool(re.match(r"^\d{2,5}\s*[x×*]\s*\d{2,5}$", v)),
    "screen_width": lambda v: v.isdigit(),
    "screen_height": lambda v: v.isdigit(),
    "user_agent": lambda v: "/" in v or " " in v,
    "timezone": lambda v: "/" in v or v.upper() in ("UTC", "GMT") or bool(re.match(r"^[+-]?\d{1,4}$", v)),
    "language": lambda v: bool(re.match(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*(?:[,;].*)?$", v)),
    "user_id": lambda v: len(v) >= 2,
    "device_id": lambda v: len(v) >= 6,
    "session_id": lambda v: len(v) >= 4,
    "page_url": lambda v: "/" in v,
    "referrer": lambda v: "/" in v,
}
_NOT_A_VALUE = {"", "true", "false", "null", "none", "undefined"}
_LONGEST_NOT_A_VALUE = max(map(len, _NOT_A_VALUE))  # longer values are not lower-cased to check
# A rule names a field's type from the SDK's source; the value must still fit it. High-
# sensitivity types are checked (the limit-ad-tracking flag `lat=0` is no latitude, a
# boolean no phone number), sizes whose value is "WxH" become the combined type.
_PLAUSIBLE = {t: _VALUE_CHECKS[t] for t in ("email", "phone", "latitude", "longitude", "public_ip", "payment_card")}
_COMBINED_SIZE = {"screen_width": "screen_resolution", "screen_height": "screen_resolution",
                  "viewport_width": "viewport_size", "viewport_height": "viewport_size"}
IMPLAUSIBLE = "custom_property"  # what an implausible high-sensitivity value is downgraded to


def _is_coordinate_pair(value: str) -> bool:
    lat, sep, lon = value.partition(",")
    return bool(sep) and _is_coordinate(lat.strip(), 90) and _is_coordinate(lon.strip(), 180)


def plausible_type(data_type: str, value: str, rule_path: str) -> tuple[str, str]:
    """(type, detail) of a value a rule typed *data_type*: the rule's type, the combined size
    type for "WxH" under a width or height, or `custom_property` when the value cannot be of
    that high-sensitivity type; the detail says why it differs from the rule."""
    combined = _COMBINED_SIZE.get(data_type)
    if combined and _VALUE_CHECKS[combined](value):
        return combined, f"{rule_path}; the value is a size W×H, not a {data_type.replace('_', ' ')}"
    check = _PLAUSIBLE.get(data_type)
    if data_type in ("latitude", "longitude") and _is_coordinate_pair(value):
        return "geo_coordinates", f"{rule_path}; the value is a latitude,longitude pair"
    if check is not None and not check(value):
        return IMPLAUSIBLE, f"{rule_path}; not a plausible {data_type.replace('_', ' ')} (rule type downgraded)"
    return data_type, rule_path


def classify_key(key: str, value: str, table: dict[str, str] = KEY_NAMES) -> str:
    """Data type named by *key* in *table*, if *value* fits it, else ""."""
    data_type = table.get(normalize_key(key), "")
    if not data_type or (len(value) <= _LONGEST_NOT_A_VALUE and value.lower() in _NOT_A_VALUE):
        return ""
    if data_type == "email" and _HEX_HASH.match(value):
        return "hashed_email"
    check = _VALUE_CHECKS.get(data_type)
    return data_type if check is None or check(value) else ""


def scalar_text(value: Any) -> str | None:
    """A leaf as the text a finding stores; None for values that carry nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return None
    if isinstance(value, (dict, list)):  # deeper than the depth limit
        return preview(value)
    return str(value)


class _Full(Exception):
    pass


def preview(value: Any, limit: int = 200) -> str:
    """The start of a container's text, like str() but built only as far as *limit*
    characters and 32 levels: str() of a hostile container would build all of it, and
    recurse through all its levels."""
    out: list[str] = []
    room = limit

    def write(text: str) -> None:
        nonlocal room
        out.append(text[:room])
        room -= len(text)
        if room <= 0:
            raise _Full

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, (dict, list)) and depth >= 32:
            write("…")
        elif isinstance(node, dict):
            write("{")
            for i, (key, child) in enumerate(node.items()):
                write(", " if i else "")
                write(f"{str(key)[:limit]!r}: ")
                walk(child, depth + 1)
            write("}")
        elif isinstance(node, list):
            write("[")
            for i, child in enumerate(node):
                write(", " if i else "")
                walk(child, depth + 1)
            write("]")
        else:
            write(repr(node[:limit] if isinstance(node, (str, bytes)) else node))

    try:
        walk(value, 0)
    except _Full:
        pass
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Indicator:
    """A honey value: something the tester typed into the app, to be found however encoded."""

    data_type: str
    value: str
    forms: tuple[tuple[str, str], ...]  # (form name, text to look for)

    @classmethod
    def make(cls, data_type: str, value: str) -> "Indicator":
        forms: dict[str, str] = {}
        for variant in dict.fromkeys([value, value.strip().lower()]):
            raw = variant.encode()
            forms.setdefault(variant, "plain" if variant == value else "lowercase")
            forms.setdefault(quote(variant, safe=""), "url-encoded")
            forms.setdefault(quote_plus(variant), "url-encoded")
            forms.setdefault(base64.b64encode(raw).decode().rstrip("="), "base64")
            forms.setdefault(base64.urlsafe_b64encode(raw).decode().rstrip("="), "base64url")
            forms.setdefault(raw.hex(), "hex")
            for algorithm in ("md5", "sha1", "sha256"):
                forms.setdefault(hashlib.new(algorithm, raw).hexdigest(), algorithm)
        # Very short base64 forms would match by chance inside unrelated tokens.
        kept = tuple((name, text) for text, name in forms.items() if len(text) >= 4)
        return cls(data_type, value, kept)

    def find(self, text: str) -> str:
        """Name of the first form of this value inside *text*, or ""."""
        lowered = text.lower()
        for name, form in self.forms:
            if form in text or (name in ("hex", "md5", "sha1", "sha256") and form in lowered):
                return name
        return ""


def _context(path: str) -> str:
    root = path.split(".", 1)[0].split("[", 1)[0]
    return root if root in ("query", "body", "header", "cookie", "path") else "body"


class Extraction:
    """Collects fields and findings for one request, one finding per (data type, value).
    `stopped`: why extraction ended early ("" when every leaf was read); what was found up
    to then is kept. Findings past *max_findings* are counted in `dropped_findings`."""

    def __init__(self, max_findings: int = 20_000) -> None:
        self.fields: list[tuple[str, str, str]] = []
        self.findings: list[Finding] = []
        self.identity: dict[str, str] = {}
        self.stopped = ""
        self.dropped_findings = 0
        self._max_findings = max_findings
        self._seen: set[tuple[str, str]] = set()

    def add(self, data_type: str, value: str, path: str, detector: str, detail: str) -> None:
        if (data_type, value) in self._seen:
            return
        if len(self.findings) >= self._max_findings:
            self.dropped_findings += 1
            return
        self._seen.add((data_type, value))
        self.findings.append(Finding(data_type, value, path, _context(path), detector, detail))
        if data_type in IDENTITY_TYPES and data_type not in self.identity:
            self.identity[data_type] = value
            self.identity[f"{data_type}_path"] = path


@dataclass(frozen=True, slots=True)
class Records:
    """Where an endpoint's records (events) sit: one object at `root`, or the items of the
    array at `root` (`many`). Finding a leaf's record is then string work, not a scan.
    `variants` holds, per record path, the field maps of the rule's record_variants whose
    `when` that record satisfies."""

    root: str
    many: bool
    variants: dict[str, tuple[FieldMap, ...]] = field(default_factory=dict, compare=False, hash=False)

    def relative(self, path: str) -> str | None:
        """*path* relative to the record that holds it, or None when outside every record."""
        if not path.startswith(self.root) or len(path) == len(self.root):
            return None
        rest = path[len(self.root):]
        if self.many:
            if not rest.startswith("["):
                return None
            close = rest.find("]")
            if close < 2 or not rest[1:close].isdigit():
                return None
            rest = rest[close + 1:]
            if not rest:
                return None
        return rest[1:] if rest[0] == "." else rest if rest[0] == "[" else None


def _records(doc: Any, endpoint: Endpoint) -> Records | None:
    """The first of the endpoint's `records` paths that holds an object or an array of objects."""
    for segments in endpoint.records:
        for path, node in paths.resolve(doc, segments):
            if isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
                items = [(paths.item(path, i), record) for i, record in enumerate(node)]
                return Records(path, True, _variants(endpoint, items))
            if isinstance(node, dict):
                return Records(path, False, _variants(endpoint, [(path, node)]))
    return None


def _variants(endpoint: Endpoint, records: list[tuple[str, dict[str, Any]]]) -> dict[str, tuple[FieldMap, ...]]:
    """Record path → field maps of the endpoint's record variants that this record matches."""
    if not endpoint.variants:
        return {}
    out: dict[str, tuple[FieldMap, ...]] = {}
    for path, record in records:
        maps = tuple(v.fields for v in endpoint.variants
                     if all(any(scalar_text(value) in accepted for _, value in paths.resolve(record, list(segments)))
                            for segments, accepted in v.when))
        if maps:
            out[path] = maps
    return out


OpenValue = Callable[[str, str], Any]  # (text, path) → the tree or text it decodes to (generic.Opener.open_text)
# Values that may hold encoded values: percent-escapes, JSON text, a base64 run (alone or a word of a longer text).
_ENCODED_HINT = re.compile(r"%[0-9A-Fa-f]{2}|^\s*[\[{]|(?:^|\s)[A-Za-z0-9+/_-]{16,}={0,2}(?:\s|$)")
_BASE64_WORD = re.compile(r"(?:^|(?<=\s))[A-Za-z0-9+/_-]{16,}={0,2}(?=\s|$)")
_NOT_OPENED = frozenset({"session_replay", "error_report", "user_agent", "page_url", "referrer", "url"})
MAX_OPENED = 65_536  # longer values are not opened (a recording, a blob): their own steps do that


def extract(doc: dict[str, Any], endpoint: Endpoint | None, indicators: Iterable[Indicator], max_depth: int,
            max_fields: int = 20_000, deadline: float = math.inf, open_value: OpenValue | None = None) -> Extraction:
    """Walk every leaf of the decoded document and label it. Every leaf is checked by the
    detectors, but past *max_fields* only fields with a specific label are kept as uploaded
    fields (a session-replay batch can hold hundreds of thousands of leaves), and past twice
    that, none; at most 5 × *max_fields* findings are kept (a real request has a few dozen).
    Once `time.thread_time()` passes *deadline* the walk stops with `stopped` set, keeping
    what it found. *open_value* opens values encoded inside values (percent-encoding, JSON
    text, base64) for the pattern and key-name detectors; the leaf stays as sent."""
    out = Extraction(5 * max_fields)
    indicators = list(indicators)
    records = _records(doc, endpoint) if endpoint else None
    dropped = number = 0
    try:
        for number, (path, raw) in enumerate(paths.leaves(doc, max_depth=max_depth, deadline=deadline)):
            if number % CHECK_EVERY == CHECK_EVERY - 1 and deadline != math.inf and clock() > deadline:
                raise TookTooLong(deadline)
            dropped += _leaf(out, path, raw, endpoint, records, indicators, max_fields, open_value)
    except TookTooLong:
        out.stopped = f"stopped after {number} fields"
    if dropped:
        out.fields.append(("…", f"{dropped} more fields not listed (limit {max_fields})", ""))
    return out


def _leaf(out: Extraction, path: str, raw: Any, endpoint: Endpoint | None, records: Records | None,
          indicators: list[Indicator], max_fields: int, open_value: OpenValue | None = None) -> int:
    """Label one leaf into *out*; returns 1 when its field was not listed (over the cap)."""
    value = scalar_text(raw)
    if value is None:
        if isinstance(raw, bytes) and not path.startswith("header"):
            out.fields.append((path, f"<{len(raw)} bytes not decoded>", ""))
        return 0
    labelled = _label(out, path, value, endpoint, records)
    if open_value is not None and isinstance(raw, str):
        inside_value(out, path, value, labelled, open_value)
    for indicator in indicators:
        form = indicator.find(value)
        if form:
            out.add(indicator.data_type, indicator.value, path, "indicator", form)
            labelled = labelled or indicator.data_type
    if labelled or not path.startswith("header"):
        specific = labelled not in ("", "custom_property")
        if len(out.fields) < max_fields or (specific and len(out.fields) < 2 * max_fields):
            out.fields.append((path, value, labelled))
        else:
            return 1
    return 0


@lru_cache(maxsize=4096)
def _is_catch_all(rule_path: str) -> bool:
    """A catch-all (`properties.*`, `*.*[*]`, `**`) yields to key names and patterns;
    `*.$email` does not. Rule paths are few, so this is computed once per path."""
    return paths.INDEX_SUFFIX.sub("", rule_path).endswith("*")


def _label(out: Extraction, path: str, value: str, endpoint: Endpoint | None, records: Records | None) -> str:
    """Apply rule, key-name and pattern detectors to one leaf; return its main data type."""
    rule_hit = None
    if endpoint is not None:
        # With `records` declared, `fields` apply inside records only (none present: none apply).
        relative = (records.relative(path) if records else None) if endpoint.records else path
        if relative is not None and records is not None and records.variants:
            record = path[: len(path) - len(relative)].rstrip(".")
            for fields in records.variants.get(record, ()):
                rule_hit = fields.lookup(relative)
                if rule_hit is not None:
                    break
        if relative is not None and rule_hit is None:
            rule_hit = endpoint.fields.lookup(relative)
        if rule_hit is None:
            rule_hit = endpoint.request_fields.lookup(path)
    main = ""
    if rule_hit is not None and _contradicts(rule_hit[0], value):
        rule_hit = None  # the field holds something else here: key names and patterns decide
    is_catch_all = rule_hit is not None and _is_catch_all(rule_hit[1])
    if len(value) <= _LONGEST_NOT_A_VALUE and value.lower() in _NOT_A_VALUE:
        # Empty values carry nothing; true/false do when a rule names the field
        # (consent given, device rooted, on Wi-Fi), not when only a catch-all saw them.
        if rule_hit and not is_catch_all and rule_hit[0] != NOT_PERSONAL and value in ("true", "false"):
            data_type, detail = plausible_type(rule_hit[0], value, rule_hit[1])
            out.add(data_type, value, path, "rule", detail)
            return data_type
        return rule_hit[0] if rule_hit and rule_hit[0] != NOT_PERSONAL else ""
    if rule_hit and not is_catch_all:
        if rule_hit[0] == NOT_PERSONAL:
            return ""
        main, detail = plausible_type(rule_hit[0], value, rule_hit[1])
        out.add(main, value, path, "rule", detail)
    else:
        if endpoint is not None and not path.startswith("header"):
            key = paths.last_key(path)
            main = classify_key(key, value)
            if main:
                out.add(main, value, path, "key_name", key)
            elif rule_hit and rule_hit[0] == "custom_property":
                main = _shape_of_custom(out, path, key, value)
        if not main and rule_hit and rule_hit[0] != NOT_PERSONAL:
            main = rule_hit[0]
            out.add(main, value, path, "rule", rule_hit[1])
    for found in _patterns(value):
        if found[0] != main:
            out.add(found[0], found[1], path, "pattern", found[2])
            main = main or found[0]
    if (not (rule_hit and not is_catch_all) or main in ("page_url", "referrer")) and \
            (endpoint is not None or not path.startswith(("header", "cookie"))):
        # No rule names this field (a rule's own label, such as an SDK's session token, keeps
        # its type), or it is a page URL: a credential recognised by its format or place.
        for secret in credentials.in_field(path, value):
            detail = f"{secret.kind}: {secret.evidence}" if secret.evidence else secret.kind
            out.add(secret.data_type, secret.value, path, "credential", detail)
            main = main or secret.data_type
    add_special(out, path, value, main)
    return main


def inside_value(out: Extraction, path: str, value: str, main: str, open_value: OpenValue) -> None:
    """Findings inside a value that encodes other values: an email in a percent-encoded URL
    inside JSON, JSON inside a string, base64 (the whole value or one word of a text). The
    inner values are typed by their key names and shapes and searched for special-category
    terms; the finding keeps the leaf's path and says in `detail` that it came from inside."""
    if main in _NOT_OPENED or len(value) > MAX_OPENED or not _ENCODED_HINT.search(value[:4096]):
        return
    candidates = [value] + ([m.group(0) for m in _BASE64_WORD.finditer(value[:4096])][:8] if " " in value else [])
    for text in candidates:
        opened = open_value(text, path)
        if opened == text:
            continue
        for inner_path, raw in paths.leaves(opened, max_depth=16):
            inner = scalar_text(raw)
            if not inner or inner.lower() in _NOT_A_VALUE:
                continue
            key = paths.last_key(inner_path) if inner_path else ""
            by_key = classify_key(key, inner) if key else ""
            where = f" (key {key!r} inside the value)" if key else " (decoded from the value)"
            if by_key and by_key != main:
                out.add(by_key, inner, path, "key_name", f"{key}{where}")
            for data_type, matched, name in _patterns(inner):
                out.add(data_type, matched, path, "pattern", f"{name}{where}")
            hit = special.in_field(key, inner, by_key)
            if hit is not None:
                out.add(hit[0].data_type, inner, path, "special", special.detail(*hit) + where)


def add_special(out: Extraction, path: str, value: str, main: str) -> None:
    """A finding of a special category (GDPR Art. 9, financial) when the field's key name or
    value holds one of its terms (leakmap/special.py); headers and cookies are the client's,
    not the person's."""
    if path.startswith(("header", "cookie")):
        return
    hit = special.in_field(paths.last_key(path), value, main)
    if hit is not None:
        out.add(hit[0].data_type, value, path, "special", special.detail(*hit))


# A rule's type that the value plainly contradicts. OneSignal's subscription `token` is a
# push token, but the email address or phone number of an Email or SMS subscription.
_CONTRADICTED = {
    "push_token": lambda v: bool(EMAIL_IN_TEXT.fullmatch(v) or _E164.match(v)),
}


def _contradicts(data_type: str, value: str) -> bool:
    check = _CONTRADICTED.get(data_type)
    return check is not None and check(value)


def _shape_of_custom(out: Extraction, path: str, key: str, value: str) -> str:
    """A catch-all's custom property whose value's shape says more (a user agent, a locale,
    coordinates): that type, found by pattern; "" when the shape says nothing."""
    from .guess import catch_all_shape  # guess builds on this module

    shaped = catch_all_shape(key, value)
    if shaped is None:
        return ""
    out.add(shaped.data_type, shaped.value, path, "pattern", shaped.reason)
    return shaped.data_type


def value_patterns(value: str) -> list[tuple[str, str, str]]:
    """(data type, matched text, what matched) for values whose shape alone says their type:
    emails, phone numbers and credentials. Used for text that has no key (a replay's page text)."""
    return _patterns(value) + [(s.data_type, s.value, s.kind) for s in credentials.in_value(value)]


def _patterns(value: str) -> list[tuple[str, str, str]]:
    """(data type, matched text, pattern name) for unmistakable value shapes."""
    found = []
    if "@" in value:
        for match in EMAIL_IN_TEXT.finditer(value[:4096]):
            found.append(("email", match.group(0), "email address" if match.group(0) == value else "email address inside value"))
    if value[:1] == "+" and _E164.match(value):
        found.append(("phone", value, "E.164 phone number"))
    return found
