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
