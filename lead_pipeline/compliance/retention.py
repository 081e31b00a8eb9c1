"""Retention: unqualified leads older than a period go, with everything derived from their deliveries.

A lead expires when it was routed anywhere but `crm`, was never sent to the CRM, and its latest
delivery is older than the cutoff. Its deliveries (landing rows, parsed messages, candidates, dead
letters), ledger and nurture rows, warehouse rows and attachment blobs no other message uses are
removed; contacts left without any lead go too. Daily KPIs are aggregates and keep counting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import sqlalchemy as sa

from lead_pipeline.compliance import operational as op
from lead_pipeline.compliance import warehouse as wh
from lead_pipeline.stores import schema
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline.stores.operational import WRITE_CHUNK, OperationalStore, _chunks
from lead_pipeline.stores.warehouse import ensure_schema

QUALIFIED_ROUTE = "crm"


@dataclass(frozen=True)
class RetentionResult:
    cutoff_date: str
    leads: int
    deliveries: int
    operational_rows: dict[str, int]
    warehouse_rows: dict[str, int]
    blobs: int


def cutoff_date(now: datetime, older_than_days: int) -> str:
    return (now - timedelta(days=older_than_days)).date().isoformat()


def expired_leads(store: OperationalStore, cutoff: str) -> op.Owned:
    """Unqualified, never-published leads whose every delivery arrived before `cutoff` (an ISO day)."""
    leads, deliveries, ledger = schema.leads, schema.lead_deliveries, schema.publish_ledger
    latest = (
        sa.select(deliveries.c.lead_id).group_by(deliveries.c.lead_id)
        .having(sa.func.max(deliveries.c.received_date) < cutoff)
    )
    published = sa.select(ledger.c.lead_id).where(ledger.c.channel == "crm", ledger.c.state == "sent")
    stmt = (
        sa.select(leads.c.lead_id)
        .where(leads.c.route.is_not(None), leads.c.route != QUALIFIED_ROUTE)
        .where(leads.c.lead_id.in_(latest), ~leads.c.lead_id.in_(published))
    )
    owned = op.Owned()
    with store.engine.connect() as conn:
        owned.lead_ids.update(conn.execute(stmt).scalars())
        for chunk in _chunks(sorted(owned.lead_ids), WRITE_CHUNK):
            owned.landing_ids.update(
                conn.execute(sa.select(deliveries.c.landing_id).where(deliveries.c.lead_id.in_(chunk))).scalars()
            )
    return owned


def _delete_orphan_contacts(store: OperationalStore) -> int:
    c, leads = schema.contacts, schema.leads
    with store.engine.begin() as conn:
        return conn.execute(sa.delete(c).where(~c.c.contact_email.in_(sa.select(leads.c.sender_email)))).rowcount or 0


def apply_retention(
    store: OperationalStore, warehouse_path: Path, blobs: BlobStore, *, older_than_days: int, now: datetime
) -> RetentionResult:
    cutoff = cutoff_date(now, older_than_days)
    owned = expired_leads(store, cutoff)
    if not owned:
        return RetentionResult(cutoff, 0, 0, {}, {}, 0)
    attachments = op.attachment_hashes(store, owned.landing_ids)
    removed = op.delete_owned(store, owned)
    orphans = _delete_orphan_contacts(store)
    if orphans:
        removed["contacts"] = orphans
    op.add_tombstones(store, owned, "retention", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse_path)) as conn:
        ensure_schema(conn)
        warehouse_removed = wh.delete_owned(conn, owned)
        (orphans,) = conn.execute(
            "DELETE FROM contacts WHERE contact_email NOT IN (SELECT sender_email FROM leads)"
        ).fetchone()
        if orphans:
            warehouse_removed["contacts"] = int(orphans)
        still_used = {d for (d,) in conn.execute(
            "SELECT DISTINCT sha256 FROM lead_attachments WHERE list_contains(?::VARCHAR[], sha256)",
            [sorted(attachments)]).fetchall()}
    wh.rewrite(warehouse_path)
    still_used |= op.hashes_still_referenced(store, attachments)
    deleted_blobs = sum(blobs.delete(digest) for digest in sorted(attachments - still_used))
    op.compact(store, set(removed) | {"landing_tombstones"}, full=False)
    return RetentionResult(
        cutoff, len(owned.lead_ids), len(owned.landing_ids), removed, warehouse_removed, deleted_blobs
    )
