"""MailParse polling through the Dagster shell: sensors, the polling asset, and the graph downstream."""

import hashlib
from datetime import UTC, datetime

import dagster as dg
import duckdb

from lead_pipeline.definitions import build_definitions
from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import Settings
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline_tests.ingest.mailparse_standin import MailParseStandin, generate_messages

ALIASES = ["demo@yourcompany.example", "sales@yourcompany.example"]


def _tick(defs, name, instance):
    sensor = defs.resolve_sensor_def(name)
    resources = {key: defs.resources[key] for key in ("mailparse", "lead_store")}
    # The sensors request partitioned runs (today's partition), which the context resolves from the definitions.
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources, definitions=defs))


def test_polled_mail_becomes_leads_and_the_sensors_go_quiet(pipeline_env, monkeypatch, tmp_path):
    messages, raw_mime, files = generate_messages(24, ALIASES, raw_every=5, attachment_every=6)
    empty_inbox = tmp_path / "no-inbox-mail"
    empty_inbox.mkdir()
    with MailParseStandin(messages, token="secret-token", raw_mime=raw_mime, files=files) as standin:
        monkeypatch.setenv("MAILPARSE_API_URL", standin.url)
        monkeypatch.setenv("MAILPARSE_API_TOKEN", "secret-token")
        monkeypatch.setenv("MAILPARSE_ALIASES", ",".join(ALIASES))
        monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(empty_inbox))
        settings = Settings.from_env()
        defs = build_definitions(settings)
        sensor_names = {sensor.name for sensor in defs.sensors if sensor.name.startswith("mailparse_")}
        assert sensor_names == {"mailparse_demo_yourcompany_example", "mailparse_sales_yourcompany_example"}

        with dg.instance_for_test() as instance:
            before = {name: _tick(defs, name, instance) for name in sensor_names}
            assert all(len(tick.run_requests) == 1 for tick in before.values())
            # New mail's fast path: one in-process run lands it and processes today's partition.
            today = datetime.now(UTC).date().isoformat()
            assert {defs.resolve_sensor_def(name).job_name for name in sensor_names} == {"land_and_process_mailparse"}
            assert {r.partition_key for tick in before.values() for r in tick.run_requests} == {today}

            summary = run_pipeline(settings, instance)
            assert summary.messages == summary.parsed == len(messages)
            assert summary.leads == len(messages)

            after = {name: _tick(defs, name, instance) for name in sensor_names}
            assert all(tick.run_requests == [] and tick.skip_message for tick in after.values())

            # A second pass polls from the stored cursors: nothing is fetched twice or landed twice.
            again = run_pipeline(settings, instance)
            assert again.messages == summary.messages

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        sources = dict(conn.execute("SELECT source, count(*) FROM messages GROUP BY 1").fetchall())
    assert sources == {"mailparse": len(messages)}
    stored = BlobStore(settings.blobs_dir)
    assert files and all(stored.has(hashlib.sha256(content).hexdigest()) for content in files.values())
