import os
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from lead_pipeline.runner import open_instance
from lead_pipeline.settings import Settings
from lead_pipeline.stores.dagster_event_log import KEPT_RUN_SHARDS, SqliteEventLogKeepingEngines

days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-05")


@dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
def daily_rows(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


def _stock_instance(settings: Settings) -> dg.DagsterInstance:
    """The same files, read by the stock storage (what `dagster dev` on a plain instance would use)."""
    stock_home = settings.dagster_home / "stock"
    stock_home.mkdir(exist_ok=True)
    (stock_home / "dagster.yaml").write_text(
        f"telemetry:\n  enabled: false\nevent_log_storage:\n  module: dagster._core.storage.event_log\n"
        f"  class: SqliteEventLogStorage\n  config:\n    base_dir: {settings.dagster_home / 'history' / 'runs'}\n"
        f"run_storage:\n  module: dagster._core.storage.runs\n  class: SqliteRunStorage\n"
        f"  config:\n    base_dir: {settings.dagster_home / 'history'}\n"
    )
    return dg.DagsterInstance.from_config(str(stock_home))


def test_the_instance_of_a_bare_run_keeps_what_the_stock_sqlite_event_log_keeps(pipeline_env, tmp_path):
    settings = Settings.from_env()
    job = dg.Definitions(assets=[daily_rows], jobs=[dg.define_asset_job("daily", partitions_def=days)]).resolve_job_def("daily")
    range_tags = {ASSET_PARTITION_RANGE_START_TAG: "2026-01-01", ASSET_PARTITION_RANGE_END_TAG: "2026-01-03"}
    with open_instance(settings) as instance:
        assert isinstance(instance.event_log_storage, SqliteEventLogKeepingEngines)
        for _ in range(2):
            assert job.execute_in_process(instance=instance, tags=range_tags).success
        run_ids = [run.run_id for run in instance.get_runs()]
        # Its connections are still open: another reader sees every committed event all the same.
        with _stock_instance(settings) as stock:
            assert stock.get_materialized_partitions(daily_rows.key) == {"2026-01-01", "2026-01-02", "2026-01-03"}
            assert len(stock.all_logs(run_ids[0])) == len(instance.all_logs(run_ids[0]))
    with _stock_instance(settings) as stock:
        assert sorted(run.run_id for run in stock.get_runs()) == sorted(run_ids)
        materialized = stock.fetch_materializations(daily_rows.key, limit=100).records
        assert sorted(record.partition_key for record in materialized) == sorted(
            ["2026-01-01", "2026-01-02", "2026-01-03"] * 2
        )
        assert stock.get_materialized_partitions(daily_rows.key) == {"2026-01-01", "2026-01-02", "2026-01-03"}
        assert len(stock.all_logs(run_ids[0])) == len(stock.all_logs(run_ids[1]))


def _open_run_files(runs_dir) -> set[str]:
    """The run databases this process holds open (the index excluded)."""
    targets = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    return {Path(t).name.split(".")[0] for t in targets
            if Path(t).parent == Path(runs_dir) and t.endswith(".db") and not t.endswith("index.db")}


def test_a_long_backfill_keeps_only_its_latest_runs_files_open(pipeline_env):
    settings = Settings.from_env()
    job = dg.Definitions(assets=[daily_rows], jobs=[dg.define_asset_job("daily", partitions_def=days)]).resolve_job_def("daily")
    range_tags = {ASSET_PARTITION_RANGE_START_TAG: "2026-01-01", ASSET_PARTITION_RANGE_END_TAG: "2026-01-02"}
    runs_dir = os.path.realpath(settings.dagster_home / "history" / "runs")
    with open_instance(settings) as instance:
        run_ids = [job.execute_in_process(instance=instance, tags=range_tags).run_id for _ in range(5)]
        assert _open_run_files(runs_dir) <= set(run_ids[-KEPT_RUN_SHARDS:])
        # An older run's events are read all the same (its file opened again).
        assert len(instance.all_logs(run_ids[0])) == len(instance.all_logs(run_ids[-1]))
    assert not _open_run_files(runs_dir)
