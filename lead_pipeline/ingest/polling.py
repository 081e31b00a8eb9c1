"""One poll of a MailParse stream: land every page durably, then advance its cursor. Plain Python, no Dagster.

The order per page is the whole guarantee (`mailparse-api.md` §2):

1. validate each item (`normalise_payload`); invalid items become dead letters with their bytes;
2. land the valid items (`store.land`, idempotent on `(source, delivery_key)`);
3. only then save the page's `next_cursor` for the stream.

A crash between 2 and 3 replays the page on the next poll and `land` absorbs it; a crash before 2
lands nothing and the cursor has not moved; nothing is ever skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lead_pipeline.ingest.landing import dead_letter_id_for, landing_id_for, landing_row, utc_timestamp
from lead_pipeline.ingest.mailparse_client import (
    MailParseAuthError,
    MailParseClient,
    MailParseError,
    MailParseUnavailable,
)
from lead_pipeline.ingest.payloads import normalise_payload, parse_received_at, safe_key
from lead_pipeline.mail.mime import MessageRejected
from lead_pipeline.stores.operational import OperationalStore

SOURCE = "mailparse"

log = logging.getLogger(__name__)

AttachmentSink = Callable[[str, dict[str, Any], bytes], None]

__all__ = ["PollResult", "SOURCE", "poll_stream"]


@dataclass(frozen=True)
class PollResult:
    pages: int  # pages fetched and landed (their cursor saved)
    landed: int  # deliveries new to the landing table
    already_landed: int  # deliveries the landing table already had (a replayed page)
    invalid: int  # items recorded as dead letters
    cursor: str | None  # the stream's cursor after the poll
    received_dates: tuple[str, ...] = ()  # days that received newly landed deliveries
    attachments: int = 0  # attachments handed to `attachment_sink`


def poll_stream(
    client: MailParseClient,
    store: OperationalStore,
    *,
    stream: str,
    alias: str | None,
    now: Callable[[], datetime],
    page_limit: int = 100,
    max_pages: int | None = None,
    before_cursor_saved: Callable[[], None] = lambda: None,
    earliest: date | None = None,
    attachment_sink: AttachmentSink | None = None,
) -> PollResult:
    """Poll `stream` (one alias, or every alias when `alias` is None) from its stored cursor until the API has no
    more pages or `max_pages` pages were landed.

    Items with a `rawUrl` are landed as the original MIME (`payload_format="mime"`), fetched now while the URL is
    valid; the others as their canonical JSON (`"mailparse_json"`). Both are keyed by the MailParse event `id`
    (or the synthetic message id when an item has none), so a replayed page lands nothing new.

    `before_cursor_saved` runs after a page is landed and before its cursor is stored (a test hook that simulates a
    crash there). `earliest`, when given, dead-letters items received before the first daily partition, with the
    reason `prepare_landing` uses for the inbox.

    `attachment_sink`, when given, receives `(delivery_key, attachment, content)` for every attachment
    `downloadUrl` of the page's valid JSON items, downloaded before the page is landed (the URLs are short-lived);
    items landed as MIME carry their attachments already. An attachment that is gone (4xx) is skipped and logged;
    a transient failure fails the poll like any other, before the page is landed. A replayed page hands its
    attachments over again: the sink must be idempotent (e.g. content-addressed by sha256).

    Errors propagate with the cursor at the last fully landed page: `MalformedPage` (nothing of that page is
    landed), `MailParseUnavailable`, `MailParseAuthError`.
    """
    cursor = store.read_cursor(stream)
    pages = landed = already = invalid = attachments = 0
    days: set[str] = set()
    while max_pages is None or pages < max_pages:
        page = client.fetch_page(cursor, limit=page_limit, alias=alias)
        moment = now()
        rows: dict[str, dict[str, Any]] = {}
        dead: dict[str, dict[str, Any]] = {}
        for item, raw in zip(page.items, page.raw_items, strict=True):
            try:
                message = normalise_payload(item)
                row = _landing_row(client, message, raw, alias, moment, earliest)
                if attachment_sink is not None and row["payload_format"] == "mailparse_json":
                    attachments += _fetch_attachments(client, row["delivery_key"], message, attachment_sink)
            except MessageRejected as exc:
                letter = _dead_letter(item, raw, exc.reason, alias, moment)
                dead[letter["dead_letter_id"]] = letter
                continue
            rows.setdefault(row["landing_id"], row)  # an item repeated within a page is one delivery
        new_ids = store.land(list(rows.values()))
        store.record_dead_letters(list(dead.values()))
        before_cursor_saved()
        if page.next_cursor is not None:  # a page without a cursor must not rewind the stream to the start
            store.save_cursor(stream, page.next_cursor, utc_timestamp(moment))
            cursor = page.next_cursor
        pages += 1
        landed += len(new_ids)
        already += len(rows) - len(new_ids)
        invalid += len(dead)
        days.update(row["received_date"] for row in rows.values() if row["landing_id"] in new_ids)
        if not page.has_more or not page.items:
            break
    return PollResult(pages=pages, landed=landed, already_landed=already, invalid=invalid, cursor=cursor,
                      received_dates=tuple(sorted(days)), attachments=attachments)


def _landing_row(
    client: MailParseClient,
    message: dict[str, Any],
    raw: bytes,
    stream_alias: str | None,
    moment: datetime,
    earliest: date | None,
) -> dict[str, Any]:
    key = safe_key(message["id"] or message["messageId"])
    received_at = parse_received_at(message["receivedAt"])[0] if message["receivedAt"] else None
    if earliest is not None and received_at is not None and received_at.date() < earliest:
        raise MessageRejected(
            f"received_before_partition_start: received {message['receivedAt']}, partitions start "
            f"{earliest.isoformat()} (set LEAD_PIPELINE_START_DATE to ingest older mail)"
        )
    payload_format, body = "mailparse_json", raw
    if message["rawUrl"]:
        try:
            payload_format, body = "mime", client.download(message["rawUrl"])
        except (MailParseAuthError, MailParseUnavailable):
            raise  # transient or configuration: fail the poll, the page is retried from the same cursor
        except MailParseError:
            pass  # expired or gone (4xx): the JSON form still carries the message
        if payload_format == "mime" and not body.strip():
            payload_format, body = "mailparse_json", raw
    return landing_row(
        source=SOURCE,
        source_ref=f"{SOURCE}:{key}",
        delivery_key=key,
        payload_format=payload_format,
        raw=body,
        received_at=received_at,
        alias=message["alias"] or stream_alias,
        now=moment,
    )


def _fetch_attachments(
    client: MailParseClient, key: str, message: dict[str, Any], sink: AttachmentSink
) -> int:
    count = 0
    for attachment in message["attachments"]:
        url = attachment["downloadUrl"]
        if not url:
            continue
        try:
            content = client.download(url)
        except (MailParseAuthError, MailParseUnavailable):
            raise
        except MailParseError as exc:
            log.warning("attachment %r of %s is gone: %s", attachment["filename"], key, exc)
            continue
        sink(key, attachment, content)
        count += 1
    return count


def _dead_letter(item: Any, raw: bytes, reason: str, alias: str | None, moment: datetime) -> dict[str, Any]:
    item_id = item.get("id") if isinstance(item, dict) else None
    key = safe_key(str(item_id)) if isinstance(item_id, (str, int)) and str(item_id) else (
        "sha256:" + hashlib.sha256(raw).hexdigest()
    )
    stamp = utc_timestamp(moment)
    ref = f"{SOURCE}:{key}"
    return {
        "dead_letter_id": dead_letter_id_for("landing", landing_id_for(SOURCE, key)),
        "stage": "landing",
        "source": SOURCE,
        "source_ref": ref,
        "landing_id": None,
        "source_alias": alias,
        "reason": reason,
        "raw_ref": ref,
        "raw": raw,
        "received_date": stamp[:10],
        "failed_at": stamp,
    }
