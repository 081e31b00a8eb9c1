"""Subject access export and erasure through the CLI, over SQLite and PostgreSQL, checked by independent searches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from lead_pipeline import cli
from lead_pipeline.runner import open_instance, run_pipeline
from lead_pipeline.settings import Settings
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline_tests.compliance.helpers import (
    files_mentioning, inbox_of, mail, search_operational, search_warehouse, store_inbox_attachments,
)

SUBJECT = "ingrid.halvorsen@nordvind-energi.example"
SHARED_SPEC = b"Rollout plan shared by the whole project group.\n"
OWN_NOTES = b"Ingrid's private notes on the pilot budget.\n"


@pytest.fixture
def settings(pipeline_env, store_url, tmp_path, monkeypatch) -> Settings:
    extra = {
        # Someone else's inquiry copying the subject: it stays, with the address redacted.
        "90-colleague-cc.eml": mail(
            "Olaf Berg <olaf.berg@fjordkraft.example>", "Pilot scope", "We want a pilot for 40 seats.",
            datetime(2026, 11, 9, 10, 0, tzinfo=UTC), cc="Ingrid Halvorsen <Ingrid.Halvorsen@Nordvind-Energi.example>",
            attachments={"rollout.txt": SHARED_SPEC},
        ),
        # The subject's own follow-up, with one attachment of her own and one shared with Olaf.
        "91-subject-follow-up.eml": mail(
            "Ingrid Halvorsen <ingrid.halvorsen@nordvind-energi.example>", "Budget for the pilot",
            "Budget approved: 20k EUR. Call me on +47 22 12 34 56.", datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
            attachments={"notes.txt": OWN_NOTES, "rollout-copy.txt": SHARED_SPEC},
        ),
        # Hers too, but unparseable (a parse dead letter over its landing row) ...
        "92-subject-broken.eml": (
            b"From: Ingrid Halvorsen <ingrid.halvorsen@nordvind-energi.example>\r\nSubject: pilot\r\n"
            b"X-Broken: a\x00b\r\nDate: Tue, 10 Nov 2026 09:00:00 +0000\r\n\r\nCall me.\r\n"
        ),
        # ... and older than the partitions (rejected before landing, raw bytes kept in the dead letter).
        "93-subject-ancient.eml": mail(
            "Ingrid Halvorsen <ingrid.halvorsen@nordvind-energi.example>", "Old thread", "From 2019.",
            datetime(2019, 5, 1, 9, 0, tzinfo=UTC),
        ),
    }
    inbox = inbox_of(tmp_path, ["02-", "05-", "17a", "17b", "22a", "22b"], extra)
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox))
    monkeypatch.setenv("LEAD_STORE_URL", store_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return Settings.from_env()


def _keys(table_rows: dict[str, list[dict]], keys: dict[str, list[str]]) -> set[tuple[str, tuple]]:
    return {(table, tuple(str(row[k]) for k in keys[table])) for table, rows in table_rows.items() for row in rows}


def _operational_keys(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    engine.dispose()
    return {t.name: [c.name for c in t.primary_key.columns] for t in reflected.sorted_tables}


def _stringify(found: set[tuple[str, tuple]]) -> set[tuple[str, tuple]]:
    return {(table, tuple(str(v) for v in key)) for table, key in found}


def test_export_lists_everything_erase_removes_and_nothing_is_left_anywhere(settings, tmp_path, capsys):
    blobs = BlobStore(settings.blobs_dir)
    # The instance the CLI uses too, so its run records (of processing and of the requests) are searched below.
    with open_instance(settings) as instance:
        run_pipeline(settings, instance)
    stored = store_inbox_attachments(settings.inbox, blobs)
    own_blob, shared_blob = stored["notes.txt"], stored["rollout.txt"]

    found_before = _stringify(search_operational(settings.store_url, SUBJECT))
    warehouse_before = search_warehouse(settings.warehouse_path, SUBJECT)
    assert {table for table, _ in found_before} >= {
        "landing", "messages", "leads", "contacts", "lead_candidates", "dead_letters"}
    assert {table for table, _ in warehouse_before} >= {"messages", "leads", "contacts"}

    # Deleting rows would not be enough: the database files hold the address in their bytes.
    assert "warehouse.duckdb" in {Path(p).name for p in files_mentioning(settings.home, SUBJECT)}

    export_path = tmp_path / "out" / "export.json"
    assert cli.main(["export", "Ingrid.Halvorsen@Nordvind-Energi.example", "--out", str(export_path)]) == 0
    exported = json.loads(export_path.read_text())
    keys = _operational_keys(settings.store_url)
    exported_rows = _keys(exported["operational"], keys)
    exported_mentions = {(m["table"], tuple(str(v) for v in m["key"].values()))
                         for m in exported["mentions"]["operational"]}
    # Every row an independent search finds is in the export, as the subject's or as a mention.
    assert found_before <= exported_rows | exported_mentions
    assert {t for t, _ in exported_mentions} >= {"landing", "messages"}  # Olaf's mail copying her
    assert {"publish_ledger", "lead_deliveries"} <= set(exported["operational"])  # rows not naming her
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        warehouse_keys = dict(conn.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall())
    exported_warehouse = _keys(exported["warehouse"], warehouse_keys) | {
        (m["table"], tuple(str(v) for v in m["key"].values())) for m in exported["mentions"]["warehouse"]
    }
    assert warehouse_before <= exported_warehouse
    attachments = {a["sha256"]: a["content"] for a in exported["attachments"]}
    assert attachments[own_blob] == OWN_NOTES.decode() and shared_blob in attachments

    assert cli.main(["erase", SUBJECT]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith(f"erased {sum(len(rows) for rows in exported['operational'].values())} operational rows")

    # Nothing left in any table, nor in the bytes of any file under LEAD_PIPELINE_HOME or the Dagster instance.
    assert search_operational(settings.store_url, SUBJECT) == set()
    assert search_warehouse(settings.warehouse_path, SUBJECT) == set()
    assert files_mentioning(settings.home, SUBJECT) == []
    assert files_mentioning(tmp_path / "dagster_home", SUBJECT) == []
    # What the export listed as hers is gone, what merely mentioned her is still there.
    remaining = {(t, k) for t, k in _stringify(_all_keys(settings.store_url))}
    assert not (exported_rows & remaining)
    assert exported_mentions <= remaining
    assert not blobs.has(own_blob) and blobs.has(shared_blob)  # the shared attachment is Olaf's too
    engine = sa.create_engine(settings.store_url)
    with engine.connect() as conn:
        requests = conn.execute(sa.text("SELECT kind, email, status FROM subject_requests ORDER BY kind")).fetchall()
        olaf = conn.execute(sa.text("SELECT count(*) FROM leads WHERE sender_email = 'olaf.berg@fjordkraft.example'"))
        assert olaf.scalar_one() == 1
    engine.dispose()
    assert requests == [("erase", None, "completed"), ("export", None, "completed")]


def _all_keys(url: str) -> set[tuple[str, tuple]]:
    engine = sa.create_engine(url)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    found = set()
    with engine.connect() as conn:
        for table in reflected.sorted_tables:
            keys = list(table.primary_key.columns)
            found.update((table.name, tuple(row)) for row in conn.execute(sa.select(*keys)))
    engine.dispose()
    return found


def test_a_later_delivery_from_an_erased_person_is_recognised_and_erased_mail_never_returns(settings):
    with dg.instance_for_test() as instance:
        run_pipeline(settings, instance)
        assert cli.main(["erase", SUBJECT]) == 0
        landed_after_erasure = _count(settings.store_url, "landing")
        # Her original messages are still in the mailbox: re-reading it must not bring them back.
        run_pipeline(settings, instance, all_days=True)
        assert _count(settings.store_url, "landing") == landed_after_erasure
        assert search_operational(settings.store_url, SUBJECT) == set()

        (settings.inbox / "95-subject-writes-again.eml").write_bytes(mail(
            "Ingrid Halvorsen <Ingrid.Halvorsen@nordvind-energi.example>", "New project",
            "We are starting a new project and would like a demo.", datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        ))
        run_pipeline(settings, instance)
    engine = sa.create_engine(settings.store_url)
    with engine.connect() as conn:
        statuses = conn.execute(
            sa.text("SELECT status FROM leads WHERE sender_email = :email"), {"email": SUBJECT}
        ).scalars().all()
        erasure_log = conn.execute(sa.text("SELECT * FROM erasure_log")).fetchall()
    engine.dispose()
    assert statuses == ["erased_subject"]
    assert len(erasure_log) == 1 and SUBJECT not in str(erasure_log)


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return count


def test_requests_refuse_what_is_not_an_address(pipeline_env, capsys):
    assert cli.main(["erase", "not-an-address"]) == 2
    assert "not an email address" in capsys.readouterr().err


def test_the_run_record_holds_the_request_id_only(settings, tmp_path):
    """The address reaches the job through the request row: run config, tags and logs never carry it."""
    from lead_pipeline.compliance.identity import load_salt
    from lead_pipeline.compliance.subject import file_request
    from lead_pipeline.definitions import build_definitions
    from lead_pipeline.stores.operational import OperationalStore

    store = OperationalStore(settings.store_url)
    store.ensure_schema()
    request_id = file_request(store, load_salt(settings.home), "export", SUBJECT, "2026-11-26T00:00:00Z",
                              str(tmp_path / "export.json"))
    store.dispose()
    with dg.instance_for_test() as instance:
        result = build_definitions(settings).resolve_job_def("subject_export_job").execute_in_process(
            instance=instance, run_config={"ops": {"export_subject": {"config": {"request_id": request_id}}}},
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        records = instance.all_logs(result.run_id)
    assert SUBJECT not in json.dumps(run.run_config) + json.dumps(run.tags)
    assert not [r for r in records if SUBJECT in (r.user_message or "") + str(r.dagster_event or "")]
    assert SUBJECT in Path(tmp_path / "export.json").read_text()


def test_a_failed_request_stays_pending_and_its_error_does_not_name_the_address(pipeline_env, tmp_path, monkeypatch,
                                                                                capsys):
    # DuckDB cannot open a folder, so the erasure fails after filing the request, with an error quoting
    # the path, which here contains the address.
    blocked = tmp_path / f"{SUBJECT}.duckdb"
    blocked.mkdir()
    monkeypatch.setenv("WAREHOUSE_PATH", str(blocked))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    settings = Settings.from_env()

    assert cli.main(["erase", SUBJECT]) == 1
    error = capsys.readouterr().err
    assert "stays pending" in error and "<subject>.duckdb" in error and SUBJECT not in error
    assert files_mentioning(tmp_path / "dagster_home", SUBJECT) == []
    engine = sa.create_engine(settings.store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email, status FROM subject_requests")).fetchall() == [(SUBJECT, "pending")]
    engine.dispose()
