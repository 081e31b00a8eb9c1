"""Webhook deliveries land durably, then the backlog sensor turns them into leads like any other mail."""

import json
import time

import dagster as dg
import duckdb
import httpx

from lead_pipeline.definitions import build_definitions
from lead_pipeline.defs.automation import landing_backlog_sensor
from lead_pipeline.ingest.webhook import create_app, sign
from lead_pipeline.settings import Settings
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.ingest.servers import running_app

SECRET = "whsec-test"


def _delivery(i: int) -> dict:
    return {
        "id": f"evt_{i}", "messageId": f"<hook-{i}@mail.acme.example>", "receivedAt": "2026-11-18T09:30:00Z",
        "alias": "demo@yourcompany.example", "from": f"Dana Lee <dana{i}@acme-robotics.example>",
        "to": ["demo@yourcompany.example"], "subject": "Demo request for our sales team",
        "text": f"Hi, we would like a demo for 40 sellers this quarter (request {i}).\n\nThanks,\nDana",
        "headers": {"spf": "pass", "dkim": "pass", "dmarc": "pass"},
    }


def test_webhook_deliveries_become_leads_through_the_backlog_sensor(pipeline_env, tmp_path, monkeypatch):
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(tmp_path))  # no inbox mail: only what the webhook lands
    settings = Settings.from_env()
    store = OperationalStore(settings.store_url)
    store.ensure_schema()
    with running_app(create_app(store, secrets=[SECRET])) as url:
        for i in (1, 2, 2):  # event 2 is delivered twice (a sender retry)
            body = json.dumps(_delivery(i)).encode()
            response = httpx.post(
                f"{url}/webhooks/mailparse", content=body,
                headers={"X-Signature": sign(body, SECRET, timestamp=int(time.time())),
                         "X-MailParse-Event-Id": f"evt_{i}", "Content-Type": "application/json"},
            )
            assert response.status_code == 202

    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, resources={"lead_store": defs.resources["lead_store"]}
        )
        [request] = landing_backlog_sensor.evaluate_tick(context).run_requests
        assert request.partition_key == "2026-11-18"
        result = defs.resolve_job_def("process_partitions").execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags
        )
        assert result.success

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        leads = conn.execute("SELECT sender_email, route FROM leads ORDER BY 1").fetchall()
        sources = conn.execute("SELECT DISTINCT source FROM messages").fetchall()
    assert leads == [("dana1@acme-robotics.example", "crm"), ("dana2@acme-robotics.example", "crm")]
    assert sources == [("webhook",)]
