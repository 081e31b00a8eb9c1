from __future__ import annotations

import pytest
import sqlalchemy as sa

from lead_pipeline.stores.operational import DateWindow, LeadIntegrity, OperationalStore


def _landing(landing_id: str, day: str, raw: bytes = b"x", source: str = "inbox") -> dict:
    return {
        "landing_id": landing_id, "source": source, "source_ref": f"{landing_id}.eml", "source_alias": "demo@x.example",
        "delivery_key": landing_id, "payload_format": "mime", "raw_sha256": landing_id.ljust(64, "0"), "received_at": f"{day}T10:00:00Z", "received_date": day,
        "raw": raw, "landed_at": "2026-11-26T00:00:00Z",
    }


def _lead(lead_id: str, message_id: str, sender: str, content_hash: str = "h") -> dict:
    return {
        "lead_id": lead_id, "message_id": message_id, "sender_email": sender, "sender_name": None,
        "forwarded_by": None, "company": None, "company_domain": None, "phone": None, "role": None,
        "subject": "s", "source_alias": "demo@x.example", "received_at": "2026-11-02T10:00:00Z",
        "received_date": "2026-11-02", "content_hash": content_hash, "intent": "demo", "landing_id": "a",
        "duplicate_count": 0, "status": "new",
    }


@pytest.fixture
def store(store_url: str) -> OperationalStore:
    store = OperationalStore(store_url)
    store.ensure_schema()
    yield store
    store.dispose()


def test_landing_twice_lands_once_and_reports_only_new_ids(store):
    assert store.land([_landing("a", "2026-11-02"), _landing("b", "2026-11-03")]) == {"a", "b"}
    assert store.land([_landing("a", "2026-11-02"), _landing("c", "2026-11-03")]) == {"c"}
    assert store.count_landed() == 3
    assert store.landed_dates() == ["2026-11-02", "2026-11-03"]
    assert store.landed_day_counts() == {"2026-11-02": 1, "2026-11-03": 2}


def test_iter_landed_returns_the_window_in_bounded_batches(store):
    store.land([_landing(f"m{i:02d}", "2026-11-02" if i % 2 else "2026-11-03") for i in range(10)])
    batches = list(store.iter_landed(DateWindow("2026-11-03", "2026-11-04"), batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert {row.received_date for b in batches for row in b} == {"2026-11-03"}
    assert bytes(batches[0][0].raw) == b"x"


def test_dead_letters_keep_the_first_failure_and_can_be_resolved(store):
    first = {"dead_letter_id": "d1", "stage": "parse", "source": "inbox", "source_ref": "a.eml", "landing_id": "a",
             "source_alias": None, "reason": "first", "raw_ref": "landing:a", "raw": None,
             "received_date": "2026-11-02", "failed_at": "2026-11-26T00:00:00Z"}
    store.record_dead_letters([first])
    store.record_dead_letters([{**first, "reason": "second"}])
    letters = store.read_dead_letters()
    assert letters["reason"].tolist() == ["first"]
    store.resolve_dead_letters("parse", ["a"])
    assert store.read_dead_letters().empty


def test_unprocessed_dates_excludes_parsed_and_dead_lettered_deliveries(store):
    store.land([_landing("a", "2026-11-02"), _landing("b", "2026-11-03"), _landing("c", "2026-11-04")])
    store.save_messages([{
        "landing_id": "a", "message_id": "<a@x>", "source": "inbox", "source_ref": "a.eml", "source_alias": None, "sender_email": "p@x.example",
        "sender_name": None, "subject": None, "received_at": "2026-11-02T10:00:00Z", "received_date": "2026-11-02",
        "reply_text": "hi", "language": None, "content_hash": "h", "record": "{}", "parsed_at": "2026-11-26T00:00:00Z",
    }])
    store.record_dead_letters([{"dead_letter_id": "d", "stage": "parse", "source": "inbox", "source_ref": "b.eml",
                                "landing_id": "b", "source_alias": None, "reason": "r", "raw_ref": "landing:b",
                                "raw": None, "received_date": "2026-11-03", "failed_at": "2026-11-26T00:00:00Z"}])
    assert store.unprocessed_dates() == ["2026-11-04"]


def test_the_database_not_the_code_enforces_one_lead_per_message_and_sender(store):
    store.save_leads([_lead("L1", "<m@x>", "p@x.example")])
    with pytest.raises(sa.exc.IntegrityError):
        store.save_leads([_lead("L2", "<m@x>", "p@x.example", content_hash="other")])


def test_saving_leads_again_keeps_scores(store):
    store.save_leads([_lead("L1", "<m@x>", "p@x.example")])
    store.save_scores([{"lead_id": "L1", "score": 30, "score_breakdown": "[]", "route": "review"}])
    store.save_leads([{**_lead("L1", "<m@x>", "p@x.example"), "duplicate_count": 2}])
    [row] = LeadIntegrity(store).scores().to_dict("records")
    assert (row["score"], row["route"]) == (30, "review")
    assert store.count_rows("leads") == 1


def test_integrity_finds_two_leads_with_the_same_sender_and_text(store):
    store.save_leads([_lead("L1", "<m1@x>", "p@x.example"), _lead("L2", "<m2@x>", "p@x.example")])
    assert LeadIntegrity(store).duplicate_identities() == {"message_id_sender": 0, "sender_content_hash": 1}


def test_columns_added_since_a_store_was_created_are_added_to_it(store):
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE leads DROP COLUMN raw_sha256"))
        conn.execute(sa.text("ALTER TABLE landing DROP COLUMN signature_verification"))
    store.ensure_schema()
    inspector = sa.inspect(store.engine)
    assert "raw_sha256" in {c["name"] for c in inspector.get_columns("leads")}
    assert "signature_verification" in {c["name"] for c in inspector.get_columns("landing")}


def test_a_failed_statement_does_not_quote_its_parameters(store):
    lead = _lead("L1", "<m1@x.example>", "dana.whitfield@acme-robotics.example") | {"intent": None}
    with pytest.raises(sa.exc.IntegrityError) as failure:
        store.save_leads([lead])
    assert "dana.whitfield" not in str(failure.value)


def test_provenance_of_deliveries_joins_landing_and_parse(store):
    store.land([_landing("a", "2026-11-02") | {"signature_verification": "unsigned"}])
    provenance = store.delivery_provenance(["a", "missing"])
    assert provenance.to_dict("records") == [{
        "landing_id": "a", "source": "inbox", "parsed_at": None, "signature_verification": "unsigned",
        "raw_sha256": "a".ljust(64, "0"),
    }]


def test_integrity_reads_only_the_leads_delivered_in_a_window_when_given_one(store):
    from lead_pipeline.stores.operational import scored_lead_columns

    store.save_leads([_lead("L1", "<m1@x>", "p@x.example"), _lead("L2", "<m2@x>", "q@x.example")])
    store.save_deliveries([
        {"landing_id": "a", "lead_id": "L1", "message_id": "<m1@x>", "sender_email": "p@x.example",
         "received_date": "2026-11-02"},
        {"landing_id": "b", "lead_id": "L2", "message_id": "<m2@x>", "sender_email": "q@x.example",
         "received_date": "2026-11-05"},
    ])
    integrity = LeadIntegrity(store)
    assert integrity.sender_emails(DateWindow("2026-11-02", "2026-11-03"))["lead_id"].tolist() == ["L1"]
    assert integrity.scores(DateWindow("2026-11-05", "2026-11-06"))["lead_id"].tolist() == ["L2"]
    assert sorted(integrity.scores()["lead_id"]) == ["L1", "L2"]
    assert scored_lead_columns(store, DateWindow("2026-11-05", "2026-11-06"))["lead_id"].tolist() == ["L2"]
    assert len(scored_lead_columns(store)) == 2
