from datetime import UTC, datetime

import dagster as dg

from lead_pipeline.defs.freshness import DAILY_FRESHNESS
from lead_pipeline.defs.leads.assets import scored_leads
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.publish.resources import PublishResource
from lead_pipeline.defs.resources import LeadRulesResource, LeadStoreResource


@dg.asset(
    group_name="publish",
    kinds={"hubspot", "slack"},
    deps=[scored_leads],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    freshness_policy=DAILY_FRESHNESS,
    description=(
        "crm leads upserted to the CRM with a deal, sales alerts over the threshold, support tickets, the "
        "nurture list; a publish ledger makes every channel idempotent."
    ),
)
def published_leads(
    context: dg.AssetExecutionContext,
    lead_store: LeadStoreResource,
    lead_rules: LeadRulesResource,
    publishing: PublishResource,
) -> dg.MaterializeResult:
    from lead_pipeline.ingest.landing import utc_timestamp
    from lead_pipeline.publish.publisher import publish_leads

    store = lead_store.open()
    now = datetime.now(UTC)
    thresholds = lead_rules.scoring_rules(store, utc_timestamp(now)).rules.thresholds
    settings = publishing.settings()
    with settings.clients() as clients:
        result = publish_leads(
            store, store.read_leads_in(window_of(context)), crm_client=clients.crm, slack=clients.slack,
            helpdesk=clients.helpdesk, alert_threshold=settings.alert_threshold, crm_threshold=thresholds.crm,
            base_url=settings.base_url, now=now,
        )
    return dg.MaterializeResult(metadata={**result.as_metadata(), "crm_configured": clients.crm is not None})


@dg.asset_check(asset=published_leads, blocking=False, description="No publish ledger row is stuck in `failed`.")
def publish_ledger_has_no_failures(lead_store: LeadStoreResource) -> dg.AssetCheckResult:
    from lead_pipeline.stores.publishing import ledger_summary

    summary = ledger_summary(lead_store.open())
    failed = {channel: states.get("failed", 0) for channel, states in summary.items()}
    return dg.AssetCheckResult(
        passed=not any(failed.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={f"{channel}_failed": n for channel, n in failed.items()},
    )
