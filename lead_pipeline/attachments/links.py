"""Short-lived download links to attachments, only for files that may be linked."""

from __future__ import annotations

import sqlalchemy as sa

from lead_pipeline.stores import schema
from lead_pipeline.stores.attachments import is_linkable
from lead_pipeline.stores.blobs import DEFAULT_LINK_SECONDS, BlobStore, check_digest
from lead_pipeline.stores.operational import OperationalStore


def download_link(store: OperationalStore, blobs: BlobStore, sha256: str,
                  expires_s: int = DEFAULT_LINK_SECONDS) -> tuple[str | None, str]:
    """(presigned URL, None when refused) and why: a file is linked only when every delivery that
    carried it has it stored and clean (or unscanned), and the backend can sign. ValueError when
    `sha256` is not a digest."""
    check_digest(sha256)
    t = schema.attachments
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(t.c.status, t.c.scan_status).where(t.c.sha256 == sha256))]
    if not rows:
        return None, "no attachment with this sha256"
    refused = [row for row in rows if not is_linkable(row)]
    if refused:
        return None, f"not linkable: status {refused[0]['status']}, scan {refused[0]['scan_status']}"
    link = blobs.signed_url(sha256, expires_s)
    if link is None:
        where = "a local folder cannot sign links" if blobs.is_local else "the blob is not stored"
        return None, f"no link: {where} ({blobs.url_of(sha256)})"
    return link, f"valid for {expires_s} s"
