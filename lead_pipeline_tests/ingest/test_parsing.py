"""parse_landed: landing rows of every format to message rows and dead letters, in row order."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from lead_pipeline.ingest import parsing
from lead_pipeline.ingest.formats import parse_payload
from lead_pipeline.mail.mime import MessageRejected, parse_message

SAMPLE_INBOX = Path(parsing.__file__).resolve().parents[1] / "sample_inbox"


def row(index: int, payload_format: str, raw: bytes) -> SimpleNamespace:
    return SimpleNamespace(landing_id=f"landing-{index}", source="inbox", source_ref=f"ref-{index}",
                           source_alias="sales@yourcompany.example", payload_format=payload_format, raw=raw,
                           received_at="2026-11-26T10:00:00Z", received_date="2026-11-26")


def one_by_one(raws, *, sources):
    for raw, source in zip(raws, sources):
        try:
            yield parse_message(raw, source=source)
        except MessageRejected as exc:
            yield exc


def test_rows_of_every_format_come_out_in_row_order_as_parsed_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    emls = [path.read_bytes() for path in sorted(SAMPLE_INBOX.glob("*.eml"))]
    mailparse = json.dumps({"id": "msg_1", "from": "Alex Chen <alex@acme.example>", "subject": "Demo",
                            "text": "We would like a demo for 12 people.", "receivedAt": "2026-11-26T09:00:00Z"}).encode()
    payloads = [("mime", raw) for raw in emls[:40]]
    payloads[3:3] = [("mime", b""), ("mailparse_json", mailparse), ("mime", b"not a message at all"),
                     ("mailparse_json", b"{not json"), ("unknown_format", b"x"), ("mime", memoryview(emls[0]))]
    rows = [row(index, payload_format, raw) for index, (payload_format, raw) in enumerate(payloads)]

    batch = parsing.parse_landed(rows, parsed_at="2026-11-26T12:00:00Z")

    expected_messages, expected_dead = [], []
    for landing in rows:
        try:
            record = parse_payload(landing.payload_format, bytes(landing.raw), landing.source_ref)
        except MessageRejected as exc:
            expected_dead.append((landing.landing_id, exc.reason))
            continue
        expected_messages.append((landing.landing_id, record["contentHash"], record["messageId"]))
    assert [(m["landing_id"], m["content_hash"], m["message_id"]) for m in batch.messages] == expected_messages
    assert [(d["landing_id"], d["reason"]) for d in batch.dead_letters] == expected_dead
    assert len(expected_dead) == 4 and len(expected_messages) == len(rows) - 4
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "parse_many", one_by_one)
        assert parsing.parse_landed(rows, parsed_at="2026-11-26T12:00:00Z") == batch
    record = json.loads(batch.messages[0]["record"])
    assert record["receivedAt"] == "2026-11-26T10:00:00Z" and record["source"] == "ref-0"
