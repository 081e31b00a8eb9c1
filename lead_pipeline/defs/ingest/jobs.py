import dagster as dg

from lead_pipeline.defs.ingest.assets import landed_messages, mailparse_messages

land_inbox_job = dg.define_asset_job(
    "land_inbox", selection=dg.AssetSelection.assets(landed_messages),
    description="Sweep the inbox (folder, mbox or Maildir) into the landing table.",
)

land_mailparse_job = dg.define_asset_job(
    "land_mailparse", selection=dg.AssetSelection.assets(mailparse_messages),
    description="Poll MailParse from each stream's stored cursor and land what arrived.",
)
