import dagster as dg

from lead_pipeline.defs.attachments.assets import stored_attachments
from lead_pipeline.defs.leads.assets import scored_leads
from lead_pipeline.defs.parse.assets import parsed_messages
from lead_pipeline.defs.publish.assets import published_leads
from lead_pipeline.defs.partitions import daily_partitions, single_run_backfill, window_of
from lead_pipeline.defs.resources import (
    WAREHOUSE_WRITERS, BlobStoreResource, LeadStoreResource, ReportsResource, WarehouseResource,
)

PARTITIONED = {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill}
WAREHOUSE = {"group_name": "warehouse", "kinds": {"duckdb"}}
# Operational message rows read at once to make warehouse rows of.
MESSAGE_BATCH = 500


@dg.asset(
    key=["warehouse", "messages"], deps=[parsed_messages, scored_leads],
    description="Parsed inbound messages, one row per delivery, with the lead each belongs to.",
    **WAREHOUSE, **PARTITIONED, **WAREHOUSE_WRITERS,
)
def warehouse_messages(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    import pandas as pd

    from lead_pipeline.stores import warehouse as tables
    from lead_pipeline.stores.operational import delivery_leads

    store = lead_store.open()
    window = window_of(context)
    lead_of = delivery_leads(store, window)
    # Batch by batch: the window's raw records are never all in memory, only the rows made of them.
    frames = [tables.message_rows(pd.DataFrame(rows, columns=list(rows[0]._fields)), lead_of)
              for rows in store.iter_messages(window, batch_size=MESSAGE_BATCH)]
    frame = pd.concat(frames, ignore_index=True) if frames else tables.message_rows(store.read_messages(window), {})
    with warehouse.open() as conn:
        written = tables.replace_messages(conn, window, frame)
    duplicates = int(frame["is_duplicate"].fillna(False).astype(bool).sum()) if written else 0
    return dg.MaterializeResult(metadata={"rows": written, "duplicates": duplicates})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["warehouse", "leads"], deps=[scored_leads, published_leads],
                     description="Deduplicated, scored, routed leads, with their publication status.", **WAREHOUSE),
        dg.AssetSpec(["warehouse", "lead_attachments"], deps=[scored_leads, stored_attachments],
                     description="Attachment metadata of each lead's message.", **WAREHOUSE),
        dg.AssetSpec(["warehouse", "contacts"], deps=[scored_leads],
                     description="One row per person; each of their leads is a touch.", **WAREHOUSE),
    ],
    **PARTITIONED, **WAREHOUSE_WRITERS,
)
def warehouse_leads(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, warehouse: WarehouseResource,
    blobs: BlobStoreResource,
):
    from lead_pipeline.stores import warehouse as tables
    from lead_pipeline.stores.attachments import read_attachments
    from lead_pipeline.stores.operational import message_records

    from lead_pipeline.stores.publishing import ledger_rows

    store = lead_store.open()
    leads = store.read_leads_in(window_of(context))
    leads = tables.with_publication(leads, ledger_rows(store, "crm", leads["lead_id"].tolist()))
    blob_store = blobs.open()
    landing_ids = leads["landing_id"].tolist()
    attachments = tables.attachment_rows(
        leads, message_records(store, landing_ids, fields=["attachments"]),
        storage_url=lambda sha256: blob_store.url_of(sha256) if blob_store.has(sha256) else None,
        taken_by_landing=read_attachments(store, landing_ids),
    )
    frame = leads[tables.columns("leads")]
    contacts = store.read_contacts(leads["sender_email"].tolist())[tables.columns("contacts")]
    with warehouse.open() as conn:
        written = tables.replace_leads(conn, frame)
        tables.replace_lead_attachments(conn, frame["lead_id"].tolist(), attachments)
        tables.replace_contacts(conn, contacts)
    qualified = int((frame["route"] == "crm").sum()) if written else 0
    yield dg.MaterializeResult(
        asset_key=["warehouse", "leads"],
        metadata={"rows": written, "qualified": qualified, "qualified_rate": qualified / written if written else 0.0},
    )
    yield dg.MaterializeResult(asset_key=["warehouse", "lead_attachments"], metadata={"rows": len(attachments)})
    yield dg.MaterializeResult(
        asset_key=["warehouse", "contacts"],
        metadata={"rows": len(contacts), "returning": int((contacts["touches"] > 1).sum()) if len(contacts) else 0},
    )


@dg.asset(
    key=["warehouse", "dead_letters"], deps=[parsed_messages],
    description="Input that could not be processed, with the reason and a reference to the raw payload.",
    **WAREHOUSE, **PARTITIONED, **WAREHOUSE_WRITERS,
)
def warehouse_dead_letters(
    context: dg.AssetExecutionContext, lead_store: LeadStoreResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from lead_pipeline.stores import warehouse as tables

    window = window_of(context)
    frame = lead_store.open().read_dead_letters(window).rename(columns={"raw_ref": "raw"})
    with warehouse.open() as conn:
        written = tables.replace_dead_letters(conn, window, frame[tables.columns("dead_letters")])
    return dg.MaterializeResult(metadata={"rows": written})


@dg.asset(
    key=["warehouse", "kpi_daily"],
    deps=[["warehouse", "messages"], ["warehouse", "leads"], ["warehouse", "dead_letters"]],
    description="Day × source alias: volume, parse success, duplicates, qualification.",
    **WAREHOUSE, **PARTITIONED, **WAREHOUSE_WRITERS,
)
def kpi_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from lead_pipeline.stores import warehouse as tables

    with warehouse.open() as conn:
        frame = tables.refresh_kpi_daily(conn, window_of(context))
    messages = int(frame["messages"].sum())
    parsed = int(frame["parsed"].sum())
    leads = int(frame["leads"].sum())
    qualified = int(frame["qualified"].sum())
    return dg.MaterializeResult(
        metadata={
            "messages": messages,
            "parse_success_rate": parsed / messages if messages else 1.0,
            "duplicates_collapsed": int(frame["duplicates_collapsed"].sum()),
            "dead_letters": int(frame["dead_letters"].sum()),
            "leads": leads,
            "qualified": qualified,
            "qualification_rate": qualified / leads if leads else 0.0,
        }
    )


@dg.asset(
    deps=[kpi_daily], group_name="reports", kinds={"html"}, **WAREHOUSE_WRITERS,
    description=(
        "Charts of the KPIs (volume and qualified leads by day and alias, latency to the CRM, score "
        "distribution) as an offline HTML page and a PNG under LEAD_PIPELINE_HOME/reports."
    ),
)
def kpi_report(warehouse: WarehouseResource, reports: ReportsResource) -> dg.MaterializeResult:
    from lead_pipeline.reports.kpi_report import read_kpi_data, render

    with warehouse.open() as conn:
        data = read_kpi_data(conn)
    report = render(data)
    html = reports.publish("kpi_report.html", report.html.encode())
    png = reports.publish("kpi_report.png", report.png)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(html.as_uri()),
            "html_path": dg.MetadataValue.path(str(html)),
            "png_path": dg.MetadataValue.path(str(png)),
            "png_bytes": len(report.png),
            "days": len(data.days),
            "first_day": report.first_day or "",
            "last_day": report.last_day or "",
            **report.totals,
        }
    )
