"""Retention over the sample inbox: old unqualified leads go with their deliveries, blobs and warehouse rows."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from lead_pipeline.definitions import build_definitions
from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import Settings
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline_tests.compliance.helpers import inbox_of

CUTOFF = date(2026, 11, 7)


@pytest.fixture
def settings(pipeline_env, store_url, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox_of(tmp_path, None, {})))
    monkeypatch.setenv("LEAD_STORE_URL", store_url)
    return Settings.from_env()


def _select(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def _blobs_by_landing(settings: Settings, blobs: BlobStore) -> dict[str, set[str]]:
    """Store every landed message's attachments (as a fetching source would); landing_id → blob hashes."""
    stored: dict[str, set[str]] = {}
    for landing_id, raw in _select(settings.store_url, "SELECT landing_id, raw FROM landing"):
        parsed = email.message_from_bytes(bytes(raw), policy=email.policy.default)
        for part in parsed.iter_attachments():
            stored.setdefault(landing_id, set()).add(blobs.put(part.get_payload(decode=True)))
    return stored


def test_old_unqualified_leads_are_removed_everywhere_and_qualified_ones_kept(settings):
    blobs = BlobStore(settings.blobs_dir)
    with dg.instance_for_test() as instance:
        run_pipeline(settings, instance)
        attachments = _blobs_by_landing(settings, blobs)
        leads = _select(settings.store_url, """
            SELECT l.lead_id, l.route, max(d.received_date), min(d.landing_id)
            FROM leads l JOIN lead_deliveries d ON d.lead_id = l.lead_id GROUP BY l.lead_id, l.route""")
        expired = {lead_id for lead_id, route, last, _ in leads if route != "crm" and last < CUTOFF.isoformat()}
        kept = {lead_id for lead_id, *_ in leads} - expired
        expired_landings = {row[0] for row in _select(
            settings.store_url, "SELECT landing_id FROM lead_deliveries WHERE lead_id IN ('"
            + "','".join(sorted(expired)) + "')")}
        assert expired and any(route == "crm" and last < CUTOFF.isoformat() for _, route, last, _ in leads)
        assert any(attachments.get(landing_id) for landing_id in expired_landings)
        landed_before = len(_select(settings.store_url, "SELECT landing_id FROM landing"))

        older_than_days = (datetime.now(UTC).date() - CUTOFF).days
        result = build_definitions(settings).resolve_job_def("retention").execute_in_process(
            instance=instance, run_config={"ops": {"apply_retention": {"config": {"older_than_days": older_than_days}}}},
        )
        assert result.success
        counts = {
            key: value.value
            for event in result.all_events if event.event_type_value == "STEP_OUTPUT"
            for key, value in event.event_specific_data.metadata.items()
        }
        assert counts["leads"] == len(expired) and counts["deliveries"] == len(expired_landings)
        assert counts["cutoff_date"] == CUTOFF.isoformat()

        remaining = {row[0] for row in _select(settings.store_url, "SELECT lead_id FROM leads")}
        assert remaining == kept
        landing = {row[0] for row in _select(settings.store_url, "SELECT landing_id FROM landing")}
        assert not (landing & expired_landings) and len(landing) == landed_before - len(expired_landings)
        for table in ("messages", "lead_candidates", "lead_deliveries"):
            assert not {row[0] for row in _select(settings.store_url, f"SELECT landing_id FROM {table}")} & expired_landings
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            assert {row[0] for row in conn.execute("SELECT lead_id FROM leads").fetchall()} == kept
            assert not {row[0] for row in conn.execute("SELECT landing_id FROM messages").fetchall()} & expired_landings
        removed_blobs = set().union(*(attachments.get(i, set()) for i in expired_landings))
        kept_blobs = set().union(*(v for k, v in attachments.items() if k not in expired_landings))
        assert removed_blobs - kept_blobs and not any(blobs.has(d) for d in removed_blobs - kept_blobs)
        assert all(blobs.has(d) for d in kept_blobs)

        # The mailbox still holds the expired messages: reading it again does not bring them back.
        run_pipeline(settings, instance, all_days=True)
        assert {row[0] for row in _select(settings.store_url, "SELECT lead_id FROM leads")} == kept


def test_the_retention_schedule_runs_only_when_a_period_is_configured(pipeline_env, monkeypatch):
    stopped = build_definitions(Settings.from_env()).resolve_schedule_def("retention_daily")
    assert stopped.default_status == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "90")
    schedule = build_definitions(Settings.from_env()).resolve_schedule_def("retention_daily")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.build_schedule_context() as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.run_config["ops"]["apply_retention"]["config"]["older_than_days"] == 90
