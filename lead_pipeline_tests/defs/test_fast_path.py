"""New mail's fast path: the MailParse sensor's one run lands and publishes today's mail; the backlog sensor
leaves days that a run is already processing alone."""

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import PARTITION_NAME_TAG

from lead_pipeline.definitions import build_definitions
from lead_pipeline.defs import automation
from lead_pipeline.defs.automation import landing_backlog_sensor
from lead_pipeline.defs.resources import LeadStoreResource
from lead_pipeline.settings import Settings
from lead_pipeline_tests.ingest.mailparse_standin import MailParseStandin
from lead_pipeline_tests.publish.standins import HubSpotStandin

ALIAS = "sales@yourcompany.example"
CRM_TOKEN = "hs-fast-path"


def inquiry(n: int, domain: str, received: datetime) -> dict:
    sender = f"buyer{n}@{domain}"
    return {
        "id": f"msg_fast_{n}", "messageId": f"<fast.{n}@{domain}>", "alias": ALIAS,
        "receivedAt": received.strftime("%Y-%m-%dT%H:%M:%SZ"), "envelope": {"mailFrom": sender, "rcptTo": [ALIAS]},
        "from": {"email": sender, "name": f"Buyer {n}"}, "to": [{"email": ALIAS, "name": None}], "cc": [],
        "replyTo": [], "subject": f"Demo and pricing for {20 + n} seats",
        "text": f"Hello, we would like a demo and a quote for {20 + n} seats this quarter.\n\nRegards,\nBuyer {n}",
        "html": None, "headers": {"dkim": "pass", "spf": "pass", "dmarc": "pass"}, "spamScore": 0.1,
        "attachments": [], "thread": {"inReplyTo": None, "references": []},
    }


def test_new_mailparse_mail_reaches_the_crm_in_the_one_run_its_sensor_requests(pipeline_env, tmp_path, monkeypatch):
    now = datetime.now(UTC)
    messages = [inquiry(n, domain, now) for n, domain in
                enumerate(["acme-robotics.example", "northwind-traders.example", "gmail.com", "vertex-health.example"])]
    empty_inbox = tmp_path / "no-inbox-mail"
    empty_inbox.mkdir()
    with MailParseStandin(messages, token="mp-token") as mailparse, HubSpotStandin(token=CRM_TOKEN) as hubspot:
        for name, value in {"MAILPARSE_API_URL": mailparse.url, "MAILPARSE_API_TOKEN": "mp-token",
                            "CRM_API_URL": hubspot.url, "CRM_API_TOKEN": CRM_TOKEN,
                            "LEAD_PIPELINE_INBOX": str(empty_inbox)}.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env()
        defs = build_definitions(settings)
        sensor = defs.resolve_sensor_def("mailparse_all_aliases")
        resources = {key: defs.resources[key] for key in ("mailparse", "lead_store")}
        with dg.instance_for_test() as instance:
            tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources,
                                                                definitions=defs))
            [request] = tick.run_requests
            assert request.partition_key == now.date().isoformat()
            job = defs.resolve_job_def(sensor.job_name)
            assert job.executor_def is dg.in_process_executor
            result = job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                            run_config=request.run_config, tags=request.tags)
            assert result.success

            # Landed and processed in that run: no backlog left for a second run, no new mail for the sensor.
            backlog = list(landing_backlog_sensor(dg.build_sensor_context(instance=instance),
                                                  lead_store=LeadStoreResource(url=settings.store_url)))
            assert backlog == []
            quiet = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources,
                                                                 definitions=defs))
            assert quiet.run_requests == []

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            crm = {row[0] for row in conn.execute("SELECT sender_email FROM leads WHERE route = 'crm'").fetchall()}
            loaded = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        assert loaded == len(messages)
        assert len(crm) >= 3  # the target accounts' demo requests qualify; the free-mail sender may not
        assert set(hubspot.contact_emails()) == crm


def test_the_backlog_sensor_leaves_a_day_to_the_run_processing_it(pipeline_env, monkeypatch):
    from lead_pipeline.ingest.landing import landing_row

    settings = Settings.from_env()
    store = LeadStoreResource(url=settings.store_url)
    now = datetime.now(UTC)
    days = ["2026-03-02", "2026-03-03"]
    store.open().land([
        landing_row(source="webhook", source_ref=f"webhook:evt_{day}", delivery_key=f"evt_{day}",
                    payload_format="mailparse_json", raw=day.encode(), alias=None, now=now,
                    received_at=datetime.fromisoformat(f"{day}T09:00:00+00:00"))
        for day in days
    ])

    def requested_days(instance):
        return sorted(r.partition_key for r in landing_backlog_sensor(dg.build_sensor_context(instance=instance),
                                                                      lead_store=store))

    with dg.instance_for_test() as instance:
        assert requested_days(instance) == days
        busy = DagsterRun(job_name="land_and_process_mailparse", run_id=str(uuid.uuid4()),
                          status=dg.DagsterRunStatus.STARTED, tags={PARTITION_NAME_TAG: days[0]})
        instance.add_run(busy)
        assert requested_days(instance) == days[1:]

        # A run left STARTED by a killed daemon does not hold its day back forever.
        with monkeypatch.context() as patch:
            patch.setattr(automation, "IN_FLIGHT_TRUSTED_FOR", timedelta(0))
            assert requested_days(instance) == days
        assert requested_days(instance) == days[1:]

        instance.report_run_failed(busy)
        assert requested_days(instance) == days
