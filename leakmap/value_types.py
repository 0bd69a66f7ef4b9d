"""What a value is, from its key name and its shape: the vocabulary of key names (exact,
normalised), the sanity check each type's value must pass, the plausibility check a rule's
type gets against the value it labels, and the unmistakable value patterns (emails, E.164
phone numbers). The extract stage (extract.py) and the generic path (guess.py) both decide
with these; no rule is involved.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
HEX_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$", re.I)
EMAIL_IN_TEXT = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


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


# Compiled once: these checks run for every leaf a key name or a rule types.
_LETTER = re.compile(r"[A-Za-z]")
_SIZE = re.compile(r"^\d{2,5}\s*[x×*]\s*\d{2,5}$")
_UTC_OFFSET = re.compile(r"^[+-]?\d{1,4}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*(?:[,;].*)?$")


def _is_size(text: str) -> bool:
    """`2560x1440`: a screen or viewport size, width and height together."""
    return bool(_SIZE.match(text))


# A key name labels a value only when the value could be of that type.
VALUE_CHECKS = {
    "email": lambda v: "@" in v or bool(HEX_HASH.match(v)),
    "hashed_email": lambda v: bool(HEX_HASH.match(v)),
    "hashed_phone": lambda v: bool(HEX_HASH.match(v)),
    "phone": lambda v: 7 <= sum(c.isdigit() for c in v) <= 15 and not _LETTER.search(v),
    "latitude": lambda v: _is_coordinate(v, 90),
    "longitude": lambda v: _is_coordinate(v, 180),
    "public_ip": _is_ip,
    "advertising_id": lambda v: bool(UUID_TEXT.match(v)) or bool(HEX_HASH.match(v)),
    "payment_card": _luhn,
    "age": lambda v: _is_number_in(v, 0, 130),
    "screen_resolution": _is_size,
    "viewport_size": _is_size,
    "screen_width": lambda v: v.isdigit(),
    "screen_height": lambda v: v.isdigit(),
    "user_agent": lambda v: "/" in v or " " in v,
    "timezone": lambda v: "/" in v or v.upper() in ("UTC", "GMT") or bool(_UTC_OFFSET.match(v)),
    "language": lambda v: bool(_LOCALE.match(v)),
    "user_id": lambda v: len(v) >= 2,
    "device_id": lambda v: len(v) >= 6,
    "session_id": lambda v: len(v) >= 4,
    "page_url": lambda v: "/" in v,
    "referrer": lambda v: "/" in v,
}
NOT_A_VALUE = {"", "true", "false", "null", "none", "undefined"}
LONGEST_NOT_A_VALUE = max(map(len, NOT_A_VALUE))  # longer values are not lower-cased to check
# A rule names a field's type from the SDK's source; the value must still fit it. High-
# sensitivity types are checked (the limit-ad-tracking flag `lat=0` is no latitude, a
# boolean no phone number), sizes whose value is "WxH" become the combined type.
_PLAUSIBLE = {t: VALUE_CHECKS[t] for t in ("email", "phone", "latitude", "longitude", "public_ip", "payment_card")}
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
    if combined and VALUE_CHECKS[combined](value):
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
    if not data_type or (len(value) <= LONGEST_NOT_A_VALUE and value.lower() in NOT_A_VALUE):
        return ""
    if data_type == "email" and HEX_HASH.match(value):
        return "hashed_email"
    check = VALUE_CHECKS.get(data_type)
    return data_type if check is None or check(value) else ""



# A rule's type that the value plainly contradicts. OneSignal's subscription `token` is a
# push token, but the email address or phone number of an Email or SMS subscription.
_CONTRADICTED = {
    "push_token": lambda v: bool(EMAIL_IN_TEXT.fullmatch(v) or E164.match(v)),
}


def contradicts(data_type: str, value: str) -> bool:
    check = _CONTRADICTED.get(data_type)
    return check is not None and check(value)


def value_shapes(value: str) -> list[tuple[str, str, str]]:
    """(data type, matched text, pattern name) for unmistakable value shapes."""
    found = []
    if "@" in value:
        for match in EMAIL_IN_TEXT.finditer(value[:4096]):
            found.append(("email", match.group(0), "email address" if match.group(0) == value else "email address inside value"))
    if value[:1] == "+" and E164.match(value):
        found.append(("phone", value, "E.164 phone number"))
    return found
