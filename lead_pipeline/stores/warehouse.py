"""The DuckDB warehouse analysts query: table definitions and idempotent partition writes.

Every write replaces exactly the rows its partition (or its set of leads) owns, inside one
transaction, so re-running a partition never duplicates a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pandas as pd

from lead_pipeline.logs import redact
from lead_pipeline.stores.attachments import is_linkable
from lead_pipeline.stores.window import DateWindow

# Column definitions per table; the DDL and the column order of every insert come from here.
TABLES: dict[str, list[tuple[str, str]]] = {
    "messages": [
        ("landing_id", "VARCHAR PRIMARY KEY"),
        ("message_id", "VARCHAR NOT NULL"),
        ("provider_id", "VARCHAR"),
        ("lead_id", "VARCHAR"),
        ("is_duplicate", "BOOLEAN"),
        ("source", "VARCHAR NOT NULL"),
        ("source_ref", "VARCHAR NOT NULL"),
        ("source_alias", "VARCHAR"),
        ("received_at", "TIMESTAMPTZ NOT NULL"),
        ("received_date", "DATE NOT NULL"),
        ("sender_email", "VARCHAR NOT NULL"),
        ("sender_name", "VARCHAR"),
        ("to_addresses", "JSON"),
        ("cc_addresses", "JSON"),
        ("subject", "VARCHAR"),
        ("text", "VARCHAR"),
        ("spf", "VARCHAR"),
        ("dkim", "VARCHAR"),
        ("dmarc", "VARCHAR"),
        ("spam_score", "DOUBLE"),
        ("attachment_count", "INTEGER"),
        ("in_reply_to", "VARCHAR"),
        ("reply_text", "VARCHAR"),
        ("signature", "VARCHAR"),
        ("language", "VARCHAR"),
        ("content_hash", "VARCHAR NOT NULL"),
        ("warnings", "JSON"),
        ("parsed_at", "TIMESTAMPTZ NOT NULL"),
    ],
    "leads": [
        ("lead_id", "VARCHAR PRIMARY KEY"),
        ("message_id", "VARCHAR NOT NULL"),
        ("sender_email", "VARCHAR NOT NULL"),
        ("sender_name", "VARCHAR"),
        ("forwarded_by", "VARCHAR"),
        ("company", "VARCHAR"),
        ("company_domain", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("role", "VARCHAR"),
        ("subject", "VARCHAR"),
        ("intent", "VARCHAR NOT NULL"),
        ("budget_amount", "DOUBLE"),
        ("budget_currency", "VARCHAR"),
        ("timeline", "VARCHAR"),
        ("team_size", "INTEGER"),
        ("source_alias", "VARCHAR"),
        ("received_at", "TIMESTAMPTZ NOT NULL"),
        ("received_date", "DATE NOT NULL"),
        ("content_hash", "VARCHAR NOT NULL"),
        ("score", "INTEGER"),
        ("score_breakdown", "JSON"),
        ("route", "VARCHAR"),
        ("status", "VARCHAR NOT NULL"),
        ("duplicate_count", "INTEGER NOT NULL"),
        ("published_at", "TIMESTAMPTZ"),
        # Provenance: the earliest delivery of the lead, its source, parse time, signature check, raw bytes' hash.
        ("landing_id", "VARCHAR"),
        ("source", "VARCHAR"),
        ("parsed_at", "TIMESTAMPTZ"),
        ("signature_verification", "VARCHAR"),
        ("raw_sha256", "VARCHAR"),
    ],
    "contacts": [
        ("contact_email", "VARCHAR PRIMARY KEY"),
        ("name", "VARCHAR"),
        ("company", "VARCHAR"),
        ("company_domain", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("role", "VARCHAR"),
        ("first_seen_at", "TIMESTAMPTZ NOT NULL"),
        ("last_seen_at", "TIMESTAMPTZ NOT NULL"),
        ("touches", "INTEGER NOT NULL"),
        ("latest_lead_id", "VARCHAR NOT NULL"),
    ],
    "lead_attachments": [
        ("lead_id", "VARCHAR NOT NULL"),
        ("landing_id", "VARCHAR NOT NULL"),
        ("filename", "VARCHAR"),
        ("content_type", "VARCHAR"),
        ("size", "BIGINT"),
        ("sha256", "VARCHAR NOT NULL"),
        ("storage_url", "VARCHAR"),
        ("scan_status", "VARCHAR NOT NULL"),
    ],
    "dead_letters": [
        ("dead_letter_id", "VARCHAR PRIMARY KEY"),
        ("stage", "VARCHAR NOT NULL"),
        ("source", "VARCHAR NOT NULL"),
        ("source_ref", "VARCHAR NOT NULL"),
        ("source_alias", "VARCHAR"),
        ("landing_id", "VARCHAR"),
        ("reason", "VARCHAR NOT NULL"),
        ("raw", "VARCHAR NOT NULL"),
        ("received_date", "DATE NOT NULL"),
        ("failed_at", "TIMESTAMPTZ NOT NULL"),
    ],
    "kpi_daily": [
        ("day", "DATE NOT NULL"),
        ("source_alias", "VARCHAR NOT NULL"),
        ("messages", "INTEGER NOT NULL"),
        ("parsed", "INTEGER NOT NULL"),
        ("dead_letters", "INTEGER NOT NULL"),
        ("parse_success_rate", "DOUBLE"),
        ("duplicates_collapsed", "INTEGER NOT NULL"),
        ("leads", "INTEGER NOT NULL"),
        ("qualified", "INTEGER NOT NULL"),
        ("qualification_rate", "DOUBLE"),
        ("median_latency_to_crm_s", "DOUBLE"),
        ("p95_latency_to_crm_s", "DOUBLE"),
    ],
}
# Tables whose key spans several columns.
COMPOSITE_KEYS = {
    "lead_attachments": "lead_id, sha256",
    "kpi_daily": "day, source_alias",
}
UNKNOWN_ALIAS = "(unknown)"


def columns(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    existing = set(conn.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = current_schema()").fetchall())
    for table, definitions in TABLES.items():
        parts = [f"{name} {sql_type}" for name, sql_type in definitions]
        if table in COMPOSITE_KEYS:
            parts.append(f"PRIMARY KEY ({COMPOSITE_KEYS[table]})")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)})")
        # Columns added since the warehouse was created; constraints apply to new tables only.
        for name, sql_type in definitions:
            if (table, name) not in existing and "NOT NULL" not in sql_type and "PRIMARY KEY" not in sql_type:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {sql_type}")


def _replace(
    conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, delete_sql: str, params: Sequence[Any] = (),
    owned: pd.DataFrame | None = None,
) -> int:
    """Delete the rows the caller owns, then insert `frame`, in one transaction. `owned`, when given, is a
    frame of the owned keys that `delete_sql` reads as the table `owned` (a join, not one parameter per key)."""
    registered = {"incoming": frame, "owned": owned}
    registered = {name: rows for name, rows in registered.items() if rows is not None and not rows.empty}
    for name, rows in registered.items():
        conn.register(name, rows)
    conn.execute("BEGIN TRANSACTION")
    try:
        if owned is None or "owned" in registered:
            conn.execute(delete_sql, list(params))
        if "incoming" in registered:
            columns = ", ".join(frame.columns)
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
        conn.execute("COMMIT")
    except duckdb.Error as exc:
        conn.execute("ROLLBACK")
        # A constraint error quotes the offending key (a contact's address) into the run's failure.
        masked = redact(str(exc))
        if masked == str(exc):
            raise
        raise type(exc)(masked) from None
    except Exception:
        conn.execute("ROLLBACK")
        raise
    finally:
        # Only after COMMIT or ROLLBACK: an aborted transaction refuses it, hiding the error.
        for name in registered:
            conn.unregister(name)
    return len(frame)


def replace_messages(conn: duckdb.DuckDBPyConnection, window: DateWindow, frame: pd.DataFrame) -> int:
    return _replace(
        conn, "messages", frame, "DELETE FROM messages WHERE received_date >= ? AND received_date < ?",
        [window.start, window.end],
    )


def replace_dead_letters(conn: duckdb.DuckDBPyConnection, window: DateWindow, frame: pd.DataFrame) -> int:
    return _replace(
        conn, "dead_letters", frame, "DELETE FROM dead_letters WHERE received_date >= ? AND received_date < ?",
        [window.start, window.end],
    )


def _replace_by_key(
    conn: duckdb.DuckDBPyConnection, table: str, key: str, keys: Sequence[str], frame: pd.DataFrame
) -> int:
    """Replace the rows of `table` whose `key` is one of `keys` with `frame`."""
    owned = pd.DataFrame({"key": pd.Series(list(keys), dtype=object)})
    return _replace(conn, table, frame, f"DELETE FROM {table} WHERE {key} IN (SELECT key FROM owned)", owned=owned)


def replace_leads(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    return _replace_by_key(conn, "leads", "lead_id", frame["lead_id"].tolist(), frame)


def replace_contacts(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    return _replace_by_key(conn, "contacts", "contact_email", frame["contact_email"].tolist(), frame)


def replace_lead_attachments(
    conn: duckdb.DuckDBPyConnection, lead_ids: Sequence[str], frame: pd.DataFrame
) -> int:
    return _replace_by_key(conn, "lead_attachments", "lead_id", lead_ids, frame)


def message_rows(messages: pd.DataFrame, lead_of: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    """Warehouse `messages` rows from operational message rows and each delivery's lead."""
    rows = []
    for row in messages.itertuples(index=False):
        record = json.loads(row.record)
        headers = record.get("headers") or {}
        lead_id, is_duplicate = lead_of.get(row.landing_id, (None, None))
        rows.append({
            "landing_id": row.landing_id,
            "message_id": row.message_id,
            "provider_id": record.get("id"),
            "lead_id": lead_id,
            "is_duplicate": is_duplicate,
            "source": row.source,
            "source_ref": row.source_ref,
            "source_alias": row.source_alias,
            "received_at": row.received_at,
            "received_date": row.received_date,
            "sender_email": row.sender_email,
            "sender_name": row.sender_name,
            "to_addresses": json.dumps(record.get("to") or [], ensure_ascii=False),
            "cc_addresses": json.dumps(record.get("cc") or [], ensure_ascii=False),
            "subject": row.subject,
            "text": record.get("text"),
            "spf": headers.get("spf"),
            "dkim": headers.get("dkim"),
            "dmarc": headers.get("dmarc"),
            "spam_score": record.get("spamScore"),
            "attachment_count": len(record.get("attachments") or []),
            "in_reply_to": (record.get("thread") or {}).get("inReplyTo"),
            "reply_text": row.reply_text,
            "signature": record.get("signature"),
            "language": row.language,
            "content_hash": row.content_hash,
            "warnings": json.dumps(record.get("warnings") or [], ensure_ascii=False),
            "parsed_at": row.parsed_at,
        })
    return pd.DataFrame(rows, columns=columns("messages"))


# What the CRM channel of the publish ledger says about a lead, as the lead's status.
CRM_STATUS = {"sent": "published", "recorded_unsent": "ready", "failed": "publish_failed", "pending": "publishing"}


def with_publication(leads: pd.DataFrame, crm_ledger: dict[str, Any]) -> pd.DataFrame:
    """Leads with `status` and `published_at` from the CRM ledger (rows keyed by lead_id)."""
    status, published_at = [], []
    for lead_id, current in zip(leads["lead_id"], leads["status"], strict=True):
        row = crm_ledger.get(lead_id)
        state = CRM_STATUS.get(row.state, current) if row is not None else current
        if row is not None and row.state == "sent" and row.flag_reason:
            state = "published_flagged"
        status.append(state)
        published_at.append(row.first_sent_at if row is not None and row.state == "sent" else None)
    return leads.assign(status=status, published_at=published_at)


def attachment_rows(
    leads: pd.DataFrame,
    records_by_landing: dict[str, dict[str, Any]],
    storage_url: Callable[[str], str | None] = lambda _sha256: None,
    taken_by_landing: dict[str, list[dict[str, Any]]] | None = None,
) -> pd.DataFrame:
    """Attachment metadata of each lead's representative message, with where its bytes are stored.

    Attachments taken in (`stores.attachments` rows) carry their sanitised name, scan status and, only
    when stored and not flagged, a storage URL; any other the message lists is `unscanned`, unlinked.
    """
    rows = []
    for lead in leads.itertuples(index=False):
        record = records_by_landing.get(lead.landing_id) or {}
        taken = (taken_by_landing or {}).get(lead.landing_id, [])
        seen = set()
        for row in taken:
            seen.add(row["sha256"])
            rows.append({
                "lead_id": lead.lead_id,
                "landing_id": lead.landing_id,
                "filename": row["filename"],
                "content_type": row["content_type"],
                "size": row["size"],
                "sha256": row["sha256"],
                "storage_url": storage_url(row["sha256"]) if is_linkable(row) else None,
                "scan_status": row["scan_status"],
            })
        for attachment in record.get("attachments") or []:
            key = attachment.get("sha256")
            if not key or key in seen:
                continue
            seen.add(key)
            rows.append({
                "lead_id": lead.lead_id,
                "landing_id": lead.landing_id,
                "filename": attachment.get("filename"),
                "content_type": attachment.get("contentType"),
                "size": attachment.get("size"),
                "sha256": attachment["sha256"],
                "storage_url": None,
                # Not taken in (yet): say so rather than imply the file is clean.
                "scan_status": "unscanned",
            })
    return pd.DataFrame(rows, columns=columns("lead_attachments"))


def refresh_kpi_daily(conn: duckdb.DuckDBPyConnection, window: DateWindow) -> pd.DataFrame:
    """Recompute `kpi_daily` for the window's days from the warehouse tables; returns the new rows."""
    sql = f"""
        WITH parsed AS (
            SELECT received_date AS day, coalesce(source_alias, '{UNKNOWN_ALIAS}') AS source_alias,
                   count(*) AS parsed,
                   count(*) FILTER (WHERE is_duplicate) AS duplicates_collapsed
            FROM messages WHERE received_date >= ? AND received_date < ?
            GROUP BY ALL
        ),
        failed AS (
            SELECT received_date AS day, coalesce(source_alias, '{UNKNOWN_ALIAS}') AS source_alias,
                   count(*) AS dead_letters
            FROM dead_letters WHERE received_date >= ? AND received_date < ?
            GROUP BY ALL
        ),
        lead_counts AS (
            SELECT received_date AS day, coalesce(source_alias, '{UNKNOWN_ALIAS}') AS source_alias,
                   count(*) AS leads,
                   count(*) FILTER (WHERE route = 'crm') AS qualified,
                   quantile_cont(epoch(published_at) - epoch(received_at), 0.5) AS median_latency_to_crm_s,
                   quantile_cont(epoch(published_at) - epoch(received_at), 0.95) AS p95_latency_to_crm_s
            FROM leads WHERE received_date >= ? AND received_date < ?
            GROUP BY ALL
        ),
        keys AS (
            SELECT day, source_alias FROM parsed
            UNION SELECT day, source_alias FROM failed
            UNION SELECT day, source_alias FROM lead_counts
        )
        SELECT k.day, k.source_alias,
               (coalesce(p.parsed, 0) + coalesce(f.dead_letters, 0))::INTEGER AS messages,
               coalesce(p.parsed, 0)::INTEGER AS parsed,
               coalesce(f.dead_letters, 0)::INTEGER AS dead_letters,
               coalesce(p.parsed, 0) / nullif(coalesce(p.parsed, 0) + coalesce(f.dead_letters, 0), 0)
                   AS parse_success_rate,
               coalesce(p.duplicates_collapsed, 0)::INTEGER AS duplicates_collapsed,
               coalesce(l.leads, 0)::INTEGER AS leads,
               coalesce(l.qualified, 0)::INTEGER AS qualified,
               coalesce(l.qualified, 0) / nullif(coalesce(l.leads, 0), 0) AS qualification_rate,
               l.median_latency_to_crm_s,
               l.p95_latency_to_crm_s
        FROM keys k
        LEFT JOIN parsed p USING (day, source_alias)
        LEFT JOIN failed f USING (day, source_alias)
        LEFT JOIN lead_counts l USING (day, source_alias)
        ORDER BY k.day, k.source_alias
    """
    params = [window.start, window.end] * 3
    frame = conn.execute(sql, params).df()
    _replace(conn, "kpi_daily", frame, "DELETE FROM kpi_daily WHERE day >= ? AND day < ?", [window.start, window.end])
    return frame
