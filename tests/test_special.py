"""Special categories of personal data (GDPR Art. 9, financial): the term detector on its own
and inside the pipeline, with the ordinary words it must leave alone."""

from __future__ import annotations

import json

import pytest

from leakmap import special
from leakmap.datatypes import DATA_TYPES, SENSITIVITY_RANK, SPECIAL_TYPES
from leakmap.labels import category_types

from golden.golden_support import JSON_CT, make_request


@pytest.mark.parametrize("text, data_type, term", [
    ("Viewed Diagnosis", "health", "diagnosis"),
    ("heart_rate", "health", "heart rate"),
    ("HeartRate", "health", "heart rate"),
    ("/screens/pregnancy-tracker", "health", "pregnancy tracker"),
    ("diabetes", "health", "diabetes"),
    ("Diagnóstico médico", "health", "diagnostico"),  # accents ignored
    ("Schwangerschaft", "health", "schwangerschaft"),
    ("fréquence cardiaque", "health", "frequence cardiaque"),
    ("Symptoms", "health", "symptom"),  # English plural
    ("interested_in_women", "sex_life", "interested in women"),
    ("Prayer Times Opened", "religion", "prayer times"),
    ("political_party", "political_opinion", "political party"),
    ("ethnicity", "ethnic_origin", "ethnicity"),
    ("face_id_template", "biometric", "face id"),
    ("dna_test_kit", "genetic", "dna test"),
    ("Loan Application Submitted", "financial", "loan"),
    ("credit_score", "financial", "credit score"),
])
def test_terms_are_found_as_words(text, data_type, term):
    hit = special.find(text)
    assert hit is not None and (hit.data_type, hit.term) == (data_type, term)


@pytest.mark.parametrize("text", [
    "battery_health", "health_check", "fingerprint", "browser_fingerprint", "diagnostics", "Race Started",
    "party_size", "union_type", "Temple Run", "credits", "transaction", "revenue", "Checkout", "gaylord_hotel",
    "decoder", "period", "$screen_height", "Sign Up", "undiagnosed_x",
])
def test_ordinary_words_are_not_special(text):
    assert special.find(text) is None


def test_machine_made_values_and_types_are_not_searched():
    assert special.in_field("id", "abGayX4qwertyuiopasd", "") is None  # a token splits into chance words
    assert special.in_field("ua", "Mozilla/5.0 (Linux; Android) HealthApp/1.0 diabetes", "user_agent") is None
    assert special.in_field("x", "diabetes " * 50, "") is None  # long text is left to other detectors
    hit, where = special.in_field("condition", "diabetes", "custom_property")
    assert (hit.data_type, where) == ("health", "value")
    hit, where = special.in_field("heart_rate", "72", "custom_property")
    assert where == "key name 'heart_rate'"


def test_special_ranks_above_high_and_is_a_policy_category():
    assert SPECIAL_TYPES == category_types("special")
    assert all(SENSITIVITY_RANK[DATA_TYPES[t].sensitivity] > SENSITIVITY_RANK["high"] for t in SPECIAL_TYPES)


def test_rule_path_and_generic_path_both_report_terms(analyzer_all):
    events = [{"event": "Viewed Diagnosis", "properties": {"token": "t0k3n", "distinct_id": "u-1",
                                                            "condition": "diabetes", "heart_rate": 88}},
              {"event": "Checkout", "properties": {"token": "t0k3n", "distinct_id": "u-1", "coupon": "SPRING"}}]
    a = analyzer_all.analyze(make_request("POST", "https://api.mixpanel.com/track", json.dumps(events), [JSON_CT]))
    found = {(f.data_type, f.value, f.detail) for f in a.findings if f.detector == "special"}
    assert found == {("health", "Viewed Diagnosis", "health term 'diagnosis' in value"),
                     ("health", "diabetes", "health term 'diabetes' in value"),
                     ("health", "88", "health term 'heart rate' in key name 'heart_rate'")}
    generic = analyzer_all.analyze(make_request("POST", "https://api.norule-health.example/e",
                                                json.dumps({"screen": "/screens/pregnancy-tracker"}), [JSON_CT]))
    assert [(f.data_type, f.detector) for f in generic.findings if f.data_type == "health"] == [("health", "special")]


@pytest.fixture(scope="module")
def analyzer_all():
    from leakmap.pipeline import Analyzer
    from leakmap.rules import load_rules
    from leakmap.decode import Limits
    return Analyzer(load_rules()[0], Limits())
