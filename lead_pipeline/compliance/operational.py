"""What the operational store (SQLite or PostgreSQL) holds about a person, and removing it for good.

Ownership is decided over every table of `schema.metadata`, so tables other areas add are covered
by their column names:

* a row is the subject's when an address column (`sender_email`, `contact_email`, `email`) is
  theirs, or it refers to one of their deliveries (`landing_id`) or leads (`lead_id`);
* a row keyed by a lead (`lead_id` in its primary key: leads, the publish ledger, the nurture list)
  follows its lead only, so another person's lead is never removed because the subject forwarded it;
* a landed delivery that was never parsed, or a dead letter holding raw bytes, is the subject's
  when it mentions the address at all: nobody else's record was derived from it;
* any other row that merely mentions the address (another person's mail copying them) keeps its
  place with the address replaced by `REDACTED_ADDRESS` (a landed payload keeps `raw_sha256`, the
  hash of the bytes as delivered, which is also what recognises a redelivery).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from lead_pipeline.compliance.identity import Subject
from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import WRITE_CHUNK, OperationalStore, _chunks

EMAIL_COLUMNS = ("sender_email", "contact_email", "email")
# Bookkeeping of compliance itself: never owned, never swept (it holds hashes and ids only).
COMPLIANCE_TABLES = frozenset({"subject_requests", "erasure_log", "landing_tombstones"})
SCAN_BATCH = 500


@dataclass
class Owned:
    """Ids of the deliveries, leads and stand-alone dead letters to remove."""

    landing_ids: set[str] = field(default_factory=set)
    lead_ids: set[str] = field(default_factory=set)
    dead_letter_ids: set[str] = field(default_factory=set)
    # Only for erasure: rows whose address column is the subject's.
    email: str | None = None

    def __bool__(self) -> bool:
        return bool(self.landing_ids or self.lead_ids or self.dead_letter_ids or self.email)


def data_tables() -> list[sa.Table]:
    return [t for t in schema.metadata.sorted_tables if t.name not in COMPLIANCE_TABLES]


def _lead_keyed(table: sa.Table) -> bool:
    return "lead_id" in table.primary_key.columns


def _in(column: sa.Column, ids: set[str]) -> Iterator[sa.ColumnElement[bool]]:
    for chunk in _chunks(sorted(ids), WRITE_CHUNK):
        yield column.in_(chunk)


def _owned_conditions(table: sa.Table, owned: Owned) -> Iterator[sa.ColumnElement[bool]]:
    """Conditions (each bounded in size) whose union is the table's owned rows."""
    c = table.c
    if owned.email:
        for name in EMAIL_COLUMNS:
            if name in c:
                yield sa.func.lower(c[name]) == owned.email
    if "lead_id" in c:
        yield from _in(c.lead_id, owned.lead_ids)
    if "landing_id" in c and not _lead_keyed(table):
        yield from _in(c.landing_id, owned.landing_ids)
    if table is schema.dead_letters:
        yield from _in(c.dead_letter_id, owned.dead_letter_ids)


def find_subject(store: OperationalStore, subject: Subject) -> Owned:
    owned = Owned(email=subject.email)
    with store.engine.connect() as conn:
        for table in data_tables():
            c = table.c
            for name in EMAIL_COLUMNS:
                if name not in c:
                    continue
                match = sa.func.lower(c[name]) == subject.email
                if "lead_id" in c:
                    owned.lead_ids.update(conn.execute(sa.select(c.lead_id).where(match)).scalars())
                if "landing_id" in c:
                    owned.landing_ids.update(conn.execute(sa.select(c.landing_id).where(match)).scalars())
        # Every delivery of the subject's leads (redeliveries, forwarded copies) is theirs too.
        for table in data_tables():
            if {"lead_id", "landing_id"} <= set(table.c.keys()) and not _lead_keyed(table):
                for condition in _in(table.c.lead_id, owned.lead_ids):
                    owned.landing_ids.update(conn.execute(sa.select(table.c.landing_id).where(condition)).scalars())
        owned.landing_ids.update(_unparsed_landings_mentioning(conn, subject))
        owned.dead_letter_ids.update(_raw_dead_letters_mentioning(conn, subject))
    return owned


def _scan_binary(
    conn: sa.Connection, table: sa.Table, column: sa.Column, subject: Subject, where: Any = None
) -> Iterator[sa.Row]:
    """Rows whose bytes mention the subject, read in batches (bytes are not searchable in SQL portably)."""
    stmt = sa.select(*table.primary_key.columns, column).where(column.is_not(None))
    if where is not None:
        stmt = stmt.where(where)
    for batch in conn.execute(stmt.execution_options(yield_per=SCAN_BATCH)).partitions(SCAN_BATCH):
        yield from (row for row in batch if subject.mentioned_in(row[-1]))


def _unparsed_landings_mentioning(conn: sa.Connection, subject: Subject) -> set[str]:
    t, m = schema.landing, schema.messages
    unparsed = ~t.c.landing_id.in_(sa.select(m.c.landing_id))
    return {row.landing_id for row in _scan_binary(conn, t, t.c.raw, subject, unparsed)}


def _raw_dead_letters_mentioning(conn: sa.Connection, subject: Subject) -> set[str]:
    d = schema.dead_letters
    return {row.dead_letter_id for row in _scan_binary(conn, d, d.c.raw, subject)}


def _pk(table: sa.Table, row: sa.Row | dict) -> tuple:
    mapping = row._mapping if isinstance(row, sa.Row) else row
    return tuple(mapping[c.name] for c in table.primary_key.columns)


def owned_rows(store: OperationalStore, owned: Owned) -> dict[str, list[dict[str, Any]]]:
    """Every owned row, whole, per table (what an export lists and an erasure removes)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in data_tables():
            rows: dict[tuple, dict[str, Any]] = {}
            for condition in _owned_conditions(table, owned):
                for row in conn.execute(sa.select(table).where(condition)):
                    rows.setdefault(_pk(table, row), dict(row._mapping))
            if rows:
                out[table.name] = [rows[key] for key in sorted(rows, key=str)]
    return out


@dataclass(frozen=True)
class Mention:
    table: str
    key: dict[str, Any]
    columns: dict[str, Any]  # column → current value mentioning the subject


def mentions(store: OperationalStore, subject: Subject, owned: Owned) -> list[Mention]:
    """Rows not owned that mention the subject in some column."""
    found: dict[tuple[str, tuple], Mention] = {}
    with store.engine.connect() as conn:
        for table in data_tables():
            skip = {_pk(table, row) for cond in _owned_conditions(table, owned)
                    for row in conn.execute(sa.select(*table.primary_key.columns).where(cond))}
            for column in table.c:
                if isinstance(column.type, sa.LargeBinary):
                    rows = _scan_binary(conn, table, column, subject)
                elif isinstance(column.type, sa.String):
                    like = sa.func.lower(column).contains(subject.email, autoescape=True)
                    stmt = sa.select(*table.primary_key.columns, column).where(like)
                    rows = (row for row in conn.execute(stmt) if subject.mentioned_in(row[-1]))
                else:
                    continue
                for row in rows:
                    key = _pk(table, row)
                    if key in skip:
                        continue
                    mention = found.setdefault(
                        (table.name, key),
                        Mention(table.name, {c.name: v for c, v in zip(table.primary_key.columns, key)}, {}),
                    )
                    mention.columns[column.name] = row[-1]
    return list(found.values())


def delete_owned(store: OperationalStore, owned: Owned) -> dict[str, int]:
    """Delete every owned row; returns rows deleted per table. Children go before the rows they point to."""
    counts: dict[str, int] = {}
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            # Deleted cells are zeroed in place; VACUUM afterwards drops the free pages too.
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        for table in reversed(data_tables()):
            deleted = 0
            for condition in _owned_conditions(table, owned):
                deleted += conn.execute(sa.delete(table).where(condition)).rowcount or 0
            if deleted:
                counts[table.name] = deleted
    return counts


def redact_mentions(store: OperationalStore, subject: Subject, found: list[Mention]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        for mention in found:
            table = schema.metadata.tables[mention.table]
            where = sa.and_(*(table.c[name] == value for name, value in mention.key.items()))
            conn.execute(
                sa.update(table).where(where).values({c: subject.redact(v) for c, v in mention.columns.items()})
            )
            counts[mention.table] = counts.get(mention.table, 0) + 1
    return counts


def add_tombstones(store: OperationalStore, owned: Owned, reason: str, now: str) -> int:
    """Remember the removed deliveries (landed, or rejected before landing) so they never come back."""
    ids = sorted(owned.landing_ids | owned.dead_letter_ids)
    rows = [{"delivery_id": delivery_id, "reason": reason, "removed_at": now} for delivery_id in ids]
    with store.engine.begin() as conn:
        store._insert(conn, schema.landing_tombstones, rows, conflict=["delivery_id"])
    return len(rows)


def attachment_hashes(store: OperationalStore, landing_ids: set[str]) -> set[str]:
    """sha256 of the attachments of these deliveries' parsed messages."""
    import json

    m = schema.messages
    found: set[str] = set()
    with store.engine.connect() as conn:
        for condition in _in(m.c.landing_id, landing_ids):
            for record in conn.execute(sa.select(m.c.record).where(condition)).scalars():
                found.update(a["sha256"] for a in json.loads(record).get("attachments") or [] if a.get("sha256"))
    return found


def hashes_still_referenced(store: OperationalStore, hashes: set[str]) -> set[str]:
    """The hashes a remaining message or attachment row still names (a blob shared with someone else's mail)."""
    import json

    if not hashes:
        return set()
    referenced: set[str] = set()
    m = schema.messages
    with store.engine.connect() as conn:
        stmt = sa.select(m.c.record).where(m.c.record.contains('"sha256"')).execution_options(yield_per=SCAN_BATCH)
        for batch in conn.execute(stmt).partitions(SCAN_BATCH):
            for (record,) in batch:
                referenced.update(
                    a.get("sha256") for a in json.loads(record).get("attachments") or [] if a.get("sha256") in hashes
                )
        for table in data_tables():
            for column in table.c:
                if column.name.endswith("sha256") and table is not schema.landing:
                    for condition in _in(column, hashes):
                        referenced.update(conn.execute(sa.select(column).where(condition)).scalars())
    return referenced


def compact(store: OperationalStore, tables: set[str], *, full: bool = True) -> None:
    """Rewrite the files so deleted rows are gone from disk, not just unlinked from the b-trees.

    SQLite is vacuumed and its WAL truncated. PostgreSQL tables get `VACUUM (FULL)` (a rewrite under
    an exclusive lock) for an erasure, a plain `VACUUM` for retention; PostgreSQL's own WAL and
    backups are the operator's to rotate.
    """
    if store.dialect == "sqlite":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:
            raise RuntimeError("the store is busy: its WAL could not be truncated; run the request again")
    elif store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in sorted(tables & set(schema.metadata.tables)):
                conn.exec_driver_sql(f'VACUUM {"(FULL) " if full else ""}"{name}"')
