from datetime import UTC, date, datetime

import dagster as dg

from lead_pipeline.defs.partitions import daily_partitions
from lead_pipeline.defs.resources import InboxResource, LeadStoreResource

LANDING_BATCH = 200


@dg.asset(
    group_name="ingest",
    kinds={"python"},
    description="Raw deliveries from the inbox (folder, mbox or Maildir) stored durably in the landing table.",
)
def landed_messages(
    context: dg.AssetExecutionContext, inbox: InboxResource, lead_store: LeadStoreResource
) -> dg.MaterializeResult:
    from lead_pipeline.ingest.landing import iter_batches, prepare_landing

    store = lead_store.open()
    earliest = date.fromisoformat(daily_partitions.start.date().isoformat())
    now = datetime.now(UTC)
    found = newly_landed = rejected = 0
    days: set[str] = set()
    for raw_batch in iter_batches(inbox.read_messages(), LANDING_BATCH):
        batch = prepare_landing(raw_batch, source="inbox", earliest=earliest, now=now)
        found += len(raw_batch)
        new_ids = store.land(batch.landed)
        store.record_dead_letters(batch.rejected)
        newly_landed += len(new_ids)
        rejected += len(batch.rejected)
        days.update(row["received_date"] for row in batch.landed if row["landing_id"] in new_ids)
    context.log.info(f"landing: {found} found, {newly_landed} new, {rejected} rejected")
    return dg.MaterializeResult(
        metadata={
            "messages_found": found,
            "newly_landed": newly_landed,
            "already_landed": found - newly_landed - rejected,
            "rejected": rejected,
            "landed_total": store.count_landed(),
            # Days that received new mail in this sweep, for the sensor that requests their runs.
            "received_dates": dg.MetadataValue.json(sorted(days)),
        }
    )
