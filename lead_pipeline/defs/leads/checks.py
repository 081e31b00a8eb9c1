import json

import dagster as dg

from lead_pipeline.defs.leads.assets import deduplicated_leads, scored_leads
from lead_pipeline.defs.partitions import window_of
from lead_pipeline.defs.resources import LeadStoreResource

SAMPLE = 5  # offending rows shown in the check's metadata


def _run_window(context: dg.AssetCheckExecutionContext):
    """The leads a partitioned run wrote, so a check reads a run's worth of rows, not the whole table
    (which grows with every backfilled day); a check run on its own reads every lead."""
    return window_of(context) if context.has_partition_key or context.has_partition_key_range else None


@dg.asset_check(asset=deduplicated_leads, blocking=True, description="One lead per (message, sender) and per (sender, text); every delivery has its lead.")
def leads_have_unique_keys(
    context: dg.AssetCheckExecutionContext, lead_store: LeadStoreResource
) -> dg.AssetCheckResult:
    from lead_pipeline.stores.operational import LeadIntegrity

    integrity = LeadIntegrity(lead_store.open())
    window = _run_window(context)
    duplicates = integrity.duplicate_identities(window)
    orphans = integrity.orphan_deliveries(window)
    return dg.AssetCheckResult(
        passed=not any(duplicates.values()) and orphans == 0,
        metadata={**{f"duplicate_{k}": v for k, v in duplicates.items()}, "orphan_deliveries": orphans},
    )


@dg.asset_check(asset=deduplicated_leads, blocking=True, description="Every lead has a syntactically valid sender address.")
def leads_have_valid_sender_emails(
    context: dg.AssetCheckExecutionContext, lead_store: LeadStoreResource
) -> dg.AssetCheckResult:
    from lead_pipeline.leads.normalise import normalise_email
    from lead_pipeline.stores.operational import LeadIntegrity

    senders = LeadIntegrity(lead_store.open()).sender_emails(_run_window(context))
    invalid = senders[[normalise_email(e) != e for e in senders["sender_email"]]] if len(senders) else senders
    return dg.AssetCheckResult(
        passed=invalid.empty,
        metadata={"leads": len(senders), "invalid_sender_emails": len(invalid),
                  "invalid_lead_ids": dg.MetadataValue.json(invalid["lead_id"].head(SAMPLE).tolist())},
    )


@dg.asset_check(asset=scored_leads, blocking=True, description="Every score equals the sum of its breakdown and every scored lead has a known route.")
def scores_match_breakdown(context: dg.AssetCheckExecutionContext, lead_store: LeadStoreResource) -> dg.AssetCheckResult:
    from lead_pipeline.leads.scoring import ROUTES
    from lead_pipeline.stores.operational import LeadIntegrity

    # Leads of partitions not scored yet have no score; they are not this check's concern.
    scores = LeadIntegrity(lead_store.open()).scores(_run_window(context)).dropna(subset=["score"])
    bad = [
        row.lead_id for row in scores.itertuples(index=False)
        if row.route not in ROUTES
        or sum(item["points"] for item in json.loads(row.score_breakdown or "[]")) != row.score
    ]
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"leads": len(scores), "inconsistent": len(bad), "sample": dg.MetadataValue.json(bad[:SAMPLE])},
    )


@dg.asset_check(
    asset=scored_leads,
    blocking=False,
    description="great-expectations suite over the scored leads: keys, addresses, score range, routes, E.164 phones.",
)
def scored_leads_meet_expectations(
    context: dg.AssetCheckExecutionContext, lead_store: LeadStoreResource
) -> dg.AssetCheckResult:
    from lead_pipeline.leads.expectations import validate_scored_leads
    from lead_pipeline.stores.operational import scored_lead_columns

    summary = validate_scored_leads(scored_lead_columns(lead_store.open(), _run_window(context)))
    return dg.AssetCheckResult(
        passed=summary.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "expectations": summary.evaluated,
            "failed_expectations": summary.failed,
            "results": dg.MetadataValue.json(summary.results),
        },
    )
