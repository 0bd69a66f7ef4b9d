"""The data-type vocabulary every finding is labelled with (docs/ARCHITECTURE.md, "Contracts").

One table holds each type's category and sensitivity so the report, the exports and the
rule validator all agree. TrackHAR property names map onto ours so results can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

SPECIAL, HIGH, MEDIUM, LOW = "special", "high", "medium", "low"


@dataclass(frozen=True, slots=True)
class DataType:
    name: str
    category: str
    sensitivity: str
    label: str


def _types(category: str, sensitivity: str, names: str) -> list[DataType]:
    return [DataType(n, category, sensitivity, n.replace("_", " ")) for n in names.split()]


_ALL: list[DataType] = [
    *_types("identifiers", HIGH, "advertising_id hashed_advertising_id android_id device_id push_token"),
    *_types("identifiers", MEDIUM, "vendor_id installation_id user_id session_id browser_id other_id"),
    *_types("contact", HIGH, "email hashed_email phone hashed_phone name postal_address birth_date"),
    *_types("contact", MEDIUM, "username gender age"),
    *_types("location", HIGH, "latitude longitude geo_coordinates public_ip wifi_ssid wifi_bssid postal_code"),
    *_types("location", MEDIUM, "location_accuracy city region local_ip"),
    *_types("location", LOW, "country timezone"),
    *_types("device", MEDIUM, "device_name carrier is_rooted"),
    *_types(
        "device",
        LOW,
        "os_name os_version device_model manufacturer browser browser_version screen_width "
        "screen_height viewport_width viewport_height screen_density network_type language "
        "user_agent cpu_architecture ram disk battery is_charging orientation dark_mode "
        "is_emulator uptime volume screen_resolution viewport_size",
    ),
    *_types("app", LOW, "app_id app_name app_version app_build sdk_name sdk_version install_time first_launch"),
    *_types("behaviour", MEDIUM, "page_url referrer url search_term revenue"),
    *_types("behaviour", LOW, "event_name screen_name interaction time_spent session_count custom_property"),
    # Special categories of personal data (GDPR Art. 9) and financial data, ranked above
    # "high": found by the terms of leakmap/special.py, or mapped by a rule.
    *_types("special", SPECIAL, "health sex_life religion political_opinion ethnic_origin biometric genetic financial"),
    *_types("sensitive", HIGH, "password auth_token api_key payment_card message_content session_replay"),
    *_types("sensitive", MEDIUM, "error_report"),
    *_types("consent", LOW, "consent_state"),
    # Not personal data, but it names the tracker account (project token, write key) that
    # the sending app uses: an attribution signal and a link between apps of one company.
    *_types("app", LOW, "project_key"),
    # A value the generic path (no tracker rule) could not type: sent, but of unknown meaning.
    *_types("other", LOW, "unlabelled"),
]

DATA_TYPES: dict[str, DataType] = {t.name: t for t in _ALL}
CATEGORIES = ("special", "identifiers", "contact", "location", "device", "app", "behaviour", "sensitive", "consent",
              "other")
SENSITIVITY_RANK = {SPECIAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1}
SPECIAL_TYPES = frozenset(t.name for t in _ALL if t.sensitivity == SPECIAL)

# TrackHAR (tweaselORG/TrackHAR, i18n/en.json) property names → ours.
TRACKHAR_PROPERTIES: dict[str, str] = {
    "advertisingId": "advertising_id",
    "hashedAdvertisingId": "hashed_advertising_id",
    "developerScopedId": "vendor_id",
    "deviceId": "device_id",
    "installationId": "installation_id",
    "userId": "user_id",
    "sessionId": "session_id",
    "pushNotificationToken": "push_token",
    "otherIdentifiers": "other_id",
    "appId": "app_id",
    "appName": "app_name",
    "appVersion": "app_version",
    "trackerSdkVersion": "sdk_version",
    "osName": "os_name",
    "osVersion": "os_version",
    "deviceName": "device_name",
    "model": "device_model",
    "manufacturer": "manufacturer",
    "carrier": "carrier",
    "networkConnectionType": "network_type",
    "language": "language",
    "timezone": "timezone",
    "userAgent": "user_agent",
    "screenWidth": "screen_width",
    "screenHeight": "screen_height",
    "viewportWidth": "viewport_width",
    "viewportHeight": "viewport_height",
    "orientation": "orientation",
    "isRoaming": "network_type",
    "isRooted": "is_rooted",
    "isEmulator": "is_emulator",
    "isCharging": "is_charging",
    "batteryLevel": "battery",
    "diskFree": "disk",
    "diskTotal": "disk",
    "ramFree": "ram",
    "ramTotal": "ram",
    "volume": "volume",
    "uptime": "uptime",
    "darkMode": "dark_mode",
    "architecture": "cpu_architecture",
    "latitude": "latitude",
    "longitude": "longitude",
    "country": "country",
    "state": "region",
    "city": "city",
    "publicIp": "public_ip",
    "localIp": "local_ip",
    "macAddress": "other_id",
    "wifiSsid": "wifi_ssid",
    "email": "email",
    "name": "name",
    "phoneNumber": "phone",
    "gender": "gender",
    "age": "age",
    "birthday": "birth_date",
    "currentlyViewed": "screen_name",
    "viewedPage": "page_url",
    "referrer": "referrer",
    "interaction": "interaction",
    "revenue": "revenue",
    "consentState": "consent_state",
    "installTime": "install_time",
    "isFirstLaunch": "first_launch",
    "sessionCount": "session_count",
}


def get(name: str) -> DataType:
    """The DataType for *name*; unknown names are a rule error caught at load time."""
    return DATA_TYPES[name]
