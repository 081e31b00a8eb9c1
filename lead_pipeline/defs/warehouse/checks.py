import dagster as dg

from lead_pipeline.defs.resources import WAREHOUSE_WRITERS, WarehouseResource


@dg.asset_check(
    asset=dg.AssetKey(["warehouse", "leads"]),
    blocking=True,
    **WAREHOUSE_WRITERS,
    description="Analysts' leads table: one row per lead and per (message, sender), plausible sender addresses.",
)
def warehouse_leads_are_unique_and_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open() as conn:
        rows, lead_ids, message_senders, invalid = conn.execute(
            """
            SELECT count(*),
                   count(DISTINCT lead_id),
                   count(DISTINCT (message_id, sender_email)),
                   count(*) FILTER (WHERE NOT regexp_full_match(sender_email, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+'))
            FROM leads
            """
        ).fetchone()
    return dg.AssetCheckResult(
        passed=rows == lead_ids == message_senders and invalid == 0,
        metadata={
            "rows": rows,
            "distinct_lead_ids": lead_ids,
            "distinct_message_senders": message_senders,
            "invalid_sender_emails": invalid,
        },
    )
