from datetime import UTC, datetime
from functools import partial

import dagster as dg

from lead_pipeline.defs.ingest.assets import landed_messages, mailparse_messages, webhook_deliveries
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.resources import LeadStoreResource

DEAD_LETTERS_SHOWN = 10
# Deliveries per unit of work handed to a worker process.
CHUNK = 500


@dg.asset(
    group_name="parse",
    kinds={"python"},
    deps=[landed_messages, mailparse_messages, webhook_deliveries],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    description="Landed deliveries parsed into the message schema, cleaned; failures become dead letters.",
)
def parsed_messages(context: dg.AssetExecutionContext, lead_store: LeadStoreResource) -> dg.MaterializeResult:
    from lead_pipeline.ingest.landing import utc_timestamp
    from lead_pipeline.ingest.parsing import parse_landed
    from lead_pipeline.parallel import map_chunks

    store = lead_store.open()
    window = window_of(context)
    parsed_at = utc_timestamp(datetime.now(UTC))
    parsed = failed = 0
    new_letters = []
    # Batches are parsed over every core and saved in order as they come back.
    for batch in map_chunks(partial(parse_landed, parsed_at=parsed_at), store.iter_landed(window, CHUNK)):
        store.save_messages(batch.messages)
        store.resolve_dead_letters("parse", [m["landing_id"] for m in batch.messages])
        store.record_dead_letters(batch.dead_letters)
        parsed += len(batch.messages)
        failed += len(batch.dead_letters)
        new_letters += batch.dead_letters[: DEAD_LETTERS_SHOWN - len(new_letters)]
    landed = parsed + failed
    context.log.info(f"{window.start}..{window.end}: {parsed} parsed, {failed} dead letters")
    for letter in new_letters:
        # Reasons can quote the input (an address that failed to parse): the log filter masks them.
        context.log.warning(f"dead letter {letter['dead_letter_id']} from {letter['source_ref']}: {letter['reason']}")
    letters = store.read_dead_letters(window)
    return dg.MaterializeResult(
        metadata={
            "landed": landed,
            "parsed": parsed,
            "dead_letters": failed,
            "parse_success_rate": parsed / landed if landed else 1.0,
            "dead_letters_in_window": len(letters),
            "recent_dead_letters": dg.MetadataValue.md(_dead_letter_table(letters)),
        }
    )


def _dead_letter_table(letters, limit: int = DEAD_LETTERS_SHOWN) -> str:
    """The window's latest dead letters, for the UI; the redrive_dead_letters_job re-queues them.

    Metadata lands in the run's event log, so what could quote the input is masked."""
    from lead_pipeline.logs import redact

    if letters.empty:
        return "No dead letters."
    rows = letters.sort_values("failed_at", ascending=False).head(limit)
    lines = ["| stage | source | reason | raw |", "| --- | --- | --- | --- |"]
    lines += [
        redact(f"| {r.stage} | {r.source_ref} | {str(r.reason).replace('|', '/')[:200]} | {r.raw_ref} |")
        for r in rows.itertuples(index=False)
    ]
    return "\n".join(lines)
