from datetime import UTC, date, datetime
from pathlib import Path

from lead_pipeline.ingest.landing import prepare_landing
from lead_pipeline.ingest.parsing import parse_landed
from lead_pipeline.ingest.redrive import redrive
from lead_pipeline.mail.sources import RawMessage
from lead_pipeline.stores.operational import DateWindow, OperationalStore

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OLD = b"From: a@acme.example\nDate: Fri, 1 Mar 2019 10:00:00 +0000\nSubject: old\n\nHello from 2019, we want a demo."


def _store(store_url):
    store = OperationalStore(store_url)
    store.ensure_schema()
    return store


def test_a_parse_failure_goes_back_to_the_backlog_when_re_driven(store_url):
    store = _store(store_url)
    corrupt = RawMessage("corrupt.eml", (FIXTURES / "malformed" / "corrupt-upload.eml").read_bytes())
    store.land(prepare_landing([corrupt], source="inbox", earliest=date(2020, 1, 1), now=NOW).landed)
    for rows in store.iter_landed(DateWindow("2026-11-26", "2026-11-27")):
        store.record_dead_letters(parse_landed(rows, parsed_at="2026-11-26T12:00:00Z").dead_letters)
    assert store.unprocessed_dates() == []

    result = redrive(store, stage="parse", reason_contains="not_rfc5322", earliest=date(2020, 1, 1))
    assert (result.selected, result.requeued) == (1, 1)
    assert store.unprocessed_dates() == ["2026-11-26"] and store.read_dead_letters().empty


def test_a_landing_rejection_lands_once_its_cause_is_fixed(store_url):
    store = _store(store_url)
    batch = prepare_landing([RawMessage("old.eml", OLD)], source="inbox", earliest=date(2020, 1, 1), now=NOW)
    store.record_dead_letters(batch.rejected)

    still = redrive(store, stage="landing", earliest=date(2020, 1, 1))
    assert (still.requeued, still.still_failing) == (0, 1)
    assert len(store.read_dead_letters()) == 1

    # The operator moved LEAD_PIPELINE_START_DATE back: the payload kept in the dead letter lands.
    fixed = redrive(store, stage="landing", earliest=date(2019, 1, 1))
    assert (fixed.requeued, fixed.still_failing) == (1, 0)
    assert store.landed_dates() == ["2019-03-01"] and store.read_dead_letters().empty
