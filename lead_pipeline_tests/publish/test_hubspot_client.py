"""The HubSpot client against the CRM stand-in: batching, per-record failures, retries, auth."""

from __future__ import annotations

import pytest

from lead_pipeline.publish.hubspot import (
    CrmAuthError,
    CrmRecord,
    CrmRequestError,
    CrmUnavailable,
    HubSpotClient,
    crm_record,
)
from lead_pipeline_tests.publish.conftest import TOKEN, crm_client, lead
from lead_pipeline_tests.publish.standins import Fault, HubSpotStandin

UPSERT = "/crm/v3/objects/contacts/batch/upsert"
CREATE = "/crm/v3/objects/deals/batch/create"
READ = "/crm/v3/objects/deals/batch/read"


def records(n: int, prefix: str = "L") -> list[CrmRecord]:
    return [crm_record(lead(f"{prefix}{i:04d}")) for i in range(n)]


def test_publish_creates_one_contact_and_one_associated_deal_per_lead_and_a_rerun_creates_nothing(hubspot, clock):
    shared = [crm_record(lead("A0001", email="Dana@Acme-Robotics.example")),
              crm_record(lead("A0002", email="dana@acme-robotics.example", subject="Pricing follow-up"))]
    with crm_client(hubspot, clock) as client:
        first = client.publish(shared + records(3))
        again = client.publish(shared + records(3))

    assert all(o.ok for o in first.values()) and all(o.created for o in first.values())
    assert hubspot.contact_emails() == sorted(
        ["dana@acme-robotics.example"] + [f"l{i:04d}@acme-robotics.example" for i in range(3)])
    assert hubspot.deal_lead_ids() == sorted(["A0001", "A0002", "L0000", "L0001", "L0002"])
    # the second pass found every deal by its unique lead id and created none
    assert not any(o.created for o in again.values())
    assert {k: o.deal_id for k, o in again.items()} == {k: o.deal_id for k, o in first.items()}
    dana = hubspot.contact_by_email("dana@acme-robotics.example")
    for lead_id in ("A0001", "A0002"):
        (deal,) = hubspot.deals_for_lead(lead_id)
        assert hubspot.contacts_of_deal(deal["id"]) == [dana["id"]]
        assert first[lead_id].contact_id == dana["id"]
    deal = hubspot.deals_for_lead("L0001")[0]["properties"]
    assert deal["lead_pipeline_score"] == "70"
    assert deal["lead_pipeline_reasons"].splitlines() == [
        "+20 subject mentions demo pricing enterprise", "+15 buying intent", "+15 target account"]
    assert deal["lead_pipeline_url"].startswith("http://127.0.0.1:3000/assets/scored_leads?partition=2026-03-02")
    assert "Demo request for 40 seats" in deal["dealname"] and "Acme Robotics" in deal["dealname"]
    assert len(hubspot.requests_to(CREATE)) == 1  # the re-run only upserted contacts and read deals


def test_batches_hold_at_most_100_inputs(hubspot, clock):
    with crm_client(hubspot, clock) as client:
        outcomes = client.publish(records(230))
    assert sum(o.ok for o in outcomes.values()) == 230
    sizes = {path: [r.inputs for r in hubspot.requests_to(path)] for path in (UPSERT, READ, CREATE)}
    assert sizes == {UPSERT: [100, 100, 30], READ: [100, 100, 30], CREATE: [100, 100, 30]}


def test_rate_limit_429_waits_retry_after_and_loses_nothing(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, rate_limit=3) as hubspot, crm_client(hubspot, clock) as client:
        outcomes = client.publish(records(250))
    assert sum(o.ok for o in outcomes.values()) == 250
    limited = [r for r in hubspot.requests_log if r.status == 429]
    assert limited, "the stand-in never rate-limited: the test proves nothing"
    assert clock.sleeps and all(s == 1.0 for s in clock.sleeps)  # Retry-After: 1, no jittered guesses
    assert len(hubspot.deal_lead_ids()) == len(set(hubspot.deal_lead_ids())) == 250


def test_5xx_are_retried_with_jittered_backoff_and_give_up_after_bounded_attempts(hubspot, clock):
    hubspot.set_faults([Fault.http(500, times=3)])
    with crm_client(hubspot, clock, attempts=4) as client:
        assert all(o.ok for o in client.publish(records(2)).values())
    backoffs = clock.sleeps[:3]
    assert len(backoffs) == 3 and all(0 <= s <= 0.2 * 2**i for i, s in enumerate(backoffs))

    hubspot.set_faults([Fault.http(503, times=100)])
    with crm_client(hubspot, clock, attempts=3) as client, pytest.raises(CrmUnavailable, match="after 3 attempts"):
        client.publish(records(1, prefix="X"))
    assert hubspot.pending_faults[0].times == 97


def test_a_lost_answer_to_a_deal_create_does_not_duplicate_the_deal(hubspot, clock):
    # HubSpot creates the deals, then the answer is lost (500): the retry hits the unique lead id.
    hubspot.set_faults([Fault.after_commit(500, path=CREATE)])
    with crm_client(hubspot, clock) as client:
        outcomes = client.publish(records(5))
    assert all(o.ok for o in outcomes.values())
    assert hubspot.deal_lead_ids() == [f"L{i:04d}" for i in range(5)]
    assert [r.status for r in hubspot.requests_to(CREATE)] == [500, 207]  # the retry was refused record by record
    assert {o.deal_id for o in outcomes.values()} == {d["id"] for d in hubspot.deals.values()}


def test_partial_batch_failures_are_reported_per_record(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, reject_emails={"l0001@acme-robotics.example"},
                        reject_deals={"L0003"}) as hubspot, crm_client(hubspot, clock) as client:
        outcomes = client.publish(records(5))
    assert {k for k, o in outcomes.items() if o.ok} == {"L0000", "L0002", "L0004"}
    assert outcomes["L0001"].error.startswith("contact: VALIDATION_ERROR") and outcomes["L0001"].deal_id is None
    assert outcomes["L0003"].error.startswith("deal: VALIDATION_ERROR") and outcomes["L0003"].contact_id
    assert [r.status for r in hubspot.requests_to(UPSERT)] == [207]
    assert hubspot.deal_lead_ids() == ["L0000", "L0002", "L0004"]


def test_a_whole_batch_refused_for_one_record_is_split_until_the_record_is_isolated(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, partial_upserts=False,
                        reject_emails={"l0005@acme-robotics.example"}) as hubspot, crm_client(hubspot, clock) as client:
        outcomes = client.publish(records(8))
    assert {k for k, o in outcomes.items() if not o.ok} == {"L0005"}
    assert "HTTP 400" in outcomes["L0005"].error
    assert len(hubspot.contact_emails()) == 7
    upserts = [(r.inputs, r.status) for r in hubspot.requests_to(UPSERT)]
    assert upserts[0] == (8, 400) and (1, 400) in upserts and len(upserts) <= 1 + 2 * 3  # bisection, not 8 calls


def test_401_raises_a_clear_error_at_once(hubspot, clock):
    with crm_client(hubspot, clock, token="wrong") as client, pytest.raises(CrmAuthError, match="CRM_API_TOKEN"):
        client.publish(records(1))
    assert len(hubspot.requests_log) == 1 and not clock.sleeps


def test_daily_quota_is_not_retried(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, daily_limit_exhausted=True) as hubspot, \
            crm_client(hubspot, clock) as client, pytest.raises(CrmUnavailable, match="daily"):
        client.publish(records(1))
    assert len(hubspot.requests_log) == 1


def test_a_retry_after_longer_than_the_cap_is_not_waited_for(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, rate_limit=1, retry_after="600") as hubspot, \
            crm_client(hubspot, clock) as client, pytest.raises(CrmUnavailable, match="600 s"):
        client.publish(records(1))
    assert not clock.sleeps


def test_ensure_deal_properties_creates_the_unique_lead_id_property_once(clock):
    with HubSpotStandin(token=TOKEN, clock=clock, define_custom_properties=False) as hubspot:
        with crm_client(hubspot, clock) as client:
            with pytest.raises(CrmRequestError, match="ensure_deal_properties"):
                client.publish(records(1))
            created = client.ensure_deal_properties()
            assert client.ensure_deal_properties() == []
            assert client.publish(records(1))["L0000"].ok
        assert "lead_pipeline_lead_id" in created and hubspot.deal_properties["lead_pipeline_lead_id"]["hasUniqueValue"]


def test_the_client_needs_a_token():
    with pytest.raises(CrmAuthError, match="CRM_API_TOKEN"):
        HubSpotClient("http://127.0.0.1:9", "")
