"""The whole graph over the bundled sample inbox, as `lead-pipeline run` drives it."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import SAMPLE_INBOX, Settings

FIXTURES = Path(__file__).parents[1] / "fixtures"
TABLES = ["messages", "leads", "lead_attachments", "contacts", "dead_letters", "kpi_daily"]


def _labels() -> list[dict[str, str]]:
    with open(FIXTURES / "sample_inbox_labels.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _contents(settings: Settings) -> dict[str, list[tuple]]:
    """Every warehouse row, in a stable order: two runs that agree here agree byte for byte."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


@pytest.fixture
def inbox(tmp_path) -> Path:
    return Path(shutil.copytree(SAMPLE_INBOX, tmp_path / "inbox"))


@pytest.fixture
def settings(pipeline_env, inbox, monkeypatch) -> Settings:
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox))
    return Settings.from_env()


def test_sample_inbox_becomes_one_lead_per_distinct_inquiry_and_reruns_change_nothing(settings):
    labels = _labels()
    with dg.instance_for_test() as instance:
        summary = run_pipeline(settings, instance)
        first = _contents(settings)
        again = run_pipeline(settings, instance, all_days=True)
        assert _contents(settings) == first
        assert again.as_dict() | {"days_processed": 0} == summary.as_dict() | {"days_processed": 0}

    assert summary.messages == summary.parsed == len(labels)
    assert summary.dead_letters == 0
    assert summary.leads == len({row["lead_group"] for row in labels})
    assert summary.duplicates_collapsed == len(labels) - summary.leads

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        senders = {row[0] for row in conn.execute("SELECT sender_email FROM leads").fetchall()}
        aliases = dict(conn.execute("SELECT source_alias, sum(messages) FROM kpi_daily GROUP BY 1").fetchall())
        forwarded = conn.execute("SELECT forwarded_by FROM leads WHERE sender_email LIKE 'priya@%'").fetchone()
    assert senders == {row["sender_email"] for row in labels}
    assert forwarded == ("mark.ellis@yourcompany.example",)
    expected_aliases: dict[str, int] = {}
    for row in labels:
        expected_aliases[row["alias"]] = expected_aliases.get(row["alias"], 0) + 1
    assert aliases == expected_aliases


def test_a_malformed_message_becomes_a_dead_letter_and_the_rest_still_succeeds(settings, inbox):
    shutil.copy(FIXTURES / "malformed" / "corrupt-upload.eml", inbox / "99-corrupt-upload.eml")
    with dg.instance_for_test() as instance:
        summary = run_pipeline(settings, instance)
    assert summary.dead_letters == 1
    assert summary.parsed == len(_labels())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        source_ref, reason, raw = conn.execute("SELECT source_ref, reason, raw FROM dead_letters").fetchone()
    assert source_ref.endswith("99-corrupt-upload.eml")
    assert reason and raw.startswith("landing:")


def test_the_same_graph_runs_on_the_postgresql_store(settings, postgres_url, monkeypatch):
    monkeypatch.setenv("LEAD_STORE_URL", postgres_url)
    on_postgres = Settings.from_env()
    with dg.instance_for_test() as instance:
        summary = run_pipeline(on_postgres, instance)
        first = _contents(on_postgres)
        run_pipeline(on_postgres, instance, all_days=True)
        assert _contents(on_postgres) == first
    groups = {row["lead_group"] for row in _labels()}
    assert summary.leads == len(groups)
    assert summary.duplicates_collapsed == len(_labels()) - len(groups)


def test_small_chunks_in_worker_processes_give_what_one_process_gives(settings, monkeypatch):
    from lead_pipeline import parallel
    from lead_pipeline.defs.leads import assets as lead_assets
    from lead_pipeline.defs.parse import assets as parse_assets
    from lead_pipeline.defs.warehouse import assets as warehouse_assets

    def chunks_of(size: int) -> None:
        monkeypatch.setattr(parse_assets, "CHUNK", size)
        monkeypatch.setattr(lead_assets, "CHUNK", size)
        monkeypatch.setattr(warehouse_assets, "MESSAGE_BATCH", size)

    with dg.instance_for_test() as instance:
        chunks_of(4)
        monkeypatch.setenv(parallel.WORKERS_VARIABLE, "2")
        pooled = run_pipeline(settings, instance)
        first = _contents(settings)
        chunks_of(10_000)
        monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
        run_pipeline(settings, instance, all_days=True)  # rewrites only what differs
        assert _contents(settings) == first
    assert pooled.parsed == len(_labels())


def test_a_backfill_of_several_runs_renders_the_kpi_report_once_in_its_last_run(settings, monkeypatch):
    import lead_pipeline.runner as runner

    ranges_of = runner.day_ranges
    monkeypatch.setattr(runner, "day_ranges", lambda days: ranges_of(days, max_messages=sum(days.values()) // 2))
    with dg.instance_for_test() as instance:
        summary = run_pipeline(settings, instance)
        runs = instance.get_runs(dg.RunsFilter(job_name="process_partitions"), ascending=True)
        materialized = {run.run_id: {event.dagster_event.asset_key for event in
                                     instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
                        for run in runs}
    assert len(runs) > 1
    assert [run.run_id for run in runs if dg.AssetKey("kpi_report") in materialized[run.run_id]] == [runs[-1].run_id]
    assert all(dg.AssetKey("scored_leads") in assets for assets in materialized.values())
