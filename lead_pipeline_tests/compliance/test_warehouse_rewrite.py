import duckdb

from lead_pipeline.compliance.warehouse import rewrite

SECRET = b"someone@private.example"


def test_deleted_rows_survive_a_checkpoint_but_not_a_rewrite(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE leads (lead_id VARCHAR PRIMARY KEY, sender_email VARCHAR)")
        conn.execute("CREATE VIEW crm_leads AS SELECT * FROM leads")
        conn.execute("INSERT INTO leads SELECT 'lead-' || i, 'person' || i || '@example.com' FROM range(2000) t(i)")
        conn.execute("INSERT INTO leads VALUES ('x', ?)", [SECRET.decode()])
        conn.execute("CHECKPOINT")
        conn.execute("DELETE FROM leads WHERE lead_id = 'x'")
        conn.execute("CHECKPOINT")
    assert SECRET in path.read_bytes()  # why the rewrite exists

    rewrite(path)

    assert SECRET not in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["warehouse.duckdb"]
    with duckdb.connect(str(path)) as conn:
        assert conn.execute("SELECT count(*) FROM crm_leads").fetchone() == (2000,)
        constraints = conn.execute("SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'leads'")
        assert "PRIMARY KEY" in {row[0] for row in constraints.fetchall()}
