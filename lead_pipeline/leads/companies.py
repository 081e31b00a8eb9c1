"""Company names as the message gives them: web form, signature, or the firmographics table."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lead_pipeline.leads.signals import has_title_word

_LEGAL_SUFFIX = re.compile(
    r"[,\s]+(?:ltd\.?|limited|inc\.?|incorporated|gmbh(?:\s*&\s*co\.?\s*kg)?|ag|kg|ab|as|asa|a/s|aps|oy|sas|sarl|"
    r"s\.?a\.?s\.?|s\.?r\.?l\.?|s\.?p\.?a\.?|b\.?v\.?|n\.?v\.?|s\.?a\.?(?:\s+de\s+c\.?v\.?)?|pty\.?\s+ltd\.?|"
    r"pvt\.?\s+ltd\.?|pte\.?\s+ltd\.?|llc|l\.l\.c\.|llp|plc|co\.?,?\s+ltd\.?|co\.?|k\.?k\.?|"
    r"ltda\.?|sp\.?\s*z\s*o\.?\s*o\.?)\s*$",
    re.IGNORECASE,
)
_JAPANESE_FORM = re.compile(r"^(?:株式会社|有限会社)\s*|\s*(?:株式会社|有限会社)$")
_SEPARATORS = re.compile(r"\s+[|\u2013\u2014-]\s+|\s*,\s+|\s*[|·•]\s*")
_CONTACT_NOISE = re.compile(r"@|https?://|www\.|\d{3}")


def without_legal_form(name: str) -> str:
    """"Andina Logística S.A. de C.V." → "Andina Logística"; "株式会社サクラ物産" → "サクラ物産"."""
    previous = None
    while previous != name:
        previous = name
        name = _LEGAL_SUFFIX.sub("", name).strip(" ,.")
        if _has_japanese_form(name):
            name = _JAPANESE_FORM.sub("", name)
        name = name.strip()
    return name


def _has_japanese_form(text: str) -> bool:
    """Whether `_JAPANESE_FORM` or `_JAPANESE_COMPANY` can match (each needs one of the two words),
    without their tries at every position."""
    return "株式会社" in text or "有限会社" in text


_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is str.isalnum() plus "_"


@lru_cache(maxsize=65_536)
def _squash(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _NOT_ALNUM.sub("", folded)


_JAPANESE_COMPANY = re.compile(r"(?:株式会社|有限会社)\S+|\S+(?:株式会社|有限会社)")


@lru_cache(maxsize=16_384)  # a person's signature comes back with each of their messages
def company_from_signature(signature: str | None, domain: str | None, person: str | None) -> str | None:
    """The signature segment naming the sender's company.

    A segment is the company when it spells the domain's name ("Coral Bay Health" for
    coralbayhealth.example) or carries a legal form ("Rousseau Conseil SARL", "株式会社…").
    """
    if not signature:
        return None
    label = _squash(domain.split(".", 1)[0]) if domain else ""
    person_key = _squash(person or "")
    japanese = _JAPANESE_COMPANY.search(signature) if _has_japanese_form(signature) else None
    if japanese:
        return without_legal_form(japanese.group(0))
    for line in signature.splitlines()[:10]:
        for segment in _SEPARATORS.split(line.strip()):
            segment = segment.strip(" ,;:")
            if not segment or len(segment) > 60 or _CONTACT_NOISE.search(segment):
                continue
            key = _squash(segment)
            if not key or key == person_key:
                continue
            names_domain = label and len(label) >= 3 and (key.startswith(label) or label.startswith(key) and len(key) >= 4)
            has_legal_form = without_legal_form(segment) != segment
            if (names_domain or has_legal_form) and not (has_title_word(segment) and not names_domain):
                return without_legal_form(segment) or None
    return None
