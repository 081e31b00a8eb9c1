"""The whole graph with attachments, as `lead-pipeline run` drives it: blobs in S3 (moto on 127.0.0.1),
scanned by a real clamd, reported in the warehouse."""

import uuid

import dagster as dg
import duckdb
import httpx

from lead_pipeline.cli import main
from lead_pipeline.runner import run_pipeline
from lead_pipeline.settings import Settings
from lead_pipeline.stores.attachments import read_attachments
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.attachments.standins import EICAR, clean_pdf, message_with_attachments


def test_eicar_is_caught_and_a_clean_pdf_linked_in_the_warehouse(pipeline_env, s3_env, clamd_url, monkeypatch,
                                                                  tmp_path, capsys):
    import s3fs

    bucket = f"leads-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(bucket)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdf = clean_pdf("Request for proposal: 40 seats")
    (inbox / "rfp.eml").write_bytes(message_with_attachments(
        [("../../etc/passwd", "text/plain", EICAR), ("RFP.pdf", "application/pdf", pdf)],
        subject="Pricing for 40 seats - RFP attached",
    ))
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox))
    monkeypatch.setenv("LEAD_BLOB_STORE_URL", f"s3://{bucket}/attachments")
    monkeypatch.setenv("CLAMD_URL", clamd_url)
    settings = Settings.from_env()

    with dg.instance_for_test() as instance:
        summary = run_pipeline(settings, instance)
        assert summary.leads == 1
        run_pipeline(settings, instance, all_days=True)  # a re-run changes nothing
        [event] = instance.fetch_materializations(dg.AssetKey("stored_attachments"), limit=1).records
        assert event.asset_materialization.metadata["quarantined"].value == 0  # taken in by the first run

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        rows = conn.execute(
            "SELECT filename, scan_status, storage_url, sha256 FROM lead_attachments ORDER BY filename"
        ).fetchall()
    assert [(name, status) for name, status, _, _ in rows] == [("RFP.pdf", "clean"), ("passwd", "infected")]
    (_, _, pdf_url, pdf_sha), (_, _, virus_url, virus_sha) = rows
    assert pdf_url == f"s3://{bucket}/attachments/{pdf_sha[:2]}/{pdf_sha}" and virus_url is None

    blobs = BlobStore(settings.blob_store)
    assert blobs.read(pdf_sha) == pdf and httpx.get(blobs.signed_url(pdf_sha)).content == pdf
    assert blobs.is_quarantined(virus_sha) and not blobs.has(virus_sha) and blobs.signed_url(virus_sha) is None

    store = OperationalStore(settings.store_url)
    [taken] = read_attachments(store, _landing_ids(store)).values()
    assert {row["status"] for row in taken} == {"stored", "quarantined"}
    store.dispose()

    capsys.readouterr()
    assert main(["attachment-link", pdf_sha, "--expires", "60"]) == 0
    link = capsys.readouterr().out.strip()
    assert "X-Amz-Expires=60" in link and httpx.get(link).content == pdf
    assert main(["attachment-link", virus_sha]) == 1
    assert "not linkable: status quarantined, scan infected" in capsys.readouterr().err
    assert main(["attachment-link", "../../etc/passwd"]) == 2
    monkeypatch.delenv("LEAD_BLOB_STORE_URL")  # the same metadata, a local folder: nothing to sign
    assert main(["attachment-link", pdf_sha]) == 1
    assert "a local folder cannot sign links" in capsys.readouterr().err


def _landing_ids(store):
    import sqlalchemy as sa

    from lead_pipeline.stores import schema

    with store.engine.connect() as conn:
        return [row.landing_id for row in conn.execute(sa.select(schema.landing.c.landing_id))]


def test_attachment_resources_follow_the_environment(pipeline_env, monkeypatch):
    from lead_pipeline.definitions import build_definitions

    resources = build_definitions(Settings.from_env()).resources
    intake = resources["attachments"]
    assert resources["blobs"].root == str(Settings.from_env().blobs_dir) == intake.blobs.root
    assert intake.scanner.clamd_url is None and not intake.open().scanner.configured
    assert (intake.max_file_bytes, intake.max_message_bytes) == (25 * 2**20, 50 * 2**20)

    monkeypatch.setenv("LEAD_BLOB_STORE_URL", "s3://leads/attachments")
    monkeypatch.setenv("CLAMD_URL", "tcp://127.0.0.1:3310")
    monkeypatch.setenv("LEAD_ATTACHMENT_MAX_FILE_BYTES", "1000")
    monkeypatch.setenv("LEAD_ATTACHMENT_MAX_MESSAGE_BYTES", "5000")
    intake = build_definitions(Settings.from_env()).resources["attachments"]
    assert intake.blobs.root == "s3://leads/attachments" and intake.scanner.clamd_url == "tcp://127.0.0.1:3310"
    assert (intake.max_file_bytes, intake.max_message_bytes) == (1000, 5000)
