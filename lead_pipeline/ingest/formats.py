"""Parsers of landed payloads, by the `payload_format` they were landed with.

Every parser turns raw landed bytes into a full message record (the schema of
`mailparse-api.md` §1 plus the derived fields) or raises `MessageRejected` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lead_pipeline.ingest.adapters import mailgun, postmark, sendgrid
from lead_pipeline.ingest.payloads import normalise_payload
from lead_pipeline.mail.clean import clean_body, content_hash, detect_language
from lead_pipeline.mail.mime import MessageRejected, parse_message

PayloadParser = Callable[[bytes, str], dict[str, Any]]


def with_derived_fields(message: dict[str, Any], source: str) -> dict[str, Any]:
    """Add replyText, signature, language, contentHash to a message that arrived already parsed."""
    cleaned = clean_body(message.get("text"), message.get("html"))
    return {
        **message,
        "replyText": cleaned.reply_text,
        "signature": cleaned.signature,
        "language": detect_language(cleaned.reply_text),
        "contentHash": content_hash(cleaned.reply_text),
        "warnings": list(message.get("warnings") or []),
        "source": source,
    }


def _mime(raw: bytes, source: str) -> dict[str, Any]:
    return parse_message(raw, source=source)


def _mailparse_json(raw: bytes, source: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError as exc:  # includes undecodable bytes
        raise MessageRejected(f"invalid_json: {exc}") from None
    with _only_rejections():
        return with_derived_fields(normalise_payload(payload), source)


def _provider(to_message: Callable[..., dict[str, Any]]) -> PayloadParser:
    """A provider adapter's `to_message`; a message it parsed from raw MIME already has the derived fields."""

    def parse(raw: bytes, source: str) -> dict[str, Any]:
        with _only_rejections():
            message = to_message(raw, source=source)
            return message if "contentHash" in message else with_derived_fields(message, source)

    return parse


@contextmanager
def _only_rejections() -> Iterator[None]:
    """Like `parse_message`: nothing but MessageRejected escapes, so one odd payload cannot fail a partition."""
    try:
        yield
    except MessageRejected:
        raise
    except Exception as exc:  # noqa: BLE001
        detail = str(exc).replace("\n", " ")[:200]
        raise MessageRejected(f"parse_error: {type(exc).__name__}: {detail}") from exc


PARSERS: dict[str, PayloadParser] = {
    "mime": _mime,
    "mailparse_json": _mailparse_json,
    "postmark_json": _provider(postmark.to_message),
    "sendgrid_form": _provider(sendgrid.to_message),
    "mailgun_form": _provider(mailgun.to_message),
}


def parse_payload(payload_format: str, raw: bytes, source: str) -> dict[str, Any]:
    parser = PARSERS.get(payload_format)
    if parser is None:
        raise MessageRejected(f"unknown_payload_format: {payload_format!r}")
    return parser(raw, source)
