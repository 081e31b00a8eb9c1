"""Attachments taken in from landed mail and from polled MailParse messages, with a real clamd."""

import hashlib
from datetime import UTC, date, datetime

import pytest

from lead_pipeline.attachments.intake import (
    AttachmentIntake, AttachmentLimits, take_landed_attachments, take_polled_attachment,
)
from lead_pipeline.attachments.scanning import ClamdScanner, NoScanner
from lead_pipeline.ingest.landing import prepare_landing
from lead_pipeline.ingest.parsing import parse_landed
from lead_pipeline.mail.sources import RawMessage
from lead_pipeline.stores.attachments import is_linkable, read_attachments
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline.stores.window import DateWindow
from lead_pipeline_tests.attachments.standins import EICAR, EICAR_SIGNATURE, clean_pdf, message_with_attachments

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
WINDOW = DateWindow("2026-03-05", "2026-03-06")


def _land(store: OperationalStore, *raws: bytes) -> list[str]:
    batch = prepare_landing([RawMessage(f"test:{i}", raw) for i, raw in enumerate(raws)], source="inbox",
                            earliest=date(2020, 1, 1), now=NOW)
    store.land(batch.landed)
    for rows in store.iter_landed(WINDOW):
        store.save_messages(parse_landed(rows, parsed_at="2026-03-05T12:00:00Z").messages)
    return [row["landing_id"] for row in batch.landed]


def _take(store, intake):
    messages = store.read_messages(WINDOW, columns=["landing_id", "record"])
    return take_landed_attachments(store, messages.itertuples(index=False), intake)


@pytest.fixture
def store(store_url):
    store = OperationalStore(store_url)
    store.ensure_schema()
    yield store
    store.dispose()


def _intake(tmp_path, scanner, **limits):
    return AttachmentIntake(BlobStore(tmp_path / "blobs"), scanner, AttachmentLimits(**limits),
                            now=lambda: "2026-03-05T12:00:00Z")


def test_eicar_is_quarantined_and_a_clean_pdf_stored(store, tmp_path, clamd_url):
    pdf = clean_pdf()
    [landing_id] = _land(store, message_with_attachments([
        ("../../etc/passwd", "text/plain", EICAR), ("RFP 2026.pdf", "application/pdf", pdf),
    ]))
    intake = _intake(tmp_path, ClamdScanner(clamd_url))
    totals = _take(store, intake)
    assert (totals.messages, totals.stored, totals.quarantined) == (1, 1, 1)

    rows = {r["filename"]: r for r in read_attachments(store, [landing_id])[landing_id]}
    assert set(rows) == {"passwd", "RFP 2026.pdf"}
    virus, document = rows["passwd"], rows["RFP 2026.pdf"]
    assert (virus["status"], virus["scan_status"]) == ("quarantined", "infected")
    assert EICAR_SIGNATURE in virus["scan_detail"] and not is_linkable(virus)
    assert intake.blobs.is_quarantined(virus["sha256"]) and not intake.blobs.has(virus["sha256"])
    assert (document["status"], document["scan_status"]) == ("stored", "clean") and is_linkable(document)
    assert intake.blobs.read(document["sha256"]) == pdf
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest() and document["size"] == len(pdf)
    # Nothing was written outside the blob store, whatever the name said.
    assert not (tmp_path / "etc").exists()
    assert {p.relative_to(tmp_path / "blobs").parts[0] for p in (tmp_path / "blobs").rglob("*") if p.is_file()} \
        == {"quarantine", document["sha256"][:2]}

    # Idempotent: taken in once.
    assert _take(store, intake).messages == 0


def test_size_limits_reject_with_a_reason(store, tmp_path):
    small, medium, large = b"a" * 100, b"b" * 300, b"c" * 600
    [landing_id] = _land(store, message_with_attachments([
        ("small.txt", "text/plain", small), ("medium.txt", "text/plain", medium),
        ("large.txt", "text/plain", large), ("again.txt", "text/plain", medium + b"!"),
    ]))
    _take(store, _intake(tmp_path, NoScanner(), max_file_bytes=500, max_message_bytes=450))
    rows = {r["filename"]: r for r in read_attachments(store, [landing_id])[landing_id]}
    assert rows["small.txt"]["status"] == rows["medium.txt"]["status"] == "stored"
    assert rows["small.txt"]["scan_status"] == "unscanned" and is_linkable(rows["small.txt"])
    assert rows["large.txt"]["status"] == "rejected" and rows["large.txt"]["reason"].startswith("file_too_large")
    assert rows["again.txt"]["status"] == "rejected"
    assert rows["again.txt"]["reason"] == "message_too_large: 701 bytes > 450"
    assert not BlobStore(tmp_path / "blobs").has(rows["large.txt"]["sha256"])


def test_declared_type_is_checked_against_the_bytes(store, tmp_path):
    [landing_id] = _land(store, message_with_attachments([
        ("photo.png", "image/png", clean_pdf()), ("deck.pdf", "application/pdf", clean_pdf("deck")),
    ]))
    _take(store, _intake(tmp_path, NoScanner()))
    rows = {r["filename"]: r for r in read_attachments(store, [landing_id])[landing_id]}
    assert rows["photo.png"]["content_type_mismatch"] and rows["photo.png"]["sniffed_content_type"] == "application/pdf"
    assert not rows["deck.pdf"]["content_type_mismatch"]


def test_a_failed_scan_is_stored_unlinked_and_retried(store, tmp_path, clamd_url):
    [landing_id] = _land(store, message_with_attachments([("RFP.pdf", "application/pdf", clean_pdf())]))
    _take(store, _intake(tmp_path, ClamdScanner(f"unix://{tmp_path}/down.sock", timeout_s=2)))
    [row] = read_attachments(store, [landing_id])[landing_id]
    assert (row["status"], row["scan_status"]) == ("stored", "error") and not is_linkable(row)
    assert _take(store, _intake(tmp_path, ClamdScanner(clamd_url))).messages == 1
    [row] = read_attachments(store, [landing_id])[landing_id]
    assert row["scan_status"] == "clean" and is_linkable(row)


def test_polled_attachments_keep_their_raw_name_safely(store, tmp_path, clamd_url):
    intake = _intake(tmp_path, ClamdScanner(clamd_url), max_message_bytes=len(EICAR) + 10)
    meta = {"filename": "../../etc/passwd", "contentType": "text/plain"}
    [row] = take_polled_attachment(store, intake, "mailparse-landing", meta, EICAR)
    assert (row["filename"], row["original_filename"]) == ("passwd", "../../etc/passwd")
    assert row["scan_status"] == "infected"
    assert take_polled_attachment(store, intake, "mailparse-landing", meta, EICAR) == []  # polled again
    [second] = take_polled_attachment(store, intake, "mailparse-landing", {"filename": "b.pdf"}, clean_pdf())
    assert second["position"] == 1 and second["reason"].startswith("message_too_large")


def _land_payload(store, payload_format: str, body: bytes, key: str) -> str:
    from lead_pipeline.ingest.landing import landing_row

    row = landing_row(source="webhook", source_ref=f"webhook:{key}", delivery_key=key, payload_format=payload_format,
                      raw=body, received_at=NOW, alias=None, now=NOW)
    store.land([row])
    for rows in store.iter_landed(WINDOW):
        store.save_messages(parse_landed(rows, parsed_at="2026-03-05T12:00:00Z").messages)
    return row["landing_id"]


def test_provider_payload_attachments_are_decoded_and_scanned(store, tmp_path, clamd_url):
    import base64
    import json

    payload = {
        "FromFull": {"Email": "dana.whitfield@acme-robotics.example", "Name": "Dana Whitfield"},
        "ToFull": [{"Email": "sales@lead-pipeline.example"}], "Subject": "RFP", "MessageID": "pm-1",
        "Date": "Thu, 05 Mar 2026 10:00:00 +0000", "TextBody": "RFP attached.",
        "Attachments": [
            {"Name": "../../etc/passwd", "Content": base64.b64encode(EICAR).decode(), "ContentType": "text/plain"},
            {"Name": "RFP.pdf", "Content": base64.b64encode(clean_pdf()).decode(), "ContentType": "application/pdf"},
        ],
    }
    landing_id = _land_payload(store, "postmark_json", json.dumps(payload).encode(), "pm-1")
    _take(store, _intake(tmp_path, ClamdScanner(clamd_url)))
    rows = {r["filename"]: r for r in read_attachments(store, [landing_id])[landing_id]}
    assert rows["passwd"]["original_filename"] == "../../etc/passwd"
    assert (rows["passwd"]["status"], rows["passwd"]["scan_status"]) == ("quarantined", "infected")
    assert (rows["RFP.pdf"]["status"], rows["RFP.pdf"]["scan_status"]) == ("stored", "clean")


def test_polled_attachment_whose_scan_failed_is_rescanned_from_the_blob_store(store, tmp_path, clamd_url):
    import json

    pdf = clean_pdf("polled")
    sha = hashlib.sha256(pdf).hexdigest()
    item = {"id": "mp-1", "messageId": "<mp-1@acme-robotics.example>", "receivedAt": "2026-03-05T10:00:00Z",
            "from": {"email": "dana.whitfield@acme-robotics.example", "name": "Dana"}, "subject": "RFP",
            "text": "RFP attached.", "attachments": [
                {"filename": "RFP.pdf", "contentType": "application/pdf", "size": len(pdf), "sha256": sha},
                {"filename": "gone.pdf", "contentType": "application/pdf", "size": 10, "sha256": "a" * 64},
            ]}
    landing_id = _land_payload(store, "mailparse_json", json.dumps(item).encode(), "mp-1")
    broken = _intake(tmp_path, ClamdScanner(f"unix://{tmp_path}/down.sock", timeout_s=2))
    [row] = take_polled_attachment(store, broken, landing_id, item["attachments"][0], pdf)
    assert row["scan_status"] == "error"

    _take(store, _intake(tmp_path, ClamdScanner(clamd_url)))
    rows = {r["filename"]: r for r in read_attachments(store, [landing_id])[landing_id]}
    assert (rows["RFP.pdf"]["status"], rows["RFP.pdf"]["scan_status"]) == ("stored", "clean")
    assert rows["gone.pdf"]["status"] == "missing" and rows["gone.pdf"]["reason"].startswith("not_downloaded")


def test_erasing_a_delivery_frees_only_blobs_no_other_delivery_uses(store, tmp_path):
    from lead_pipeline.stores.attachments import forget_attachments

    shared, own = clean_pdf("shared"), clean_pdf("own")
    first, second = _land(store, message_with_attachments([("a.pdf", "application/pdf", shared),
                                                           ("b.pdf", "application/pdf", own)], subject="one"),
                          message_with_attachments([("a.pdf", "application/pdf", shared)], subject="two"))
    intake = _intake(tmp_path, NoScanner())
    _take(store, intake)
    orphaned = forget_attachments(store, [first])
    assert orphaned == [hashlib.sha256(own).hexdigest()]
    assert all(intake.blobs.delete(digest) for digest in orphaned)
    assert intake.blobs.has(hashlib.sha256(shared).hexdigest())
    assert first not in read_attachments(store, [first, second]) and len(read_attachments(store, [second])[second]) == 1
