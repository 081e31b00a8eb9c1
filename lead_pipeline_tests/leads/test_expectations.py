import json

import pandas as pd

from lead_pipeline.leads.expectations import validate_scored_leads


def _leads(**overrides):
    row = {"lead_id": "L1", "sender_email": "a@acme.example", "score": 45, "route": "crm", "intent": "demo",
           "score_breakdown": json.dumps([{"rule": "r", "points": 45, "evidence": {}}]), "duplicate_count": 0,
           "phone": "+14155550100", "company_domain": "acme.example"}
    return pd.DataFrame([{**row, **overrides}, {**row, "lead_id": "L2", "score": None, "route": None}])


def test_good_scored_leads_pass_and_unscored_rows_are_left_out():
    summary = validate_scored_leads(_leads())
    assert summary.success and summary.failed == 0 and summary.evaluated >= 10


def test_each_broken_property_is_reported_by_its_expectation():
    summary = validate_scored_leads(_leads(route="somewhere", phone="0049 30 1234", score=999))
    failing = {(r["expectation"], r["column"]) for r in summary.results if not r["success"]}
    assert failing == {
        ("expect_column_values_to_be_in_set", "route"),
        ("expect_column_values_to_match_regex", "phone"),
        ("expect_column_values_to_be_between", "score"),
    }
    assert not summary.success


def test_offending_addresses_and_phones_are_masked_in_the_reported_samples():
    summary = validate_scored_leads(_leads(sender_email="dana whitfield@acme.example", phone="+1 415 555 0100"))
    samples = {r["column"]: r["unexpected_sample"] for r in summary.results if not r["success"]}
    assert samples == {"sender_email": ["dana w***@acme.example"], "phone": ["+* *** *** **00"]}
