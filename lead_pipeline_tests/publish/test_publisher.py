"""`publish_leads` end to end: the operational store (SQLite and PostgreSQL) and real HTTP stand-ins."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lead_pipeline.publish import PublishError, PublishSettings, publish_leads
from lead_pipeline.stores import publishing
from lead_pipeline.stores.operational import OperationalStore, records
from lead_pipeline_tests.publish.conftest import NOW, TOKEN, crm_client, frame, helpdesk_client, lead, slack_client
from lead_pipeline_tests.publish.standins import Fault, HubSpotStandin

CREATE = "/crm/v3/objects/deals/batch/create"


def mixed_leads() -> list[dict]:
    """6 crm leads (two from one person, one address in capitals), and one of every other route."""
    return [
        lead("C0001", email="dana@acme-robotics.example", score=85),
        lead("C0002", email="Dana@Acme-Robotics.example", score=62, subject="Pricing for 80 seats"),
        lead("C0003", score=60),
        lead("C0004", score=59),
        lead("C0005", score=45, company=None),
        lead("C0006", score=40, name=None),
        lead("R0001", score=30, route="review"),
        lead("N0001", score=5, route="nurture", company="Tiny Shop"),
        lead("N0002", score=-5, route="nurture", name=None, company=None),
        lead("S0001", score=10, route="support", subject="Cannot log in"),
        lead("X0001", score=0, route="spam"),
        lead("J0001", score=10, route="recruiting"),
    ]


CRM_LEADS = ["C0001", "C0002", "C0003", "C0004", "C0005", "C0006"]
ALERTED = ["C0001", "C0002", "C0003"]  # route crm and score >= 60


def ledger(store: OperationalStore, channel: str) -> dict[str, dict]:
    return {r["lead_id"]: r for r in records(publishing.read_ledger(store, channel=channel))}


def test_full_publish_and_rerun_make_one_contact_per_email_one_deal_per_crm_lead_one_alert_one_ticket(
        store, hubspot, slack_standin, helpdesk_standin, clock):
    leads = frame(mixed_leads())
    with crm_client(hubspot, clock) as crm, slack_client(slack_standin, clock) as slack, \
            helpdesk_client(helpdesk_standin, clock) as helpdesk:
        first = publish_leads(store, leads, crm_client=crm, slack=slack, helpdesk=helpdesk, now=NOW)
        again = publish_leads(store, leads, crm_client=crm, slack=slack, helpdesk=helpdesk,
                              now=NOW + timedelta(hours=1))

    assert first.counts["crm"] == {"sent": 6} and first.counts["slack"] == {"sent": 3}
    assert first.counts["helpdesk"] == {"sent": 1} and first.nurture_added == 2
    assert again.counts["crm"] == {"already_sent": 6} and again.counts["slack"] == {"already_sent": 3}
    assert again.crm_requests == 0 and again.nurture_added == 0 and not again.errors

    expected_emails = sorted({"dana@acme-robotics.example"} | {f"{i.lower()}@acme-robotics.example"
                                                              for i in CRM_LEADS[2:]})
    assert hubspot.contact_emails() == expected_emails
    assert hubspot.deal_lead_ids() == CRM_LEADS
    crm_rows = ledger(store, "crm")
    assert set(crm_rows) == set(CRM_LEADS) and {r["state"] for r in crm_rows.values()} == {"sent"}
    for lead_id, row in crm_rows.items():
        (deal,) = hubspot.deals_for_lead(lead_id)
        assert row["crm_deal_id"] == deal["id"] and hubspot.contacts_of_deal(deal["id"]) == [row["crm_contact_id"]]
        assert row["first_sent_at"] == "2026-03-02T12:00:00Z" and row["route_at_publish"] == "crm"
    assert crm_rows["C0001"]["crm_contact_id"] == crm_rows["C0002"]["crm_contact_id"]
    assert crm_rows["C0001"]["score_at_publish"] == 85

    assert sorted(slack_standin.lead_ids()) == ALERTED
    assert [t["external_id"] for t in helpdesk_standin.tickets] == ["S0001"]
    assert ledger(store, "helpdesk")["S0001"]["ticket_id"] == helpdesk_standin.tickets[0]["id"]
    assert set(ledger(store, "slack")) == set(ALERTED)
    assert sorted(publishing.read_nurture_list(store)["lead_id"]) == ["N0001", "N0002"]
    # nothing is published for review, spam or recruiting leads
    assert not ({"R0001", "X0001", "J0001"} & set(publishing.read_ledger(store)["lead_id"]))


def test_half_the_requests_failing_for_a_while_loses_nothing_and_duplicates_nothing(store, clock):
    leads = frame([lead(f"H{i:04d}", email=f"p{i % 90}@corp{i % 7}.example") for i in range(130)])
    faults = [Fault.after_commit(500, times=1, path=CREATE), Fault.alternate(500, times=40)]
    with HubSpotStandin(token=TOKEN, clock=clock, rate_limit=5, faults=faults) as hubspot:
        calls = []
        with crm_client(hubspot, clock, attempts=2) as crm:
            for n in range(12):  # bounded: every call makes progress once the failure window is over
                calls.append(publish_leads(store, leads, crm_client=crm, slack=None, helpdesk=None,
                                           now=NOW + timedelta(minutes=n)))
                if calls[-1].counts["crm"].get("failed", 0) == 0:
                    break
        assert any(c.counts["crm"].get("failed") for c in calls[:-1]), "no call failed: the faults proved nothing"
        assert any(r.status == 429 for r in hubspot.requests_log)
        assert hubspot.deal_lead_ids() == sorted(leads["lead_id"])
        assert hubspot.contact_emails() == sorted(set(leads["sender_email"]))
    rows = ledger(store, "crm")
    assert {r["state"] for r in rows.values()} == {"sent"} and len(rows) == 130
    assert {r["crm_deal_id"] for r in rows.values()} == set(hubspot.deals)
    retried = [r for r in rows.values() if r["attempts"] > 1]
    assert retried and all(r["last_error"] is None for r in rows.values())


def test_a_crash_between_the_crm_call_and_the_ledger_write_creates_no_second_deal(store, hubspot, clock, tmp_path,
                                                                                  monkeypatch):
    leads = frame([lead(f"K{i:04d}") for i in range(4)])
    real_mark_sent = publishing.mark_sent

    def crash(store, channel, results, now):
        raise KeyboardInterrupt("the run was killed after HubSpot answered")

    with crm_client(hubspot, clock) as crm:
        monkeypatch.setattr(publishing, "mark_sent", crash)
        with pytest.raises(KeyboardInterrupt):
            publish_leads(store, leads, crm_client=crm, slack=None, helpdesk=None, now=NOW)
        monkeypatch.setattr(publishing, "mark_sent", real_mark_sent)
        assert hubspot.deal_lead_ids() == sorted(leads["lead_id"])
        assert {r["state"] for r in ledger(store, "crm").values()} == {"pending"}

        # while the dead run's claim is fresh, another call leaves the leads alone
        busy = publish_leads(store, leads, crm_client=crm, slack=None, helpdesk=None, now=NOW + timedelta(minutes=1))
        assert busy.counts["crm"] == {"in_progress": 4} and busy.crm_requests == 0
        # once it is stale, the leads are taken over: found by their unique lead id, not created again
        resumed = publish_leads(store, leads, crm_client=crm, slack=None, helpdesk=None,
                                now=NOW + timedelta(minutes=20))
        assert resumed.counts["crm"] == {"sent": 4}

        # even a store that lost its ledger altogether does not duplicate a deal
        with_no_ledger = OperationalStore(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        with_no_ledger.ensure_schema()
        publish_leads(with_no_ledger, leads, crm_client=crm, slack=None, helpdesk=None, now=NOW)
        assert {r["crm_deal_id"] for r in ledger(with_no_ledger, "crm").values()} == set(hubspot.deals)
        with_no_ledger.dispose()

    assert hubspot.deal_lead_ids() == sorted(leads["lead_id"])
    assert len(hubspot.requests_to(CREATE)) == 1
    assert {r["crm_deal_id"] for r in ledger(store, "crm").values()} == set(hubspot.deals)


def test_three_runs_send_exactly_one_slack_message_per_alert_worthy_lead(store, slack_standin, clock):
    rows = mixed_leads() + [lead("C0100", score=95, route="review"), lead("C0101", score=99)]
    slack_standin.set_faults([Fault.ok(1), Fault.http(429, retry_after="2"), Fault.http(500, times=2)])
    sent_per_run = []
    with slack_client(slack_standin, clock, attempts=2) as slack:
        for run in range(3):
            result = publish_leads(store, frame(rows), crm_client=None, slack=slack, helpdesk=None,
                                   now=NOW + timedelta(hours=run))
            sent_per_run.append(result.counts["slack"].get("sent", 0))
    # run 1: one alert, then 429 (waited for) and 500: Slack is down, the other alerts wait for the next run;
    # run 2: a 500, retried, then all three; run 3: nothing left to send
    assert sent_per_run == [1, 3, 0]
    assert 2.0 in clock.sleeps
    assert sorted(slack_standin.lead_ids()) == sorted(ALERTED + ["C0101"])
    assert {r["state"] for r in ledger(store, "slack").values()} == {"sent"}


def test_an_alert_whose_answer_was_lost_is_flagged_for_a_person_and_never_resent(store, clock):
    from lead_pipeline_tests.publish.standins import SlackStandin

    with SlackStandin(clock=clock, faults=[Fault.slow_after_commit(0.6)]) as standin:
        with slack_client(standin, clock, timeout=0.2) as slack:
            for run in range(3):
                publish_leads(store, frame([lead("C0001", score=90)]), crm_client=None, slack=slack, helpdesk=None,
                              now=NOW + timedelta(hours=run))
        assert standin.lead_ids() == ["C0001"]
    row = ledger(store, "slack")["C0001"]
    assert row["state"] == "flagged" and "may have been applied" in row["flag_reason"]


def test_unconfigured_crm_records_what_would_be_sent_and_sends_it_once_configured(store, hubspot, clock):
    leads = frame(mixed_leads())
    first = publish_leads(store, leads, crm_client=None, slack=None, helpdesk=None, now=NOW)
    again = publish_leads(store, leads, crm_client=None, slack=None, helpdesk=None, now=NOW + timedelta(hours=1))
    assert first.counts["crm"] == {"recorded_unsent": 6} and first.counts["slack"] == {"recorded_unsent": 3}
    assert first.counts["helpdesk"] == {"recorded_unsent": 1}
    assert again.counts["crm"] == {"recorded_unsent": 6}  # refreshed, not duplicated
    rows = ledger(store, "crm")
    assert set(rows) == set(CRM_LEADS) and {r["state"] for r in rows.values()} == {"recorded_unsent"}
    payload = json.loads(rows["C0002"]["payload"])
    assert payload["contact"]["email"] == "dana@acme-robotics.example"
    assert payload["deal"]["lead_pipeline_lead_id"] == "C0002" and payload["deal"]["lead_pipeline_score"] == "62"
    assert "Pricing for 80 seats" in payload["deal"]["dealname"]
    assert rows["C0002"]["first_sent_at"] is None and not hubspot.requests_log

    with crm_client(hubspot, clock) as crm:
        later = publish_leads(store, leads, crm_client=crm, slack=None, helpdesk=None, now=NOW + timedelta(days=1))
    assert later.counts["crm"] == {"sent": 6} and hubspot.deal_lead_ids() == CRM_LEADS


def test_a_published_lead_whose_score_drops_is_flagged_not_unpublished(store, hubspot, clock):
    with crm_client(hubspot, clock) as crm:
        publish_leads(store, frame([lead("C0001", score=70), lead("C0002", score=55)]), crm_client=crm, slack=None,
                      helpdesk=None, now=NOW)
        rescored = frame([lead("C0001", score=30, route="review"), lead("C0002", score=41)])
        dropped = publish_leads(store, rescored, crm_client=crm, slack=None, helpdesk=None, crm_threshold=45,
                                now=NOW + timedelta(days=1))
        same = publish_leads(store, rescored, crm_client=crm, slack=None, helpdesk=None, crm_threshold=45,
                             now=NOW + timedelta(days=2))
        back = publish_leads(store, frame([lead("C0001", score=75)]), crm_client=crm, slack=None, helpdesk=None,
                             now=NOW + timedelta(days=3))

    assert sorted(dropped.flagged["crm"]) == ["C0001", "C0002"]
    assert "route crm → review, score 70 → 30" in dropped.flagged["crm"]["C0001"]
    assert "score 55 → 41" in dropped.flagged["crm"]["C0002"]
    assert same.flagged == {}  # an unchanged flag is not raised again
    assert back.unflagged == {"crm": ["C0001"]}
    rows = ledger(store, "crm")
    assert rows["C0001"]["state"] == rows["C0002"]["state"] == "sent"
    assert rows["C0001"]["flag_reason"] is None and "no longer qualifies for the CRM" in rows["C0002"]["flag_reason"]
    assert hubspot.deal_lead_ids() == ["C0001", "C0002"] and len(hubspot.requests_to(CREATE)) == 1
    assert publishing.ledger_summary(store)["crm"] == {"sent": 2, "flagged_sent": 1}


def test_support_leads_get_one_ticket_and_nurture_leads_fill_the_nurture_list(store, helpdesk_standin, clock):
    helpdesk_standin.set_faults([Fault.http(503, times=1)])
    rows = mixed_leads()
    with helpdesk_client(helpdesk_standin, clock, attempts=1) as helpdesk:
        runs = [publish_leads(store, frame(rows), crm_client=None, slack=None, helpdesk=helpdesk,
                              now=NOW + timedelta(hours=n)) for n in range(3)]
        # N0001 is rescored into the CRM route: it leaves the nurture list
        rows = [r if r["lead_id"] != "N0001" else lead("N0001", score=50) for r in rows]
        moved = publish_leads(store, frame(rows), crm_client=None, slack=None, helpdesk=helpdesk,
                              now=NOW + timedelta(days=1))
    assert [r.counts["helpdesk"] for r in runs] == [{"failed": 1}, {"sent": 1}, {"already_sent": 1}]
    assert [t["external_id"] for t in helpdesk_standin.tickets] == ["S0001"]
    assert [r.nurture_added for r in runs] == [2, 0, 0]
    assert moved.nurture_removed == 1
    listed = records(publishing.read_nurture_list(store))
    assert listed == [{"lead_id": "N0002", "email": "N0002@acme-robotics.example", "name": None, "company": None,
                       "added_at": "2026-03-02T12:00:00Z"}]


def test_a_refused_crm_token_fails_the_crm_rows_still_publishes_the_rest_and_raises(store, hubspot, slack_standin,
                                                                                   clock):
    with crm_client(hubspot, clock, token="revoked") as crm, slack_client(slack_standin, clock) as slack:
        with pytest.raises(PublishError, match="CRM_API_TOKEN") as raised:
            publish_leads(store, frame(mixed_leads()), crm_client=crm, slack=slack, helpdesk=None, now=NOW)
    assert raised.value.result.counts["crm"] == {"failed": 6}
    assert raised.value.result.counts["slack"] == {"sent": 3}
    rows = ledger(store, "crm")
    assert {r["state"] for r in rows.values()} == {"failed"} and "401" in rows["C0001"]["last_error"]
    assert len(hubspot.requests_log) == 1  # no hammering with a bad token


def test_settings_from_the_environment():
    settings = PublishSettings.from_env({"CRM_API_URL": "https://api.hubapi.com", "CRM_API_TOKEN": "t",
                                         "LEAD_ALERT_THRESHOLD": "75", "SLACK_WEBHOOK_URL": ""})
    assert (settings.crm_api_url, settings.alert_threshold, settings.slack_webhook_url) == (
        "https://api.hubapi.com", 75, None)
    assert settings.base_url == "http://127.0.0.1:3000"
    with settings.clients() as clients:
        assert clients.crm is not None and clients.slack is None and clients.helpdesk is None
    with pytest.raises(ValueError, match="CRM_API_TOKEN"):
        PublishSettings.from_env({"CRM_API_URL": "https://api.hubapi.com"})
    with pytest.raises(ValueError, match="LEAD_ALERT_THRESHOLD"):
        PublishSettings.from_env({"LEAD_ALERT_THRESHOLD": "high"})
    with pytest.raises(ValueError, match="SLACK_WEBHOOK_URL must be an absolute http"):
        with PublishSettings.from_env({"SLACK_WEBHOOK_URL": "hooks.slack.com/services/T/B/x"}).clients():
            pass


def test_a_run_that_died_while_alerting_is_flagged_for_a_person_not_realerted(store, slack_standin, clock,
                                                                             monkeypatch):
    real_mark_sent = publishing.mark_sent

    def crash(store, channel, results, now):
        raise KeyboardInterrupt("killed right after Slack answered")

    leads = frame([lead("C0001", score=90)])
    with slack_client(slack_standin, clock) as slack:
        monkeypatch.setattr(publishing, "mark_sent", crash)
        with pytest.raises(KeyboardInterrupt):
            publish_leads(store, leads, crm_client=None, slack=slack, helpdesk=None, now=NOW)
        monkeypatch.setattr(publishing, "mark_sent", real_mark_sent)
        outcomes = [publish_leads(store, leads, crm_client=None, slack=slack, helpdesk=None,
                                  now=NOW + timedelta(minutes=m)).counts["slack"] for m in (1, 20, 40)]
    assert outcomes == [{"in_progress": 1}, {"flagged": 1}, {"awaiting_person": 1}]
    assert slack_standin.lead_ids() == ["C0001"]
    row = ledger(store, "slack")["C0001"]
    assert row["state"] == "flagged" and "not re-sent" in row["flag_reason"]


def test_a_portal_without_the_unique_deal_property_is_a_configuration_error(store, clock):
    with HubSpotStandin(token=TOKEN, clock=clock, define_custom_properties=False) as hubspot, \
            crm_client(hubspot, clock) as crm:
        with pytest.raises(PublishError, match="ensure_deal_properties"):
            publish_leads(store, frame(mixed_leads()), crm_client=crm, slack=None, helpdesk=None, now=NOW)
        assert not hubspot.deals
        crm.ensure_deal_properties()
        result = publish_leads(store, frame(mixed_leads()), crm_client=crm, slack=None, helpdesk=None,
                               now=NOW + timedelta(minutes=1))
    assert result.counts["crm"] == {"sent": 6}
