from datetime import UTC, date, datetime

import dagster as dg

from lead_pipeline.defs.attachments.resources import AttachmentIntakeResource
from lead_pipeline.defs.partitions import daily_partitions
from lead_pipeline.defs.ingest.resources import MailParseResource
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


class MailParsePollConfig(dg.Config):
    aliases: list[str] = []
    """Poll only these aliases' streams; empty polls every configured stream."""
    max_pages: int = 100
    """Pages per stream in one run; the next run continues from the stored cursor."""


@dg.asset(
    group_name="ingest",
    kinds={"python"},
    description=(
        "Messages polled from the MailParse REST API, page by page, landed durably before each stream's "
        "cursor advances; invalid items become dead letters."
    ),
)
def mailparse_messages(
    context: dg.AssetExecutionContext,
    config: MailParsePollConfig,
    mailparse: MailParseResource,
    lead_store: LeadStoreResource,
    attachments: AttachmentIntakeResource,
) -> dg.MaterializeResult:
    if not mailparse.configured:
        context.log.info("MailParse is not configured (MAILPARSE_API_URL unset): nothing to poll")
        return dg.MaterializeResult(metadata={"streams": 0, "landed": 0})
    from lead_pipeline.attachments.intake import take_polled_attachment
    from lead_pipeline.ingest.landing import landing_id_for
    from lead_pipeline.ingest.polling import SOURCE, poll_stream

    store = lead_store.open()
    intake = attachments.open()
    earliest = daily_partitions.start.date()
    totals = {"pages": 0, "landed": 0, "already_landed": 0, "invalid": 0, "attachments": 0}
    with mailparse.open_client() as client:
        streams = mailparse.streams(config.aliases)
        for stream, alias in streams:
            result = poll_stream(
                client, store, stream=stream, alias=alias, now=lambda: datetime.now(UTC), max_pages=config.max_pages,
                earliest=earliest,
                # Download URLs expire: the bytes are fetched, scanned and stored now, while the page is landed.
                attachment_sink=lambda key, attachment, content: take_polled_attachment(
                    store, intake, landing_id_for(SOURCE, key), attachment, content
                ),
            )
            context.log.info(f"{stream}: {result.landed} landed over {result.pages} pages")
            for key in totals:
                totals[key] += getattr(result, key)
    return dg.MaterializeResult(metadata={"streams": len(streams), **totals})


webhook_deliveries = dg.AssetSpec(
    "webhook_deliveries",
    group_name="ingest",
    kinds={"python"},
    description=(
        "Deliveries pushed by MailParse, Postmark, SendGrid and Mailgun, landed by `lead-pipeline webhook serve` "
        "before it answers 202. External: the receiver, not Dagster, writes it."
    ),
)
