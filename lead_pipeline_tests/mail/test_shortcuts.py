"""The fast paths of the mail package against the general code they stand in for.

Each shortcut in ``lead_pipeline.mail`` (taken for speed; see the module comments) must give
exactly what the slower, general code gives: here each one is run side by side with that code
(the library call, the IGNORECASE regex, the original rule) on generated and real inputs.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from pathlib import Path

import filetype
import pytest

from lead_pipeline.mail import clean, fastpath, header_block, mime, parts
from lead_pipeline.mail.mime import parse_message
from lead_pipeline_tests.mail import test_clean as tc
from lead_pipeline_tests.mail import test_fastpath as tf

SAMPLE_INBOX = Path(mime.__file__).resolve().parents[1] / "sample_inbox"
LEAD_EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "lead_eval"


def corpus_messages() -> list[bytes]:
    return (
        [path.read_bytes() for path in sorted(SAMPLE_INBOX.glob("*.eml"))]
        + [path.read_bytes() for path in sorted(LEAD_EVAL.glob("*.eml"))]
        + tf.fixture_messages()
    )


# --------------------------------------------------------------------------------------------
# Phone numbers: the "+country code" shortcut and the validity checks against phonenumbers
# --------------------------------------------------------------------------------------------


def reference_e164(candidate: str, region: str) -> str | None:
    """clean._e164 as phonenumbers' public API gives it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def international_candidates(rng: random.Random, n: int) -> list[str]:
    import phonenumbers
    from phonenumbers import phonenumberutil

    codes = sorted(phonenumberutil.COUNTRY_CODE_TO_REGION_CODE)
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):  # real numbers of every region, and near misses
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            written = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            out.append(written)
            digits = [i for i, ch in enumerate(written) if ch.isdigit()]
            for _ in range(3):
                chars = list(written)
                for i in rng.sample(digits, min(len(digits), rng.randint(1, 2))):
                    chars[i] = rng.choice("0123456789")
                out.append("".join(chars))
    while len(out) < n:  # random ones: any code (or none), national prefixes, all the punctuation
        code = str(rng.choice(codes)) if rng.random() < 0.7 else str(rng.randint(0, 999))
        rest = rng.choice(["", "0", "00", "1", "15", "(0)"]) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(0, 14)))
        written = "+" + code
        for ch in rest:
            if rng.random() < 0.3:
                written += rng.choice([" ", "-", ".", "/", "(", ")", " (", ") "])
            written += ch
        out.append(written)
    return out


def test_phone_numbers_read_exactly_as_phonenumbers_reads_them() -> None:
    import phonenumbers

    rng = random.Random(2026)
    regions = ["US", "GB", "DE", "FR", "JP", "ES", "SE", "IT", "CA", "AU", "IN", "BR"]
    shortcut_taken = 0
    for written in international_candidates(rng, 6000):
        region = rng.choice(regions)
        for candidate in [written, *clean._PHONE_RE.findall(written)]:
            shortcut_taken += clean._INTERNATIONAL_RE.fullmatch(candidate) is not None
            try:
                expected = ("number", phonenumbers.parse(candidate, region))
            except phonenumbers.NumberParseException as exc:
                expected = ("error", exc.error_type)
            try:
                got = ("number", clean._parse_phone(candidate, region))
            except phonenumbers.NumberParseException as exc:
                got = ("error", exc.error_type)
            assert got == expected, (candidate, region)
            assert clean._e164.__wrapped__(candidate, region) == reference_e164(candidate, region), (candidate, region)
    assert shortcut_taken > 5000


def test_number_validity_checks_equal_phonenumbers() -> None:
    import phonenumbers
    from phonenumbers import phonenumberutil

    rng = random.Random(7)
    metadata = [phonenumbers.PhoneMetadata.metadata_for_region(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS)]
    for md in metadata:
        seeds = [phonenumberutil.national_significant_number(example) for example in (
            phonenumbers.example_number_for_type(md.id, kind)
            for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        ) if example is not None]
        for _ in range(60):
            if seeds and rng.random() < 0.7:
                national = list(rng.choice(seeds))
                for i in rng.sample(range(len(national)), min(len(national), rng.randint(0, 2))):
                    national[i] = rng.choice("0123456789")
                national = "".join(national)
            else:
                national = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 15)))
            expected = phonenumberutil._number_type_helper(national, md) != phonenumbers.PhoneNumberType.UNKNOWN
            assert clean._valid_in(md, national) == expected, (md.id, national)
    codes = sorted(phonenumberutil.COUNTRY_CODE_TO_REGION_CODE)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    for _ in range(5000):
        code = rng.choice(codes) if rng.random() < 0.5 else rng.choice([1, 7, 39, 44, 47, 61, 212, 262, 358, 590])
        national = "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 15)))
        number = phonenumbers.PhoneNumber(country_code=code)
        phonenumberutil._set_italian_leading_zeros_for_phone_number(national, number)
        number.national_number = int(national)
        region = rng.choice(regions + ["US"] * 50)
        valid_there = phonenumbers.is_valid_number_for_region(number, region)
        assert clean._is_valid_for_region(number, region) == valid_there, (code, national, region)
        if not valid_there:
            assert clean._is_valid_number(number, region) == phonenumbers.is_valid_number(number), (code, national)


# --------------------------------------------------------------------------------------------
# Signatures: per-line analysis against the original line-by-line rule
# --------------------------------------------------------------------------------------------


def reference_signature_fields(signature: str | None, sender: str | None = None) -> dict:
    """signature_fields as first written: every line analysed in turn with the full regexes."""
    fields: dict = {"title": None, "company": None, "phone": None, "urls": []}
    if not signature:
        return fields
    lines = [line.strip(" \t|*_") for line in signature.splitlines()]
    lines = [line for line in lines[:12] if line and not clean._MOBILE_RE.match("\n" + line)]
    urls = []
    for url in clean._SIG_URL_RE.findall(signature):
        url = url.rstrip(".;:")
        if url not in urls:
            urls.append(url)
    fields["urls"] = urls
    if any(ch.isdigit() for ch in signature):
        region = clean._phone_region((sender or "").rpartition(".")[2].lower())
        for candidate in clean._PHONE_RE.findall(signature):
            fields["phone"] = reference_e164(candidate, region)
            if fields["phone"]:
                break
    title_line = None
    for index, line in enumerate(lines):
        if len(line) > 80 or "@" in line or clean._SIG_URL_RE.search(line):
            continue
        pieces = clean._SIG_SEGMENT_RE.split(line)
        segments = [seg.strip() for seg in pieces[::2] if seg and seg.strip()]
        comma_after = [sep == "," for seg, sep in zip(pieces[::2], pieces[1::2]) if seg and seg.strip()]
        for pos, seg in enumerate(segments):
            if fields["title"] is None and clean._TITLE_WORDS_RE.search(seg) and not any(ch.isdigit() for ch in seg):
                title = seg
                rest = segments[pos + 1 :]
                if (rest and title.casefold() in clean._BARE_TITLES and pos < len(comma_after) and comma_after[pos]
                        and not clean._COMPANY_SUFFIX_RE.search(rest[0])):
                    title = f"{title}, {rest.pop(0)}"
                fields["title"] = title
                title_line = index
                if fields["company"] is None and rest and not clean._SIG_NOT_TEXT_RE.search(rest[0]):
                    fields["company"] = rest[0]
                break
        if fields["company"] is None:
            for seg in segments:
                if clean._COMPANY_SUFFIX_RE.search(seg) and not clean._SIG_NOT_TEXT_RE.search(seg) and seg != fields["title"]:
                    fields["company"] = seg
                    break
    if fields["company"] is None and title_line is not None and title_line + 1 < len(lines):
        candidate = lines[title_line + 1]
        if (len(candidate.split()) <= 5 and not clean._SIG_NOT_TEXT_RE.search(candidate)
                and not clean._TITLE_WORDS_RE.search(candidate)):
            fields["company"] = candidate
    return fields


SIGNATURE_LINES = [
    "Alex Chen", "Jürgen Brenner", "Élodie Marchand", "Noah", "CTO", "Head of Operations", "VP SALES",
    "Director, Revenue Operations", "Director, Acme GmbH", "Founder & CEO | Helio Analytics", "Geschäftsführer",
    "Responsable des ventes", "Acme Corp", "Brenner Maschinenbau GmbH", "Quantum Freight", "株式会社カイヨー",
    "Sales Enablement Lead - Quantum Freight", "Partner · Nordlys Solutions AB", "+1 (415) 555-0132",
    "Tel. 089 12345678", "01 42 68 53 00", "+44 20 7946 0958", "Mobile: +49 171 1234567", "https://acme.example",
    "www.brenner-maschinenbau.de", "alex@acme.example", "Sent from my iPhone", "SENT FROM MY IPHONE",
    "Get Outlook for iOS", "*Senior Engineer*", "| Account Executive |", "Vice President, Sales, Acme Inc.",
    "2020 - 2024", "Room 101, Building 7", "ACME CONSULTING", "Kierownik sprzedaży", "",
]


def test_signature_fields_equal_the_line_by_line_rule() -> None:
    rng = random.Random(11)
    senders = ["a@acme.example", "j@brenner.de", "e@atelier.fr", "k@kaiyo.jp", "s@nordlys.se", "x@helio.io", None]
    for _ in range(1500):
        lines = [rng.choice(SIGNATURE_LINES) for _ in range(rng.randint(1, 7))]
        if rng.random() < 0.3:
            lines = [line.upper() if rng.random() < 0.5 else line for line in lines]
        signature = "\n".join(lines)
        sender = rng.choice(senders)
        assert clean.signature_fields(signature, sender) == reference_signature_fields(signature, sender), signature
    for html in tc.HTML_REPLIES.values():  # signatures as clean_body cuts them
        cleaned = clean.clean_body(None, html)
        assert clean.signature_fields(cleaned.signature, "a@b.example") == reference_signature_fields(
            cleaned.signature, "a@b.example")


def test_signature_fields_results_are_independent_copies() -> None:
    signature = "Alex Chen\nHead of Operations, Acme Corp\n+1 (415) 555-0132\nhttps://acme.example"
    first = clean.signature_fields(signature, "alex@acme.example")
    first["urls"].append("mutated")
    first["title"] = "mutated"
    assert clean.signature_fields(signature, "alex@acme.example") == reference_signature_fields(signature, "alex@acme.example")


# --------------------------------------------------------------------------------------------
# Case-insensitive regexes run case-sensitively on lower-cased ASCII
# --------------------------------------------------------------------------------------------


def text_lines() -> list[str]:
    lines = set(SIGNATURE_LINES)
    for value in vars(tc).values():
        for text in (value if isinstance(value, (list, tuple)) else value.values() if isinstance(value, dict) else [value]):
            if isinstance(text, str):
                lines.update(text.splitlines())
    lines.update(["Best regards,", "Kind Regards - Bob", "thx", "Cheers!", "Mit freundlichen Grüßen", "Von meinem iPhone gesendet",
                  "Sent with Spark", "Sent from Outlook for Android", "Thanks again, Priya", "Regards / Hälsningar"])
    return sorted(lines)


def test_lowercased_ascii_matching_equals_ignorecase_matching() -> None:
    rng = random.Random(5)
    for line in text_lines():
        for variant in (line, line.upper(), line.lower(), "".join(c.upper() if rng.random() < 0.5 else c for c in line)):
            assert clean._is_signoff(variant) == bool(clean._SIGNOFF_RE.match(variant)), variant
            padded = "\n" + variant + "\n"
            found, expected = clean._mobile_search(padded), clean._MOBILE_RE.search(padded)
            assert (found and found.span()) == (expected and expected.span()), variant
            assert clean._has_title_words(variant) == bool(clean._TITLE_WORDS_RE.search(variant)), variant
            assert clean._has_company_suffix(variant) == bool(clean._COMPANY_SUFFIX_RE.search(variant)), variant


# --------------------------------------------------------------------------------------------
# Language and hashing
# --------------------------------------------------------------------------------------------


def test_language_shortcuts_equal_the_general_computation() -> None:
    rng = random.Random(3)
    texts = [line for line in text_lines() if line] + tc.MULTILINGUAL
    texts += ["see https://acme.example/pricing", "mail me at a@b.example.com", "WWW.ACME.EXAMPLE", "ſee httpſ://x"]
    for text in texts:
        sample = text[: clean._LANG_SAMPLE_CHARS]
        if not clean._maybe_urlish(sample):
            assert clean._URLISH_RE.search(sample) is None, sample
        assert clean._letter_weight(sample) == (
            sum(map(str.isalpha, sample)) + sum(map(str.isalpha, clean._WIDE_LETTERS_RE.findall(sample)))), sample
        if sample.isascii():
            lowered = sample.lower()
            assert clean._ASCII_WORD_RE.findall(lowered) == clean._WORD_RE.findall(lowered), sample
    for _ in range(500):  # short English-ish texts: the model decides most, the memo must not change that
        text = " ".join(rng.choice(["FYI", "lead", "for", "the", "team", "thanks", "see", "below", "ok", "Danke"])
                        for _ in range(rng.randint(3, 9)))
        lang, confidence = clean._identifier().classify(text)
        if clean._clear_language(text, clean._letter_weight(text)) is None and clean._letter_weight(text) >= clean._MIN_LETTERS:
            assert clean.detect_language(text) == (lang if confidence >= clean._MIN_CONFIDENCE and len(lang) == 2 else None)


def reference_normalise_for_hash(text: str) -> str:
    import unicodedata

    if not text:
        return ""
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", clean._INVISIBLE_RE.sub("", text)).casefold()
    lines = [line for line in text.splitlines() if any(ch.isalnum() for ch in line)]
    return " ".join(" ".join(lines).split())


def test_normalise_for_hash_equals_the_general_rule() -> None:
    for text in text_lines() + ["a\n--\n> b\n\x0b***\x0cc", "\u200bZero\u00adwidth\n— —\nok", "", "  \n\t"]:
        both = [text, text + "\n" + text.upper()]
        for value in both:
            assert clean.normalise_for_hash(value) == reference_normalise_for_hash(value), value


# --------------------------------------------------------------------------------------------
# Headers, dates and structure (mime, fastpath, parts)
# --------------------------------------------------------------------------------------------


def test_rfc5322_dates_read_as_parsedate_tz_reads_them() -> None:
    rng = random.Random(9)
    days = ["Mon, ", "Tue, ", "Sun, ", "", "Xyz, ", "mon, ", "Tue,"]
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec jan NOV June".split()
    for _ in range(20000):
        value = (rng.choice(days) + str(rng.randint(0, 40)).zfill(rng.choice([1, 2])) + " " + rng.choice(months) + " "
                 + str(rng.choice([rng.randint(0, 99), rng.randint(1900, 2200), rng.randint(0, 9999)])).zfill(rng.choice([2, 4]))
                 + f" {rng.randint(0, 30):02d}:{rng.randint(0, 70):02d}:{rng.randint(0, 70):02d} "
                 + rng.choice("+-") + f"{rng.randint(0, 30):02d}{rng.randint(0, 99):02d}")
        assert mime._parsedate(value) == parsedate_tz(value), value


def parse_date_with_timezones(value: str):
    """What mime._parse_date computes, the straightforward way: a timezone object, then astimezone."""
    value = (mime._COMMENT_RE.sub(" ", value) if "(" in value else value).strip()
    parsed = parsedate_tz(value) if value else None
    if not parsed:
        return "not an RFC 5322 date"
    year, month, day, hour, minute, second = parsed[:6]
    try:
        dt = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone(timedelta(seconds=parsed[9] or 0)))
        dt = dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return dt if 1970 <= dt.year <= 2100 else None


def test_dates_convert_to_utc_as_timezone_objects_convert_them() -> None:
    rng = random.Random(11)
    for _ in range(20000):
        value = (f"{rng.randint(0, 32)} {rng.choice(['Jan', 'Feb', 'Mar', 'Dec'])} "
                 f"{rng.choice([1969, 1970, 2026, 2100, 2101, 9999, 1, 0, 50, 99])} "
                 f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 62):02d} "
                 f"{rng.choice('+-')}{rng.randint(0, 30):02d}{rng.randint(0, 99):02d}" + rng.choice(["", " (UTC)", " GMT"]))
        expected = parse_date_with_timezones(value)
        if expected == "not an RFC 5322 date":
            continue
        got = mime._parse_date(value)
        assert got == expected and (got is None or got.tzinfo == timezone.utc), value
        if got is not None:
            assert mime._rfc3339(got) == (f"{got.year:04d}-{got.month:02d}-{got.day:02d}T"
                                          f"{got.hour:02d}:{got.minute:02d}:{got.second:02d}Z")


def test_sniffing_with_the_matchers_that_can_match_is_filetypes_guess() -> None:
    rng = random.Random(12)
    magics = [b"PK\x03\x04", b"\x1a\x45\xdf\xa3", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a",
              b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"RIFF\x00\x00\x00\x00WEBP", b"\x1f\x8b", b"", b"PK\x05\x06"]
    members = [b"[Content_Types].xml", b"word/", b"xl/", b"ppt/", b"mimetype", b"docProps", b"_rels/.rels"]
    payloads = []
    for _ in range(3000):
        head = rng.choice(magics) + rng.randbytes(rng.randint(0, 40))
        if head.startswith(b"PK\x03\x04"):
            head = head[:30].ljust(30, b"\0") + rng.choice(members) + b"application/vnd.oasis.opendocument.text"
        if head.startswith(b"\x1a\x45\xdf\xa3") and rng.random() < 0.5:
            head += rng.choice([b"\x42\x82\x84webm", b"\x42\x82\x88matroska"])
        body = rng.randbytes(rng.choice([0, 10, 300, 9000]))
        if rng.random() < 0.3:
            body = body[: len(body) // 2] + b"PK\x03\x04" + rng.choice(members) + body[len(body) // 2 :]
        payloads.append(head + body)
    for path in sorted(LEAD_EVAL.glob("*.eml")) + sorted(SAMPLE_INBOX.glob("*.eml")):
        payloads += [bytes(att) for att in mime.attachment_payloads(path.read_bytes(), {
            a["sha256"] for a in parse_message(path.read_bytes())["attachments"]}).values()]
    for payload in payloads:
        if payload:
            assert mime._guess_mime(payload) == filetype.guess_mime(payload), payload[:60]


def test_header_string_shortcuts_equal_the_regexes() -> None:
    rng = random.Random(4)
    alphabet = ["a", "b", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\u00a0", "\u2028", "(", ";", "=", "dkim", "DKIM", "spf",
                "dmarc", "pass", "fail", "Pass", "SPF", "DMarc", "é", "\u212a", "\u017f", "\ud800", "\udcff"]
    for _ in range(20000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert mime._collapse_ws(value) == mime._WS_RE.sub(" ", value).strip(), repr(value)
        assert mime._unfold(value) == mime._UNFOLD_RE.sub("", value).replace("\r", "").replace("\n", " "), repr(value)
        assert mime._has_surrogate(value) == bool(mime._SURROGATE_RE.search(value)), repr(value)
        if "\ud800" not in value and "\udcff" not in value:
            expected = [(method.lower(), result.lower()) for method, result in mime._AUTH_RESULT_RE.findall(value)]
            assert mime._auth_result_pairs(value) == expected, repr(value)


_BAD_FIRST_LINE_RE = re.compile(rb"--|From |[ \t]|(?![\x21-\x39\x3b-\x7e]+:)")
_BAD_LINE_RE = re.compile(rb"\n(?:--|From |(?![ \t]|[\x21-\x39\x3b-\x7e]+:|\Z))")
_FIELD_SPLIT_RE = re.compile(rb"\n(?![ \t])")


def reference_header_block(data: bytes, start: int):
    """The header block rule as first written: line regexes, then a split between fields."""
    if data.startswith(b"\n", start) or data.startswith(b"\r\n", start):
        return [], start + (1 if data[start] == 0x0A else 2)
    blank = header_block.BLANK_LINE_RE.search(data, start)
    block, body_start = (data[start:], len(data)) if blank is None else (data[start : blank.start() + 1], blank.end())
    if (_BAD_FIRST_LINE_RE.match(block) or _BAD_LINE_RE.search(block)
            or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n"))):
        return "declined"
    return [(name.decode("ascii"), fastpath.header_value(value.rstrip(b"\r\n")))
            for name, _, value in (field.partition(b":") for field in _FIELD_SPLIT_RE.split(block) if field)], body_start


def test_header_blocks_split_and_decline_as_the_line_rules_do() -> None:
    rng = random.Random(12)
    pieces = [b"From: a@b", b"To: x", b"Subject:", b"X-A:  v", b" folded", b"\tfolded", b"From x", b"--b", b"no colon",
              b"", b"\r", b"Bad Name: v", b"\xe9t\xe9: v", b"X:\xe9", b"  ", b"A:b:c", b":", b"-x: y", b"From:", b"\t"]
    for _ in range(30000):
        eol = rng.choice([b"\n", b"\r\n", b"\n", b"\r"])
        data = eol.join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        data += rng.choice([b"", eol, eol + eol + b"body", b"\n\nbody", b"\r\n\r\nbody"])
        start = rng.choice([0, 0, min(3, len(data))])
        try:
            got = fastpath._Layout(data).header_block(start)
        except fastpath._Decline:
            got = "declined"
        assert got == reference_header_block(data, start), data


def test_limit_structure_quick_accept_is_what_its_first_check_decides() -> None:
    rng = random.Random(8)
    pieces = [b"\nContent-Type: message/rfc822", b"\ncontent-type:  Message/x", b"; boundary=\"b%d\"", b"\n--b%d",
              b"\n--b%d--", b"Boundary=b%d", b"text\n", b"\n--", b"BOUNDARY = x"]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces).replace(b"%d", str(rng.randint(0, 50)).encode())
                        for _ in range(rng.randint(0, 400)))
        lowered = data.lower()
        quick = (lowered.count(b"\ncontent-type:") <= parts._PARSE_MAX_MESSAGE_PARTS
                 and lowered.count(b"boundary") <= parts._PARSE_MAX_MULTIPART_DEPTH
                 and data.count(b"\n--") + 1 <= parts.MAX_PARTS)
        if quick:
            boundaries = {m.group(0) for m in parts._BOUNDARY_DECL_RE.finditer(lowered)}
            declarations = list(parts._MESSAGE_DECL_RE.finditer(lowered))
            assert len(declarations) <= parts._PARSE_MAX_MESSAGE_PARTS
            assert not boundaries or len(boundaries) <= parts._PARSE_MAX_MULTIPART_DEPTH
            assert parts.limit_structure(data) == (data, [])


def find_body_in_two_walks(root, subtype: str, *, allow_named: bool = False):
    """The rule `mime._find_bodies` implements in one walk, written as one walk per subtype."""
    stack = [(root, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > mime.MAX_PARTS:
            return None
        if part is not root and mime._is_attachment_like(part, allow_named):
            continue
        maintype, _, sub = part.ctype.partition("/")
        if maintype == "text":
            if sub == subtype:
                return part
            continue
        if maintype != "multipart" or depth >= mime.MAX_DEPTH:
            continue
        children = part.children
        if not children:
            continue
        if sub == "related":
            children = [mime._related_root(part, children)]
        for child in reversed(children):
            stack.append((child, depth + 1))
    return None


def test_one_walk_finds_both_bodies_as_two_walks_do() -> None:
    for raw in corpus_messages():
        data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        parsed = fastpath.parse_fast(data) or parts.parse_stdlib(parts.limit_structure(data)[0])
        root = parsed[1]
        for allow_named in (False, True):
            expected = (find_body_in_two_walks(root, "plain", allow_named=allow_named),
                        find_body_in_two_walks(root, "html", allow_named=allow_named))
            assert mime._find_bodies(root, allow_named=allow_named) == expected


def test_memoised_address_headers_repeat_their_warnings() -> None:
    raw = (b"From: =?bogus-charset?q?Caf=E9?= <a@acme.example>\nTo: =?utf-8?b?QUJDR?= <b@x.example>\n"
           b"Subject: x\n\nbody\n")
    first, second = parse_message(raw), parse_message(raw)
    assert first == second
    assert {"unknown_charset", "bad_encoded_word"} <= set(second["warnings"])
