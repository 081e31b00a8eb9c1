"""Publishing through the Dagster graph to CRM and Slack stand-ins, across re-runs."""

import shutil

import dagster as dg
import duckdb

from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import SAMPLE_INBOX, Settings
from lead_pipeline_tests.publish.standins import Fault, HubSpotStandin, SlackStandin

TOKEN = "hs-pipeline-token"


def test_qualified_leads_reach_the_crm_and_sales_once_however_often_the_graph_runs(pipeline_env, tmp_path,
                                                                                    monkeypatch):
    inbox = shutil.copytree(SAMPLE_INBOX, tmp_path / "inbox")
    faults = [Fault.http(500, times=2), Fault.http(429, retry_after="1", times=1)]
    with HubSpotStandin(token=TOKEN, rate_limit=20, faults=faults) as hubspot, SlackStandin() as slack:
        monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox))
        monkeypatch.setenv("CRM_API_URL", hubspot.url)
        monkeypatch.setenv("CRM_API_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
        monkeypatch.setenv("LEAD_ALERT_THRESHOLD", "60")
        settings = Settings.from_env()
        with dg.instance_for_test() as instance:
            for all_days in (False, True, True):
                run_pipeline(settings, instance, all_days=all_days)

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            crm = conn.execute("SELECT lead_id, sender_email, score, status FROM leads WHERE route = 'crm'").fetchall()
            latency = conn.execute("SELECT count(*) FROM kpi_daily WHERE median_latency_to_crm_s IS NOT NULL").fetchone()
        assert crm
        assert sorted(hubspot.deal_lead_ids()) == sorted(lead_id for lead_id, *_ in crm)
        assert sorted(hubspot.contact_emails()) == sorted({email for _, email, *_ in crm})
        assert {status for *_, status in crm} == {"published"}
        assert len(slack.messages) == sum(score >= 60 for _, _, score, _ in crm)
        assert latency[0] > 0
