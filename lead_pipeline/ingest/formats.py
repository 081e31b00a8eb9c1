"""Parsers of landed payloads, by the `payload_format` they were landed with.

Every parser turns raw landed bytes into a full message record (the schema of
`mailparse-api.md` §1 plus the derived fields) or raises `MessageRejected` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


PARSERS: dict[str, PayloadParser] = {
    "mime": _mime,
}


def parse_payload(payload_format: str, raw: bytes, source: str) -> dict[str, Any]:
    parser = PARSERS.get(payload_format)
    if parser is None:
        raise MessageRejected(f"unknown_payload_format: {payload_format!r}")
    return parser(raw, source)
