"""Slack alerts and helpdesk tickets against their stand-ins."""

from __future__ import annotations

import json

import pytest

from lead_pipeline.publish.helpdesk import HelpdeskError, build_ticket
from lead_pipeline.publish.payloads import lead_link, top_reasons
from lead_pipeline.publish.slack import SlackError, SlackOutcomeUnknown, SlackUnavailable, SlackWebhook, build_alert
from lead_pipeline_tests.publish.conftest import breakdown, helpdesk_client, lead, slack_client
from lead_pipeline_tests.publish.standins import Fault, SlackStandin


def test_alert_names_sender_company_subject_score_top_three_reasons_and_the_link(slack_standin, clock):
    row = lead("L0001", name="Dana <Ops> Whitfield", company="Acme & Sons", score=75,
               rules=(("business_sender", 10), ("buying_intent", 15), ("free_mail_sender", -15),
                      ("subject_mentions_demo_pricing_enterprise", 20), ("target_account", 15)))
    message = build_alert(row, base_url="https://leads.example.com/")
    with slack_client(slack_standin, clock) as slack:
        slack.post(message)

    (received,) = slack_standin.messages
    text = json.dumps(received["blocks"])
    assert "Dana &lt;Ops&gt; Whitfield" in text and "Acme &amp; Sons" in text  # mrkdwn escaped
    assert "Demo request for 40 seats" in text and "*Score*\\n75" in text
    reasons = next(b for b in received["blocks"] if b["type"] == "section" and "text" in b)["text"]["text"]
    assert reasons.splitlines()[1:] == ["• +20 subject mentions demo pricing enterprise", "• +15 buying intent",
                                        "• +15 target account"]
    link = "https://leads.example.com/assets/scored_leads?partition=2026-03-02&lead_id=L0001"
    assert lead_link(row, "https://leads.example.com/") == link
    button = next(b for b in received["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["url"] == link and link in received["text"]
    assert slack_standin.lead_ids() == ["L0001"]


def test_top_reasons_tolerate_missing_or_broken_breakdowns():
    assert top_reasons({"score_breakdown": None}) == []
    assert top_reasons({"score_breakdown": "not json"}) == []
    assert top_reasons({"score_breakdown": breakdown(("a", 5), ("b", 5), ("c", 30), ("d", 1))}) == [
        {"rule": "c", "points": 30}, {"rule": "a", "points": 5}, {"rule": "b", "points": 5}]


def test_slack_429_waits_for_retry_after(slack_standin, clock):
    slack_standin.set_faults([Fault.http(429, retry_after="7", times=2)])
    with slack_client(slack_standin, clock) as slack:
        slack.post({"text": "hello"})
    assert clock.sleeps == [7.0, 7.0] and len(slack_standin.messages) == 1


def test_slack_message_without_an_answer_is_not_resent(clock):
    with SlackStandin(clock=clock, faults=[Fault.slow_after_commit(0.6)]) as standin:
        with slack_client(standin, clock, timeout=0.2) as slack, pytest.raises(SlackOutcomeUnknown):
            slack.post({"text": "hello"})
        assert len(standin.messages) == 1 and len(standin.requests_log) == 1


def test_slack_revoked_webhook_and_exhausted_retries_are_distinct_errors(slack_standin, clock):
    with SlackWebhook(slack_standin.url + "/services/T0/B0/s3cretXYZ", sleep=clock.sleep) as slack, \
            pytest.raises(SlackError) as broken:
        slack.post({"text": "hello"})
    assert broken.value.webhook_broken and "no_service" in str(broken.value)
    assert "s3cretXYZ" not in str(broken.value)  # the webhook secret stays out of error messages

    slack_standin.set_faults([Fault.http(500, times=10)])
    with slack_client(slack_standin, clock, attempts=3) as slack, pytest.raises(SlackUnavailable):
        slack.post({"text": "hello"})
    assert not slack_standin.messages


def test_helpdesk_ticket_carries_an_idempotency_key_so_a_retried_post_makes_one_ticket(helpdesk_standin, clock):
    ticket = build_ticket(lead("S0001", route="support", subject="Cannot log in"))
    helpdesk_standin.set_faults([Fault.after_commit(502)])
    with helpdesk_client(helpdesk_standin, clock) as helpdesk:
        ticket_id = helpdesk.create_ticket(ticket)
    assert [t["id"] for t in helpdesk_standin.tickets] == [ticket_id]
    assert [r.status for r in helpdesk_standin.requests_log] == [502, 200]
    stored = helpdesk_standin.tickets[0]
    assert stored["external_id"] == "S0001" and stored["requester"]["email"] == "S0001@acme-robotics.example"
    assert stored["link"].endswith("lead_id=S0001")


def test_helpdesk_refusal_is_an_error_with_its_status(helpdesk_standin, clock):
    with helpdesk_client(helpdesk_standin, clock) as helpdesk, pytest.raises(HelpdeskError) as refused:
        helpdesk.create_ticket({"external_id": "S0002", "subject": "", "requester": {}})
    assert refused.value.status == 422
