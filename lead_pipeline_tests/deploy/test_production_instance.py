"""The production instance (deploy/dagster.production.yaml) on PostgreSQL, and the concurrency rules of both yamls."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from lead_pipeline.definitions import defs
from lead_pipeline.defs.automation import PROCESSING_RUN_TAGS
from lead_pipeline.defs.resources import DUCKDB_WAREHOUSE_POOL
from lead_pipeline.runner import run_pipeline
from lead_pipeline_tests.deploy.conftest import DEPLOY

REPOSITORY = Path(__file__).parents[2]
LABELS = REPOSITORY / "lead_pipeline_tests" / "fixtures" / "sample_inbox_labels.csv"


def _lead_groups() -> int:
    with open(LABELS, newline="") as handle:
        return len({row["lead_group"] for row in csv.DictReader(handle)})


def test_the_graph_runs_on_the_postgresql_instance_and_its_history_lands_there(
    production_home, settings, dagster_database
):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)

        summary = run_pipeline(settings, instance)

        runs = instance.get_runs()
        kpi = instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "kpi_daily"]))
        warehouse_slots = instance.event_log_storage.get_concurrency_info(DUCKDB_WAREHOUSE_POOL)
    assert summary.leads == _lead_groups()
    assert {run.job_name for run in runs} == {"land_inbox", "process_partitions"}
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert kpi is not None and kpi.run_id in {run.run_id for run in runs}
    # The warehouse steps claimed the pool, which the yaml's default limit holds to one slot.
    assert (warehouse_slots.slot_count, warehouse_slots.claimed_slots) == (1, [])

    # Read back from PostgreSQL itself, not through the instance.
    engine = sa.create_engine(dagster_database)
    with engine.connect() as conn:
        stored_runs = conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")).scalar_one()
        materialised = set(conn.execute(sa.text(
            "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )).scalars())
    engine.dispose()
    assert stored_runs == len(runs)
    assert {dg.AssetKey.from_db_string(key).to_user_string() for key in materialised} >= {
        "landed_messages", "parsed_messages", "scored_leads", "warehouse/leads", "warehouse/kpi_daily",
    }


@pytest.mark.parametrize("config", [REPOSITORY / "dagster.yaml", DEPLOY / "dagster.production.yaml"])
def test_both_instances_keep_warehouse_writers_and_processing_runs_to_one_at_a_time(config, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    rules = yaml.safe_load(config.read_text())
    rules.pop("storage", None)  # the same rules on the default SQLite storage
    (home / "dagster.yaml").write_text(yaml.safe_dump(rules))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        concurrency = instance.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity.value == "op"
    limits = concurrency.run_queue_config.tag_concurrency_limits
    assert [(limit["key"], limit["value"], limit["limit"]) for limit in limits] == [
        (key, value, 1) for key, value in PROCESSING_RUN_TAGS.items()
    ]
    assert concurrency.run_queue_config.max_concurrent_runs > 1


def test_every_step_that_opens_the_warehouse_claims_the_pool_and_processing_runs_carry_the_tag():
    repo = defs.get_repository_def()
    checked = 0
    for job in repo.get_all_jobs():
        for node in job.graph.node_dict.values():
            if "warehouse" in node.definition.required_resource_keys:
                assert node.definition.pool == DUCKDB_WAREHOUSE_POOL, f"{job.name}: {node.name}"
                checked += 1
        if any("warehouse" in node.definition.required_resource_keys for node in job.graph.node_dict.values()):
            assert PROCESSING_RUN_TAGS.items() <= job.run_tags.items(), job.name
    assert checked >= 5
