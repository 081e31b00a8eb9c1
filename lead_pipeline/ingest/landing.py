"""Landing: raw deliveries become durable rows before anything interprets them.

Landing reads only the header block (where the receiving alias and arrival time are) so that a
sweep of a large mailbox stays cheap; full parsing happens per daily partition afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from lead_pipeline.mail.header_block import header_items, split_header_block
from lead_pipeline.mail.sources import RawMessage

ALIAS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
HEADER_PEEK_BYTES = 64 * 1024
_PEEKED = {name.lower() for name in ("Received", "Date", *ALIAS_HEADERS)}

# What vouched for a delivery when it landed (`landing.signature_verification`, copied onto its leads).
# Each webhook endpoint answers 401 unless its check passes, so the source says which check it passed.
SIGNATURE_VERIFICATION = {
    "webhook": "hmac_verified",  # MailParse X-Signature
    "mailgun": "hmac_verified",  # Mailgun's signature over timestamp + token
    "postmark": "secret_verified",  # ?token= or basic-auth password (Postmark does not sign)
    "sendgrid": "secret_verified",
    "mailparse": "fetched_with_token",  # polled from the MailParse API with our token
}
# Inbox files carry only the mail's own authentication headers (see messages.dkim).
UNSIGNED = "unsigned"


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 5322 "-0000": the zone is unknown, UTC is the convention
        moment = moment.replace(tzinfo=UTC)
    return moment


def peek_envelope(raw: bytes) -> tuple[datetime | None, str | None]:
    """Arrival time (topmost `Received`, else `Date`) and receiving alias, from the headers only."""
    # What follows the first empty line is body, which the header parser would still read through.
    block, _ = split_header_block(raw[:HEADER_PEEK_BYTES])
    headers = _peeked_headers(block)
    received_at = None
    for received in headers.get("received", []):
        received_at = _parse_date(received.rpartition(";")[2])
        break
    received_at = received_at or _parse_date(next(iter(headers.get("date", [])), ""))
    alias = None
    for name in ALIAS_HEADERS:
        value = next(iter(headers.get(name.lower(), [])), None)
        if value:
            addresses = [addr for _, addr in getaddresses([value]) if "@" in addr]
            if addresses:
                alias = addresses[0].strip().lower()
                break
    return received_at, alias


def _peeked_headers(block: bytes) -> dict[str, list[str]]:
    """Values of the headers `peek_envelope` reads (lower-case name → values in order), as the stdlib's
    compat32 header parser gives them."""
    items = header_items(block)
    if items is None or not block.isascii():
        # A defect (the stdlib decides where the headers end) or 8-bit bytes (it decides how they read).
        items = [(name, str(value)) for name, value in BytesHeaderParser(policy=compat32).parsebytes(block).items()]
    headers: dict[str, list[str]] = {}
    for name, value in items:
        key = name.lower()
        if key in _PEEKED:
            headers.setdefault(key, []).append(value)
    return headers


def landing_id_for(source: str, delivery_key: str) -> str:
    return hashlib.sha256(f"{source}:{delivery_key}".encode()).hexdigest()[:32]


def dead_letter_id_for(stage: str, key: str) -> str:
    return hashlib.sha256(f"{stage}:{key}".encode()).hexdigest()[:32]


@dataclass
class LandingBatch:
    """What one sweep produced: rows to land and inputs rejected before landing."""

    landed: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def prepare_landing(
    messages: Iterable[RawMessage], *, source: str, earliest: date, now: datetime
) -> LandingBatch:
    """Landing rows for raw messages; a message that cannot be dated into a partition is rejected.

    A message with no usable date lands on the day it was found rather than being lost.
    """
    batch = LandingBatch()
    now_text = utc_timestamp(now)
    for message in messages:
        raw_sha256 = hashlib.sha256(message.raw).hexdigest()
        landing_id = landing_id_for(source, raw_sha256)
        try:
            received_at, alias = peek_envelope(message.raw)
        except Exception as exc:  # noqa: BLE001 - any header failure is the message's, not the run's
            batch.rejected.append(_rejection(message, source, landing_id, f"unreadable_headers: {exc}", now_text))
            continue
        received_at = received_at or now
        if received_at.astimezone(UTC).date() < earliest:
            reason = (
                f"received_before_partition_start: received {utc_timestamp(received_at)}, partitions start "
                f"{earliest.isoformat()} (set LEAD_PIPELINE_START_DATE to ingest older mail)"
            )
            batch.rejected.append(_rejection(message, source, landing_id, reason, now_text, alias))
            continue
        batch.landed.append(
            landing_row(
                source=source, source_ref=message.source_ref, delivery_key=raw_sha256, payload_format="mime",
                raw=message.raw, received_at=received_at, alias=alias, now=now,
            )
        )
    return batch


def landing_row(
    *,
    source: str,
    source_ref: str,
    delivery_key: str,
    payload_format: str,
    raw: bytes,
    received_at: datetime | None,
    alias: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The landing-table row of one delivery.

    `delivery_key` identifies the delivery at its source (a provider event id, or the sha256 of the
    raw bytes), so a retried or replayed delivery lands once. `payload_format` names the parser of
    `raw` (see `lead_pipeline.ingest.parsing`). Without an arrival time the delivery is dated now.
    """
    stamp = utc_timestamp(received_at or now)
    return {
        "landing_id": landing_id_for(source, delivery_key),
        "source": source,
        "source_ref": source_ref,
        "source_alias": alias,
        "delivery_key": delivery_key,
        "payload_format": payload_format,
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
        "signature_verification": SIGNATURE_VERIFICATION.get(source, UNSIGNED),
        "received_at": stamp,
        "received_date": stamp[:10],
        "raw": raw,
        "landed_at": utc_timestamp(now),
    }


def _rejection(
    message: RawMessage, source: str, landing_id: str, reason: str, now_text: str, alias: str | None = None
) -> dict[str, Any]:
    return {
        "dead_letter_id": dead_letter_id_for("landing", landing_id),
        "stage": "landing",
        "source": source,
        "source_ref": message.source_ref,
        "landing_id": None,
        "source_alias": alias,
        "reason": reason,
        "raw_ref": message.source_ref,
        "raw": message.raw,
        "received_date": now_text[:10],
        "failed_at": now_text,
    }


def iter_batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
