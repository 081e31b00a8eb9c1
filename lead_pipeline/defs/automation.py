"""Jobs, schedules and sensors that keep the graph running in `dagster dev` or production."""


import dagster as dg

from lead_pipeline.defs.ingest.assets import landed_messages
from lead_pipeline.defs.partitions import daily_partitions

land_inbox_job = dg.define_asset_job(
    "land_inbox", selection=dg.AssetSelection.assets(landed_messages),
    description="Sweep the inbox into the landing table.",
)

process_partitions_job = dg.define_asset_job(
    "process_partitions",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(landed_messages),
    partitions_def=daily_partitions,
    description="Parse, normalise, deduplicate, score and publish to the warehouse, for one day or a range.",
)

land_inbox_schedule = dg.ScheduleDefinition(
    name="land_inbox_every_15_minutes", job=land_inbox_job, cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.asset_sensor(asset_key=landed_messages.key, job=process_partitions_job, minimum_interval_seconds=30)
def landed_days_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """After each landing sweep, process the days it touched; the run key makes a re-tick harmless."""
    materialization = asset_event.asset_materialization
    days = materialization.metadata.get("received_dates") if materialization else None
    for day in (days.value if days else []):
        yield dg.RunRequest(run_key=f"{day}:{asset_event.run_id}", partition_key=day)
