"""Budget, timeline and team size as people write them in inquiries."""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "円": "JPY", "A$": "AUD", "C$": "CAD"}
CURRENCY_CODES = ("USD", "EUR", "GBP", "SEK", "NOK", "DKK", "CHF", "JPY", "AUD", "CAD", "INR", "SGD", "BRL", "MXN", "PLN")
_SCALE = {"k": 1e3, "m": 1e6, "mn": 1e6, "mio": 1e6, "million": 1e6, "bn": 1e9, "万": 1e4}

_CODE = "|".join(CURRENCY_CODES)
_SYMBOL = r"US\$|A\$|C\$|[$€£¥]"
_NUMBER = r"\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE_RE = r"(?:k|mn|mio|million|m|bn|万)(?![A-Za-z])"


def _money(tag: str) -> str:
    return (
        rf"(?:(?P<{tag}pre>{_SYMBOL}|\b(?:{_CODE}))\s?)?(?P<{tag}num>{_NUMBER})(?:\s?(?P<{tag}scale>{_SCALE_RE}))?"
        rf"(?:\s?(?P<{tag}post>{_SYMBOL}|円|\b(?:{_CODE})\b))?"
    )


_RANGE = re.compile(rf"{_money('lo')}\s*(?:-|–|—|to|and|bis|à)\s*{_money('hi')}", re.IGNORECASE)
_AMOUNT = re.compile(_money("x"), re.IGNORECASE)
_BUDGET_WORD = re.compile(r"budget|budg[eé]t|presupuesto|orçamento|spend|invest|予算", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    amount: float
    currency: str


def _to_number(text: str) -> float | None:
    digits = text.replace("\u00a0", " ").replace("\u202f", " ")
    # "20.000" and "20,000" are thousands; "1.2" and "1,5" are decimals.
    if re.fullmatch(r"\d{1,3}(?:[ ,.]\d{3})+", digits):
        return float(re.sub(r"[ ,.]", "", digits))
    if re.fullmatch(r"\d{1,3}(?:[ ,.]\d{3})+[.,]\d+", digits):
        head, _, tail = digits.rpartition(re.search(r"[.,](?=\d+$)", digits).group(0))
        return float(re.sub(r"[ ,.]", "", head) + "." + tail)
    try:
        return float(digits.replace(",", "."))
    except ValueError:
        return None


def _currency(*tokens: str | None) -> str | None:
    for token in tokens:
        if token:
            token = token.strip()
            if token in CURRENCY_SYMBOLS:
                return CURRENCY_SYMBOLS[token]
            if token.upper() in CURRENCY_CODES:
                return token.upper()
    return None


def _amount(match: re.Match[str], tag: str) -> float | None:
    number = _to_number(match.group(f"{tag}num"))
    if number is None:
        return None
    return number * _SCALE.get((match.group(f"{tag}scale") or "").strip().lower(), 1.0)


def find_budget(text: str | None) -> Budget | None:
    """The stated budget: a range's upper bound, the amount nearest a budget word, else the largest amount."""
    if not text:
        return None
    candidates: list[tuple[int, float, str]] = []  # (position, amount, currency)
    covered: list[tuple[int, int]] = []
    for match in _RANGE.finditer(text):
        currency = _currency(match.group("lopre"), match.group("lopost"), match.group("hipre"), match.group("hipost"))
        high = _amount(match, "hi")
        if currency and high is not None:
            candidates.append((match.start(), high, currency))
            covered.append(match.span())
    for match in _AMOUNT.finditer(text):
        if any(start <= match.start() < end for start, end in covered):
            continue
        currency = _currency(match.group("xpre"), match.group("xpost"))
        amount = _amount(match, "x")
        if currency and amount is not None:
            candidates.append((match.start(), amount, currency))
    if not candidates:
        return None
    anchors = [m.start() for m in _BUDGET_WORD.finditer(text)]
    near = [c for c in candidates if anchors and min(abs(c[0] - a) for a in anchors) <= 80]
    _, amount, currency = max(near or candidates, key=lambda c: c[1])
    return Budget(amount, currency)


_TIMELINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("asap", re.compile(
        r"\b(?:asap|a\.s\.a\.p|as soon as possible|urgent(?:ly)?|immediately|right away|dès que possible|"
        r"au plus vite|so schnell wie möglich|schnellstmöglich|dringend|lo antes posible|cuanto antes|urgente|"
        r"o mais rápido possível|il prima possibile|zo snel mogelijk|snarast)\b|至急|早急|できるだけ早く", re.IGNORECASE)),
    ("this_week", re.compile(r"\b(?:this week|by friday|diese woche|cette semaine|esta semana)\b", re.IGNORECASE)),
    ("this_month", re.compile(
        r"\b(?:this month|within (?:a|one|two|three|2|3|\d) weeks?|in (?:two|three|2|3) weeks|"
        r"diesen monat|ce mois|este mes)\b", re.IGNORECASE)),
    ("next_quarter", re.compile(r"\b(?:next quarter|nächsten quartal|prochain trimestre|próximo trimestre)\b",
                                re.IGNORECASE)),
    ("this_quarter", re.compile(
        r"\b(?:this quarter|end of (?:the )?quarter|q[1-4]\b|dieses quartal|diesem quartal|ce trimestre|"
        r"este trimestre|questo trimestre|dit kwartaal)", re.IGNORECASE)),
    ("date", re.compile(
        r"\b(?:by|before|until|no later than|bis|avant|antes del?)\s+(?:the\s+)?(?:end of\s+|mid[- ])?"
        r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:tember)?|"
        r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|juni|juli|oktober|dezember|"
        r"janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
        r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})", re.IGNORECASE)),
)


def find_timeline(text: str | None) -> str | None:
    """The most urgent timeline stated, as one of asap, this_week, this_month, this_quarter, next_quarter, date."""
    if not text:
        return None
    for label, pattern in _TIMELINES:
        if pattern.search(text):
            return label
    return None


_TEAM = re.compile(
    r"(?:(?:team|staff|company|organi[sz]ation) of\s+(?:about\s+|around\s+|~\s?|over\s+|roughly\s+)?(?P<a>\d[\d,.]*)"
    r"|(?:~\s?|about\s+|around\s+|over\s+|roughly\s+)?(?P<b>\d[\d,.]*)\+?[- ](?:person|people|strong)\b"
    r"|(?:~\s?|about\s+|around\s+|over\s+|roughly\s+|rund\s+|environ\s+)?(?P<c>\d[\d,.]*)\+?\s*"
    r"(?:engineers|developers|employees|staff|people|users|seats|licen[cs]es|agents|analysts|reps|"
    r"mitarbeiter(?:innen)?|mitarbeitende|salariés|employés|empleados|funcionários|dipendenti|medewerkers|名))",
    re.IGNORECASE,
)


def find_team_size(text: str | None) -> int | None:
    """The largest head count stated (team, employees, users, seats)."""
    if not text:
        return None
    sizes = []
    for match in _TEAM.finditer(text):
        raw = match.group("a") or match.group("b") or match.group("c")
        number = _to_number(raw.rstrip(".,"))
        if number and 1 <= number <= 10_000_000:
            sizes.append(int(number))
    return max(sizes) if sizes else None
