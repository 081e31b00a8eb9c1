"""The operational store: landing queue, dead letters, parsed messages and leads.

One implementation serves SQLite (the embedded default) and PostgreSQL (`LEAD_STORE_URL`):
SQLAlchemy Core with each dialect's `INSERT ... ON CONFLICT`, so idempotency is the database's
job, not a read-then-write race in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lead_pipeline.logs import mask_value, trusted_debug_mode
from lead_pipeline.stores import schema
from lead_pipeline.stores.window import DateWindow

WRITE_CHUNK = 1_000


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for offset in range(0, len(rows), size):
        yield rows[offset : offset + size]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts for the database: missing values become None, never NaN."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _within(received_date: sa.ColumnElement, window: DateWindow) -> sa.ColumnElement[bool]:
    return sa.and_(received_date >= window.start, received_date < window.end)


def _frame(result: sa.CursorResult) -> pd.DataFrame:
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


class OperationalStore:
    def __init__(self, url: str):
        self.url = url

    @cached_property
    def engine(self) -> sa.Engine:
        url = sa.make_url(self.url)
        # Statement errors would otherwise quote their parameters, and PostgreSQL the failing row
        # (addresses, phones), into the step failure the run logs keep.
        private = not trusted_debug_mode()
        if url.drivername == "postgresql":
            # SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3; the driver installed is psycopg2.
            url = url.set(drivername="postgresql+psycopg2")
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=private)
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=private)
        if private:
            sa.event.listen(engine, "handle_error", _mask_database_error)
        return engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        schema.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._add_missing_indexes()

    def _add_missing_columns(self) -> None:
        """Columns added to a table since a store was created (all nullable) are added to it."""
        inspector = sa.inspect(self.engine)
        preparer = self.engine.dialect.identifier_preparer
        # Two workers may start at once; PostgreSQL can say so, SQLite serialises writers anyway.
        add = "ADD COLUMN IF NOT EXISTS" if self.dialect == "postgresql" else "ADD COLUMN"
        with self.engine.begin() as conn:
            for table in schema.metadata.sorted_tables:
                existing = {column["name"] for column in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in existing and column.nullable:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        conn.execute(sa.text(
                            f"ALTER TABLE {preparer.format_table(table)} {add} {preparer.format_column(column)} {kind}"
                        ))

    def _add_missing_indexes(self) -> None:
        """Indexes added to a table since a store was created are built on it (`create_all` skips existing tables)."""
        inspector = sa.inspect(self.engine)
        with self.engine.begin() as conn:
            for table in schema.metadata.sorted_tables:
                existing = {index["name"] for index in inspector.get_indexes(table.name)}
                for index in table.indexes:
                    if index.name not in existing:
                        index.create(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- generic idempotent writes ------------------------------------------------------

    def _insert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        *,
        conflict: Sequence[str],
        update: Iterable[str] = (),
        only_if_changed: str | None = None,
    ) -> None:
        if not rows:
            return
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(table)
        update = list(update)
        if update:
            # With `only_if_changed`, an identical re-run rewrites nothing (timestamps included).
            where = table.c[only_if_changed] != stmt.excluded[only_if_changed] if only_if_changed else None
            stmt = stmt.on_conflict_do_update(
                index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}, where=where
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        for chunk in _chunks(rows, WRITE_CHUNK):
            conn.execute(stmt, list(chunk))

    # -- landing ------------------------------------------------------------------------

    def land(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Store raw deliveries; returns the ids that were new (a redelivery of the same bytes is not).

        A delivery removed by erasure or retention (a tombstone) is never landed again.
        """
        if not rows:
            return set()
        ids = [r["landing_id"] for r in rows]
        with self.engine.begin() as conn:
            existing = self._existing_ids(conn, schema.landing.c.landing_id, ids)
            existing |= self._existing_ids(conn, schema.landing_tombstones.c.delivery_id, ids)
            rows = [r for r in rows if r["landing_id"] not in existing]
            self._insert(conn, schema.landing, rows, conflict=["source", "delivery_key"])
        return set(ids) - existing

    def _existing_ids(self, conn: sa.Connection, column: sa.Column, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids), WRITE_CHUNK):
            found.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
        return found

    def read_cursor(self, stream: str) -> str | None:
        t = schema.cursors
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.c.cursor).where(t.c.stream == stream)).scalar_one_or_none()

    def save_cursor(self, stream: str, cursor: str | None, updated_at: str) -> None:
        with self.engine.begin() as conn:
            self._insert(
                conn, schema.cursors, [{"stream": stream, "cursor": cursor, "updated_at": updated_at}],
                conflict=["stream"], update=["cursor", "updated_at"],
            )

    def landed_dates(self) -> list[str]:
        stmt = sa.select(schema.landing.c.received_date).distinct().order_by(schema.landing.c.received_date)
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).scalars())

    def landed_day_counts(self) -> dict[str, int]:
        """Landed deliveries per day of arrival."""
        t = schema.landing
        stmt = sa.select(t.c.received_date, sa.func.count()).group_by(t.c.received_date)
        with self.engine.connect() as conn:
            return {day: int(count) for day, count in conn.execute(stmt)}

    def iter_landed(self, window: DateWindow, batch_size: int = 500) -> Iterator[list[sa.Row]]:
        """Landed deliveries of a window in batches, so memory stays bounded by the batch."""
        t = schema.landing
        stmt = (
            sa.select(
                t.c.landing_id, t.c.source, t.c.source_ref, t.c.source_alias, t.c.payload_format, t.c.raw,
                t.c.received_at, t.c.received_date,
            )
            .where(_within(t.c.received_date, window))
            .order_by(t.c.landing_id)
        )
        yield from self._batches(stmt, batch_size)

    def landing_backlog(self) -> list[tuple[str, int, str]]:
        """(day, deliveries, latest landed_at) of landed deliveries neither parsed nor dead-lettered yet."""
        t, m, d = schema.landing, schema.messages, schema.dead_letters
        stmt = (
            sa.select(t.c.received_date, sa.func.count(), sa.func.max(t.c.landed_at))
            .where(~t.c.landing_id.in_(sa.select(m.c.landing_id)))
            .where(~t.c.landing_id.in_(sa.select(d.c.landing_id).where(d.c.landing_id.is_not(None))))
            .group_by(t.c.received_date)
            .order_by(t.c.received_date)
        )
        with self.engine.connect() as conn:
            return [(day, int(count), latest) for day, count, latest in conn.execute(stmt)]

    def dead_letter_landings_before(self, day: str, reason: str, failed_at: str) -> int:
        """File landed deliveries dated before `day` (outside every partition) as dead letters; returns how many."""
        from lead_pipeline.ingest.landing import dead_letter_id_for

        t, m, d = schema.landing, schema.messages, schema.dead_letters
        stmt = (
            sa.select(t.c.landing_id, t.c.source, t.c.source_ref, t.c.source_alias, t.c.received_date)
            .where(t.c.received_date < day)
            .where(~t.c.landing_id.in_(sa.select(m.c.landing_id)))
            .where(~t.c.landing_id.in_(sa.select(d.c.landing_id).where(d.c.landing_id.is_not(None))))
        )
        with self.engine.connect() as conn:
            stale = list(conn.execute(stmt))
        self.record_dead_letters([
            {"dead_letter_id": dead_letter_id_for("parse", row.landing_id), "stage": "parse", "source": row.source,
             "source_ref": row.source_ref, "landing_id": row.landing_id, "source_alias": row.source_alias,
             "reason": reason, "raw_ref": f"landing:{row.landing_id}", "raw": None,
             "received_date": row.received_date, "failed_at": failed_at}
            for row in stale
        ])
        return len(stale)

    def unprocessed_dates(self) -> list[str]:
        return [day for day, _, _ in self.landing_backlog()]

    def read_dead_letters_for_redrive(self, stage: str, reason_contains: str = "") -> list[sa.Row]:
        t = schema.dead_letters
        stmt = sa.select(t).where(t.c.stage == stage).order_by(t.c.dead_letter_id)
        if reason_contains:
            stmt = stmt.where(t.c.reason.contains(reason_contains, autoescape=True))
        with self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def delete_dead_letters(self, dead_letter_ids: Sequence[str]) -> None:
        t = schema.dead_letters
        with self.engine.begin() as conn:
            for chunk in _chunks(list(dead_letter_ids), WRITE_CHUNK):
                conn.execute(sa.delete(t).where(t.c.dead_letter_id.in_(chunk)))

    def count_landed(self, window: DateWindow | None = None) -> int:
        t = schema.landing
        stmt = sa.select(sa.func.count()).select_from(t)
        if window:
            stmt = stmt.where(_within(t.c.received_date, window))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- dead letters -------------------------------------------------------------------

    def record_dead_letters(self, rows: Sequence[dict[str, Any]]) -> None:
        """First failure wins: a re-run that fails the same way does not rewrite the row.

        A rejected delivery that was erased (a tombstone) is not recorded again.
        """
        with self.engine.begin() as conn:
            if rows:
                erased = self._existing_ids(
                    conn, schema.landing_tombstones.c.delivery_id, [r["dead_letter_id"] for r in rows]
                )
                rows = [r for r in rows if r["dead_letter_id"] not in erased]
            self._insert(conn, schema.dead_letters, rows, conflict=["dead_letter_id"])

    def resolve_dead_letters(self, stage: str, landing_ids: Sequence[str]) -> None:
        """Forget failures of a stage for deliveries that now succeed (e.g. after a parser fix)."""
        t = schema.dead_letters
        with self.engine.begin() as conn:
            for chunk in _chunks(list(landing_ids), WRITE_CHUNK):
                conn.execute(sa.delete(t).where(t.c.stage == stage, t.c.landing_id.in_(chunk)))

    def read_dead_letters(self, window: DateWindow | None = None) -> pd.DataFrame:
        t = schema.dead_letters
        cols = [c for c in t.c if c.name != "raw"]
        stmt = sa.select(*cols).order_by(t.c.dead_letter_id)
        if window:
            stmt = stmt.where(_within(t.c.received_date, window))
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    # -- parsed messages ----------------------------------------------------------------

    def save_messages(self, rows: Sequence[dict[str, Any]]) -> None:
        update = [c.name for c in schema.messages.c if c.name != "landing_id"]
        with self.engine.begin() as conn:
            self._insert(conn, schema.messages, rows, conflict=["landing_id"], update=update, only_if_changed="record")

    def read_messages(self, window: DateWindow, columns: Sequence[str] | None = None) -> pd.DataFrame:
        t = schema.messages
        cols = [t.c[name] for name in columns] if columns else list(t.c)
        stmt = (
            sa.select(*cols)
            .where(_within(t.c.received_date, window))
            .order_by(t.c.landing_id)
        )
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    def iter_messages(
        self, window: DateWindow, columns: Sequence[str] | None = None, batch_size: int = 500
    ) -> Iterator[list[sa.Row]]:
        """`read_messages` in batches, so memory stays bounded by the batch whatever the window holds."""
        t = schema.messages
        stmt = (
            sa.select(*([t.c[name] for name in columns] if columns else t.c))
            .where(_within(t.c.received_date, window))
            .order_by(t.c.landing_id)
        )
        yield from self._batches(stmt, batch_size)

    def _batches(self, stmt: sa.Select, batch_size: int) -> Iterator[list[sa.Row]]:
        with self.engine.connect() as conn:
            result = conn.execute(stmt.execution_options(yield_per=batch_size))
            for partition in result.partitions(batch_size):
                yield list(partition)

    # -- leads --------------------------------------------------------------------------

    def save_lead_candidates(self, rows: Sequence[dict[str, Any]]) -> None:
        update = [c.name for c in schema.lead_candidates.c if c.name != "landing_id"]
        with self.engine.begin() as conn:
            self._insert(conn, schema.lead_candidates, rows, conflict=["landing_id"], update=update)

    def read_lead_candidates(self, window: DateWindow) -> pd.DataFrame:
        t = schema.lead_candidates
        stmt = (
            sa.select(t)
            .where(_within(t.c.received_date, window))
            .order_by(t.c.landing_id)
        )
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    def known_lead_ids(self, window: DateWindow) -> pd.DataFrame:
        """(message_id, sender_email) → lead_id already assigned anywhere, for the window's messages."""
        d, c = schema.lead_deliveries, schema.lead_candidates
        in_window = sa.select(c.c.message_id).where(_within(c.c.received_date, window))
        stmt = (
            sa.select(d.c.message_id, d.c.sender_email, d.c.lead_id)
            .where(d.c.message_id.in_(in_window))
            .distinct()
        )
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    def save_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            self._insert(
                conn, schema.lead_deliveries, rows, conflict=["landing_id"],
                update=["lead_id", "message_id", "sender_email", "received_date"],
            )

    def deliveries_of_leads_in(self, window: DateWindow) -> pd.DataFrame:
        """Every delivery, from any day, of the leads that have a delivery in the window."""
        d, c = schema.lead_deliveries, schema.lead_candidates
        touched = sa.select(d.c.lead_id).where(_within(d.c.received_date, window))
        stmt = (
            sa.select(d.c.lead_id, c)
            .join(c, c.c.landing_id == d.c.landing_id)
            .where(d.c.lead_id.in_(touched))
            .order_by(d.c.lead_id, c.c.received_at, c.c.landing_id)
        )
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    def save_leads(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert lead identity and dedup fields; scoring fields are left to `save_scores`."""
        keep = {"score", "score_breakdown", "route", "status", "lead_id"}
        update = [c.name for c in schema.leads.c if c.name not in keep]
        with self.engine.begin() as conn:
            self._insert(conn, schema.leads, rows, conflict=["lead_id"], update=update)

    def delivery_provenance(self, landing_ids: Sequence[str]) -> pd.DataFrame:
        """Per landing_id: the delivery's source, raw bytes' sha256, signature check and parse time."""
        t, m = schema.landing, schema.messages
        columns = [t.c.landing_id, t.c.source, m.c.parsed_at, t.c.signature_verification, t.c.raw_sha256]
        frames = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(landing_ids)), WRITE_CHUNK):
                stmt = sa.select(*columns).outerjoin(m, m.c.landing_id == t.c.landing_id).where(t.c.landing_id.in_(chunk))
                frames.append(_frame(conn.execute(stmt)))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in columns])

    def leads_of_senders(self, sender_emails: Sequence[str]) -> pd.DataFrame:
        t = schema.leads
        frames = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(sender_emails)), WRITE_CHUNK):
                frames.append(_frame(conn.execute(sa.select(t).where(t.c.sender_email.in_(chunk)))))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in t.c])

    def read_contacts(self, emails: Sequence[str]) -> pd.DataFrame:
        t = schema.contacts
        frames = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(emails)), WRITE_CHUNK):
                frames.append(_frame(conn.execute(sa.select(t).where(t.c.contact_email.in_(chunk)))))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in t.c])

    def cached_enrichments(self, domains: Sequence[str]) -> dict[str, sa.Row]:
        t = schema.enrichment_cache
        found: dict[str, sa.Row] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(domains)), WRITE_CHUNK):
                found.update({row.domain: row for row in conn.execute(sa.select(t).where(t.c.domain.in_(chunk)))})
        return found

    def save_enrichments(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            self._insert(conn, schema.enrichment_cache, rows, conflict=["domain"],
                         update=["status", "payload", "error", "fetched_at"])

    def accept_rules(self, rules_sha256: str, text: str, accepted_at: str) -> None:
        with self.engine.begin() as conn:
            self._insert(
                conn, schema.scoring_rules, [{"rules_sha256": rules_sha256, "text": text, "accepted_at": accepted_at}],
                conflict=["rules_sha256"], update=["accepted_at"],
            )

    def last_accepted_rules(self) -> tuple[str, str] | None:
        t = schema.scoring_rules
        stmt = sa.select(t.c.rules_sha256, t.c.text).order_by(t.c.accepted_at.desc(), t.c.rules_sha256).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return (row.rules_sha256, row.text) if row else None

    def save_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        update = [c.name for c in schema.contacts.c if c.name != "contact_email"]
        with self.engine.begin() as conn:
            self._insert(conn, schema.contacts, rows, conflict=["contact_email"], update=update)

    def save_scores(self, rows: Sequence[dict[str, Any]]) -> None:
        t = schema.leads
        stmt = (
            sa.update(t)
            .where(t.c.lead_id == sa.bindparam("key"))
            .values(
                score=sa.bindparam("score"),
                score_breakdown=sa.bindparam("score_breakdown"),
                route=sa.bindparam("route"),
            )
        )
        params = [
            {"key": r["lead_id"], "score": r["score"], "score_breakdown": r["score_breakdown"], "route": r["route"]}
            for r in rows
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(params, WRITE_CHUNK):
                conn.execute(stmt, list(chunk))

    def read_leads_in(self, window: DateWindow) -> pd.DataFrame:
        """Leads having any delivery in the window (a lead first seen earlier is included)."""
        t, d = schema.leads, schema.lead_deliveries
        touched = sa.select(d.c.lead_id).where(_within(d.c.received_date, window))
        stmt = sa.select(t).where(t.c.lead_id.in_(touched)).order_by(t.c.lead_id)
        with self.engine.connect() as conn:
            return _frame(conn.execute(stmt))

    def count_rows(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.metadata.tables[table])).scalar_one())


def _mask_database_error(context: sa.engine.ExceptionContext) -> None:
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None:
            error.args = mask_value(error.args)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the UI and readers query while a run writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LeadIntegrity:
    """Read-only queries behind the data-quality checks on the leads tables."""

    def __init__(self, store: OperationalStore):
        self.store = store

    def duplicate_identities(self, window: DateWindow | None = None) -> dict[str, int]:
        """Groups violating lead identity: several leads for one (message, sender) or one (sender, text).

        With a window, the groups of the senders of the window's leads (both identities include the
        sender, so any group holding one of the window's leads is among them)."""
        t = schema.leads
        out = {}
        for name, cols in (
            ("message_id_sender", (t.c.message_id, t.c.sender_email)),
            ("sender_content_hash", (t.c.sender_email, t.c.content_hash)),
        ):
            leads = sa.select(*cols)
            if window is not None:
                senders = _touched(sa.select(t.c.sender_email), window)
                leads = leads.where(t.c.sender_email.in_(senders))
            groups = leads.group_by(*cols).having(sa.func.count() > 1).subquery()
            with self.store.engine.connect() as conn:
                out[name] = int(conn.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one())
        return out

    def orphan_deliveries(self, window: DateWindow | None = None) -> int:
        """Deliveries (of the window's days) whose lead does not exist."""
        d, t = schema.lead_deliveries, schema.leads
        stmt = sa.select(sa.func.count()).select_from(d).where(~d.c.lead_id.in_(sa.select(t.c.lead_id)))
        if window is not None:
            stmt = stmt.where(_within(d.c.received_date, window))
        with self.store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def sender_emails(self, window: DateWindow | None = None) -> pd.DataFrame:
        t = schema.leads
        with self.store.engine.connect() as conn:
            return _frame(conn.execute(_touched(sa.select(t.c.lead_id, t.c.sender_email), window)))

    def scores(self, window: DateWindow | None = None) -> pd.DataFrame:
        t = schema.leads
        stmt = _touched(sa.select(t.c.lead_id, t.c.score, t.c.score_breakdown, t.c.route), window)
        with self.store.engine.connect() as conn:
            return _frame(conn.execute(stmt))


def _touched(stmt: sa.Select, window: DateWindow | None) -> sa.Select:
    """`stmt` over leads restricted to those with a delivery in `window` (every lead without one)."""
    if window is None:
        return stmt
    d = schema.lead_deliveries
    touched = sa.select(d.c.lead_id).where(_within(d.c.received_date, window))
    return stmt.where(schema.leads.c.lead_id.in_(touched))


def delivery_leads(store: OperationalStore, window: DateWindow) -> dict[str, tuple[str, bool]]:
    """landing_id → (lead_id, is_duplicate) for the window's deliveries."""
    d, t = schema.lead_deliveries, schema.leads
    stmt = (
        sa.select(d.c.landing_id, d.c.lead_id, t.c.landing_id.label("first_landing_id"))
        .join(t, t.c.lead_id == d.c.lead_id)
        .where(_within(d.c.received_date, window))
    )
    with store.engine.connect() as conn:
        return {row.landing_id: (row.lead_id, row.landing_id != row.first_landing_id) for row in conn.execute(stmt)}


def message_records(
    store: OperationalStore, landing_ids: Sequence[str], fields: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Parsed records by landing id; with `fields`, only those keys of each (a window's records in full
    would hold every message's text in memory at once)."""
    import json

    t = schema.messages
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(list(landing_ids), WRITE_CHUNK):
            for row in conn.execute(sa.select(t.c.landing_id, t.c.record).where(t.c.landing_id.in_(chunk))):
                record = json.loads(row.record)
                out[row.landing_id] = record if fields is None else {k: record[k] for k in fields if k in record}
    return out


def scored_lead_columns(store: OperationalStore, window: DateWindow | None = None) -> pd.DataFrame:
    """The columns the great-expectations suite reads, for the leads of `window` (every lead without one)."""
    t = schema.leads
    cols = [t.c[name] for name in ("lead_id", "sender_email", "score", "route", "intent", "score_breakdown",
                                   "duplicate_count", "phone", "company_domain")]
    with store.engine.connect() as conn:
        return _frame(conn.execute(_touched(sa.select(*cols), window)))
