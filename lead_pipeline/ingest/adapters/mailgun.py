"""Mailgun routes (`forward("https://.../webhooks/mailgun")`) → the MailParse message.

Mailgun POSTs `application/x-www-form-urlencoded`, or `multipart/form-data` when there are attachments
(https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http). Fields:
`recipient`, `sender` (SMTP MAIL FROM), `from` (the From header), `subject`, `body-plain`, `stripped-text`,
`stripped-signature`, `body-html`, `stripped-html`, `attachment-count`, files `attachment-1`..`attachment-N`,
`timestamp`, `token`, `signature`, `message-headers` (JSON list of `[name, value]`, in order),
`content-id-map` (JSON `{"<cid>": "attachment-1"}`), plus each MIME header as its own field (`Message-Id`, `To`,
`Cc`, `Date`, ...). A route whose URL ends in `mime` receives `body-mime`, the raw MIME, instead of the parsed
bodies; it is parsed by the project's MIME parser.

Authenticity: `signature` = hex HMAC-SHA256(signing key, `timestamp` + `token`) (`verify_signature`).
Mapping: `id` = `token`; `messageId` = the Message-Id header; `alias` = `recipient`; arrival = topmost
`Received` header, else `timestamp`; SPF/DKIM from `X-Mailgun-Spf`/`X-Mailgun-Dkim-Check-Result` when
`Authentication-Results` is absent; `spamScore` from `X-Mailgun-Sscore`, else `X-Spam-Score`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from lead_pipeline.ingest.adapters.common import (
    attachment,
    facts_of,
    first_address,
    loads_or,
    overlay_mime,
    received_text,
)
from lead_pipeline.ingest.adapters.forms import Form, load_form
from lead_pipeline.ingest.payloads import normalise_payload, parse_address_list
from lead_pipeline.mail.mime import parse_message

PAYLOAD_FORMAT = "mailgun_form"


def verify_signature(
    timestamp: str | None, token: str | None, signature: str | None, keys: Sequence[str], *, now: float,
    tolerance_s: int = 300,
) -> bool:
    """Mailgun's webhook signature, with any of `keys` (rotation), and `timestamp` within `tolerance_s` of `now`."""
    if not (timestamp and token and signature and keys):
        return False
    try:
        stamp = int(timestamp.strip())
    except ValueError:
        return False
    if abs(now - stamp) > tolerance_s:
        return False
    message = (timestamp.strip() + token).encode("utf-8")
    candidate = signature.strip().lower().encode("ascii", "replace")
    matched = False
    for key in keys:
        expected = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest().encode("ascii")
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _field(form: Form, *names: str) -> str | None:
    for name in names:
        value = form.text(name)
        if value is not None:
            return value
    return None


def delivery_key(form: Form) -> str | None:
    """The original Message-Id per recipient (a retried POST has a new token but the same message), else the token."""
    pairs = _header_pairs(form, [])
    message_id = next((v for k, v in pairs if k.lower() == "message-id"), None) or _field(form, "Message-Id")
    recipient = _field(form, "recipient")
    if message_id and message_id.strip():
        return f"{' '.join(message_id.split())}|{(recipient or '').strip().lower()}"
    token = _field(form, "token")
    return token.strip() or None if token else None


def _header_pairs(form: Form, warnings: list[str]) -> list[tuple[str, str]]:
    listed = loads_or(form.text("message-headers"), [], warnings, "message_headers")
    return [
        (item[0], item[1]) for item in listed
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], str)
    ]


def to_message(raw: bytes, *, source: str | None = None) -> dict[str, Any]:
    form = load_form(raw)
    warnings: list[str] = []
    recipients, _ = parse_address_list(_field(form, "recipient"))
    rcpt_to = [r["email"].lower() for r in recipients]
    alias = rcpt_to[0] if rcpt_to else None
    mail_from = first_address(_field(form, "sender"))
    token = _field(form, "token")

    mime = form.first("body-mime")
    if mime is not None and mime.strip():
        message = parse_message(mime, source=source)
        return overlay_mime(message, event_id=token, alias=alias, rcpt_to=rcpt_to, mail_from=mail_from)

    pairs = _header_pairs(form, warnings)
    facts = facts_of(pairs)
    header = {k.lower(): v for k, v in reversed(pairs)}  # first occurrence wins
    headers = dict(facts["headers"])
    if headers["spf"] is None and header.get("x-mailgun-spf"):
        headers["spf"] = header["x-mailgun-spf"].strip().lower() or None
    if headers["dkim"] is None and header.get("x-mailgun-dkim-check-result"):
        headers["dkim"] = header["x-mailgun-dkim-check-result"].strip().lower() or None

    content_ids = loads_or(_field(form, "content-id-map", "Content-Id-Map"), {}, warnings, "content_id_map")
    cid_of = {field: cid for cid, field in content_ids.items() if isinstance(field, str)}
    attachments = [
        attachment(f.filename, f.content_type, f.content, cid_of.get(f.field)) for f in form.files
    ]
    declared = _field(form, "attachment-count")
    if declared and declared.strip().isdigit() and int(declared) != len(form.files):
        warnings.append("attachment_count_mismatch")

    return normalise_payload({
        "id": token,
        "messageId": facts["messageId"] or _field(form, "Message-Id"),
        "receivedAt": facts["receivedAt"] or received_text(_field(form, "timestamp"), warnings),
        "alias": alias,
        "envelope": {"mailFrom": mail_from, "rcptTo": rcpt_to},
        "from": _field(form, "from", "From") or _field(form, "sender"),
        "to": _field(form, "To") or facts["to"],
        "cc": _field(form, "Cc") or facts["cc"],
        "replyTo": _field(form, "Reply-To") or facts["replyTo"],
        "subject": _field(form, "subject", "Subject"),
        "text": _field(form, "body-plain"),
        "html": _field(form, "body-html"),
        "headers": headers,
        "spamScore": header.get("x-mailgun-sscore") or facts["spamScore"],
        "attachments": attachments,
        "thread": facts["thread"],
        "warnings": warnings,
    })
