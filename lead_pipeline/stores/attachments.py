"""Attachment metadata in the operational store: one row per (delivery, sha256); the bytes are in the
blob store. Rows are rewritten when an attachment is taken in again (a scan that failed is retried)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import WRITE_CHUNK, OperationalStore, _chunks

STORED, QUARANTINED, REJECTED, MISSING = "stored", "quarantined", "rejected", "missing"
LINKABLE_SCANS = ("clean", "unscanned")


def is_linkable(row: dict[str, Any]) -> bool:
    """Only stored bytes that no scanner flagged or failed on may get a URL or a download link."""
    return row["status"] == STORED and row["scan_status"] in LINKABLE_SCANS


def record_attachments(store: OperationalStore, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    t = schema.attachments
    update = [c.name for c in t.c if c.name not in ("landing_id", "sha256")]
    with store.engine.begin() as conn:
        store._insert(conn, t, rows, conflict=["landing_id", "sha256"], update=update)


def read_attachments(store: OperationalStore, landing_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each delivery's attachment rows, in message order."""
    t = schema.attachments
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(list(dict.fromkeys(landing_ids)), WRITE_CHUNK):
            stmt = sa.select(t).where(t.c.landing_id.in_(chunk)).order_by(t.c.landing_id, t.c.position)
            for row in conn.execute(stmt):
                out.setdefault(row.landing_id, []).append(dict(row._mapping))
    return out


def landed_payloads(store: OperationalStore, landing_ids: Sequence[str]) -> Iterator[sa.Row]:
    """(landing_id, source_ref, payload_format, raw) of the given deliveries."""
    t = schema.landing
    with store.engine.connect() as conn:
        for chunk in _chunks(list(landing_ids), 100):
            yield from conn.execute(sa.select(t.c.landing_id, t.c.source_ref, t.c.payload_format, t.c.raw).where(t.c.landing_id.in_(chunk)))


def forget_attachments(store: OperationalStore, landing_ids: Sequence[str]) -> list[str]:
    """Delete the deliveries' attachment rows (erasure); returns the sha256 of the blobs no remaining
    row refers to, for `BlobStore.delete`. A blob shared with another delivery is kept."""
    t = schema.attachments
    ids = list(dict.fromkeys(landing_ids))
    with store.engine.begin() as conn:
        digests: set[str] = set()
        for chunk in _chunks(ids, WRITE_CHUNK):
            digests.update(conn.execute(sa.select(t.c.sha256).where(t.c.landing_id.in_(chunk))).scalars())
            conn.execute(t.delete().where(t.c.landing_id.in_(chunk)))
        still_used: set[str] = set()
        for chunk in _chunks(sorted(digests), WRITE_CHUNK):
            still_used.update(conn.execute(sa.select(t.c.sha256).where(t.c.sha256.in_(chunk))).scalars())
    return sorted(digests - still_used)
