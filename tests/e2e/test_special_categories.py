"""Special categories from real SDK traffic: the official `mixpanel`, Segment and PostHog
Python SDKs track the events of a health, dating, religion and finance app through a real
mitmdump with the leakmap addon; every special term comes out with its category and the term
as evidence, and the ordinary events of the same apps give none. The same run writes
mitmproxy's own HAR (`hardump`, PostHog's bodies gzip with Content-Encoding): it must give
exactly the findings of the dump (HAR fidelity, tests/e2e/test_har_fidelity.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from test_har_fidelity import analysed

pytestmark = [pytest.mark.e2e, pytest.mark.real_client("mixpanel", "mixpanel (PyPI)"),
              pytest.mark.real_client("segment", "segment-analytics-python (PyPI)"),
              pytest.mark.real_client("posthog", "posthog (PyPI)")]

SDK_SCRIPT = """
from mixpanel import Mixpanel
import segment.analytics as analytics
mp = Mixpanel("hlth5f2a")
user = "patient-4411"
mp.track(user, "Viewed Diagnosis", {"condition": "diabetes", "heart_rate": 88, "$screen": "/screens/pregnancy-tracker"})
mp.track(user, "App Open", {"coupon": "SPRING", "plan": "pro", "$os": "Linux"})       # ordinary
mp.people_set(user, {"$email": "pat@example.net", "interested_in": "men", "orientation": "bisexual"})
analytics.write_key = "seg5f2a"
analytics.sync_mode = True
analytics.track("u-77", "Prayer Times Opened", {"religion": "Muslim", "city": "Lyon"})
analytics.track("u-77", "Loan Application Submitted", {"annual_income": 52000, "amount": 9000})
analytics.track("u-77", "Song Played", {"genre": "jazz", "duration": 215})              # ordinary
analytics.identify("u-77", {"name": "Sam", "plan": "free"})                               # ordinary
from posthog import Posthog
ph = Posthog("phc_special5f2a", host="https://us.i.posthog.com", gzip=True, sync_mode=True)
ph.capture("Symptom Logged", distinct_id="ph-user-12", properties={"symptom": "migraine", "$os": "Linux",
           "email": "ph.honey@example.net", "$screen_width": 2560})
ph.flush()
print("sent")
"""


def test_special_categories_from_real_sdks(tmp_path, mitm_confdir):
    from conftest import start_proxy

    har = tmp_path / "live.har"
    proxy = start_proxy(tmp_path, mitm_confdir, f"hardump={har}")
    try:
        result = subprocess.run([sys.executable, "-c", SDK_SCRIPT], env=proxy.client_env(), capture_output=True,
                                text=True, timeout=90)
    finally:
        log = proxy.stop()
    assert result.returncode == 0 and "sent" in result.stdout, result.stderr + log
    with sqlite3.connect(proxy.db) as conn:
        rows = conn.execute("SELECT r.tracker, f.data_type, f.value, f.detail FROM findings f "
                            "JOIN requests r ON r.id = f.request_id WHERE f.detector = 'special'").fetchall()
        ordinary = conn.execute("SELECT count(*) FROM findings f WHERE f.detector = 'special' AND f.value IN "
                                "('App Open', 'Song Played', 'jazz', 'SPRING', 'Sam', 'Lyon')").fetchone()[0]
    found = {(tracker, data_type, value, detail) for tracker, data_type, value, detail in rows}
    assert {("mixpanel", "health", "Viewed Diagnosis", "health term 'diagnosis' in value"),
            ("mixpanel", "health", "diabetes", "health term 'diabetes' in value"),
            ("mixpanel", "health", "88", "health term 'heart rate' in key name 'heart_rate'"),
            ("mixpanel", "health", "/screens/pregnancy-tracker", "health term 'pregnancy tracker' in value"),
            ("mixpanel", "sex_life", "bisexual", "sex life term 'bisexual' in value"),
            ("segment", "religion", "Prayer Times Opened", "religion term 'prayer times' in value"),
            ("segment", "religion", "Muslim", "religion term 'religion' in key name 'religion'"),
            ("segment", "financial", "Loan Application Submitted", "financial term 'loan' in value"),
            ("segment", "financial", "52000", "financial term 'annual income' in key name 'annual_income'"),
            ("posthog", "health", "Symptom Logged", "health term 'symptom' in value"),
            ("posthog", "health", "migraine", "health term 'symptom' in key name 'symptom'"),
            } <= found, found
    assert ordinary == 0
    assert {data_type for _, data_type, _, _ in rows} == {"health", "sex_life", "religion", "financial"}
    assert "special-category findings" in proxy.report.read_text()
    from_dump, from_har = analysed(proxy.dump)[0], analysed(har)[0]
    assert ("capture", "email", "ph.honey@example.net") in {row[:3] for row in from_dump}  # gzip opened
    assert from_har == from_dump, (from_dump - from_har, from_har - from_dump)
