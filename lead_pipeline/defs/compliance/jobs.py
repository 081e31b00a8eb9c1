"""Subject access export, erasure and retention as jobs. A subject request reaches a run as its id only:
the address stays in the operational store's request row, out of run config, tags and logs."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from lead_pipeline.defs.compliance.resources import ComplianceResource
from lead_pipeline.defs.resources import WAREHOUSE_WRITERS, BlobStoreResource, LeadStoreResource, WarehouseResource

DEFAULT_RETENTION_DAYS = 365


class SubjectRequestConfig(dg.Config):
    request_id: str
    """The id `lead-pipeline export/erase` filed in `subject_requests`."""


def _serve(context: dg.OpExecutionContext, kind: str, request_id: str, lead_store: LeadStoreResource,
           warehouse: WarehouseResource, blobs: BlobStoreResource, compliance: ComplianceResource) -> dict:
    from lead_pipeline.compliance.subject import read_request, serve_request
    from lead_pipeline.ingest.landing import utc_timestamp

    store = lead_store.open()
    request = read_request(store, request_id)
    if request.kind != kind:
        raise dg.Failure(f"request {request_id} is a {request.kind} request, not {kind}")
    result = serve_request(
        store, Path(warehouse.database), blobs.open(), request_id, compliance.salt(), utc_timestamp(datetime.now(UTC))
    )
    store.dispose()
    operational = result.get("operational", {})
    stored = result.get("warehouse", {})
    redacted = result.get("redacted", {})
    context.add_output_metadata({
        "operational_rows": sum(operational.values()),
        "warehouse_rows": sum(stored.values()),
        "redacted_rows": sum(sum(per.values()) for per in redacted.values()),
        "attachments" if kind == "export" else "blobs_deleted": result.get("attachments", result.get("blobs", 0)),
        "rows_per_table": dg.MetadataValue.json({"operational": operational, "warehouse": stored, "redacted": redacted}),
    })
    context.log.info(f"subject request {request_id} ({kind}) completed")
    return result


@dg.op(**WAREHOUSE_WRITERS, description="Write everything held about the request's address as one JSON file.")
def export_subject(context: dg.OpExecutionContext, config: SubjectRequestConfig, lead_store: LeadStoreResource,
                   warehouse: WarehouseResource, blobs: BlobStoreResource, compliance: ComplianceResource) -> None:
    _serve(context, "export", config.request_id, lead_store, warehouse, blobs, compliance)


@dg.op(**WAREHOUSE_WRITERS, description="Remove the request's address from every store; keep only its keyed hash in the erasure log.")
def erase_subject(context: dg.OpExecutionContext, config: SubjectRequestConfig, lead_store: LeadStoreResource,
                  warehouse: WarehouseResource, blobs: BlobStoreResource, compliance: ComplianceResource) -> None:
    _serve(context, "erase", config.request_id, lead_store, warehouse, blobs, compliance)


@dg.job(description="Subject access: export what is held about a person (config: the request id).")
def subject_export_job():
    export_subject()


@dg.job(description="Erasure: remove a person from every store (config: the request id).")
def subject_erasure_job():
    erase_subject()


class RetentionConfig(dg.Config):
    older_than_days: int = DEFAULT_RETENTION_DAYS
    """Unqualified leads whose latest delivery is older than this are removed."""


@dg.op(**WAREHOUSE_WRITERS, description="Remove unqualified, unpublished leads older than the period, with their deliveries and blobs.")
def apply_retention(context: dg.OpExecutionContext, config: RetentionConfig, lead_store: LeadStoreResource,
                    warehouse: WarehouseResource, blobs: BlobStoreResource) -> None:
    from lead_pipeline.compliance.retention import apply_retention as retain

    store = lead_store.open()
    result = retain(store, Path(warehouse.database), blobs.open(), older_than_days=config.older_than_days,
                    now=datetime.now(UTC))
    store.dispose()
    context.log.info(f"retention before {result.cutoff_date}: {result.leads} leads, {result.deliveries} deliveries")
    context.add_output_metadata({
        "cutoff_date": result.cutoff_date,
        "leads": result.leads,
        "deliveries": result.deliveries,
        "operational_rows": sum(result.operational_rows.values()),
        "warehouse_rows": sum(result.warehouse_rows.values()),
        "blobs_deleted": result.blobs,
        "rows_per_table": dg.MetadataValue.json({"operational": result.operational_rows,
                                                 "warehouse": result.warehouse_rows}),
    })


@dg.job(name="retention", description="Remove unqualified leads older than the retention period.")
def retention_job():
    apply_retention()


def retention_schedule(retention_days: int | None) -> dg.ScheduleDefinition:
    """Daily at 03:00 UTC; running by default only when `LEAD_RETENTION_DAYS` is set."""
    return dg.ScheduleDefinition(
        name="retention_daily",
        job=retention_job,
        cron_schedule="0 3 * * *",
        execution_timezone="UTC",
        run_config={"ops": {"apply_retention": {"config": {
            "older_than_days": retention_days or DEFAULT_RETENTION_DAYS}}}},
        default_status=dg.DefaultScheduleStatus.RUNNING if retention_days else dg.DefaultScheduleStatus.STOPPED,
    )
