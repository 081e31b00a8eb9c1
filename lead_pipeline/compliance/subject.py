"""Subject access (export) and erasure over every store: operational, warehouse, blobs, landing, dead letters.

A request is filed with the clear address in `subject_requests`; the job that serves it is given
only the request id, and completing the request clears the address from the row. Erasure keeps a
keyed hash in `erasure_log` so a later delivery from the same person is recognised, and tombstones
the erased deliveries so re-reading the mailbox cannot land them again.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

from lead_pipeline.compliance import operational as op
from lead_pipeline.compliance import warehouse as wh
from lead_pipeline.compliance.identity import Subject, email_hash
from lead_pipeline.stores import schema
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline.stores.operational import WRITE_CHUNK, OperationalStore, _chunks
from lead_pipeline.stores.warehouse import ensure_schema

EXPORT, ERASE = "export", "erase"
PENDING, COMPLETED = "pending", "completed"


class SubjectRequestError(RuntimeError):
    """A request that cannot be served; its message never contains the address."""


@dataclass(frozen=True)
class SubjectRequest:
    request_id: str
    kind: str
    email: str | None
    email_hash: str
    output_path: str | None
    status: str
    result: dict[str, Any] | None
    last_error: str | None = None


def file_request(
    store: OperationalStore, salt: bytes, kind: str, email: str, now: str, output_path: str | None = None
) -> str:
    """Record a pending request and return its id (what the job is given instead of the address)."""
    subject = Subject.of(email)
    request_id = uuid.uuid4().hex
    with store.engine.begin() as conn:
        conn.execute(sa.insert(schema.subject_requests).values(
            request_id=request_id, kind=kind, email_hash=email_hash(salt, subject.email), email=subject.email,
            output_path=output_path, status=PENDING, requested_at=now,
        ))
    return request_id


def read_request(store: OperationalStore, request_id: str) -> SubjectRequest:
    t = schema.subject_requests
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.request_id == request_id)).first()
    if row is None:
        raise SubjectRequestError(f"no subject request {request_id}")
    return SubjectRequest(
        row.request_id, row.kind, row.email, row.email_hash, row.output_path, row.status,
        json.loads(row.result) if row.result else None, row.last_error,
    )


def _complete(store: OperationalStore, request: SubjectRequest, result: dict[str, Any], now: str,
              subject: Subject) -> None:
    """Mark done and clear the address; an erasure also clears it from the person's earlier requests."""
    t = schema.subject_requests
    which = t.c.request_id == request.request_id
    if request.kind == ERASE:
        which = which | ((t.c.email_hash == request.email_hash) & (t.c.status == COMPLETED))
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        for row in conn.execute(sa.select(t.c.request_id, t.c.output_path).where(which)).fetchall():
            conn.execute(sa.update(t).where(t.c.request_id == row.request_id).values(
                email=None, output_path=subject.redact(row.output_path) if request.kind == ERASE else row.output_path,
            ))
        conn.execute(sa.update(t).where(t.c.request_id == request.request_id).values(
            status=COMPLETED, result=json.dumps(result, sort_keys=True), completed_at=now, last_error=None,
        ))


@dataclass
class Holdings:
    """Everything held about one person, per store."""

    owned: op.Owned
    operational: dict[str, list[dict[str, Any]]]
    warehouse: dict[str, list[dict[str, Any]]]
    operational_mentions: list[op.Mention]
    warehouse_mentions: list[dict[str, Any]]
    attachments: set[str]

    def counts(self) -> dict[str, Any]:
        return {
            "operational": {table: len(rows) for table, rows in self.operational.items()},
            "warehouse": {table: len(rows) for table, rows in self.warehouse.items()},
            "redacted": {
                "operational": _tally(m.table for m in self.operational_mentions),
                "warehouse": _tally(m["table"] for m in self.warehouse_mentions),
            },
        }


def _tally(names) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in names:
        out[name] = out.get(name, 0) + 1
    return out


def collect(store: OperationalStore, warehouse_path: Path, subject: Subject) -> Holdings:
    owned = op.find_subject(store, subject)
    with _warehouse(warehouse_path) as conn:
        wh.extend_owned(conn, owned)
        warehouse_rows = wh.owned_rows(conn, owned)
        warehouse_mentions = wh.mentions(conn, subject, owned)
    operational_rows = op.owned_rows(store, owned)
    attachments = op.attachment_hashes(store, owned.landing_ids)
    for rows in (*operational_rows.values(), *warehouse_rows.values()):
        attachments.update(row["sha256"] for row in rows if row.get("sha256"))
    return Holdings(owned, operational_rows, warehouse_rows, op.mentions(store, subject, owned),
                    warehouse_mentions, attachments)


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    ensure_schema(conn)
    return conn


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def export_subject(
    store: OperationalStore, warehouse_path: Path, blobs: BlobStore, subject: Subject, out: Path, now: str
) -> dict[str, Any]:
    """Write everything held about the subject as one JSON file; returns the row counts it lists."""
    held = collect(store, warehouse_path, subject)
    document = {
        "subject": subject.email,
        "exported_at": now,
        "operational": held.operational,
        "warehouse": held.warehouse,
        "mentions": {
            "operational": [{"table": m.table, "key": m.key, "columns": m.columns} for m in held.operational_mentions],
            "warehouse": [{"table": m["table"], "key": m["key"], "columns": m["columns"]}
                          for m in held.warehouse_mentions],
        },
        "attachments": [
            {"sha256": digest, "content": blobs.read(digest)} if blobs.has(digest) else {"sha256": digest, "content": None}
            for digest in sorted(held.attachments)
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1, default=_json_value)
    os.replace(partial, out)
    return {**held.counts(), "attachments": len(held.attachments)}


def erase_subject(
    store: OperationalStore, warehouse_path: Path, blobs: BlobStore, subject: Subject, salt: bytes, now: str
) -> dict[str, Any]:
    """Remove the subject from every store and log their keyed hash; returns what was removed per table."""
    held = collect(store, warehouse_path, subject)
    removed = {
        "operational": op.delete_owned(store, held.owned),
        "redacted": {"operational": op.redact_mentions(store, subject, held.operational_mentions)},
    }
    removed["tombstones"] = op.add_tombstones(store, held.owned, ERASE, now)
    _log_erasure(store, email_hash(salt, subject.email), now)
    with _warehouse(warehouse_path) as conn:
        removed["warehouse"] = wh.delete_owned(conn, held.owned)
        removed["redacted"]["warehouse"] = wh.redact_mentions(conn, subject, held.warehouse_mentions)
        wh.refresh_kpis(conn, wh.affected_days(held.warehouse))
    wh.rewrite(warehouse_path)
    still_used = op.hashes_still_referenced(store, held.attachments)
    with _warehouse(warehouse_path) as conn:
        still_used |= {d for (d,) in conn.execute(
            "SELECT DISTINCT sha256 FROM lead_attachments WHERE list_contains(?::VARCHAR[], sha256)",
            [sorted(held.attachments)]).fetchall()}
    removed["blobs"] = sum(blobs.delete(digest) for digest in sorted(held.attachments - still_used))
    return removed


def _log_erasure(store: OperationalStore, hashed: str, now: str) -> None:
    t = schema.erasure_log
    with store.engine.begin() as conn:
        updated = conn.execute(
            sa.update(t).where(t.c.email_hash == hashed).values(last_erased_at=now, erasures=t.c.erasures + 1)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(t).values(email_hash=hashed, first_erased_at=now, last_erased_at=now, erasures=1))


def touched_tables(result: dict[str, Any]) -> set[str]:
    return {*result.get("operational", {}), *result.get("redacted", {}).get("operational", {}),
            "subject_requests", "landing_tombstones", "erasure_log"}


def serve_request(
    store: OperationalStore, warehouse_path: Path, blobs: BlobStore, request_id: str, salt: bytes, now: str
) -> dict[str, Any]:
    """Serve one filed request (what the Dagster jobs call); serving a completed one again only re-compacts."""
    request = read_request(store, request_id)
    if request.status == COMPLETED:
        if request.kind == ERASE:
            op.compact(store, touched_tables(request.result or {}))
        return request.result or {}
    if not request.email:
        raise SubjectRequestError(f"subject request {request_id} has no address")
    subject = Subject.of(request.email)
    try:
        if request.kind == EXPORT:
            if not request.output_path:
                raise SubjectRequestError(f"export request {request_id} has no output path")
            result = export_subject(store, warehouse_path, blobs, subject, Path(request.output_path), now)
        elif request.kind == ERASE:
            result = erase_subject(store, warehouse_path, blobs, subject, salt, now)
        else:
            raise SubjectRequestError(f"unknown request kind {request.kind!r}")
        _complete(store, request, result, now, subject)
        if request.kind == ERASE:
            op.compact(store, touched_tables(result))
    except SubjectRequestError as exc:
        _record_failure(store, request_id, str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised without the address, which driver errors quote
        reason = subject.scrub(f"{type(exc).__name__}: {exc}")
        _record_failure(store, request_id, reason)
        raise SubjectRequestError(reason) from None
    return result


def _record_failure(store: OperationalStore, request_id: str, reason: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.update(schema.subject_requests)
                     .where(schema.subject_requests.c.request_id == request_id).values(last_error=reason))


def anyone_erased(store: OperationalStore) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(schema.erasure_log.c.email_hash).limit(1)).first() is not None


def previously_erased(store: OperationalStore, salt: bytes, emails: list[str]) -> set[str]:
    """The addresses among `emails` whose keyed hash is in the erasure log."""
    hashed = {email_hash(salt, email): email for email in set(emails) if email}
    if not hashed:
        return set()
    t = schema.erasure_log
    found: set[str] = set()
    with store.engine.connect() as conn:
        for chunk in _chunks(sorted(hashed), WRITE_CHUNK):
            found.update(hashed[h] for h in conn.execute(sa.select(t.c.email_hash).where(t.c.email_hash.in_(chunk))).scalars())
    return found
