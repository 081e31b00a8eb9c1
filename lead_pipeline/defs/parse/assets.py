from datetime import UTC, datetime

import dagster as dg

from lead_pipeline.defs.ingest.assets import landed_messages
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.resources import LeadStoreResource


@dg.asset(
    group_name="parse",
    kinds={"python"},
    deps=[landed_messages],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    description="Landed deliveries parsed into the message schema, cleaned; failures become dead letters.",
)
def parsed_messages(context: dg.AssetExecutionContext, lead_store: LeadStoreResource) -> dg.MaterializeResult:
    from lead_pipeline.ingest.landing import utc_timestamp
    from lead_pipeline.ingest.parsing import parse_landed

    store = lead_store.open()
    window = window_of(context)
    parsed_at = utc_timestamp(datetime.now(UTC))
    parsed = failed = 0
    for rows in store.iter_landed(window):
        batch = parse_landed(rows, parsed_at=parsed_at)
        store.save_messages(batch.messages)
        store.resolve_dead_letters("parse", [m["landing_id"] for m in batch.messages])
        store.record_dead_letters(batch.dead_letters)
        parsed += len(batch.messages)
        failed += len(batch.dead_letters)
    landed = parsed + failed
    context.log.info(f"{window.start}..{window.end}: {parsed} parsed, {failed} dead letters")
    return dg.MaterializeResult(
        metadata={
            "landed": landed,
            "parsed": parsed,
            "dead_letters": failed,
            "parse_success_rate": parsed / landed if landed else 1.0,
        }
    )
