"""SendGrid Inbound Parse → the MailParse message.

SendGrid POSTs `multipart/form-data` (https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/
setting-up-the-inbound-parse-webhook). Default ("parsed") mode fields: `headers` (the raw header block),
`dkim` (`{@example.com : pass}`), `content-ids` (JSON `{cid: "attachment1"}`), `to`, `from`, `cc`, `subject`,
`text`, `html`, `sender_ip`, `spam_report`, `spam_score`, `SPF`, `envelope` (JSON `{"to": [...], "from": "..."}`),
`charsets` (JSON: the charset of each text field), `attachments` (count), `attachment-info` (JSON
`{"attachment1": {"filename", "name", "type", "content-id"}}`) and the files `attachment1`..`attachmentN`.
"Send Raw" mode replaces the parsed fields by `email`, the full MIME message, which the project parses itself.

The receiver lands the form as canonical JSON (`adapters.forms`); `to_message` reads it back. Text fields are
decoded with the charset `charsets` declares for them. `alias` = the envelope recipient.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import HeaderParser
from email.policy import compat32
from typing import Any

from lead_pipeline.ingest.adapters.common import (
    attachment,
    facts_of,
    first_address,
    loads_or,
    overlay_mime,
)
from lead_pipeline.ingest.adapters.forms import Form, load_form
from lead_pipeline.ingest.payloads import normalise_payload, parse_address_list
from lead_pipeline.mail.mime import parse_message

PAYLOAD_FORMAT = "sendgrid_form"

_DKIM_RE = re.compile(r"@?[^\s{},:]+\s*:\s*([A-Za-z]+)")


def dkim_verdict(value: str | None) -> str | None:
    """`{@example.com : pass}` (one entry per signature) → "pass" if any signature passed, else the first result."""
    if not value:
        return None
    results = [r.lower() for r in _DKIM_RE.findall(value)]
    if not results:
        return None
    return "pass" if "pass" in results else results[0]


def _decoder(form: Form, warnings: list[str]):
    charsets = loads_or(form.text("charsets"), {}, warnings, "charsets")

    def text(name: str) -> str | None:
        value = form.first(name)
        if value is None:
            return None
        charset = charsets.get(name) if isinstance(charsets.get(name), str) else None
        for codec in (charset, "utf-8"):
            if not codec:
                continue
            try:
                return value.decode(codec)
            except (LookupError, UnicodeDecodeError):
                continue
        warnings.append(f"undecodable_{name}")
        return value.decode("utf-8", "replace")

    return text


def to_message(raw: bytes, *, source: str | None = None) -> dict[str, Any]:
    form = load_form(raw)
    warnings: list[str] = []
    text = _decoder(form, warnings)
    envelope = loads_or(text("envelope"), {}, warnings, "envelope")
    rcpt, _ = parse_address_list(envelope.get("to"))
    rcpt_to = [r["email"].lower() for r in rcpt]
    mail_from = first_address(envelope.get("from"))
    alias = rcpt_to[0] if rcpt_to else None

    email = form.first("email")
    if email is not None and email.strip():
        message = parse_message(email, source=source)
        return overlay_mime(message, event_id=None, alias=alias, rcpt_to=rcpt_to, mail_from=mail_from)

    block = text("headers") or ""
    parsed_headers = HeaderParser(policy=compat32).parsestr(block) if block.strip() else None
    pairs = [(k, str(v)) for k, v in parsed_headers.items()] if parsed_headers is not None else []
    facts = facts_of(pairs)
    headers = dict(facts["headers"])
    headers["dkim"] = dkim_verdict(text("dkim")) or headers["dkim"]
    spf = (text("SPF") or "").strip().lower()
    headers["spf"] = spf.split()[0] if spf else headers["spf"]

    info = loads_or(text("attachment-info"), {}, warnings, "attachment_info")
    content_ids = loads_or(text("content-ids"), {}, warnings, "content_ids")
    cid_of = {field: cid for cid, field in content_ids.items() if isinstance(field, str)}
    attachments = []
    for file in form.files:
        meta = info.get(file.field) if isinstance(info.get(file.field), dict) else {}
        attachments.append(attachment(
            meta.get("filename") or meta.get("name") or file.filename,
            meta.get("type") or file.content_type,
            file.content,
            meta.get("content-id") or cid_of.get(file.field),
        ))
    declared = text("attachments")
    if declared and declared.strip().isdigit() and int(declared) != len(form.files):
        warnings.append("attachment_count_mismatch")

    return normalise_payload({
        "id": "sendgrid_" + hashlib.sha256(raw).hexdigest()[:32],
        "messageId": facts["messageId"],
        "receivedAt": facts["receivedAt"],
        "alias": alias,
        "envelope": {"mailFrom": mail_from, "rcptTo": rcpt_to},
        "from": text("from"),
        "to": text("to"),
        "cc": text("cc"),
        "replyTo": facts["replyTo"],
        "subject": text("subject"),
        "text": text("text"),
        "html": text("html"),
        "headers": headers,
        "spamScore": text("spam_score") or facts["spamScore"],
        "attachments": attachments,
        "thread": facts["thread"],
        "warnings": warnings,
    })
