"""From a parsed message to a lead candidate: who the lead is, their company, and scoring signals."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from lead_pipeline.leads import normalise as norm
from lead_pipeline.leads import signals
from lead_pipeline.leads.firmographics import Firmographics
from lead_pipeline.leads.quantities import find_budget, find_team_size, find_timeline
from lead_pipeline.mail.clean import clean_body, content_hash, html_to_text

DOCUMENT_TYPES = frozenset({
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
})
SMALL_DOCUMENT_BYTES = 5 * 1024 * 1024

_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*Forwarded message\s*-{2,}|Begin forwarded message:|-{2,}\s*Weitergeleitete Nachricht\s*-{2,}"
    r"|-{2,}\s*Message transféré\s*-{2,}|-{2,}\s*(?:Original Message|Ursprüngliche Nachricht)\s*-{2,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(r"^\s*\*?(From|De|Von|Date|Sent|Envoyé|Gesendet|To|À|An|Cc|Subject|Objet|Betreff)\*?:\s*(.*)$",
                          re.IGNORECASE)
_FORM_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,30}?)\s*:\s*(.+?)\s*$")
FORM_FIELD_NAMES = {
    "name": "name", "full name": "name", "your name": "name",
    "email": "email", "e-mail": "email", "email address": "email", "work email": "email",
    "company": "company", "company name": "company", "organisation": "company", "organization": "company",
    "phone": "phone", "phone number": "phone", "telephone": "phone", "mobile": "phone",
    "title": "role", "job title": "role", "role": "role", "position": "role",
    "message": "message", "comments": "message", "how can we help": "message", "inquiry": "message",
}


@dataclass(frozen=True)
class Forwarded:
    sender_email: str
    sender_name: str | None
    text: str


def forwarded_original(text: str, alias: str | None, forwarder: str) -> Forwarded | None:
    """The original sender and text of a forwarded inquiry, or None.

    "Original Message" blocks also appear in ordinary replies, so they count as a forward only when
    the forwarder is a colleague (same domain as the receiving alias).
    """
    match = _FORWARD_MARKER.search(text or "")
    if not match:
        return None
    is_forward_marker = "original" not in match.group(0).lower() and "ursprüngliche" not in match.group(0).lower()
    internal = norm.registrable_domain(norm.email_domain(forwarder)) == norm.registrable_domain(
        norm.email_domain(alias)
    )
    if not (is_forward_marker or internal):
        return None
    lines = text[match.end():].lstrip("\r\n").splitlines()
    sender: tuple[str, str] | None = None
    body_start = 0
    for index, line in enumerate(lines[:12]):
        header = _HEADER_LINE.match(line)
        if header:
            if header.group(1).lower() in {"from", "de", "von"} and sender is None:
                sender = parseaddr(header.group(2).replace("mailto:", ""))
            body_start = index + 1
        elif line.strip() and sender is not None:
            break
    if not sender:
        return None
    email = norm.normalise_email(sender[1])
    if not email or email == forwarder:
        return None
    if internal and norm.registrable_domain(norm.email_domain(email)) == norm.registrable_domain(norm.email_domain(alias)):
        return None
    return Forwarded(email, norm.normalise_person_name(sender[0]), "\n".join(lines[body_start:]).strip())


def web_form_fields(text: str | None, html: str | None) -> dict[str, str]:
    """Fields of a web-form notification (`Field: value` lines or a two-column HTML table)."""
    fields: dict[str, str] = {}
    if html and "<t" in html.lower():
        for row in HTMLParser(html).css("tr"):
            cells = row.css("td, th")
            if len(cells) == 2:
                key = FORM_FIELD_NAMES.get(cells[0].text(strip=True).rstrip(":").strip().lower())
                if key and key not in fields:
                    fields[key] = cells[1].text(separator=" ", strip=True)
    if not fields and text:
        for line in text.splitlines():
            match = _FORM_FIELD.match(line)
            if match:
                key = FORM_FIELD_NAMES.get(match.group(1).strip().lower())
                if key and key not in fields:
                    fields[key] = match.group(2)
    # A form must name who submitted it; two fields guard against prose like "Name: TBD".
    if "email" not in fields or len(fields) < 2 or not norm.normalise_email(fields["email"]):
        return {}
    return fields


def _address(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        return value.get("email"), value.get("name")
    return None, None


def _document_signals(attachments: list[dict[str, Any]]) -> tuple[bool, int]:
    documents = [
        a for a in attachments or []
        if (a.get("contentType") or "").lower() in DOCUMENT_TYPES
        or (a.get("filename") or "").lower().endswith((".pdf", ".docx"))
    ]
    small = any((a.get("size") or 0) < SMALL_DOCUMENT_BYTES for a in documents)
    return small, len(documents)


def lead_candidate(record: dict[str, Any], landing_id: str, firmographics: Firmographics) -> dict[str, Any]:
    """One candidate row per delivered message, in the shape of the `lead_candidates` table."""
    from_email, from_name = _address(record.get("from"))
    forwarder = norm.normalise_email(from_email) or (from_email or "").lower()
    alias = record.get("alias")
    subject = record.get("subject") or ""
    text = record.get("text") or (html_to_text(record["html"]) if record.get("html") else "")
    reply_text = record.get("replyText") or ""
    signature = record.get("signature")

    sender_email, sender_name, forwarded_by = forwarder, norm.normalise_person_name(from_name), None
    hash_ = record.get("contentHash") or content_hash(reply_text)
    lead_text = reply_text
    form = web_form_fields(record.get("text"), record.get("html"))
    forwarded = None if form else forwarded_original(text, alias, forwarder)
    if form:
        sender_email = norm.normalise_email(form["email"])
        sender_name = norm.normalise_person_name(form.get("name"))
        lead_text = form.get("message", reply_text)
        hash_ = content_hash(lead_text)
    elif forwarded:
        cleaned = clean_body(forwarded.text, None)
        sender_email, sender_name, forwarded_by = forwarded.sender_email, forwarded.sender_name, forwarder
        signature = cleaned.signature or signature
        lead_text = cleaned.reply_text
        hash_ = content_hash(lead_text)

    domain = norm.company_domain_of(sender_email)
    company_facts = firmographics.lookup(domain)
    company = form.get("company") or (company_facts.name if company_facts else norm.company_name_from_domain(domain))
    region = norm.region_for_domain(norm.email_domain(sender_email))
    phone = norm.normalise_phone(form.get("phone"), region) if form.get("phone") else None
    phone = phone or norm.find_phone(signature, region)
    role = form.get("role") or signals.role_from_signature(signature, sender_name, company)

    stated = f"{subject}\n{lead_text}"
    budget = find_budget(stated)
    timeline = find_timeline(stated)
    team_size = find_team_size(stated)
    headers = record.get("headers") or {}
    spam_hits = signals.spam_lexicon_hits(subject, lead_text)
    suspicious = signals.suspicious_link_count(record.get("text"), record.get("html"))
    has_small_document, document_count = _document_signals(record.get("attachments") or [])
    auto_reply = signals.is_auto_reply(subject, headers.get("autoSubmitted"))
    intent = (
        "other" if auto_reply
        else signals.classify_intent(alias, subject, lead_text, is_spam=spam_hits > 0 and suspicious > 0)
    )
    sender_domain = norm.email_domain(sender_email)
    features = {
        "subject": subject,
        "intent": intent,
        "spf": headers.get("spf"),
        "dkim": headers.get("dkim"),
        "dmarc": headers.get("dmarc"),
        "language": record.get("language"),
        "is_free_mail": norm.is_free_mail(sender_domain),
        "is_disposable": norm.is_disposable(sender_domain),
        "is_target_account": bool(company_facts and company_facts.target_account),
        "industry": company_facts.industry if company_facts else None,
        "employees": company_facts.employees if company_facts else None,
        "has_small_document": has_small_document,
        "document_count": document_count,
        "spam_lexicon_hits": spam_hits,
        "suspicious_link_count": suspicious,
        "has_phone": phone is not None,
        "is_web_form": bool(form),
        "is_forwarded": forwarded is not None,
        "is_auto_reply": auto_reply,
        "reply_length": len(lead_text),
        "has_budget": budget is not None,
        "timeline": timeline,
        "team_size": team_size,
    }
    return {
        "landing_id": landing_id,
        "message_id": record["messageId"],
        "received_at": record["receivedAt"],
        "received_date": record["receivedAt"][:10],
        "source_alias": alias,
        "sender_email": sender_email or forwarder,
        "sender_name": sender_name,
        "forwarded_by": forwarded_by,
        "company": company,
        "company_domain": domain,
        "phone": phone,
        "role": role,
        "subject": subject or None,
        "content_hash": hash_,
        "intent": intent,
        "budget_amount": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else None,
        "timeline": timeline,
        "team_size": team_size,
        "features": json.dumps(features, sort_keys=True, ensure_ascii=False),
    }
