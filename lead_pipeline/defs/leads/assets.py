from datetime import UTC, datetime

import dagster as dg

from lead_pipeline.defs.freshness import DAILY_FRESHNESS
from lead_pipeline.defs.compliance.resources import ComplianceResource
from lead_pipeline.defs.parse.assets import parsed_messages
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.resources import EnrichmentResource, LeadRulesResource, LeadStoreResource

PARTITIONED = {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill,
               "freshness_policy": DAILY_FRESHNESS}
TOP_LEADS_LOGGED = 5
# Messages per unit of work handed to a worker process.
CHUNK = 500


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dg.asset(
    group_name="leads",
    kinds={"python"},
    deps=[parsed_messages],
    description="One lead candidate per parsed message: the person, company, phone, role, intent and signals.",
    **PARTITIONED,
)
def normalised_leads(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, lead_rules: LeadRulesResource
) -> dg.MaterializeResult:
    from lead_pipeline.leads.extract import candidates_of, use_firmographics
    from lead_pipeline.parallel import map_chunks

    store = lead_store.open()
    # Chunk by chunk over every core, each chunk saved as it comes back: memory holds a few chunks
    # whatever the window spans.
    chunks = store.iter_messages(window_of(context), columns=["landing_id", "record"], batch_size=CHUNK)
    n = with_domain = with_phone = forwarded = 0
    for candidates in map_chunks(candidates_of, chunks, initializer=use_firmographics,
                                 initargs=(lead_rules.firmographics(),)):
        store.save_lead_candidates(candidates)  # plain dicts already: no NaN to convert
        n += len(candidates)
        with_domain += sum(c["company_domain"] is not None for c in candidates)
        with_phone += sum(c["phone"] is not None for c in candidates)
        forwarded += sum(c["forwarded_by"] is not None for c in candidates)
    return dg.MaterializeResult(
        metadata={
            "candidates": n,
            "with_company_domain_rate": _rate(with_domain, n),
            "with_phone_rate": _rate(with_phone, n),
            "forwarded": forwarded,
        }
    )


@dg.asset(
    group_name="leads",
    kinds={"python"},
    deps=[normalised_leads],
    description="Candidates collapsed into leads: redeliveries, reply-all and forwarded copies count as duplicates.",
    **PARTITIONED,
)
def deduplicated_leads(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, compliance: ComplianceResource
) -> dg.MaterializeResult:
    from lead_pipeline.leads.dedup import assign_lead_ids, build_contacts, build_leads
    from lead_pipeline.stores.operational import records

    store = lead_store.open()
    window = window_of(context)
    candidates = store.read_lead_candidates(window)
    candidates["lead_id"] = assign_lead_ids(candidates, store.known_lead_ids(window))
    store.save_deliveries(
        records(candidates[["landing_id", "lead_id", "message_id", "sender_email", "received_date"]])
    )
    leads = build_leads(store.deliveries_of_leads_in(window))
    leads = leads.merge(store.delivery_provenance(leads["landing_id"].tolist()), on="landing_id", how="left")
    # A person erased before who writes again is a new lead, flagged so nobody mistakes it for old data.
    erased = compliance.previously_erased(store, leads["sender_email"].tolist())
    leads.loc[leads["sender_email"].isin(erased), "status"] = "erased_subject"
    store.save_leads(records(leads))
    contacts = build_contacts(store.leads_of_senders(leads["sender_email"].tolist()))
    store.save_contacts(records(contacts))
    deliveries = len(candidates)
    distinct = candidates["lead_id"].nunique() if deliveries else 0
    return dg.MaterializeResult(
        metadata={
            "deliveries": deliveries,
            "leads": int(distinct),
            "duplicates_collapsed": int(deliveries - distinct),
            "dedup_rate": _rate(deliveries - distinct, deliveries),
            "contacts": len(contacts),
            "returning_contacts": int((contacts["touches"] > 1).sum()) if len(contacts) else 0,
            "previously_erased": int(leads["sender_email"].isin(erased).sum()) if erased else 0,
        }
    )


@dg.asset(
    group_name="leads",
    kinds={"python"},
    deps=[deduplicated_leads],
    description="Each lead scored by the rules file, with a breakdown of every rule that fired, and routed.",
    **PARTITIONED,
)
def scored_leads(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, lead_rules: LeadRulesResource
) -> dg.MaterializeResult:
    from lead_pipeline.leads.features import scoring_frame
    from lead_pipeline.leads.scoring import score_leads
    from lead_pipeline.stores.operational import records

    from lead_pipeline.ingest.landing import utc_timestamp

    store = lead_store.open()
    active = lead_rules.scoring_rules(store, utc_timestamp(datetime.now(UTC)))
    if active.rejected:
        context.log.warning(f"rules file rejected, previous rules {active.version[:12]} stay in force: {active.rejected}")
    window = window_of(context)
    leads = store.read_leads_in(window)
    scores = score_leads(scoring_frame(leads, store.deliveries_of_leads_in(window)), active.rules)
    store.save_scores(records(scores))
    _log_top_leads(context, leads, scores)
    n = len(scores)
    routes = scores["route"].value_counts().to_dict() if n else {}
    metadata: dict[str, object] = {
        "rules_version": active.version[:12],
        "rules_file_rejected": dg.MetadataValue.text(active.rejected or "no"),
        "leads_scored": n,
        "mean_score": float(scores["score"].mean()) if n else 0.0,
        "qualified_rate": _rate(routes.get("crm", 0), n),
    }
    metadata.update({f"route_{route}": int(count) for route, count in sorted(routes.items())})
    return dg.MaterializeResult(metadata=metadata)


def _log_top_leads(context: dg.AssetExecutionContext, leads, scores) -> None:
    """The best leads of the run, for whoever watches it; the log filter masks their addresses and phones."""
    if scores.empty:
        return
    best = scores.nlargest(TOP_LEADS_LOGGED, "score").merge(
        leads[["lead_id", "sender_email", "company", "phone"]], on="lead_id"
    )
    for lead in best.itertuples(index=False):
        context.log.info(
            f"top lead {lead.lead_id}: {lead.sender_email} ({lead.company or 'no company'}, phone "
            f"{lead.phone or 'unknown'}) scored {lead.score}, route {lead.route}",
            extra={"lead_id": lead.lead_id, "score": int(lead.score), "route": lead.route},
        )
