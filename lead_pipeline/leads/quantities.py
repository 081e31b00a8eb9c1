"""Budget, timeline and team size as people write them in inquiries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from lead_pipeline.leads.keywords import Caseless, Keys, fold

CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "円": "JPY", "A$": "AUD", "C$": "CAD"}
CURRENCY_CODES = ("USD", "EUR", "GBP", "SEK", "NOK", "DKK", "CHF", "JPY", "AUD", "CAD", "INR", "SGD", "BRL", "MXN", "PLN")
_SCALE = {"k": 1e3, "m": 1e6, "mn": 1e6, "mio": 1e6, "million": 1e6, "bn": 1e9, "万": 1e4}

_CODE = "|".join(CURRENCY_CODES)
_SYMBOL = r"US\$|A\$|C\$|[$€£¥]"
_CURRENCY_WORDS = {"euro": "EUR", "euros": "EUR", "dollars": "USD", "dollar": "USD", "pounds": "GBP", "yen": "JPY",
                   "kronor": "SEK", "kronen": "SEK", "kroner": "NOK", "francs": "CHF"}
_WORD = "|".join(_CURRENCY_WORDS)
_NUMBER = r"\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE_RE = r"(?:k|mn|mio|million|m|bn|万)(?![A-Za-z])"


def _money(tag: str) -> str:
    return (
        rf"(?:(?P<{tag}pre>{_SYMBOL}|\b(?:{_CODE}))\s?)?(?P<{tag}num>{_NUMBER})(?:\s?(?P<{tag}scale>{_SCALE_RE}))?"
        rf"(?:\s?(?P<{tag}post>{_SYMBOL}|円|\b(?:{_CODE}|{_WORD})\b))?"
    )


_RANGE = re.compile(rf"{_money('lo')}\s*(?:-|–|—|to|and|bis|à)\s*{_money('hi')}", re.IGNORECASE)
_AMOUNT = re.compile(_money("x"), re.IGNORECASE)
_BUDGET_WORD = Caseless(r"budget|budg[eé]t|presupuesto|orçamento|spend|invest|予算")
# Amounts that are not the prospect's budget: our quote, their revenue or funding.
_NOT_A_BUDGET = Caseless(
    r"(?:quot(?:e|ed|ation)|your (?:price|offer|proposal)|you (?:offered|proposed|charge)|arr|revenue|"
    r"turnover|raised|funding|salary|umsatz|chiffre d'affaires)[^\w]+(?:\w+[^\w]+){0,4}$"
)


# Every amount has a digit; every amount that counts names a currency by one of these.
_DIGIT = re.compile(r"\d")
# An amount's first digit comes at most this far after its start: a currency symbol or code
# (three characters at most) and one space.
_AMOUNT_REACH = 4


def _amounts(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` for `_RANGE` and `_AMOUNT`, trying only where an amount can start.

    The regex engine tries these case-insensitive patterns at every position of the text, most of
    them far from any digit. A match starts at most `_AMOUNT_REACH` characters before the first
    digit after where the last one ended, so trying those starts in order, then the next digit's,
    finds the same matches (`match` at a position sees the text before it, as `\b` needs).
    """
    position = 0
    while (digit := _DIGIT.search(text, position)) is not None:
        first_digit = digit.start()
        for start in range(max(position, first_digit - _AMOUNT_REACH), first_digit + 1):
            match = pattern.match(text, start)
            if match:  # never empty: it holds a digit
                yield match
                position = match.end()
                break
        else:
            position = first_digit + 1
_CURRENCY_KEYS = Keys("$", "€", "£", "¥", "円", *(code.lower() for code in CURRENCY_CODES), *_CURRENCY_WORDS)


@dataclass(frozen=True)
class Budget:
    amount: float
    currency: str


_THOUSANDS = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+")
_THOUSANDS_DECIMALS = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+[.,]\d+")
_DECIMAL_MARK = re.compile(r"[.,](?=\d+$)")
_GROUPING = re.compile(r"[ ,.]")


def _to_number(text: str) -> float | None:
    digits = text.replace("\u00a0", " ").replace("\u202f", " ")
    # "20.000" and "20,000" are thousands; "1.2" and "1,5" are decimals.
    if _THOUSANDS.fullmatch(digits):
        return float(_GROUPING.sub("", digits))
    if _THOUSANDS_DECIMALS.fullmatch(digits):
        head, _, tail = digits.rpartition(_DECIMAL_MARK.search(digits).group(0))
        return float(_GROUPING.sub("", head) + "." + tail)
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
            if token.lower() in _CURRENCY_WORDS:
                return _CURRENCY_WORDS[token.lower()]
    return None


def _amount(match: re.Match[str], tag: str) -> float | None:
    number = _to_number(match.group(f"{tag}num"))
    if number is None:
        return None
    return number * _SCALE.get((match.group(f"{tag}scale") or "").strip().lower(), 1.0)


def find_budget(text: str | None) -> Budget | None:
    """The stated budget: a range's upper bound, the amount nearest a budget word, else the largest amount."""
    if not text or not _DIGIT.search(text) or not _CURRENCY_KEYS.any_in(text):
        return None  # no amount with a currency: no candidate
    candidates: list[tuple[int, float, str]] = []  # (position, amount, currency)
    covered: list[tuple[int, int]] = []
    for match in _amounts(_RANGE, text):
        currency = _currency(match.group("lopre"), match.group("lopost"), match.group("hipre"), match.group("hipost"))
        high = _amount(match, "hi")
        if currency and high is not None:
            candidates.append((match.start(), high, currency))
            covered.append(match.span())
    for match in _amounts(_AMOUNT, text):
        if any(start <= match.start() < end for start, end in covered):
            continue
        currency = _currency(match.group("xpre"), match.group("xpost"))
        amount = _amount(match, "x")
        if _NOT_A_BUDGET.found_in(text[max(0, match.start() - 60):match.start()]):
            continue
        if currency and amount is not None:
            candidates.append((match.start(), amount, currency))
    if not candidates:
        return None
    anchors = _BUDGET_WORD.starts_in(text)
    near = [c for c in candidates if anchors and min(abs(c[0] - a) for a in anchors) <= 80]
    _, amount, currency = max(near or candidates, key=lambda c: c[1])
    return Budget(amount, currency)


# Every month name the "date" pattern knows (English, German, French, Spanish, Italian, and the
# "sepember" slip). Where the pattern names a month, it is a whole word (after a space or "-",
# before a word boundary or a space), so a text without one of these words (folded as in
# keywords.py) can only match the all-digit forms. Most texts have none, where a part-word key
# ("mar" of "market", "set" of "setup") would send them through the whole pattern.
_MONTH_WORDS = frozenset({
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
    "aug", "august", "sep", "sept", "sepember", "september", "oct", "october", "nov", "november", "dec", "december",
    "januar", "februar", "märz", "mai", "juni", "juli", "oktober", "dezember",
    "janvier", "février", "mars", "avril", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
    "diciembre",
    "gennaio", "febbraio", "aprile", "maggio", "giugno", "luglio", "settembre", "ottobre", "dicembre",
})
_MONTHS = "(?:" + "|".join(sorted(_MONTH_WORDS, key=lambda word: (-len(word), word))) + ")"
# The branches of the "date" pattern that name no month.
_ISO_DATE_AFTER_ITS_FIRST_DIGIT = r"\d{3}-\d{2}-\d{2}\b"
_ISO_DATE = r"\b\d" + _ISO_DATE_AFTER_ITS_FIRST_DIGIT
_MONTH_NUMBER = r"[0-9０-９]{1,2}月"
_NUMERIC_DATES = f"{_ISO_DATE}|{_MONTH_NUMBER}"


def _words(pattern: str) -> Caseless:
    """A phrase pattern in which a space also matches a line break (bodies are wrapped)."""
    return Caseless(pattern.replace(" ", r"\s+"))


_TIMELINES: tuple[tuple[str, Caseless], ...] = (
    ("asap", Caseless(
        r"\b(?:asap|a\.s\.a\.p|as\s+soon\s+as\s+possible|urgent(?:ly)?|immediately|right\s+away|dès\s+que\s+possible|"
        r"au\s+plus\s+vite|so\s+schnell\s+wie\s+möglich|schnellstmöglich|dringend|lo\s+antes\s+posible|cuanto\s+antes|"
        r"urgente|o\s+mais\s+rápido\s+possível|il\s+prima\s+possibile|zo\s+snel\s+mogelijk|snarast)\b|至急|早急|できるだけ早く")),
    ("this_week", _words(r"\b(?:this week|by friday|diese woche|cette semaine|esta semana)\b")),
    ("this_month", _words(
        r"\b(?:this month|within (?:a|one|two|three|2|3) weeks?|in (?:two|three|2|3) weeks|"
        r"diesen monat|ce mois|este mes)\b")),
    ("next_quarter", _words(
        r"\b(?:next quarter|nächsten quartal|prochain trimestre|próximo trimestre|prossimo trimestre|"
        r"volgend kwartaal)\b|来期|次の四半期")),
    ("this_quarter", _words(
        r"\b(?:this quarter|end of (?:the )?quarter|dieses quartal|diesem quartal|ce trimestre|fin du trimestre|"
        r"este trimestre|questo trimestre|dit kwartaal|detta kvartal)\b|今四半期")),
    ("date", Caseless(
        rf"\b(?:by|before|until|no\s+later\s+than|from|starting(?:\s+from)?|in|bis|avant|antes\s+del?|ab|dès|entro)"
        rf"\s+(?:the\s+)?(?:end\s+of\s+|mid[- ]|early\s+|late\s+)?(?:\d{{1,2}}(?:st|nd|rd|th|\.)?\s+)?{_MONTHS}\b"
        rf"|\b{_MONTHS}\s+\d{{4}}\b|{_NUMERIC_DATES}")),
)
# Words one of which each timeline pattern needs (see keywords.py): most texts name none.
_TIMELINE_KEYS = {
    "asap": Keys("asap", "a.s.a.p", "soon", "urgent", "immediately", "away", "dès", "vite", "schnell", "dringend", "antes",
             "rápido", "prima", "snel", "snarast", "至急", "早急", "できるだけ早く"),
    "this_week": Keys("week", "friday", "woche", "semaine", "semana"),
    "this_month": Keys("month", "within", "weeks", "monat", "mois", "mes"),
    "next_quarter": Keys("quarter", "quartal", "trimestre", "kwartaal", "来期", "四半期"),
    "this_quarter": Keys("quarter", "quartal", "trimestre", "kwartaal", "kvartal", "四半期"),
}
_WORD = re.compile(r"\w+")
# The numeric branches for texts that name no month, each on its own and starting with a digit, so
# that the regex engine skips to the digits: the ISO date's "\b" checked after its first digit (a
# boundary before a digit is a character before it that is not a word character).
_NUMERIC_DATE_FORMS = (re.compile(r"\d(?<!\w\d)" + _ISO_DATE_AFTER_ITS_FIRST_DIGIT), re.compile(_MONTH_NUMBER))


def _names_a_month(text: str) -> bool:
    return not _MONTH_WORDS.isdisjoint(_WORD.findall(fold(text)))


_QUARTER_KEYS = Keys("q1", "q2", "q3", "q4", "quarter", "trimestre", "quartal")

_QUARTER = re.compile(
    r"\b(?:q([1-4])|(first|second|third|fourth|1st|2nd|3rd|4th) quarter|"
    r"(primo|secondo|terzo|quarto) trimestre|(premier|deuxième|troisième|quatrième) trimestre|"
    r"(ersten|zweiten|dritten|vierten) quartal)(?:\s+(?:of\s+|del\s+|de\s+)?(\d{4}))?",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "1st": 1, "primo": 1, "premier": 1, "ersten": 1, "second": 2, "2nd": 2, "secondo": 2,
             "deuxième": 2, "zweiten": 2, "third": 3, "3rd": 3, "terzo": 3, "troisième": 3, "dritten": 3,
             "fourth": 4, "4th": 4, "quarto": 4, "quatrième": 4, "vierten": 4}


def _named_quarter(text: str, today: date | None) -> str | None:
    """"Q1 2027", "primo trimestre del 2027" relative to the message date."""
    if today is None or not _QUARTER_KEYS.any_in(text):
        return None
    for match in _QUARTER.finditer(text):
        ordinal = match.group(1) or next((g for g in match.groups()[1:5] if g), None)
        quarter = int(ordinal) if ordinal and ordinal.isdigit() else _ORDINALS.get((ordinal or "").lower())
        if not quarter:
            continue
        year = int(match.group(6)) if match.group(6) else today.year
        offset = (year - today.year) * 4 + quarter - ((today.month - 1) // 3 + 1)
        if offset == 0:
            return "this_quarter"
        if offset == 1:
            return "next_quarter"
        if offset > 1:
            return "date"
    return None


def find_timeline(text: str | None, today: date | None = None) -> str | None:
    """The most urgent timeline stated: asap, this_week, this_month, this_quarter, next_quarter or date."""
    if not text:
        return None
    for label, pattern in _TIMELINES:
        if label == "date":
            named = _named_quarter(text, today)
            if named:
                return named
            if not _names_a_month(text):
                # No month named: of the date forms, only the all-digit ones can match.
                iso_date, month_number = _NUMERIC_DATE_FORMS
                if _DIGIT.search(text) and (iso_date.search(text) or month_number.search(text)):
                    return label
                continue
        elif not _TIMELINE_KEYS[label].any_in(text):
            continue
        if pattern.found_in(text):
            return label
    return None


_APPROX = r"(?:~\s?|about\s+|around\s+|over\s+|roughly\s+|approximately\s+|rund\s+|etwa\s+|environ\s+|unos\s+|circa\s+|約)?"
_NUM = r"([\d０-９][\d０-９,.]*)"
_SEATS = (r"\+?\s*(?:named\s+)?(?:seats|users|licen[cs]es|logins|accounts|utilisateurs|usuarios|benutzer|nutzer|"
          r"lizenzen|utenti|gebruikers|användare|ライセンス|アカウント)")
_PEOPLE_TEAM = r"\+?[- ](?:person|people|strong)\s+(?:\w+\s+){0,3}team"
_ROLES = (r"\+?\s*(?:engineers|developers|sales\s?reps|reps|agents|analysts|sellers|salespeople|account executives|"
          r"commerciaux|vendeurs|collaborateurs|personnes|vendedores|comerciales|personas|verkäufer|vertriebler|"
          r"venditori|commerciali|persone|säljare|verkopers|名|人)")
_HEADCOUNT = (r"\+?[- ]?(?:employees|staff|people|person|mitarbeiter(?:innen)?|mitarbeitende|salariés|employés|"
              r"empleados|funcionários|dipendenti|medewerkers|anställda|medarbetare)\b")
# Seats asked for, then the team that would use the product, then the whole company. An "about"
# or "~" in front of the number is left out of the patterns (not of "team of about 12"): it holds
# no digit and is never read, so the numbers found are the same, and a pattern that starts with a
# digit lets the regex engine skip to the digits instead of trying every position.
# Their groups are numbers, which case does not change: read in the folded text as well.
_TEAM_SIZES = (
    Caseless(rf"{_NUM}{_SEATS}"),
    Caseless(rf"(?:team|sales team|force) of\s+{_APPROX}{_NUM}|{_NUM}(?:{_PEOPLE_TEAM}|{_ROLES})"),
    Caseless(rf"{_NUM}{_HEADCOUNT}"),
)
# The team pattern without its "team of" branch, for texts that never say "team of" / "force of":
# a branch that cannot match anywhere changes nothing, and what remains starts with a digit, which
# lets the regex engine skip to the digits (it does not look inside alternatives for that, hence
# the number ahead of them). The number is the longest run of digits, "," and "." at the start:
# no word after it can follow a shorter one, so both patterns find the same matches and numbers.
_TEAM_OF = Keys("team of", "force of")
_TEAM_SIZE_WITHOUT_TEAM_OF = Caseless(rf"{_NUM}(?:{_PEOPLE_TEAM}|{_ROLES})")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _count(raw: str) -> int | None:
    number = _to_number(raw.translate(_FULLWIDTH_DIGITS).rstrip(".,"))
    return int(number) if number and 1 <= number <= 10_000_000 else None


def find_team_size(text: str | None) -> int | None:
    """Seats or users requested, else the size of the team, else the company's head count."""
    if not text or not _DIGIT.search(text):
        return None  # every size is a number
    seats, team, headcount = _TEAM_SIZES
    for pattern in (seats, team if _TEAM_OF.any_in(text) else _TEAM_SIZE_WITHOUT_TEAM_OF, headcount):
        sizes = [size for match in pattern.matches_in(text) if (size := _count(next(g for g in match.groups() if g)))]
        if sizes:
            return max(sizes)
    return None
