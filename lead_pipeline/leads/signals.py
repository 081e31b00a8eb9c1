"""Signals read from a message's text and links: intent, spam lexicon, suspicious links, role."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from lead_pipeline.leads.keywords import Caseless, Keys
from lead_pipeline.leads.normalise import registrable_domain

URL_SHORTENERS = frozenset(
    {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
     "shorturl.at", "rb.gy", "tiny.cc", "s.id", "t.ly", "bl.ink"}
)

SPAM_LEXICON = Caseless(
    r"\b(?:viagra|casino|lottery|you(?:'ve| have) won|winner|bitcoin|crypto(?:currency)?|forex|"
    r"guaranteed (?:returns|ranking)|backlinks?|seo (?:services|ranking|package)|first page of google|"
    r"verify your account|account (?:will be )?suspended|wire transfer|inheritance|"
    r"100% free|act now|limited time offer|click here|double your)\b"
)

# Checked in this order, subject first: support outranks a price question in a support request,
# and a demo request that mentions pricing is a demo.
INTENT_PATTERNS: tuple[tuple[str, Caseless], ...] = (
    ("job_application", Caseless(
        r"\b(?:job application|applying for|application for|my (?:resume|cv)|curriculum vitae|"
        r"resume attached|cover letter|bewerbung|candidature|postulaci\u00f3n|candidatura)\b")),
    ("support", Caseless(
        r"\b(?:error|errors|bug|not working|can(?:no|')t (?:log ?in|access|connect|export)|unable to|outage|broken|"
        r"ticket|support request|issue with|failing|fails|stopped working|doesn'?t work)\b")),
    ("partnership", Caseless(
        r"\b(?:partner(?:ship)?s?|reseller|resell|integration partner|co-marketing|referral program|"
        r"white[- ]label|channel partner)\b")),
    # One "\b" ahead of the words that start with one: the same places match, tried once a position.
    ("demo", Caseless(
        r"\b(?:demos?\b|demonstration|d\u00e9mo|demostraci\u00f3n|demonstra\u00e7\u00e3o|dimostrazione|"
        r"walkthrough|product tour|vorf\u00fchrung|pr\u00e4sentation)|\u30c7\u30e2")),
    ("pricing", Caseless(
        r"(?:\b(?:pricing|price|prices|quote|quotation|cost|costs|plans?|licen[cs]e|licensing|"
        r"enterprise|budget|tarifs?|prix|devis|preis(?:e)?|angebot|kosten|precios?|presupuesto|cotizaci\u00f3n|"
        r"pre\u00e7os?|or\u00e7amento|prezzi|prezzo|preventivo|offerte|prijs|prijzen)\b|\u6599\u91d1|\u4fa1\u683c|\u898b\u7a4d)")),
)

# Outreach that is not a buyer: recruiters, SEO and lead-gen agencies, newsletters.
VENDOR_PITCH = Caseless(
    r"\b(?:recruit(?:ment|ing) (?:agency|firm|partner)|staffing (?:agency|partner|firm)|talent (?:partner|agency)|"
    r"pre-vetted|places? (?:\w+ ){0,4}(?:engineers|developers|candidates)|our candidates|headhunt\w*|"
    r"candidates? (?:\([^)]*\) )?available|available to interview|of first-year salary|anonymi[sz]ed profiles|"
    r"unsubscribe|view (?:this email )?in (?:your )?browser|manage (?:your )?(?:email )?preferences|"
    r"you are receiving this|newsletter)\b"
)

# Words one of which each pattern needs to match (see keywords.py): most texts contain none, and
# looking for them is much cheaper than trying a pattern at every position.
SPAM_KEYS = Keys(
    "viagra", "casino", "lottery", "won", "winner", "bitcoin", "crypto", "forex", "guaranteed", "backlink", "seo ",
    "first page of google", "verify your account", "suspended", "wire transfer", "inheritance", "100% free",
    "act now", "limited time offer", "click here", "double your",
)
INTENT_KEYS = {
    "job_application": Keys("job application", "applying for", "application for", "my resume", "my cv",
                            "curriculum vitae", "resume attached", "cover letter", "bewerbung", "candidatur",
                            "postulación"),
    "support": Keys("error", "bug", "not working", "cannot ", "can't ", "unable to", "outage", "broken", "ticket",
                    "support request", "issue with", "failing", "fails", "stopped working", "t work"),
    "partnership": Keys("partner", "resell", "co-marketing", "referral program", "white-label", "white label"),
    "demo": Keys("demo", "démo", "dimostrazione", "walkthrough", "product tour", "vorführung", "präsentation", "デモ"),
    "pricing": Keys("pric", "quot", "cost", "plan", "licen", "enterprise", "budget", "tarif", "prix", "devis", "preis",
                    "angebot", "kosten", "precio", "presupuesto", "cotización", "preço", "orçamento", "prezz",
                    "preventivo", "offerte", "prij", "料金", "価格", "見積"),
}
VENDOR_PITCH_KEYS = Keys(
    "recruit", "staffing", "talent", "pre-vetted", "place", "candidate", "headhunt", "available to interview",
    "first-year salary", "anonymi", "unsubscribe", "browser", "preferences", "you are receiving this", "newsletter",
)

ALIAS_INTENTS = {"jobs": "job_application", "careers": "job_application", "support": "support",
                 "partners": "partnership"}

TITLE_WORDS = re.compile(
    r"\b(?:manager|director|head of|vp|vice president|chief|officer|founder|co-founder|owner|president|"
    r"cto|ceo|cfo|coo|cio|ciso|engineer|architect|analyst|consultant|lead|specialist|coordinator|"
    r"administrator|developer|scientist|recruiter|buyer|partner|"
    r"directeur|directrice|g\u00e9rante?|responsable|fondat(?:eur|rice)|associ\u00e9e?|ing\u00e9nieure?|"
    r"director[a]?|gerente|jef[ae]|direttore|direttrice|responsabile|diretor[a]?|gestor[a]?|"
    r"gesch\u00e4ftsf\u00fchrer(?:in)?|inhaber(?:in)?|vorstand|prokurist(?:in)?|kierownik|dyrektor|"
    r"chef(?:fe)? de)\b"
    r"|\w*leiter(?:in)?\b"
    r"|\u30de\u30cd\u30fc\u30b8\u30e3\u30fc|\u90e8\u9577|\u8ab2\u9577|\u793e\u9577|\u4ee3\u8868|\u4e3b\u4efb|\u62c5\u5f53",
    re.IGNORECASE,
)

# Whether a text holds a title word, as `TITLE_WORDS.search` would find one, in less time. The
# "\w*" in front of "leiter" can match nothing, so it moves where a match starts, never whether there
# is one, and it costs a backtracking try at every letter.
_TITLE_WORD = Caseless(TITLE_WORDS.pattern.replace(r"|\w*leiter", "|leiter"))
assert _TITLE_WORD.pattern.pattern != TITLE_WORDS.pattern


def has_title_word(text: str) -> bool:
    return _TITLE_WORD.found_in(text)


AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|autoreply|abwesenheitsnotiz|"
    r"automatische antwort|r\u00e9ponse automatique|absence|respuesta autom\u00e1tica|fuera de la oficina|"
    r"risposta automatica|\u81ea\u52d5\u5fdc\u7b54|\u4e0d\u5728)\b",
    re.IGNORECASE,
)
_ROLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014-]\s+|,\s*")

_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_DOMAIN_IN_TEXT = re.compile(r"\b((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)


def alias_intent(alias: str | None) -> str | None:
    if not alias or "@" not in alias:
        return None
    return ALIAS_INTENTS.get(alias.split("@", 1)[0].lower())


def classify_intent(
    alias: str | None, subject: str, text: str, *, is_spam: bool, is_vendor_pitch: bool = False,
    has_document: bool = False,
) -> str:
    if is_spam:
        return "spam"
    if is_vendor_pitch:
        return "other"
    hinted = alias_intent(alias)
    # jobs@ also receives recruiter pitches: an application comes with a resume or says it is one.
    if hinted == "job_application" and (has_document or _job_application(f"{subject}\n{text}")):
        return hinted
    if hinted in ("support", "partnership"):
        return hinted
    for haystack in (subject or "", text or ""):
        for intent, pattern in INTENT_PATTERNS:
            if INTENT_KEYS[intent].any_in(haystack) and pattern.found_in(haystack):
                return intent
    return "other"


def _job_application(text: str) -> bool:
    return INTENT_KEYS["job_application"].any_in(text) and INTENT_PATTERNS[0][1].found_in(text)


def is_vendor_pitch(text: str) -> bool:
    return VENDOR_PITCH_KEYS.any_in(text or "") and VENDOR_PITCH.found_in(text or "")


def spam_lexicon_hits(subject: str, text: str) -> int:
    written = f"{subject}\n{text}"
    return SPAM_LEXICON.count_in(written) if SPAM_KEYS.any_in(written) else 0


def _host(url: str) -> str | None:
    try:
        return (urlsplit(url).hostname or "").lower() or None
    except ValueError:
        return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65_536)
def link_is_suspicious(url: str, anchor_text: str | None = None) -> bool:
    """A shortener, an IP-literal host, or anchor text naming a different domain than the link."""
    host = _host(url)
    if not host:
        return False
    if host in URL_SHORTENERS or _is_ip_literal(host):
        return True
    if anchor_text:
        named = _DOMAIN_IN_TEXT.search(anchor_text)
        if named and registrable_domain(named.group(1)) != registrable_domain(host):
            return True
    return False


# An <a> element with an href comes from a start tag "<a" (any case) followed by whitespace or "/"
# (what lexbor accepts there, checked for every character up to U+3000): HTML without one has no
# link to look at and needs no parsing.
_ANCHOR_TAG = re.compile(r"<a[\t\n\f\r />]", re.IGNORECASE)


@lru_cache(maxsize=4)
def parsed_html(html: str) -> HTMLParser:
    """The parsed document, shared by the readers of one message's HTML (forms, links)."""
    return HTMLParser(html)


def suspicious_link_count(text: str | None, html: str | None) -> int:
    count = 0
    seen: set[str] = set()
    if html and _ANCHOR_TAG.search(html):
        for anchor in parsed_html(html).css("a[href]"):
            href = anchor.attributes.get("href") or ""
            seen.add(href)
            count += link_is_suspicious(href, anchor.text(strip=True))
    if text and "://" in text:  # every URL the pattern finds has it
        for url in _URL.findall(text):
            if url not in seen:
                seen.add(url)
                count += link_is_suspicious(url)
    return count


def is_auto_reply(subject: str | None, auto_submitted: str | None = None) -> bool:
    """Out-of-office and other automatic replies (RFC 3834 `Auto-Submitted`, or the subject)."""
    if auto_submitted and auto_submitted.strip().lower().startswith("auto-replied"):
        return True
    return bool(subject and AUTO_REPLY_SUBJECT.search(subject))


def _is_name_of(segment: str, names: tuple[str | None, ...]) -> bool:
    folded = segment.casefold()
    return any(name and (folded.startswith(name.casefold()) or name.casefold().startswith(folded)) for name in names)


@lru_cache(maxsize=16_384)  # a person's signature comes back with each of their messages
def role_from_signature(signature: str | None, person: str | None = None, company: str | None = None) -> str | None:
    """The job title in a signature: the first line naming one, without the person's or company's name."""
    if not signature:
        return None
    for line in signature.splitlines()[:8]:
        candidate = line.strip(" |,")
        if not (2 <= len(candidate) <= 80) or "@" in candidate or any(map(str.isdigit, candidate)):
            continue
        if not has_title_word(candidate):
            continue
        segments = [seg.strip() for seg in _ROLE_SEPARATORS.split(candidate) if seg.strip()]
        kept = [seg for seg in segments if not _is_name_of(seg, (person, company))]
        # "Director, Revenue Operations" is one title across a comma: keep what follows the title word.
        first = next((i for i, seg in enumerate(kept) if has_title_word(seg)), None)
        if first is None:
            continue
        role = kept[first]
        if first + 1 < len(kept) and role.split()[-1].casefold() in {"director", "head", "vp", "manager"}:
            role = f"{role}, {kept[first + 1]}"
        return role
    return None
