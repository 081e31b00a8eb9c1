"""Re-driving dead letters once their cause is fixed (a parser bug, a rules error, a bad payload)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lead_pipeline.ingest.landing import landing_row, peek_envelope, prepare_landing
from lead_pipeline.mail.mime import MessageRejected
from lead_pipeline.mail.sources import RawMessage
from lead_pipeline.stores.operational import OperationalStore


@dataclass(frozen=True)
class RedriveResult:
    selected: int
    requeued: int
    still_failing: int


def redrive(store: OperationalStore, *, stage: str, reason_contains: str = "", earliest: date) -> RedriveResult:
    """Put matching dead letters back in the queue.

    A parse failure's delivery is still in the landing table: forgetting the failure puts its day
    back in the landing backlog, which the backlog sensor (or `lead-pipeline run`) processes again.
    A landing failure kept the raw payload in the dead letter itself: it is landed again, and stays
    a dead letter (with its first reason) if it still cannot be.
    """
    letters = store.read_dead_letters_for_redrive(stage, reason_contains)
    if stage != "landing":
        store.delete_dead_letters([letter.dead_letter_id for letter in letters])
        return RedriveResult(len(letters), len(letters), 0)

    now = datetime.now(UTC)
    requeued: list[str] = []
    for letter in letters:
        if letter.raw is None:
            continue
        rows = _landing_rows(letter, earliest=earliest, now=now)
        if rows:
            store.land(rows)
            requeued.append(letter.dead_letter_id)
    store.delete_dead_letters(requeued)
    return RedriveResult(len(letters), len(requeued), len(letters) - len(requeued))


def _landing_rows(letter, *, earliest: date, now: datetime) -> list[dict]:
    raw = bytes(letter.raw)
    if letter.source == "mailparse":
        from lead_pipeline.ingest.payloads import normalise_payload, parse_received_at, safe_key

        try:
            message = normalise_payload(json.loads(raw))
        except (MessageRejected, ValueError):
            return []
        received_at = parse_received_at(message["receivedAt"])[0] if message.get("receivedAt") else None
        if received_at is not None and received_at.date() < earliest:
            return []
        return [landing_row(
            source="mailparse", source_ref=letter.source_ref, delivery_key=safe_key(message["id"] or message["messageId"]),
            payload_format="mailparse_json", raw=raw, received_at=received_at, alias=message.get("alias"), now=now,
        )]
    try:
        peek_envelope(raw)
    except Exception:  # noqa: BLE001 - still unreadable: it stays a dead letter
        return []
    return prepare_landing([RawMessage(letter.source_ref, raw)], source=letter.source, earliest=earliest, now=now).landed
