"""The same ownership rules as `compliance.operational`, over every table of the DuckDB warehouse.

DuckDB keeps deleted rows in the file's blocks until they are reused, and CHECKPOINT does not
reliably overwrite them; `rewrite` copies the live database into a fresh file and swaps it in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from lead_pipeline.compliance.identity import Subject
from lead_pipeline.compliance.operational import EMAIL_COLUMNS, Owned
from lead_pipeline.stores.window import DateWindow

TEXT_TYPES = ("VARCHAR", "JSON")


def _tables(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """name → {columns: {name: type}, key: [primary key columns]} of the warehouse's own tables."""
    tables: dict[str, dict[str, Any]] = {}
    for table, column, data_type in conn.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()) "
        "ORDER BY table_name, column_index"
    ).fetchall():
        tables.setdefault(table, {"columns": {}, "key": []})["columns"][column] = data_type
    for table, names in conn.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND constraint_type = 'PRIMARY KEY'"
    ).fetchall():
        if table in tables:
            tables[table]["key"] = list(names)
    return tables


def _owned_conditions(table: str, spec: dict[str, Any], owned: Owned) -> Iterator[tuple[str, list[Any]]]:
    columns = spec["columns"]
    if owned.email:
        for name in EMAIL_COLUMNS:
            if name in columns:
                yield f"lower({name}) = ?", [owned.email]
    if "lead_id" in columns and owned.lead_ids:
        yield "list_contains(?::VARCHAR[], lead_id)", [sorted(owned.lead_ids)]
    if "landing_id" in columns and "lead_id" not in spec["key"] and owned.landing_ids:
        yield "list_contains(?::VARCHAR[], landing_id)", [sorted(owned.landing_ids)]
    if table == "dead_letters" and owned.dead_letter_ids:
        yield "list_contains(?::VARCHAR[], dead_letter_id)", [sorted(owned.dead_letter_ids)]


def _owned_where(table: str, spec: dict[str, Any], owned: Owned) -> tuple[str, list[Any]] | None:
    parts = list(_owned_conditions(table, spec, owned))
    if not parts:
        return None
    return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def extend_owned(conn: duckdb.DuckDBPyConnection, owned: Owned) -> None:
    """Add the deliveries and leads the warehouse attributes to the subject (e.g. after a partial erasure)."""
    tables = _tables(conn)
    for table, spec in tables.items():
        for name in EMAIL_COLUMNS:
            if name not in spec["columns"] or not owned.email:
                continue
            for id_column, ids in (("lead_id", owned.lead_ids), ("landing_id", owned.landing_ids)):
                if id_column in spec["columns"]:
                    rows = conn.execute(f"SELECT {id_column} FROM {table} WHERE lower({name}) = ?", [owned.email])
                    ids.update(value for (value,) in rows.fetchall() if value)
    if "messages" in tables and owned.lead_ids:
        rows = conn.execute("SELECT landing_id FROM messages WHERE list_contains(?::VARCHAR[], lead_id)",
                            [sorted(owned.lead_ids)])
        owned.landing_ids.update(value for (value,) in rows.fetchall())


def owned_rows(conn: duckdb.DuckDBPyConnection, owned: Owned) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for table, spec in _tables(conn).items():
        where = _owned_where(table, spec, owned)
        if where is None:
            continue
        cursor = conn.execute(f"SELECT * FROM {table} WHERE {where[0]} ORDER BY ALL", where[1])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        if rows:
            out[table] = rows
    return out


def mentions(conn: duckdb.DuckDBPyConnection, subject: Subject, owned: Owned) -> list[dict[str, Any]]:
    """Rows not owned that mention the subject: {table, rowid, columns: {name: value}}."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for table, spec in _tables(conn).items():
        where = _owned_where(table, spec, owned)
        not_owned, params = (f"NOT coalesce({where[0]}, false)", where[1]) if where else ("true", [])
        key = spec["key"]
        for column, data_type in spec["columns"].items():
            if data_type not in TEXT_TYPES:
                continue
            rows = conn.execute(
                f"SELECT rowid, {column}::VARCHAR, {', '.join([*key, 'NULL'])} FROM {table} "
                f"WHERE contains(lower({column}::VARCHAR), ?) AND {not_owned}",
                [subject.email, *params],
            ).fetchall()
            for rowid, value, *key_values in rows:
                if subject.mentioned_in(value):
                    entry = found.setdefault((table, rowid), {
                        "table": table, "rowid": rowid, "key": dict(zip(key, key_values)), "columns": {}})
                    entry["columns"][column] = value
    return list(found.values())


def affected_days(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    days = set()
    for table_rows in rows.values():
        for row in table_rows:
            value = row.get("received_date")
            if isinstance(value, date):
                days.add(value.isoformat())
    return days


def delete_owned(conn: duckdb.DuckDBPyConnection, owned: Owned) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        for table, spec in _tables(conn).items():
            where = _owned_where(table, spec, owned)
            if where is None:
                continue
            (deleted,) = conn.execute(f"DELETE FROM {table} WHERE {where[0]}", where[1]).fetchone()
            if deleted:
                counts[table] = int(deleted)
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return counts


def redact_mentions(conn: duckdb.DuckDBPyConnection, subject: Subject, found: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in found:
        assignments = ", ".join(f"{column} = ?" for column in entry["columns"])
        values = [subject.redact(value) for value in entry["columns"].values()]
        conn.execute(f"UPDATE {entry['table']} SET {assignments} WHERE rowid = ?", [*values, entry["rowid"]])
        counts[entry["table"]] = counts.get(entry["table"], 0) + 1
    return counts


def refresh_kpis(conn: duckdb.DuckDBPyConnection, days: set[str]) -> None:
    """Recount the daily KPIs of the days that lost rows."""
    from lead_pipeline.stores.warehouse import refresh_kpi_daily

    for day in sorted(days):
        end = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        refresh_kpi_daily(conn, DateWindow(day, end))


def rewrite(path: Path) -> None:
    """Copy the live database into a fresh file and atomically replace the old one (no connection open)."""
    fresh = path.with_name(f".{path.name}.rewrite")
    for stale in (fresh, fresh.with_name(fresh.name + ".wal")):
        stale.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as conn:
        source = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute("ATTACH '" + str(fresh).replace("'", "''") + "' AS rewritten")
        conn.execute(f'COPY FROM DATABASE "{source}" TO rewritten')
        conn.execute("DETACH rewritten")
    # The old file's WAL must not be replayed over the new file.
    Path(f"{path}.wal").unlink(missing_ok=True)
    os.replace(fresh, path)
