"""Postmark inbound webhook JSON → the MailParse message.

Postmark POSTs one JSON object per inbound email (https://postmarkapp.com/developer/webhooks/inbound-webhook):
`From`, `FromName`, `FromFull {Email, Name, MailboxHash}`, `To`/`ToFull`, `Cc`/`CcFull`, `Bcc`/`BccFull`,
`OriginalRecipient`, `ReplyTo`, `Subject`, `MessageID` (Postmark's id of the inbound message), `Date` (the
sender's Date header, in whatever format the sending server used), `MailboxHash`, `TextBody`, `HtmlBody`,
`StrippedTextReply`, `Tag`, `MessageStream`, `Headers [{Name, Value}]`, `Attachments [{Name, Content (base64),
ContentType, ContentLength, ContentID}]`, and `RawEmail` when the server has "include raw email" enabled.

Mapping: `id` = `MessageID`; `messageId` = the `Message-ID` header from `Headers` (else synthetic); `alias` =
`OriginalRecipient`; arrival = topmost `Received` header, else `Date`; dkim/spf/dmarc from
`Authentication-Results`/`Received-SPF`; `spamScore` from `X-Spam-Score`. `StrippedTextReply` is used as the
text only when neither body is present (the pipeline strips quotes and signatures itself, the same way for every
source). With `RawEmail` the original MIME is parsed instead (full fidelity) and the JSON supplies `id` and alias.
"""

from __future__ import annotations

from typing import Any

from lead_pipeline.ingest.adapters.common import (
    attachment,
    b64decode,
    facts_of,
    first_address,
    json_object,
    overlay_mime,
    received_text,
)
from lead_pipeline.ingest.payloads import normalise_payload
from lead_pipeline.mail.mime import parse_message

PAYLOAD_FORMAT = "postmark_json"


def delivery_key(payload: dict[str, Any]) -> str | None:
    value = payload.get("MessageID")
    return value.strip() or None if isinstance(value, str) else None


def to_message(raw: bytes, *, source: str | None = None) -> dict[str, Any]:
    data = json_object(raw)
    warnings: list[str] = []
    event_id = delivery_key(data)
    alias = first_address(data.get("OriginalRecipient"))

    raw_email = data.get("RawEmail")
    if isinstance(raw_email, str) and raw_email.strip():
        message = parse_message(raw_email.encode("utf-8", "surrogatepass"), source=source)
        return overlay_mime(message, event_id=event_id, alias=alias, rcpt_to=[alias] if alias else None)

    pairs = [
        (h.get("Name"), h.get("Value")) for h in data.get("Headers") or []
        if isinstance(h, dict) and isinstance(h.get("Name"), str) and isinstance(h.get("Value"), str)
    ]
    facts = facts_of(pairs)
    received_at = facts["receivedAt"] or received_text(data.get("Date"), warnings)

    sender: Any = data.get("FromFull") or None
    if not (isinstance(sender, dict) and sender.get("Email")):
        name, address = data.get("FromName"), data.get("From")
        sender = {"email": address, "name": name} if isinstance(address, str) and "<" not in address else address

    attachments = []
    for item in data.get("Attachments") or []:
        if not isinstance(item, dict):
            warnings.append("invalid_attachment_dropped")
            continue
        content = b64decode(item.get("Content"))
        if content is None:
            warnings.append("attachment_decode_error")
            attachments.append({
                "filename": item.get("Name"), "contentType": item.get("ContentType"),
                "size": item.get("ContentLength"), "sha256": None, "contentId": item.get("ContentID"),
                "disposition": "inline" if item.get("ContentID") else "attachment", "downloadUrl": None,
            })
            continue
        attachments.append(attachment(item.get("Name"), item.get("ContentType"), content, item.get("ContentID")))

    text, html = data.get("TextBody") or None, data.get("HtmlBody") or None
    if text is None and html is None and data.get("StrippedTextReply"):
        text = data["StrippedTextReply"]
        warnings.append("text_from_stripped_reply")

    message = normalise_payload({
        "id": event_id,
        "messageId": facts["messageId"],
        "receivedAt": received_at,
        "alias": alias,
        "envelope": {"mailFrom": facts["returnPath"], "rcptTo": [alias] if alias else []},
        "from": sender,
        "to": data.get("ToFull") or data.get("To"),
        "cc": data.get("CcFull") or data.get("Cc"),
        "replyTo": data.get("ReplyTo") or facts["replyTo"],
        "subject": data.get("Subject"),
        "text": text,
        "html": html,
        "headers": facts["headers"],
        "spamScore": facts["spamScore"],
        "attachments": attachments,
        "thread": facts["thread"],
        "warnings": warnings,
    })
    return message
