"""Processing of landed mail: the partitioned job, the backlog sensor that drives it, and dead-letter re-drive."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG as RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG as RANGE_START_TAG,
    PARTITION_NAME_TAG as PARTITION_TAG,
)

from lead_pipeline.defs.ingest.assets import landed_messages, mailparse_messages
from lead_pipeline.defs.ingest.sensors import NEW_MAIL_TICK_SECONDS, failed_attempts
from lead_pipeline.defs.partitions import PROCESSING_RUN_TAGS, daily_partitions
from lead_pipeline.defs.resources import LeadStoreResource

PROCESSING = dg.AssetSelection.all() - dg.AssetSelection.assets(landed_messages, mailparse_messages)

process_partitions_job = dg.define_asset_job(
    "process_partitions",
    selection=PROCESSING,
    partitions_def=daily_partitions,
    tags=PROCESSING_RUN_TAGS,
    # One process for every step: a process per step re-imports pandas, DuckDB and the parsers each time,
    # which costs more than the steps of a day of mail; the steps run one after another anyway.
    executor_def=dg.in_process_executor,
    description="Parse, normalise, deduplicate, score and publish to the warehouse, for one day or a range.",
)


IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]
# A run still "in flight" after this long is presumed dead (a killed `dagster dev` leaves its runs STARTED when
# run monitoring is off) and no longer holds its days back; at worst a second run for a day queues behind it.
IN_FLIGHT_TRUSTED_FOR = timedelta(hours=1)


def days_in_flight(instance: dg.DagsterInstance) -> set[str]:
    """Days a queued or running run created within the last hour is processing (a partition, or a range's days)."""
    days: set[str] = set()
    recent = dg.RunsFilter(statuses=IN_FLIGHT, created_after=datetime.now(UTC) - IN_FLIGHT_TRUSTED_FOR)
    for record in instance.get_run_records(recent):
        tags = record.dagster_run.tags
        if tags.get(PARTITION_TAG):
            days.add(tags[PARTITION_TAG])
        if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
            first, last = date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
            days.update((first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1))
    return days


@dg.sensor(
    job=process_partitions_job, minimum_interval_seconds=NEW_MAIL_TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_backlog_sensor(context: dg.SensorEvaluationContext, lead_store: LeadStoreResource):
    """Process each day that has landed deliveries not yet parsed, whoever landed them (inbox, polling, webhook).

    The run key names the day and its newest landing, so re-evaluating an unchanged backlog requests
    nothing new, and a failed run is retried on the next tick. A day that a queued or running run is
    processing waits for it (the MailParse fast path lands and processes today in one run): what it has not
    parsed when it finishes is requested then, instead of a second run for the same day queued behind it.
    """
    first, last = daily_partitions.start.date(), date.fromisoformat(daily_partitions.get_last_partition_key())
    store = lead_store.open()
    # A webhook lands whatever it is sent; mail older than the partitions can only be a dead letter.
    store.dead_letter_landings_before(first.isoformat(), STALE_REASON.format(first=first), utc_now())
    busy = days_in_flight(context.instance)
    for day, pending, latest in store.landing_backlog():
        if not first <= date.fromisoformat(day) <= last or day in busy:
            continue
        tags = {"lead_pipeline/backlog": f"{day}@{latest}"}
        yield dg.RunRequest(
            partition_key=day,
            run_key=f"{day}@{latest}:{failed_attempts(context.instance, tags)}",
            tags={**tags, "lead_pipeline/pending": str(pending)},
        )


STALE_REASON = (
    "received_before_partition_start: partitions start {first} (set LEAD_PIPELINE_START_DATE to ingest older mail, "
    "then re-drive stage parse)"
)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RedriveConfig(dg.Config):
    stage: str = "parse"
    """`parse` (delivery landed, parsing failed) or `landing` (rejected before landing; payload kept)."""
    reason_contains: str = ""
    """Only dead letters whose reason contains this text; empty re-drives every one of the stage."""


@dg.op(description="Put matching dead letters back in the queue; the backlog sensor then reprocesses their days.")
def redrive_dead_letters(context: dg.OpExecutionContext, config: RedriveConfig, lead_store: LeadStoreResource):
    from lead_pipeline.ingest.redrive import redrive

    result = redrive(
        lead_store.open(), stage=config.stage, reason_contains=config.reason_contains,
        earliest=daily_partitions.start.date(),
    )
    context.log.info(f"{result.requeued} of {result.selected} dead letters re-queued")
    context.add_output_metadata({"selected": result.selected, "requeued": result.requeued,
                                 "still_failing": result.still_failing})
    return result.requeued


@dg.job(description="Re-drive dead letters once their cause is fixed.")
def redrive_dead_letters_job():
    redrive_dead_letters()
