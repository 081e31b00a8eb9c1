import duckdb

from lead_pipeline.stores.warehouse import TABLES, ensure_schema


def test_columns_added_since_a_warehouse_was_created_are_added_to_it(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.execute("CREATE TABLE leads (lead_id VARCHAR PRIMARY KEY, message_id VARCHAR NOT NULL)")
        conn.execute("INSERT INTO leads VALUES ('L1', '<m1@x.example>')")
        ensure_schema(conn)
        ensure_schema(conn)  # idempotent
        present = {row[0] for row in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'leads'"
        ).fetchall()}
        # Constrained columns would need the table rebuilt; every other one is added.
        addable = {name for name, sql_type in TABLES["leads"] if "NOT NULL" not in sql_type}
        assert present == addable | {"message_id"}
        assert {"landing_id", "source", "parsed_at", "signature_verification", "raw_sha256"} <= present
        assert conn.execute("SELECT lead_id, raw_sha256 FROM leads").fetchall() == [("L1", None)]


def test_a_failed_write_does_not_quote_the_offending_address(tmp_path):
    import pandas as pd
    import pytest

    from lead_pipeline.stores.warehouse import columns, replace_contacts

    row = dict.fromkeys(columns("contacts")) | {
        "contact_email": "dana.whitfield@acme-robotics.example", "first_seen_at": "2026-11-02T10:00:00Z",
        "last_seen_at": "2026-11-02T10:00:00Z", "touches": 1, "latest_lead_id": "L1",
    }
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        ensure_schema(conn)
        with pytest.raises(duckdb.ConstraintException) as failure:
            replace_contacts(conn, pd.DataFrame([row, row], columns=columns("contacts")))
        assert "d***@acme-robotics.example" in str(failure.value)
        assert "dana.whitfield" not in str(failure.value)
        assert conn.execute("SELECT count(*) FROM contacts").fetchone() == (0,)
