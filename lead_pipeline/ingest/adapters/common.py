"""Helpers shared by the provider adapters."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lead_pipeline.ingest.landing import utc_timestamp
from lead_pipeline.ingest.payloads import header_facts, parse_address, parse_received_at
from lead_pipeline.mail.mime import MessageRejected


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise MessageRejected(f"invalid_json: {exc}") from None
    if not isinstance(data, dict):
        raise MessageRejected(f"invalid_payload: not a JSON object but {type(data).__name__}")
    return data


def loads_or(value: str | None, default: Any, warnings: list[str], what: str) -> Any:
    """A JSON-encoded form field (SendGrid `envelope`, Mailgun `message-headers`); the default when absent/broken."""
    if value is None or not value.strip():
        return default
    try:
        data = json.loads(value)
    except ValueError:
        warnings.append(f"invalid_{what}")
        return default
    if not isinstance(data, type(default)):
        warnings.append(f"invalid_{what}")
        return default
    return data


_attachment_bytes: ContextVar[dict[str, bytes] | None] = ContextVar("attachment_bytes", default=None)


@contextmanager
def collecting_attachment_bytes() -> Iterator[dict[str, bytes]]:
    """Within the block, the bytes of every attachment an adapter decodes, by sha256: message records
    keep only metadata, and attachment intake needs the bytes."""
    found: dict[str, bytes] = {}
    token = _attachment_bytes.set(found)
    try:
        yield found
    finally:
        _attachment_bytes.reset(token)


def attachment(
    filename: str | None, content_type: str | None, content: bytes, content_id: str | None = None,
    disposition: str | None = None,
) -> dict[str, Any]:
    cid = content_id.strip().strip("<>").strip() or None if isinstance(content_id, str) else None
    digest = hashlib.sha256(content).hexdigest()
    collected = _attachment_bytes.get()
    if collected is not None:
        collected[digest] = content
    return {
        "filename": filename or None,
        "contentType": (content_type or "").split(";")[0].strip().lower() or None,
        "size": len(content),
        "sha256": digest,
        "disposition": disposition or ("inline" if cid else "attachment"),
        "contentId": cid,
        "downloadUrl": None,
    }


def b64decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def received_text(value: Any, warnings: list[str]) -> str | None:
    """A date from a provider field as RFC 3339 UTC, or None with a warning when unreadable (never a rejection)."""
    try:
        moment, _ = parse_received_at(value)
    except ValueError:
        warnings.append("bad_date")
        return None
    return utc_timestamp(moment) if moment else None


def facts_of(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    facts = header_facts(pairs)
    facts["receivedAt"] = utc_timestamp(facts["receivedAt"]) if facts["receivedAt"] else None
    return facts


def first_address(value: Any) -> str | None:
    found = parse_address(value)
    return found["email"].lower() if found else None


def overlay_mime(message: dict[str, Any], *, event_id: str | None, alias: str | None,
                 rcpt_to: list[str] | None = None, mail_from: str | None = None) -> dict[str, Any]:
    """A message parsed from the provider's raw MIME, with what the provider knows better (the envelope)."""
    message = dict(message)
    if event_id:
        message["id"] = event_id
    if alias:
        message["alias"] = alias
    envelope = dict(message.get("envelope") or {})
    if rcpt_to:
        envelope["rcptTo"] = rcpt_to
    if mail_from:
        envelope["mailFrom"] = mail_from
    message["envelope"] = envelope
    return message
