"""From a parsed message to a lead candidate: who the lead is, their company, and scoring signals."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from typing import Any

import orjson

from lead_pipeline.leads import normalise as norm
from lead_pipeline.leads import signals
from lead_pipeline.leads.companies import company_from_signature, without_legal_form
from lead_pipeline.leads.firmographics import Firmographics
from lead_pipeline.leads.keywords import Keys
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
_FORWARD_KEYS = Keys("forwarded message", "weitergeleitete nachricht", "message transféré", "original message",
                     "ursprüngliche nachricht")
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
    match = _FORWARD_MARKER.search(text) if text and _FORWARD_KEYS.any_in(text) else None
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


# `"<t" in html.lower()`, without lower-casing the document ("t" and "T" are all that lower to "t").
_TABLE_TAG = re.compile("<[tT]")
# A form needs an email field: a `Field: value` line named "Email", "Email address" or "Work email"
# (ASCII letters, any case). Text with no "email" followed by letters or spaces and a colon has none,
# and no field of it can count.
_EMAIL_FIELD = re.compile(r"[Ee][Mm][Aa][Ii][Ll][A-Za-z ]*\s*:")


def web_form_fields(text: str | None, html: str | None) -> dict[str, str]:
    """Fields of a web-form notification (`Field: value` lines or a two-column HTML table)."""
    fields: dict[str, str] = {}
    if html and _TABLE_TAG.search(html):
        for row in signals.parsed_html(html).css("tr"):
            cells = row.css("td, th")
            if len(cells) == 2:
                key = FORM_FIELD_NAMES.get(cells[0].text(strip=True).rstrip(":").strip().lower())
                if key and key not in fields:
                    fields[key] = cells[1].text(separator=" ", strip=True)
    if not fields and text and _EMAIL_FIELD.search(text):
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


@dataclass(frozen=True)
class Person:
    """Who the lead is and what they wrote, after unwrapping web forms and forwards."""

    email: str
    name: str | None
    forwarded_by: str | None
    text: str
    signature: str | None
    content_hash: str
    form: dict[str, str]


def identify_person(record: dict[str, Any]) -> Person:
    from_email, from_name = _address(record.get("from"))
    sender = norm.normalise_email(from_email) or (from_email or "").lower()
    reply_text = record.get("replyText") or ""
    form = web_form_fields(record.get("text"), record.get("html"))
    if form:
        text = form.get("message", reply_text)
        return Person(norm.normalise_email(form["email"]) or sender, norm.normalise_person_name(form.get("name")),
                      None, text, record.get("signature"), content_hash(text), form)
    full_text = record.get("text") or (html_to_text(record["html"]) if record.get("html") else "")
    forwarded = forwarded_original(full_text, record.get("alias"), sender) or _attached_original(record, sender)
    if forwarded:
        cleaned = clean_body(forwarded.text, None)
        return Person(forwarded.sender_email, forwarded.sender_name, sender, cleaned.reply_text,
                      cleaned.signature or record.get("signature"), content_hash(cleaned.reply_text), {})
    return Person(sender, norm.normalise_person_name(from_name), None, reply_text, record.get("signature"),
                  record.get("contentHash") or content_hash(reply_text), {})


def _attached_original(record: dict[str, Any], forwarder: str) -> Forwarded | None:
    """A colleague's forward that carries the inquiry as an attached message (message/rfc822)."""
    for attached in record.get("attachedMessages") or []:
        email = norm.normalise_email((attached.get("from") or {}).get("email"))
        if email and email != forwarder:
            body = attached.get("text") or (html_to_text(attached["html"]) if attached.get("html") else "")
            return Forwarded(email, norm.normalise_person_name((attached.get("from") or {}).get("name")), body)
    return None


BUYING_INTENTS = frozenset({"demo", "pricing", "partnership"})


def lead_candidate(record: dict[str, Any], landing_id: str, firmographics: Firmographics) -> dict[str, Any]:
    """One candidate row per delivered message, in the shape of the `lead_candidates` table."""
    person = identify_person(record)
    alias = record.get("alias")
    subject = record.get("subject") or ""
    headers = record.get("headers") or {}
    warnings = set(record.get("warnings") or [])

    spam_hits = signals.spam_lexicon_hits(subject, person.text)
    suspicious = signals.suspicious_link_count(record.get("text"), record.get("html"))
    spoofed = "display_name_spoofing" in warnings
    has_small_document, document_count = _document_signals(record.get("attachments") or [])
    auto_reply = signals.is_auto_reply(subject, headers.get("autoSubmitted"))
    vendor_pitch = signals.is_vendor_pitch(person.text) or signals.is_vendor_pitch(record.get("text") or "")
    intent = "other" if auto_reply else signals.classify_intent(
        alias, subject, person.text,
        is_spam=spoofed or (spam_hits > 0 and suspicious > 0) or spam_hits >= 3,
        is_vendor_pitch=vendor_pitch, has_document=document_count > 0,
    )

    domain = norm.company_domain_of(person.email)
    facts = firmographics.lookup(domain)
    company = None
    if intent not in ("spam", "job_application"):
        company = (
            (without_legal_form(person.form["company"]) if person.form.get("company") else None)
            or company_from_signature(person.signature, domain, person.name)
            or (facts.name if facts else None)
        )
    region = norm.region_hint(norm.email_domain(person.email), person.signature, record.get("language"))
    phone = norm.normalise_phone(person.form.get("phone"), region) if person.form.get("phone") else None
    phone = phone or norm.find_phone(person.signature, region) or norm.find_phone(person.text, region)
    role = None if intent in ("job_application", "spam") else (
        person.form.get("role") or signals.role_from_signature(person.signature, person.name, company)
    )

    # What a buyer states about the purchase; elsewhere amounts and dates mean something else.
    # A web form's other fields (timeline, team size) are stated too, not only its message.
    written = f"{subject}\n{record.get('text') or person.text}" if person.form else f"{subject}\n{person.text}"
    stated = written if intent in BUYING_INTENTS else ""
    budget = find_budget(stated)
    timeline = find_timeline(stated, date.fromisoformat(record["receivedAt"][:10]))
    team_size = find_team_size(written if intent not in ("spam", "job_application") else "")
    sender_domain = norm.email_domain(person.email)
    features = {
        "subject": subject,
        "intent": intent,
        "spf": headers.get("spf"),
        "dkim": headers.get("dkim"),
        "dmarc": headers.get("dmarc"),
        "language": record.get("language"),
        "is_free_mail": norm.is_free_mail(sender_domain),
        "is_disposable": norm.is_disposable(sender_domain),
        "is_target_account": bool(facts and facts.target_account),
        "industry": facts.industry if facts else None,
        "employees": facts.employees if facts else None,
        "has_small_document": has_small_document,
        "document_count": document_count,
        "spam_lexicon_hits": spam_hits,
        "suspicious_link_count": suspicious,
        "display_name_spoofing": spoofed,
        "has_phone": phone is not None,
        "has_company": company is not None,
        "is_web_form": bool(person.form),
        "is_forwarded": person.forwarded_by is not None,
        "is_auto_reply": auto_reply,
        "is_vendor_pitch": vendor_pitch,
        "reply_length": len(person.text),
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
        "sender_email": person.email,
        "sender_name": person.name,
        "forwarded_by": person.forwarded_by,
        "company": company,
        "company_domain": domain,
        "phone": phone,
        "role": role,
        "subject": subject or None,
        "content_hash": person.content_hash,
        "intent": intent,
        "budget_amount": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else None,
        "timeline": timeline,
        "team_size": team_size,
        "features": _encode_features(features),
    }


# json.dumps(features, sort_keys=True, ensure_ascii=False), without building an encoder per call.
_encode_features = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


# The firmographics table of the process: set once per worker by `use_firmographics` rather than
# sent along with every chunk of messages.
_firmographics = Firmographics({})


def use_firmographics(firmographics: Firmographics) -> None:
    global _firmographics
    _firmographics = firmographics


def _read_record(record: str) -> dict[str, Any]:
    """The stored record JSON as `json.loads` reads it, in about a third of the time.

    orjson builds the same objects for every record (its integers only become floats beyond 64
    bits, and a record's are sizes and counts); what it refuses and `json` accepts (a lone
    surrogate, NaN) goes to `json`.
    """
    try:
        return orjson.loads(record)
    except orjson.JSONDecodeError:
        return json.loads(record)


def candidates_of(messages: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Candidates for a chunk of (landing_id, record JSON) message rows, with `use_firmographics`' table."""
    return [lead_candidate(_read_record(record), landing_id, _firmographics) for landing_id, record in messages]
