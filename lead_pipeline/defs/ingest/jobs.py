import dagster as dg

from lead_pipeline.defs.ingest.assets import landed_messages, mailparse_messages
from lead_pipeline.defs.leads.checks import scored_leads_meet_expectations
from lead_pipeline.defs.partitions import PROCESSING_RUN_TAGS

# One-step jobs run in the run's own process: a step process of their own would only add a process start.
land_inbox_job = dg.define_asset_job(
    "land_inbox", selection=dg.AssetSelection.assets(landed_messages), executor_def=dg.in_process_executor,
    description="Sweep the inbox (folder, mbox or Maildir) into the landing table.",
)

land_mailparse_job = dg.define_asset_job(
    "land_mailparse", selection=dg.AssetSelection.assets(mailparse_messages), executor_def=dg.in_process_executor,
    description="Poll MailParse from each stream's stored cursor and land what arrived.",
)

# New mail's fast path: one run, one process. A sensor that sees new mail launches it for today's partition,
# so polled mail is landed, processed and published without waiting for a second tick and a second run
# launch; mail dated other days is landed too and left to the backlog sensor. The great-expectations suite
# is left out: loading great-expectations alone takes longer than the rest of the run, and it is
# non-blocking; `process_partitions` runs (backlog, backfills, `lead-pipeline run`) evaluate it.
land_and_process_mailparse_job = dg.define_asset_job(
    "land_and_process_mailparse",
    selection=(
        dg.AssetSelection.all() - dg.AssetSelection.assets(landed_messages)
        - dg.AssetSelection.checks(scored_leads_meet_expectations)
    ),
    executor_def=dg.in_process_executor,
    tags=PROCESSING_RUN_TAGS,
    description="Poll MailParse and land what arrived, then parse, score, publish and load today's partition, "
                "in one process.",
)
