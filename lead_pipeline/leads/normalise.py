"""Normalisation of people, addresses, phones and company domains."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import phonenumbers
import tldextract
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from lead_pipeline.leads.keywords import Keys

DEFAULT_PHONE_REGION = "US"
# ccTLDs whose ISO 3166 code differs from the TLD.
_TLD_REGION_EXCEPTIONS = {"uk": "GB", "eu": None}


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The bundled suffix snapshot only: no network, no cache writes.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=1)
def _free_mail_domains() -> frozenset[str]:
    text = (resources.files("freemail") / "data" / "free.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=1)
def _disposable_domains() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


# Plain ASCII addresses for which email-validator's answer is known without its ~0.2 ms of checks:
# a dot-atom local part, LDH labels of at most 63 characters (no "--" anywhere, so no Punycode and
# no reserved "ab--" labels), at most 254 characters in all. It accepts them as they are, with the
# domain lower-cased, unless the domain is a special-use name.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_SUBDOMAINS = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES)


def _plain_address(candidate: str) -> str | None:
    """The canonical form of a plain address (see `_PLAIN_ADDRESS`), or None to ask email-validator."""
    match = _PLAIN_ADDRESS.fullmatch(candidate)
    if match is None or len(candidate) > 254:
        return None
    domain = match.group(1).lower()
    if len(domain) > 253 or "--" in domain:
        return None
    if domain in _SPECIAL_USE or domain.endswith(_SPECIAL_USE_SUBDOMAINS):
        return None
    return candidate.lower()


@lru_cache(maxsize=65_536)
def normalise_email(address: str | None) -> str | None:
    """Canonical form of an address (trimmed, lower-cased, IDN-checked), or None if invalid."""
    if not address:
        return None
    candidate = address.strip().strip("<>").strip()
    plain = _plain_address(candidate)
    if plain is not None:
        return plain
    try:
        info = validate_email(candidate, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError:
        return None
    if "." not in info.domain:
        return None
    return info.normalized.lower()


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].lower()


@lru_cache(maxsize=65_536)
def registrable_domain(host: str | None) -> str | None:
    """`sales.brightfield.co.uk` → `brightfield.co.uk`; unknown TLDs keep their last two labels."""
    if not host:
        return None
    host = host.strip().lower().rstrip(".")
    parts = _extractor()(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    labels = [label for label in host.split(".") if label]
    return ".".join(labels[-2:]) if len(labels) >= 2 else None


@lru_cache(maxsize=65_536)
def is_free_mail(domain: str | None) -> bool:
    return bool(domain) and (domain in _free_mail_domains() or registrable_domain(domain) in _free_mail_domains())


@lru_cache(maxsize=65_536)
def is_disposable(domain: str | None) -> bool:
    return bool(domain) and (domain in _disposable_domains() or registrable_domain(domain) in _disposable_domains())


@lru_cache(maxsize=65_536)
def company_domain_of(address: str | None) -> str | None:
    """The registrable domain of a business address; None for free-mail and disposable senders."""
    domain = email_domain(address)
    if not domain or is_free_mail(domain) or is_disposable(domain):
        return None
    return registrable_domain(domain)


_NAME_NOISE = re.compile(r"[\"'()]|\s+via\s+.*$", re.IGNORECASE)


@lru_cache(maxsize=65_536)  # a person's name comes back with each of their messages
def normalise_person_name(name: str | None) -> str | None:
    """"CHEN, ALEX" → "Alex Chen"; mixed-case names ("McDonald") are kept as written."""
    if not name:
        return None
    cleaned = _NAME_NOISE.sub("", name).strip()
    if "@" in cleaned or not cleaned:
        return None
    if cleaned.count(",") == 1:
        last, first = (part.strip() for part in cleaned.split(","))
        if first and last:
            cleaned = f"{first} {last}"
    cleaned = " ".join(cleaned.split())
    if cleaned.isupper() or cleaned.islower():
        cleaned = " ".join(word.capitalize() for word in cleaned.split())
    return cleaned


@lru_cache(maxsize=65_536)
def region_for_domain(domain: str | None, default: str = DEFAULT_PHONE_REGION) -> str:
    """Phone region implied by a domain's country-code TLD, else the default."""
    if not domain:
        return default
    tld = domain.rsplit(".", 1)[-1].lower()
    region = _TLD_REGION_EXCEPTIONS.get(tld, tld.upper() if len(tld) == 2 else None)
    if region and region in phonenumbers.SUPPORTED_REGIONS:
        return region
    return default


_PLACE_REGIONS = {
    "united kingdom": "GB", "england": "GB", "london": "GB", "uk": "GB", "france": "FR", "paris": "FR",
    "lyon": "FR", "deutschland": "DE", "germany": "DE", "berlin": "DE", "münchen": "DE", "munich": "DE",
    "hamburg": "DE", "österreich": "AT", "austria": "AT", "wien": "AT", "schweiz": "CH", "switzerland": "CH",
    "italia": "IT", "italy": "IT", "milano": "IT", "roma": "IT", "españa": "ES", "spain": "ES", "madrid": "ES",
    "barcelona": "ES", "nederland": "NL", "netherlands": "NL", "amsterdam": "NL", "rotterdam": "NL",
    "belgique": "BE", "belgium": "BE", "sverige": "SE", "sweden": "SE", "stockholm": "SE", "norge": "NO",
    "norway": "NO", "oslo": "NO", "danmark": "DK", "denmark": "DK", "ireland": "IE", "dublin": "IE",
    "japan": "JP", "tokyo": "JP", "東京": "JP", "大阪": "JP", "australia": "AU", "sydney": "AU",
    "melbourne": "AU", "canada": "CA", "toronto": "CA", "brasil": "BR", "brazil": "BR", "são paulo": "BR",
    "méxico": "MX", "mexico": "MX", "argentina": "AR", "buenos aires": "AR", "india": "IN", "singapore": "SG",
    "polska": "PL", "poland": "PL", "warszawa": "PL",
}
_PLACE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _PLACE_REGIONS), key=len, reverse=True)) + r")\b",
                    re.IGNORECASE)
_LANGUAGE_REGIONS = {"fr": "FR", "de": "DE", "ja": "JP", "it": "IT", "es": "ES", "pt": "PT", "nl": "NL",
                     "sv": "SE", "pl": "PL", "da": "DK", "nb": "NO", "no": "NO", "fi": "FI"}


def region_hint(domain: str | None, signature: str | None, language: str | None) -> str:
    """Phone region: the domain's ccTLD, else a country or city in the signature, else the language."""
    region = region_for_domain(domain, default="")
    if region:
        return region
    return _place_region(signature or "") or _LANGUAGE_REGIONS.get(language or "", DEFAULT_PHONE_REGION)


# Most signatures name no place: a substring test for each name rules the pattern out (see keywords.py).
_PLACE_KEYS = Keys(*_PLACE_REGIONS)


@lru_cache(maxsize=16_384)  # a person's signature comes back with each of their messages
def _place_region(signature: str) -> str | None:
    place = _PLACE.search(signature) if _PLACE_KEYS.any_in(signature) else None
    return _PLACE_REGIONS[place.group(1).lower()] if place else None


_MOBILE_LABEL = re.compile(r"\b(?:mobile|mob|cell|handy|portable|m[óo]vil|cellulare|whatsapp)\b|\bm[:.]", re.IGNORECASE)
_DIGIT = re.compile(r"\d")  # what phonenumbers' matcher counts as a digit (any Unicode digit)
# The fewest digits of a valid number: the shortest national number any region's metadata allows
# (Niue, Saint Helena, Tokelau...; checked against the metadata in the tests). A line with fewer
# digits holds no valid number, and most lines of a message hold none at all.
MIN_PHONE_DIGITS = 4


def find_phone(text: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The first valid phone number in free text, in E.164; an office line before a mobile one."""
    if not text or not _DIGIT.search(text):
        return None
    found = [phone for line in text.split("\n") if len(_DIGIT.findall(line)) >= MIN_PHONE_DIGITS
             for phone in _phones_in_line(line, region)]
    return min(found, key=lambda item: item[0])[1] if found else None


@lru_cache(maxsize=16_384)
def _phones_in_line(line: str, region: str) -> tuple[tuple[bool, str], ...]:
    """(is mobile, E.164) of each valid number on a line, in order.

    Line by line finds what the matcher finds in the whole text: its candidates never span a line
    break, and the context it checks around one (a letter, a currency sign, a time's ":30") is
    never a line break. The same lines come back (a person's signature, a form's phone field):
    each is matched once.
    """
    found = []
    for match in phonenumbers.PhoneNumberMatcher(line, region, leniency=phonenumbers.Leniency.VALID):
        is_mobile = bool(_MOBILE_LABEL.search(line, 0, match.start))
        found.append((is_mobile, phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)))
    return tuple(found)


@lru_cache(maxsize=16_384)
def normalise_phone(value: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """A phone field (web form) to E.164, or None when it is not a valid number."""
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def company_name_from_domain(domain: str | None) -> str | None:
    """A readable fallback name: `acme-robotics.example` → "Acme Robotics"."""
    if not domain:
        return None
    label = domain.split(".", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[-_]", label) if part) or None
