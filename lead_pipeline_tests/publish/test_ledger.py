"""The publish ledger's state machine in the operational store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lead_pipeline.stores import publishing, schema
from lead_pipeline.stores.operational import records
from lead_pipeline.stores.publishing import LedgerItem
from lead_pipeline_tests.publish.conftest import NOW


def items(*lead_ids: str, score: int = 70) -> list[LedgerItem]:
    return [LedgerItem(lead_id, {"lead": lead_id, "score": score}, score, "crm") for lead_id in lead_ids]


def states(store, channel: str = "crm") -> dict[str, str]:
    ledger = publishing.read_ledger(store, channel=channel)
    return dict(zip(ledger["lead_id"], ledger["state"], strict=True))


def test_a_lead_is_claimed_by_one_call_at_a_time_and_a_dead_runs_claim_is_taken_over_only_when_stale(store):
    assert publishing.claim(store, "crm", items("a", "b"), now=NOW, token="run1",
                            stale_before=NOW - timedelta(minutes=15)) == {"a", "b"}
    # a second run at the same time gets nothing: both leads are pending under run1's fresh claim
    assert publishing.claim(store, "crm", items("a", "b", "c"), now=NOW, token="run2",
                            stale_before=NOW - timedelta(minutes=15)) == {"c"}
    # run1 dies; 20 minutes later its claims are stale and may be taken over
    later = NOW + timedelta(minutes=20)
    assert publishing.claim(store, "crm", items("a", "b"), now=later, token="run3",
                            stale_before=later - timedelta(minutes=15)) == {"a", "b"}
    # stale_before=None (Slack): never taken over
    assert publishing.claim(store, "crm", items("a"), now=later + timedelta(days=1), token="run4",
                            stale_before=None) == set()
    ledger = publishing.read_ledger(store, channel="crm").set_index("lead_id")
    assert ledger.loc["a", "attempts"] == 2 and ledger.loc["c", "attempts"] == 1
    assert ledger.loc["a", "claim_token"] == "run3"


def test_only_the_claim_holder_marks_a_failure_and_a_sent_row_never_moves_back(store):
    publishing.claim(store, "crm", items("a", "b"), now=NOW, token="run1", stale_before=None)
    publishing.mark_failed(store, "crm", {"a": "boom"}, NOW, token="someone-else")
    assert states(store) == {"a": "pending", "b": "pending"}
    publishing.mark_sent(store, "crm", [{"lead_id": "a", "crm_contact_id": "c1", "crm_deal_id": "d1"}], NOW)
    publishing.mark_failed(store, "crm", {"a": "late failure", "b": "HTTP 500"}, NOW, token="run1")
    assert states(store) == {"a": "sent", "b": "failed"}
    # a failed lead is claimed again; a sent one never is
    assert publishing.claim(store, "crm", items("a", "b"), now=NOW + timedelta(seconds=1), token="run2",
                            stale_before=None) == {"b"}
    publishing.mark_sent(store, "crm", [{"lead_id": "a", "crm_contact_id": "c2", "crm_deal_id": "d2"}],
                         NOW + timedelta(hours=1))
    rows = publishing.ledger_rows(store, "crm", ["a", "b"])
    assert (rows["a"].crm_deal_id, rows["a"].first_sent_at, rows["a"].last_error) == (
        "d1", "2026-03-02T12:00:00Z", None)
    assert (rows["b"].state, rows["b"].attempts, rows["b"].last_error) == ("pending", 2, "HTTP 500")


def test_recorded_unsent_keeps_the_current_payload_and_never_touches_published_rows(store):
    assert publishing.record_unsent(store, "crm", items("a", "b"), NOW) == 2
    assert publishing.record_unsent(store, "crm", items("a", "b"), NOW) == 0  # identical: nothing rewritten
    publishing.claim(store, "crm", items("b"), now=NOW, token="t", stale_before=None)
    publishing.mark_sent(store, "crm", [{"lead_id": "b", "crm_deal_id": "d"}], NOW)
    assert publishing.record_unsent(store, "crm", items("a", "b", score=90), NOW + timedelta(hours=1)) == 1
    ledger = publishing.read_ledger(store, channel="crm").set_index("lead_id")
    assert json.loads(ledger.loc["a", "payload"]) == {"lead": "a", "score": 90}
    assert ledger.loc["a", "state"] == "recorded_unsent" and ledger.loc["a", "attempts"] == 0
    assert ledger.loc["b", "state"] == "sent" and json.loads(ledger.loc["b", "payload"])["score"] == 70


def test_flags_on_sent_rows_are_set_once_and_cleared_when_the_lead_qualifies_again(store):
    publishing.claim(store, "crm", items("a", "b"), now=NOW, token="t", stale_before=None)
    publishing.mark_sent(store, "crm", [{"lead_id": "a"}], NOW)
    assert publishing.flag_sent(store, "crm", {"a": "score dropped", "b": "not sent: no flag"}, NOW) == ["a"]
    assert publishing.flag_sent(store, "crm", {"a": "score dropped"}, NOW) == []
    assert publishing.ledger_summary(store)["crm"] == {"sent": 1, "pending": 1, "flagged_sent": 1}
    assert publishing.clear_flags(store, "crm", ["a", "b"], NOW) == ["a"]
    row = publishing.ledger_rows(store, "crm", ["a"])["a"]
    assert (row.state, row.flag_reason, row.flagged_at) == ("sent", None, None)


def test_unknown_outcomes_are_flagged_not_retried(store):
    publishing.claim(store, "slack", items("a", "b"), now=NOW, token="t", stale_before=None)
    publishing.mark_unknown(store, "slack", {"a": "no answer"}, NOW, token="t")
    # b's run died: flagged once its claim is stale, not before
    publishing.mark_unknown(store, "slack", {"b": "run died"}, NOW, stale_before=NOW - timedelta(minutes=15))
    assert states(store, "slack") == {"a": "flagged", "b": "pending"}
    publishing.mark_unknown(store, "slack", {"b": "run died"}, NOW, stale_before=NOW + timedelta(minutes=1))
    assert states(store, "slack") == {"a": "flagged", "b": "flagged"}
    assert publishing.claim(store, "slack", items("a", "b"), now=NOW, token="u", stale_before=NOW) == set()
    with pytest.raises(ValueError):
        publishing.mark_unknown(store, "slack", {"a": "x"}, NOW)


def test_nurture_list_upserts_keep_added_at(store):
    rows = [{"lead_id": "n1", "email": "a@x.example", "name": "A", "company": None}]
    assert publishing.upsert_nurture(store, rows, NOW) == 1
    assert publishing.upsert_nurture(store, [rows[0] | {"company": "X"}], NOW + timedelta(days=1)) == 0
    listed = records(publishing.read_nurture_list(store))
    assert listed == [{"lead_id": "n1", "email": "a@x.example", "name": "A", "company": "X",
                                          "added_at": "2026-03-02T12:00:00Z"}]
    assert publishing.remove_from_nurture(store, ["n1", "zz"]) == 1


def test_unknown_channel_is_refused(store):
    with pytest.raises(ValueError, match="unknown publish channel"):
        publishing.claim(store, "email", items("a"), now=NOW, token="t", stale_before=None)


def test_ledger_primary_key_is_lead_and_channel(store):
    t = schema.publish_ledger
    assert [c.name for c in t.primary_key.columns] == ["lead_id", "channel"]
    publishing.record_unsent(store, "crm", items("a"), NOW)
    publishing.record_unsent(store, "slack", items("a"), NOW)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 2
