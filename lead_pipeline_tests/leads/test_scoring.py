import json
from pathlib import Path

import pandas as pd
import pytest

from lead_pipeline.leads.scoring import RulesError, load_rules, route_for, score_leads
from lead_pipeline.settings import DEFAULT_RULES_FILE


def _frame(**overrides):
    base = {
        "lead_id": "L1", "subject": "Hello", "intent": "other", "spf": "pass", "dkim": "pass",
        "is_target_account": False, "has_small_document": False, "spam_lexicon_hits": 0,
        "suspicious_link_count": 0, "is_free_mail": True, "is_disposable": False, "is_auto_reply": False,
        "is_web_form": False, "has_company": False, "has_budget": False, "timeline": None, "is_vendor_pitch": False,
    }
    return pd.DataFrame([{**base, **overrides}])


@pytest.fixture(scope="module")
def baseline():
    return load_rules(DEFAULT_RULES_FILE)


def _points(rules, *names):
    by_name = {rule.name: rule.points for rule in rules.rules}
    return sum(by_name[name] for name in names)


def test_baseline_rules_score_a_strong_demo_request(baseline):
    frame = _frame(subject="Demo request for 40 engineers", intent="demo", is_target_account=True,
                   is_free_mail=False)
    [row] = score_leads(frame, baseline).to_dict("records")
    breakdown = json.loads(row["score_breakdown"])
    assert {b["rule"] for b in breakdown} == {
        "subject_mentions_demo_pricing_enterprise", "sender_authenticated", "target_account", "buying_intent",
        "business_sender",
    }
    assert row["score"] == sum(b["points"] for b in breakdown) == _points(baseline, *(b["rule"] for b in breakdown))
    assert row["route"] == "crm"
    subject_rule = next(b for b in breakdown if b["rule"].startswith("subject"))
    assert subject_rule["evidence"] == {"subject": "Demo request for 40 engineers"}


def test_spam_signals_subtract_and_spam_intent_routes_to_spam(baseline):
    frame = _frame(subject="Pricing", intent="spam", spf="fail", suspicious_link_count=2)
    [row] = score_leads(frame, baseline).to_dict("records")
    assert row["score"] == _points(baseline, "subject_mentions_demo_pricing_enterprise", "spam_signals", "free_mail_sender")
    assert row["route"] == "spam"


def test_scoring_is_column_wise_over_many_leads(baseline):
    frame = pd.concat([_frame(lead_id=f"L{i}", has_small_document=bool(i % 2)) for i in range(100)], ignore_index=True)
    scores = score_leads(frame, baseline)
    base = _points(baseline, "sender_authenticated", "free_mail_sender")
    document = _points(baseline, "small_document_attached")
    assert scores["score"].tolist() == [base + (document if i % 2 else 0) for i in range(100)]


@pytest.mark.parametrize(("intent", "score", "route"), [
    ("demo", 40, "crm"), ("demo", 39, "review"), ("other", 15, "review"), ("other", 14, "nurture"),
    ("support", 90, "support"), ("job_application", 50, "recruiting"), ("spam", 80, "spam"),
])
def test_route_for(baseline, intent, score, route):
    assert route_for(intent, score, baseline.thresholds) == route


def test_changing_a_rule_rescores(tmp_path: Path, baseline):
    edited = tmp_path / "rules.yaml"
    edited.write_text(DEFAULT_RULES_FILE.read_text().replace("points: 10\n    description: SPF", "points: 25\n    description: SPF"))
    frame = _frame()
    before = score_leads(frame, baseline)["score"].item()
    assert score_leads(frame, load_rules(edited))["score"].item() == before - 10 + 25


@pytest.mark.parametrize(("text", "message"), [
    ("version: 1\nrules:\n  - name: x\n\tpoints: 1\n", "line 4: found character '\\\\t'"),
    ("rules:\n  - name: x\n    points: 1\n    when: {field: subject, matches: '('}\n", "invalid regular expression"),
    ("rules:\n  - name: x\n    points: 1\n    when: {field: subject}\n", "needs exactly one of"),
    ("rules:\n  - name: Bad Name\n    points: 1\n    when: {field: subject, equals: a}\n", "rules.0.name"),
    ("rules:\n  - {name: a, points: 1, when: {field: s, equals: 1}}\n  - {name: a, points: 2, when: {field: s, equals: 1}}\n",
     "duplicate rule names: a"),
])
def test_bad_rules_files_are_rejected_with_place_and_reason(tmp_path: Path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_a_rule_on_an_unknown_field_names_the_field(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: a, points: 1, when: {field: shoe_size, gt: 40}}\n")
    with pytest.raises(RulesError, match="shoe_size"):
        score_leads(_frame(), load_rules(path))


def test_a_broken_edit_keeps_the_previous_rules_in_force(tmp_path: Path):
    from lead_pipeline.leads.scoring import resolve_rules
    from lead_pipeline.stores.operational import OperationalStore

    store = OperationalStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.ensure_schema()
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(DEFAULT_RULES_FILE.read_text())
    first = resolve_rules(rules_file, store, "2026-11-26T10:00:00Z")
    assert first.rejected is None

    rules_file.write_text(DEFAULT_RULES_FILE.read_text() + "  - name: broken\n    points: ten\n")
    second = resolve_rules(rules_file, store, "2026-11-26T11:00:00Z")
    assert second.version == first.version
    assert "points" in second.rejected
    assert [r.name for r in second.rules.rules] == [r.name for r in first.rules.rules]

    empty = OperationalStore(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    empty.ensure_schema()
    with pytest.raises(RulesError, match="no previously accepted rules"):
        resolve_rules(rules_file, empty, "2026-11-26T11:00:00Z")
