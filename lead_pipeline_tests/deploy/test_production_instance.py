"""The production instance (deploy/dagster.production.yaml) on PostgreSQL, and the concurrency rules of both yamls."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from lead_pipeline.definitions import build_definitions, defs
from lead_pipeline.defs.partitions import PROCESSING_RUN_TAGS
from lead_pipeline.defs.resources import DUCKDB_WAREHOUSE_POOL
from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import Settings
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.conftest import POSTGRES_URL
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


def test_warehouse_steps_wait_while_another_writer_holds_the_pool(production_home, settings: Settings):
    with dg.DagsterInstance.get() as instance:
        definitions = build_definitions(settings)
        definitions.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        store = OperationalStore(settings.store_url)
        day = store.landed_dates()[0]
        store.dispose()

        slots = instance.event_log_storage
        slots.initialize_concurrency_limit_to_default(DUCKDB_WAREHOUSE_POOL)
        assert slots.claim_concurrency_slot(DUCKDB_WAREHOUSE_POOL, "another-writer", "writing").is_claimed
        released: list[float] = []

        def release_once_a_step_waits() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                info = slots.get_concurrency_info(DUCKDB_WAREHOUSE_POOL)
                if any(step.assigned_timestamp is None for step in info.pending_steps):
                    released.append(time.time())
                    slots.free_concurrency_slot_for_step("another-writer", "writing")
                    return
                time.sleep(0.2)
            slots.free_concurrency_slot_for_step("another-writer", "writing")

        releaser = threading.Thread(target=release_once_a_step_waits)
        releaser.start()
        try:
            process = definitions.resolve_job_def("process_partitions")
            result = process.execute_in_process(instance=instance, partition_key=day, raise_on_error=False)
        finally:
            releaser.join()
        in_pool = {name for name, node in process.graph.node_dict.items() if node.definition.pool}
        warehouse_starts = [
            event.timestamp for event in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)
            if event.step_key in in_pool
        ]
    assert result.success
    assert released, "no warehouse step waited for the held slot"
    assert len(warehouse_starts) >= 5 and min(warehouse_starts) >= released[0]


@pytest.mark.parametrize("config", [REPOSITORY / "dagster.yaml", DEPLOY / "dagster.production.yaml"])
def test_both_instances_keep_warehouse_writers_and_processing_runs_to_one_at_a_time(config, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    rules = yaml.safe_load(config.read_text())
    rules.pop("storage", None)  # the same rules on the default SQLite storage
    (home / "dagster.yaml").write_text(yaml.safe_dump(rules))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        concurrency = instance.get_concurrency_config()
        slots_freed_after = instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
        assert instance.run_monitoring_enabled
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity.value == "op"
    limits = concurrency.run_queue_config.tag_concurrency_limits
    assert [(limit["key"], limit["value"], limit["limit"]) for limit in limits] == [
        (key, value, 1) for key, value in PROCESSING_RUN_TAGS.items()
    ]
    assert concurrency.run_queue_config.max_concurrent_runs > 1
    assert 0 < slots_freed_after <= 300


def test_every_step_that_opens_the_warehouse_claims_the_pool_and_processing_runs_carry_the_tag():
    repo = defs.get_repository_def()
    checked, processing = 0, set()
    for job in repo.get_all_jobs():
        for node in job.graph.node_dict.values():
            if "warehouse" in node.definition.required_resource_keys:
                assert node.definition.pool == DUCKDB_WAREHOUSE_POOL, f"{job.name}: {node.name}"
                checked += 1
        # Ad-hoc materialisations from the UI (the implicit `__ASSET_JOB`) are left to the operator.
        if "deduplicated_leads" in job.graph.node_dict and not job.name.startswith("__"):
            assert PROCESSING_RUN_TAGS.items() <= job.run_tags.items(), job.name
            processing.add(job.name)
    assert checked >= 5
    assert processing == {"process_partitions", "process_partitions_celery", "land_and_process_mailparse"}


def test_the_operational_store_takes_the_postgresql_url_the_readme_documents():
    documented = sa.make_url(POSTGRES_URL).set(drivername="postgresql")
    store = OperationalStore(documented.render_as_string(hide_password=False))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    store.dispose()
