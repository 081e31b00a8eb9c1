import dagster as dg

from lead_pipeline.defs.attachments.resources import AttachmentIntakeResource
from lead_pipeline.defs.parse.assets import parsed_messages
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.resources import LeadStoreResource


@dg.asset(
    group_name="attachments",
    kinds={"python"},
    deps=[parsed_messages],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    description=(
        "Attachments of parsed mail taken in: names sanitised, types checked against the bytes, size limits, "
        "malware scan (clamd), bytes stored by sha256 or quarantined, one metadata row each."
    ),
)
def stored_attachments(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, attachments: AttachmentIntakeResource
) -> dg.MaterializeResult:
    from lead_pipeline.attachments.intake import take_landed_attachments

    store = lead_store.open()
    intake = attachments.open()
    window = window_of(context)
    messages = store.read_messages(window, columns=["landing_id", "record"])
    totals = take_landed_attachments(store, messages.itertuples(index=False), intake)
    if not intake.scanner.configured:
        context.log.warning("no malware scanner configured (CLAMD_URL unset): attachments are recorded unscanned")
    context.log.info(f"{window.start}..{window.end}: {totals}")
    return dg.MaterializeResult(
        metadata={
            "messages": totals.messages, "stored": totals.stored, "quarantined": totals.quarantined,
            "rejected": totals.rejected, "missing": totals.missing, "scanner_configured": intake.scanner.configured,
        }
    )
