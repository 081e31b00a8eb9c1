"""Tests for lead_pipeline.mail.mime.parse_message."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import multiprocessing
import os
import quopri
import random
import re
import time
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest

from lead_pipeline.mail import mime
from lead_pipeline.mail.clean import content_hash, detect_language
from lead_pipeline.mail.mime import MessageRejected, parse_message, synthetic_message_id

SCHEMA_KEYS = {
    "id", "messageId", "receivedAt", "alias", "envelope", "from", "to", "cc", "replyTo", "subject",
    "text", "html", "headers", "spamScore", "attachments", "thread", "rawUrl",
    "replyText", "signature", "language", "contentHash", "warnings", "source", "htmlSanitized", "signatureFields",
    "attachedMessages",
}
ATTACHMENT_KEYS = {"filename", "contentType", "size", "sha256", "disposition", "contentId", "downloadUrl",
                   "sniffedContentType", "contentTypeMismatch"}

FULL = b"""Return-Path: <bounce+alex=acme.example@mailer.acme.example>
Delivered-To: demo@yourcompany.example
Received: from mx.yourcompany.example by mailstore.yourcompany.example with LMTP id 1;
 Tue, 03 Nov 2026 10:12:44 +0100
Received: from mail.acme.example (mail.acme.example [203.0.113.5])
 by mx.yourcompany.example with ESMTPS id 2; Mon, 02 Nov 2026 23:00:00 +0000
Authentication-Results: mx.yourcompany.example;
 dkim=pass header.d=acme.example header.s=s1;
 spf=softfail (domain of transitioning alex@acme.example) smtp.mailfrom=acme.example;
 dmarc=fail (p=none) header.from=acme.example
X-Spam-Score: 1.7
Message-ID: <demo-1234@mail.acme.example>
In-Reply-To: <orig-1@yourcompany.example>
References: <root-0@yourcompany.example>
 <orig-1@yourcompany.example>
Date: Tue, 03 Nov 2026 09:12:40 +0000
From: "Chen, Alex" <Alex.Chen@ACME.Example>
To: Demo Team <demo@yourcompany.example>, sales@yourcompany.example
Cc: =?utf-8?q?J=C3=BCrgen?= <j@acme.example>
Reply-To: Alex <alex.private@acme.example>
Subject: =?utf-8?b?RGVtbyByZXF1ZXN0IOKAkyBBY21l?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hi, we are evaluating your API for a new project and would like a demo next=
 week for our team of 40.

Best regards,
Alex Chen
CTO, Acme

On Mon, Nov 2, 2026 at 9:00 AM Demo <demo@yourcompany.example> wrote:
> Thanks for your interest!
--ALT
Content-Type: text/html; charset=utf-8

<p>Hi, we are evaluating your API for a new project and would like a demo next week.</p>
--ALT--
"""


def warm_up() -> None:
    """Load what loads lazily (language model, phone metadata) outside timed sections (~1 s)."""
    parse_message(FULL)
    detect_language("Hej, vi vil gerne have en demo af jeres produkt til vores salgsteam.")  # needs the model


def simple(headers: str = "", body: bytes = b"Hello, this is the body of the message.\n", *,
           sender: str | None = "From: Alex <alex@acme.example>") -> bytes:
    head = "\n".join(h for h in [sender, "To: demo@yourcompany.example", "Subject: Test", headers] if h)
    return head.encode("utf-8") + b"\n\n" + body


# --------------------------------------------------------------------------------------------
# Shape and header fields
# --------------------------------------------------------------------------------------------


def test_full_message_shape_and_fields() -> None:
    result = parse_message(FULL, source="inbox/full.eml")
    assert set(result) == SCHEMA_KEYS
    json.dumps(result)  # plain JSON-serialisable
    assert result["id"] == "mime_" + hashlib.sha256(FULL).hexdigest()[:32]
    assert result["messageId"] == "<demo-1234@mail.acme.example>"
    assert result["receivedAt"] == "2026-11-03T09:12:44Z"  # topmost Received, converted to UTC
    assert result["alias"] == "demo@yourcompany.example"
    assert result["envelope"] == {
        "mailFrom": "bounce+alex=acme.example@mailer.acme.example",
        "rcptTo": ["demo@yourcompany.example"],
    }
    assert result["from"] == {"email": "Alex.Chen@acme.example", "name": "Chen, Alex"}
    assert result["to"] == [
        {"email": "demo@yourcompany.example", "name": "Demo Team"},
        {"email": "sales@yourcompany.example", "name": None},
    ]
    assert result["cc"] == [{"email": "j@acme.example", "name": "Jürgen"}]
    assert result["replyTo"] == [{"email": "alex.private@acme.example", "name": "Alex"}]
    assert result["subject"] == "Demo request – Acme"
    assert result["text"].startswith("Hi, we are evaluating your API for a new project and would like a demo next week")
    assert result["html"].startswith("<p>Hi, we are evaluating")
    assert result["headers"] == {"dkim": "pass", "spf": "softfail", "dmarc": "fail", "autoSubmitted": None}
    assert result["spamScore"] == 1.7
    assert result["attachments"] == []
    assert result["thread"] == {
        "inReplyTo": "<orig-1@yourcompany.example>",
        "references": ["<root-0@yourcompany.example>", "<orig-1@yourcompany.example>"],
    }
    assert result["rawUrl"] is None
    assert result["replyText"] == (
        "Hi, we are evaluating your API for a new project and would like a demo next week for our team of 40."
    )
    assert result["signature"] == "Alex Chen\nCTO, Acme"
    assert result["language"] == "en"
    assert result["contentHash"] == content_hash(result["replyText"])
    assert result["warnings"] == []
    assert result["source"] == "inbox/full.eml"


def test_crlf_message_parses_like_lf() -> None:
    lf = parse_message(FULL)
    crlf = parse_message(FULL.replace(b"\n", b"\r\n"))
    for key in ("messageId", "receivedAt", "from", "to", "subject", "text", "replyText", "contentHash", "headers"):
        assert crlf[key] == lf[key], key
    assert crlf["id"] != lf["id"]  # id is over the exact raw bytes


@pytest.mark.parametrize(
    ("headers", "alias"),
    [
        ("Delivered-To: a@yourcompany.example\nX-Original-To: b@yourcompany.example", "a@yourcompany.example"),
        ("X-Original-To: <b@YourCompany.example>\nEnvelope-To: c@yourcompany.example", "b@yourcompany.example"),
        ("Envelope-To: c@yourcompany.example", "c@yourcompany.example"),
        ("", "demo@yourcompany.example"),  # first To address
    ],
)
def test_alias_precedence(headers: str, alias: str) -> None:
    result = parse_message(simple(headers))
    assert result["alias"] == alias
    assert result["envelope"]["rcptTo"] == [alias]


def test_no_alias_without_recipient_headers() -> None:
    result = parse_message(b"From: a@acme.example\nSubject: x\n\nbody\n")
    assert result["alias"] is None
    assert result["envelope"] == {"mailFrom": None, "rcptTo": []}
    assert result["to"] == []


def test_null_return_path_and_topmost_delivered_to() -> None:
    raw = simple("Return-Path: <>\nDelivered-To: top@yourcompany.example\nDelivered-To: lower@relay.example")
    result = parse_message(raw)
    assert result["envelope"]["mailFrom"] is None
    assert result["alias"] == "top@yourcompany.example"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Authentication-Results: mx.example; spf=pass smtp.mailfrom=a.example; dkim=fail; dmarc=none",
         {"dkim": "fail", "spf": "pass", "dmarc": "none"}),
        ("Authentication-Results: mx.example; dkim=fail header.d=x; dkim=pass header.d=acme.example",
         {"dkim": "pass", "spf": None, "dmarc": None}),
        ("Received-SPF: Pass (mx.example: domain of a@acme.example designates 1.2.3.4) client-ip=1.2.3.4",
         {"dkim": None, "spf": "pass", "dmarc": None}),
        ("Authentication-Results: mx.example; spf=fail\nReceived-SPF: pass",
         {"dkim": None, "spf": "fail", "dmarc": None}),
        ("Authentication-Results: mx.example; x-dkim=pass; arc=pass",
         {"dkim": None, "spf": None, "dmarc": None}),
        ("", {"dkim": None, "spf": None, "dmarc": None}),
    ],
)
def test_authentication_results(headers: str, expected: dict) -> None:
    verdicts = parse_message(simple(headers))["headers"]
    assert {k: verdicts[k] for k in ("dkim", "spf", "dmarc")} == expected


def test_auto_submitted_is_reported_so_automatic_replies_can_be_told_apart() -> None:
    assert parse_message(simple("Auto-Submitted: auto-replied"))["headers"]["autoSubmitted"] == "auto-replied"
    assert parse_message(simple(""))["headers"]["autoSubmitted"] is None


@pytest.mark.parametrize(
    ("value", "score"),
    [("5.3", 5.3), ("-1.2 (--)", -1.2), ("  12 ", 12.0), ("n/a", None), ("nan", None)],
)
def test_spam_score(value: str, score: float | None) -> None:
    assert parse_message(simple(f"X-Spam-Score: {value}"))["spamScore"] == score


def test_spam_score_absent() -> None:
    assert parse_message(simple())["spamScore"] is None


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


def test_received_at_from_date_header_when_no_received() -> None:
    result = parse_message(simple("Date: Tue, 3 Nov 2026 04:12:44 -0500"))
    assert result["receivedAt"] == "2026-11-03T09:12:44Z"
    assert "no_received_date" not in result["warnings"]


def test_bad_received_date_falls_back_to_date() -> None:
    result = parse_message(simple("Received: from x by y; not a date at all\nDate: 3 Nov 2026 09:12:44 +0000"))
    assert result["receivedAt"] == "2026-11-03T09:12:44Z"
    assert "bad_received_date" in result["warnings"]


@pytest.mark.parametrize(
    "headers",
    ["", "Date: garbage", "Date: Tue, 31 Feb 2026 25:99:99 +9999", "Received: no semicolon here\nDate: ;;;;",
     "Date: Tue, 3 Nov 99999 09:12:44 +0000"],
)
def test_missing_or_broken_dates_warn(headers: str) -> None:
    result = parse_message(simple(headers))
    assert result["receivedAt"] is None
    assert "no_received_date" in result["warnings"]


def test_date_without_timezone_is_utc_and_comments_are_ignored() -> None:
    result = parse_message(simple("Received: from a by b; Tue, 3 Nov 2026 09:12:44 -0000 (UTC)"))
    assert result["receivedAt"] == "2026-11-03T09:12:44Z"


# --------------------------------------------------------------------------------------------
# Message-ID
# --------------------------------------------------------------------------------------------


def test_missing_message_id_gets_deterministic_synthetic_id() -> None:
    raw = simple("Date: Tue, 3 Nov 2026 09:12:44 +0000")
    first, second = parse_message(raw), parse_message(raw)
    assert first["messageId"] == second["messageId"]
    assert re.fullmatch(r"<synthetic-[0-9a-f]{32}@lead-pipeline\.invalid>", first["messageId"])
    assert "synthetic_message_id" in first["warnings"]
    assert first["messageId"] == synthetic_message_id(
        "alex@acme.example", "2026-11-03T09:12:44Z", "Hello, this is the body of the message.\n"
    )
    other_body = parse_message(simple("Date: Tue, 3 Nov 2026 09:12:44 +0000", b"Another body\n"))
    other_date = parse_message(simple("Date: Tue, 3 Nov 2026 09:12:45 +0000"))
    assert len({first["messageId"], other_body["messageId"], other_date["messageId"]}) == 3


def test_message_id_is_stripped_and_kept_with_brackets() -> None:
    result = parse_message(simple("Message-ID:\n   <abc.123@mail.acme.example>  "))
    assert result["messageId"] == "<abc.123@mail.acme.example>"
    assert "synthetic_message_id" not in result["warnings"]


# --------------------------------------------------------------------------------------------
# Addresses and RFC 2047
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_header", "email", "name", "spoof"),
    [
        ("From: alice@example.com <bob@Example.COM>", "bob@example.com", "alice@example.com", True),
        ('From: "alice@example.com" <bob@example.com>', "bob@example.com", "alice@example.com", True),
        ('From: "PayPal <service@paypal.example>" <evil@phish.example>', "evil@phish.example",
         "PayPal <service@paypal.example>", True),
        ('From: "bob@example.com" <bob@example.com>', "bob@example.com", "bob@example.com", False),
        ("From: bob@example.com (Bob Smith)", "bob@example.com", "Bob Smith", False),
        ("From: Bob Smith <bob@example.com", "bob@example.com", "Bob Smith", False),
        ("From:  <  bob@EXAMPLE.com  >  ", "bob@example.com", None, False),
        ("From: =?utf-8?q?J=C3=BCrgen_Brenner?= <j@brenner.example>", "j@brenner.example", "Jürgen Brenner", False),
        ("From: =?iso-8859-1?q?=C9lodie?= Marchand <e@atelier.example>", "e@atelier.example", "Élodie Marchand", False),
        ('From: "=?utf-8?b?55Sw5LitIOWBpeS4gA==?=" <k@kaiyo.example>', "k@kaiyo.example", "田中 健一", False),
    ],
)
def test_sender_parsing(from_header: str, email: str, name: str | None, spoof: bool) -> None:
    result = parse_message(simple(sender=from_header))
    assert result["from"] == {"email": email, "name": name}
    assert ("display_name_spoofing" in result["warnings"]) is spoof


def test_quoted_local_part_is_kept() -> None:
    result = parse_message(simple(sender='From: Bob <"john doe"@Example.com>'))
    assert result["from"] == {"email": '"john doe"@example.com', "name": "Bob"}


def test_group_syntax_and_undisclosed_recipients() -> None:
    raw = simple().replace(b"To: demo@yourcompany.example",
                           b"To: Sales Team: a@yourcompany.example, B <b@yourcompany.example>;\nCc: undisclosed-recipients:;")
    result = parse_message(raw)
    assert [r["email"] for r in result["to"]] == ["a@yourcompany.example", "b@yourcompany.example"]
    assert result["cc"] == []


def test_raw_8bit_header_bytes_are_decoded_and_json_safe() -> None:
    raw = "From: Jürgen Brenner <j@brenner.example>\nSubject: Grüße\n\nHallo\n".encode("utf-8")
    result = parse_message(raw)
    assert result["from"]["name"] == "Jürgen Brenner"
    assert result["subject"] == "Grüße"
    latin1 = "From: Jürgen <j@brenner.example>\nSubject: Grüße\n\nHallo\n".encode("latin-1")
    result = parse_message(latin1)
    assert result["from"]["name"] == "Jürgen"
    json.dumps(result, ensure_ascii=False).encode("utf-8")


def lone_surrogates(value) -> list[str]:
    """Every string in ``value`` (nested dicts and lists) that holds a lone surrogate."""
    if isinstance(value, str):
        return [value] if re.search("[\ud800-\udfff]", value) else []
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [found for item in items for found in lone_surrogates(item)]


def test_every_string_is_json_safe_whatever_the_header_bytes_and_charsets() -> None:
    # 8-bit bytes in raw header values the parser keeps (surrogate escapes), and UTF-7, which
    # decodes "+2AA-" to a lone surrogate, in encoded words, a header charset hint and bodies.
    latin1 = "Jürgen".encode("latin-1")
    attachment = (
        b"From: =?utf-7?q?A+2AA-B?= <x@y.example>\nTo: " + latin1 + b" <t@y.example>\nSubject: =?utf-7?q?S+2AA-?= "
        + latin1 + b"\nMessage-ID: <a\xe9@x>\nIn-Reply-To: <r\xe9@x>\nReferences: <a\xe9@x> <b@x>\n"
        b"Auto-Submitted: auto-\xe9\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n"
        b"Content-Type: text/plain; charset=utf-7\n\nhi +2AA- there\n--B\n"
        b"Content-Type: application/pdf; name=\"r\xe9sum\xe9.pdf\"\nContent-Disposition: attachment\n"
        b"Content-ID: <c\xe9@x>\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(b"%PDF-1.4 hi")
        + b"--B\nContent-Type: application/x-\xe9\xe9; name=a.bin\nContent-Disposition: \xe9\n\nxx\n"
        b"--B\nContent-Type: message/rfc822\n\nFrom: =?utf-7?q?A+2AA-B?= <x@y.example>\nMessage-ID: <m\xe9@x>\n"
        b"Subject: " + latin1 + b"\nContent-Type: text/html; charset=utf-7\n\n<p>inner +2AA- body</p>\n--B--\n"
    )
    for raw in (attachment, attachment.replace(b"\n\n--B\n", b"\n\nMIME preamble\n--B\n", 1)):
        for result in (parse_message(raw, source="inbox/\udce9.eml"), mime.parse_mime(raw)):
            assert lone_surrogates(result) == []
            json.dumps(result, ensure_ascii=False).encode("utf-8")
        assert result["from"]["name"] == "A?B"
        assert result["attachedMessages"][0]["text"] is None and "?" in result["attachedMessages"][0]["html"]
    assert parse_message(attachment, source="inbox/\udce9.eml")["source"] == "inbox/?.eml"


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?utf-8?b?RGVtbyByZXF1ZXN0IOKAkyBBY21l?=", "Demo request – Acme"),
        ("=?ISO-8859-1?Q?Pr=E9sentation_produit?=", "Présentation produit"),
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?= =?utf-8?q?_aus_M=C3=BCnchen?=", "Grüße aus München"),
        # one multibyte character split across two encoded words
        ("=?utf-8?b?5paZ6YeR?= =?utf-8?b?44OX44Op44Oz?=", "料金プラン"),
        ("=?utf-8?b?5paZ6Q==?= =?utf-8?b?h5Hjg5fjg6njg7M=?=", "料金プラン"),
        ("=?iso-2022-jp?B?GyRCTkE2YiVXJWklcxsoQg==?=", "料金プラン"),
        ("Re: =?utf-8?q?caf=C3=A9?= meeting", "Re: café meeting"),
        ("=?x-unknown?q?hello?= world", "hello world"),
        ("=?utf-8?b?!!!notbase64?=", "=?utf-8?b?!!!notbase64?="),
        ("Plain\n\tfolded   subject", "Plain folded subject"),
    ],
)
def test_rfc2047_subjects(encoded: str, decoded: str) -> None:
    assert parse_message(simple().replace(b"Subject: Test", f"Subject: {encoded}".encode()))["subject"] == decoded


def test_missing_subject_is_none() -> None:
    assert parse_message(b"From: a@acme.example\n\nbody\n")["subject"] is None


# --------------------------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n \t", "empty"),
        (bytes(range(256)) * 8, "not_rfc5322"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not_rfc5322"),
        (b"From: a@acme.example\nSubj\x00ect: x\n\nbody", "not_rfc5322"),
        (b"Hello there,\nthis is not an email at all.\n\nJust text.", "not_rfc5322"),
        (b"\n\nFrom: a@acme.example\n", "not_rfc5322"),
        (b"From: undisclosed\nTo: demo@yourcompany.example\nSubject: hi\n\nbody\n", "no_sender"),
        (b"To: demo@yourcompany.example\nSubject: hi\n\nbody\n", "no_sender"),
        (b"From: <>\nReturn-Path: <>\nSubject: bounce\n\nbody\n", "no_sender"),
    ],
)
def test_rejected_inputs(raw: bytes, reason: str) -> None:
    with pytest.raises(MessageRejected) as info:
        parse_message(raw)
    assert info.value.reason.startswith(reason + ":")
    assert str(info.value) == info.value.reason


def test_random_garbage_is_rejected_not_crashed() -> None:
    rng = random.Random(1234)
    for _ in range(200):
        blob = rng.randbytes(rng.randint(1, 3000))
        try:
            result = parse_message(blob)
        except MessageRejected:
            continue
        assert set(result) == SCHEMA_KEYS  # extremely unlikely, but then it must be well-formed


def test_non_bytes_input_is_rejected() -> None:
    with pytest.raises(MessageRejected, match="invalid_input"):
        parse_message("From: a@acme.example\n\nbody")  # type: ignore[arg-type]


def test_sender_falls_back_to_sender_then_return_path() -> None:
    via_sender = parse_message(b"From: undisclosed\nSender: Ops <ops@acme.example>\n\nbody\n")
    assert via_sender["from"] == {"email": "ops@acme.example", "name": "Ops"}
    assert "sender_from_sender" in via_sender["warnings"]
    via_return_path = parse_message(b"Return-Path: <bounce@acme.example>\nSubject: x\n\nbody\n")
    assert via_return_path["from"] == {"email": "bounce@acme.example", "name": None}
    assert "sender_from_return_path" in via_return_path["warnings"]


def test_unexpected_exception_becomes_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(data: bytes):
        raise ValueError("synthetic failure")

    monkeypatch.setattr(mime, "parse_fast", lambda data: None)
    monkeypatch.setattr(mime, "parse_stdlib", boom)
    with pytest.raises(MessageRejected) as info:
        parse_message(simple())
    assert info.value.reason == "parse_error: ValueError: synthetic failure"


def outcome(raw, source: str | None = None) -> dict | str:
    try:
        return parse_message(raw, source=source)
    except MessageRejected as exc:
        return exc.reason


def test_parse_many_gives_what_parse_message_gives_in_input_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stage failing on one message (an unexpected exception in sanitising) costs that message only.
    real_sanitized = mime._sanitized

    def fail_on_marker(html, warnings):
        if html and "FAIL-HERE" in html:
            raise RuntimeError("synthetic failure")
        return real_sanitized(html, warnings)

    monkeypatch.setattr(mime, "_sanitized", fail_on_marker)
    sample_inbox = sorted((Path(mime.__file__).resolve().parents[1] / "sample_inbox").glob("*.eml"))
    raws = [path.read_bytes() for path in sample_inbox[:12]]
    raws[3:3] = [b"", "not bytes", bytearray(FULL), simple(body=b"x"),
                 FULL.replace(b"<p>Hi,", b"<p>FAIL-HERE Hi,"), b"\n\nFrom: a@acme.example\n", memoryview(FULL)]
    sources = [f"source-{index}" for index in range(len(raws))]
    expected = [outcome(raw, source) for raw, source in zip(raws, sources)]
    assert "parse_error: RuntimeError: synthetic failure" in expected
    assert sum(isinstance(item, str) for item in expected) == 4
    for batch_size in (1, 4, 32):
        got = [item.reason if isinstance(item, MessageRejected) else item
               for item in mime.parse_many(raws, sources=sources, batch_size=batch_size)]
        assert got == expected
    assert [item["source"] for item in mime.parse_many([FULL, FULL])] == [None, None]


DERIVED_KEYS = {"replyText", "signature", "language", "contentHash", "htmlSanitized", "signatureFields"}


def test_parse_mime_then_add_derived_fields_is_parse_message() -> None:
    sample_inbox = sorted((Path(mime.__file__).resolve().parents[1] / "sample_inbox").glob("*.eml"))
    for raw in [path.read_bytes() for path in sample_inbox] + [FULL, simple()]:
        message = mime.parse_mime(raw, source="inbox")
        assert set(message) == SCHEMA_KEYS - DERIVED_KEYS
        combined = mime.add_derived_fields(message)
        expected = parse_message(raw, source="inbox")
        assert list(combined) == list(expected)  # the same layout, key for key
        assert json.dumps(combined) == json.dumps(expected)
    with pytest.raises(MessageRejected, match="^invalid_input: "):
        mime.parse_mime("not bytes")  # type: ignore[arg-type]


def test_derived_fields_are_computed_from_json_safe_bodies() -> None:
    # UTF-7 decodes "+2AA-" to a lone surrogate: the body becomes "?" there, and the derived
    # fields come from that safe text (the content hash used to fail on the surrogate).
    raw = text_message(b"Hello +2AA- there, we would like a demo for our team.\n", "text/plain; charset=utf-7", None)
    result = parse_message(raw)
    assert result["text"] == "Hello ? there, we would like a demo for our team.\n"
    assert result["replyText"] == result["text"].strip()
    assert result["contentHash"] == content_hash(result["replyText"])
    html = text_message(b"<p>Hi +2AA- there</p>\n", "text/html; charset=utf-7", None)
    assert parse_message(html)["htmlSanitized"] == "<p>Hi ? there</p>\n"


def test_parse_many_on_worker_processes_gives_the_same_in_input_order() -> None:
    sample_inbox = sorted((Path(mime.__file__).resolve().parents[1] / "sample_inbox").glob("*.eml"))
    raws = [path.read_bytes() for path in sample_inbox] + [b"", memoryview(FULL), "not bytes"]
    expected = [outcome(raw) for raw in raws]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = [item.reason if isinstance(item, MessageRejected) else item
               for item in mime.parse_many(raws, batch_size=5, executor=pool)]
    assert got == expected


def test_parse_many_reads_its_input_one_batch_at_a_time() -> None:
    pulled = []

    def messages():
        for index in range(10):
            pulled.append(index)
            yield simple(body=f"message {index}\n".encode())

    results = mime.parse_many(messages(), batch_size=4)
    first = next(results)
    assert first["text"] == "message 0\n"
    assert len(pulled) == 4  # one batch in memory, not the whole input
    assert [result["text"] for result in results] == [f"message {index}\n" for index in range(1, 10)]


def test_malformed_mime_parameters_do_not_lose_the_message() -> None:
    # CPython's header parser raises IndexError on a parameter name without "=".
    single = b"From: a@acme.example\nContent-Type: text/plain; charset=utf-8;\n  title*0*\n\nHello there\n"
    assert parse_message(single)["text"] == "Hello there\n"
    multi = (
        b"From: a@acme.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; title*0*; boundary=\"B\"\n\n"
        b"--B\nContent-Type: text/plain\n\nbody text\n--B\nContent-Type: application/pdf; name*0*\n"
        b"Content-Disposition: attachment; filename=a.pdf\n\n%PDF\n--B--\n"
    )
    result = parse_message(multi)
    assert result["text"] == "body text"
    assert [a["filename"] for a in result["attachments"]] == ["a.pdf"]


def mutations(seed: bytes, rng: random.Random, n: int):
    tokens = [b"\n", b"\r\n", b"=?", b"?=", b"<", b">", b'"', b"(", b")", b"\\", b":", b";", b"--", b"=",
              b"\x00", b"\xff", b"\xc3", b"boundary=", b"Content-Type: message/rfc822\n", b"charset=x-bad",
              b"filename*=", b"*0*", b"%", b"\t", b" "]
    for _ in range(n):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data) + 1)
            op = rng.random()
            if op < 0.3:
                del data[pos:pos + rng.randint(1, 40)]
            elif op < 0.7:
                data[pos:pos] = rng.choice(tokens) * rng.randint(1, 3)
            elif op < 0.9 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            else:
                del data[pos:]
        yield bytes(data)


def test_mutated_messages_never_raise_anything_but_message_rejected() -> None:
    rng = random.Random(20261103)
    seeds = [FULL, nested_message(2).as_bytes(), flat_parts(3), text_message(b"caf\xc3\xa9", "text/plain", "8bit")]
    parse_errors = 0
    for seed in seeds:
        for blob in mutations(seed, rng, 150):
            try:
                result = parse_message(blob)
            except MessageRejected as exc:
                parse_errors += exc.reason.startswith("parse_error")
                continue
            assert set(result) == SCHEMA_KEYS
            json.dumps(result, ensure_ascii=False).encode("utf-8")
    assert parse_errors == 0  # known stdlib crash paths are salvaged, not rejected


def test_message_rejected_pickles() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(MessageRejected("no_sender: x")))
    assert isinstance(err, MessageRejected) and err.reason == "no_sender: x"


# --------------------------------------------------------------------------------------------
# Charsets and transfer encodings
# --------------------------------------------------------------------------------------------

CHARSET_CASES = [
    ("utf-8", "utf-8", "quoted-printable", "Grüße aus München – naïve café ✓ and a long line " * 3),
    ("utf-8", "utf-8", "base64", "Solicitud de demostración — ¿podrían agendar una llamada?"),
    ("utf-8", "utf-8", "8bit", "Demande de démonstration pour une équipe de 18 commerciaux."),
    ("us-ascii", "ascii", "7bit", "Plain ASCII body, nothing special."),
    ("iso-8859-1", "latin-1", "quoted-printable", "Élodie vous souhaite une très bonne journée à Paris."),
    ("iso-8859-1", "latin-1", "8bit", "Préstamo, señor, año, pingüino."),
    ("iso-8859-2", "iso8859_2", "8bit", "Zażółć gęślą jaźń, pozdrawiam serdecznie."),
    ("iso-8859-5", "iso8859_5", "base64", "Здравствуйте, нужна демонстрация."),
    ("iso-8859-15", "iso8859_15", "quoted-printable", "Prix : 20 € par mois et par œuvre."),
    ("windows-1252", "cp1252", "8bit", "Preisanfrage „Enterprise“ – 20.000 € netto…"),
    ("windows-1251", "cp1251", "base64", "Здравствуйте, пришлите, пожалуйста, коммерческое предложение."),
    ("windows-1250", "cp1250", "quoted-printable", "Dzień dobry, proszę o ofertę cenową."),
    ("iso-2022-jp", "iso2022_jp", "7bit", "料金プランについてのお問い合わせです。よろしくお願いします。"),
    ("ISO-2022-JP", "iso2022_jp", "base64", "デモをお願いします。"),
    ("gb2312", "gb2312", "base64", "您好，我们想了解贵公司产品的价格。"),
    ("koi8-r", "koi8_r", "8bit", "Добрый день, просим прислать цены на подписку."),
    ("koi8-r", "koi8_r", "quoted-printable", "Спасибо за быстрый ответ."),
    ("shift_jis", "shift_jis", "base64", "デモのご依頼について"),
    ("big5", "big5", "base64", "您好，請提供報價。"),
    ("euc-kr", "euc_kr", "base64", "안녕하세요 견적 부탁드립니다"),
]


def encode_body(data: bytes, cte: str) -> bytes:
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    if cte == "base64":
        return base64.encodebytes(data)
    return data


def text_message(body: bytes, content_type: str, cte: str | None) -> bytes:
    head = f"From: a@acme.example\nTo: demo@yourcompany.example\nSubject: charset\nMIME-Version: 1.0\nContent-Type: {content_type}\n"
    if cte:
        head += f"Content-Transfer-Encoding: {cte}\n"
    return head.encode() + b"\n" + body


@pytest.mark.parametrize(("charset", "codec", "cte", "text"), CHARSET_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CHARSET_CASES])
def test_declared_charsets_and_transfer_encodings(charset: str, codec: str, cte: str, text: str) -> None:
    body = encode_body((text + "\n").encode(codec), cte)
    result = parse_message(text_message(body, f'text/plain; charset="{charset}"', cte))
    assert result["text"] == text + "\n"
    assert not {"charset_mismatch", "undeclared_charset", "unknown_charset"} & set(result["warnings"])


@pytest.mark.parametrize(("charset", "codec", "cte", "text"), CHARSET_CASES[4:12],
                         ids=[f"{c[0]}-{c[2]}" for c in CHARSET_CASES[4:12]])
def test_html_bodies_in_legacy_charsets(charset: str, codec: str, cte: str, text: str) -> None:
    html = f"<html><body><p>{text}</p></body></html>"
    body = encode_body(html.encode(codec), cte)
    result = parse_message(text_message(body, f"text/html; charset={charset}", cte))
    assert result["html"] == html
    assert result["text"] is None
    assert result["replyText"] == text


def test_undeclared_utf8_is_detected() -> None:
    text = "Bonjour, nous aimerions une démonstration de votre produit la semaine prochaine."
    result = parse_message(text_message(text.encode("utf-8"), "text/plain", "8bit"))
    assert result["text"] == text
    assert "undeclared_charset" in result["warnings"]


def test_undeclared_legacy_charset_is_detected() -> None:
    text = ("Très chère équipe, nous souhaiterions organiser une démonstration détaillée de votre "
            "solution, idéalement après-demain. Merci d'avance et très bonne journée à vous. ") * 3
    result = parse_message(text_message(text.encode("cp1252"), "text/plain", "8bit"))
    assert "undeclared_charset" in result["warnings"]
    assert "démonstration" in result["text"] and "très" in result["text"]


def test_undeclared_iso2022jp_is_detected() -> None:
    text = "料金プランについてのお問い合わせ"
    result = parse_message(text_message(text.encode("iso2022_jp"), "text/plain", "7bit"))
    assert result["text"] == text


def test_wrong_declared_charset_falls_back() -> None:
    text = "Demande de démonstration, équipe de 18 commerciaux."
    result = parse_message(text_message(text.encode("latin-1"), "text/plain; charset=utf-8", "8bit"))
    assert "charset_mismatch" in result["warnings"]
    assert isinstance(result["text"], str) and "d" in result["text"]
    json.dumps(result, ensure_ascii=False).encode("utf-8")
    mislabelled_ascii = parse_message(text_message("café ✓".encode(), "text/plain; charset=us-ascii", "8bit"))
    assert mislabelled_ascii["text"] == "café ✓"


@pytest.mark.parametrize("charset", ["x-unknown", "unknown-8bit", "base64", "utf-99", "", "\"\"", "rot13"])
def test_unknown_charset_does_not_crash(charset: str) -> None:
    body = "Hello, plain text with an odd label. Ünïcödé too.".encode("utf-8")
    result = parse_message(text_message(body, f"text/plain; charset={charset}", "8bit"))
    assert result["text"] == "Hello, plain text with an odd label. Ünïcödé too."
    ascii_result = parse_message(text_message(b"just ascii", f"text/plain; charset={charset}", "7bit"))
    assert ascii_result["text"] == "just ascii"


def test_broken_base64_and_qp_do_not_crash() -> None:
    for cte, body in (("base64", b"SGVsbG8gd29y!!!bGQ=\n===\n"), ("quoted-printable", b"caf=C3=A9 =ZZ broken=\n")):
        result = parse_message(text_message(body, "text/plain; charset=utf-8", cte))
        assert isinstance(result["text"], str)


# --------------------------------------------------------------------------------------------
# Bodies and attachments
# --------------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 20


def test_attachments_with_hash_size_and_inline_image() -> None:
    msg = EmailMessage()
    msg["From"] = "Marcus <marcus@acme.example>"
    msg["To"] = "jobs@yourcompany.example"
    msg["Subject"] = "Application"
    msg.set_content("Please find my resume attached.\n")
    msg.add_alternative("<p>Please find my resume attached.<img src='cid:logo@acme'></p>", subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG fake", "image", "png", cid="<logo@acme>")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Resume.pdf")
    result = parse_message(msg.as_bytes())
    assert result["text"] == "Please find my resume attached.\n"
    assert result["html"].startswith("<p>Please find my resume attached.")
    by_type = {a["contentType"]: a for a in result["attachments"]}
    assert set(by_type) == {"image/png", "application/pdf"}
    pdf = by_type["application/pdf"]
    assert set(pdf) == ATTACHMENT_KEYS
    assert pdf == {
        "filename": "Resume.pdf", "contentType": "application/pdf", "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(), "disposition": "attachment", "contentId": None,
        "downloadUrl": None, "sniffedContentType": "application/pdf", "contentTypeMismatch": False,
    }
    image = by_type["image/png"]
    assert image["contentId"] == "logo@acme" and image["size"] == len(b"\x89PNG fake")


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        ("attachment; filename*=utf-8''%E2%82%AC%20rates%202026.pdf", "€ rates 2026.pdf"),
        ("attachment;\n filename*0*=utf-8''Angebot%20f%C3%BCr;\n filename*1*=%20M%C3%BCller.pdf", "Angebot für Müller.pdf"),
        ("attachment; filename*=iso-8859-1''r%E9sum%E9.pdf", "résumé.pdf"),
        ('attachment; filename="=?utf-8?q?Pr=C3=A9sentation.pdf?="', "Présentation.pdf"),
        ('attachment; filename="..\\\\..\\\\windows\\\\evil.pdf"', "evil.pdf"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
    ],
)
def test_attachment_filenames_rfc2231_and_sanitised(disposition: str, filename: str) -> None:
    raw = (
        "From: a@acme.example\nSubject: file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nSee attached.\n"
        f"--B\nContent-Type: application/pdf\nContent-Disposition: {disposition}\n"
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(PDF).decode() + "--B--\n"
    ).encode()
    (att,) = parse_message(raw)["attachments"]
    assert att["filename"] == filename
    assert att["sha256"] == hashlib.sha256(PDF).hexdigest()


def test_email_message_generated_non_ascii_filename() -> None:
    msg = EmailMessage()
    msg["From"] = "lucia@acme.example"
    msg.set_content("CV attached")
    msg.add_attachment(b"docx bytes", maintype="application", subtype="octet-stream", filename="CV_Lucía_Fernández – 2026.docx")
    (att,) = parse_message(msg.as_bytes())["attachments"]
    assert att["filename"] == "CV_Lucía_Fernández – 2026.docx"
    assert att["size"] == len(b"docx bytes")


def nested_message(depth: int) -> EmailMessage:
    """A message whose attachment sits inside `depth` levels of forwarded message/rfc822 parts."""
    inner = EmailMessage()
    inner["From"] = "priya@helio.example"
    inner["Subject"] = "innermost"
    inner.set_content("Innermost text")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="deep.pdf")
    for level in range(depth):
        outer = EmailMessage()
        outer["From"] = f"fwd{level}@acme.example"
        outer["Subject"] = f"Fwd level {level}"
        outer.set_content(f"Forwarding level {level}")
        outer.add_attachment(inner)
        inner = outer
    return inner


def test_nested_rfc822_attachments_are_walked() -> None:
    result = parse_message(nested_message(2).as_bytes())
    assert result["from"]["email"] == "fwd1@acme.example"
    assert result["text"] == "Forwarding level 1\n"  # never the forwarded message's body
    names = [a["filename"] for a in result["attachments"]]
    assert names == ["deep.pdf"]
    assert result["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "part_limit_exceeded" not in result["warnings"]


def test_attached_messages_are_summarised_in_order() -> None:
    result = parse_message(nested_message(2).as_bytes())
    assert [(m["from"]["email"], m["subject"], m["text"]) for m in result["attachedMessages"]] == [
        ("fwd0@acme.example", "Fwd level 0", "Forwarding level 0\n"),
        ("priya@helio.example", "innermost", "Innermost text\n"),
    ]
    assert parse_message(FULL)["attachedMessages"] == []


def test_attached_message_fields() -> None:
    inner = (b"From: Eleanor Shaw <eleanor@harrowgate.example>\nTo: James <james@yourcompany.example>\n"
             b"Subject: =?utf-8?q?Demo_request_=E2=80=93_Harrowgate?=\nDate: Mon, 16 Nov 2026 09:41:12 +0100\n"
             b"Message-ID: <d41c@harrowgate.example>\nContent-Type: text/html; charset=utf-8\n\n<p>We'd like a demo.</p>\n")
    raw = (b"From: James <james@yourcompany.example>\nSubject: Fwd\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nSee attached.\n"
           b"--B\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=lead.eml\n\n" + inner + b"--B--\n")
    (attached,) = parse_message(raw)["attachedMessages"]
    assert attached == {
        "messageId": "<d41c@harrowgate.example>",
        "from": {"email": "eleanor@harrowgate.example", "name": "Eleanor Shaw"},
        "to": [{"email": "james@yourcompany.example", "name": "James"}],
        "cc": [],
        "subject": "Demo request – Harrowgate",
        "sentAt": "2026-11-16T08:41:12Z",
        "text": None,
        "html": "<p>We'd like a demo.</p>",
    }


def test_nesting_beyond_depth_limit_is_not_walked() -> None:
    result = parse_message(nested_message(8).as_bytes())  # 8 x (mixed + rfc822) levels > 10
    assert result["attachments"] == []
    assert "part_limit_exceeded" in result["warnings"]
    assert result["text"] == "Forwarding level 7\n"


def test_html_only_message() -> None:
    raw = text_message(b"<p>Hello <b>team</b></p><p>Can we get a demo?</p>", "text/html; charset=utf-8", None)
    result = parse_message(raw)
    assert result["text"] is None
    assert result["html"] == "<p>Hello <b>team</b></p><p>Can we get a demo?</p>"
    assert result["replyText"] == "Hello team\n\nCan we get a demo?"


def test_text_attachment_is_not_the_body() -> None:
    raw = (
        b"From: a@acme.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; name=notes.txt\n\nattached notes\n"
        b"--B\nContent-Type: text/html\n\n<p>real body</p>\n"
        b"--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\nlog\n--B--\n"
    )
    result = parse_message(raw)
    assert result["text"] is None
    assert result["html"] == "<p>real body</p>"
    assert sorted(a["filename"] for a in result["attachments"]) == ["log.txt", "notes.txt"]


def test_nul_bytes_in_body_are_removed() -> None:
    result = parse_message(simple(body=b"Hello\x00 world\n"))
    assert result["text"] == "Hello world\n"
    assert "nul_in_body" in result["warnings"]


def test_defects_are_reported_as_warnings() -> None:
    raw = b"From: a@acme.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\nno boundary at all\n"
    result = parse_message(raw)
    assert "StartBoundaryNotFoundDefect" in result["warnings"] or "NoBoundaryInMultipartDefect" in result["warnings"]


# --------------------------------------------------------------------------------------------
# Part limits
# --------------------------------------------------------------------------------------------


def flat_parts(n: int) -> bytes:
    out = [b"From: a@acme.example\nSubject: flat\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
           b"--XX\nContent-Type: text/plain\n\nThe body comes first.\n"]
    for i in range(n):
        out.append(b"--XX\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
                   b"filename=\"f%d.bin\"\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n" % i)
    out.append(b"--XX--\n")
    return b"".join(out)


def deep_multiparts(n: int) -> bytes:
    out = [b"From: a@acme.example\nSubject: deep\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n"]
    for i in range(n):
        out.append(b"--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n" % (i, i + 1))
    out.append(b"--b%d\nContent-Type: text/plain\n\nhello\n" % n)
    for i in range(n, -1, -1):
        out.append(b"--b%d--\n" % i)
    return b"".join(out)


def deep_rfc822(n: int) -> bytes:
    raw = b"From: x@acme.example\nSubject: innermost\n\nbody\n"
    for _ in range(n):
        raw = b"From: x@acme.example\nSubject: wrapper\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n" + raw
    return raw


@pytest.mark.parametrize("builder", [flat_parts, deep_multiparts, deep_rfc822])
def test_5000_parts_finish_quickly_and_warn(builder) -> None:
    raw = builder(5000)
    warm_up()
    start = time.perf_counter()
    result = parse_message(raw)
    elapsed = time.perf_counter() - start
    assert "part_limit_exceeded" in result["warnings"]
    assert len(result["attachments"]) <= mime.MAX_PARTS
    json.dumps(result)
    assert elapsed < 2.0, f"parse took {elapsed:.2f}s"


def test_flat_part_limit_keeps_the_body_and_first_attachments() -> None:
    result = parse_message(flat_parts(5000))
    assert result["text"] == "The body comes first."
    names = [a["filename"] for a in result["attachments"]]
    assert names[:3] == ["f0.bin", "f1.bin", "f2.bin"]
    assert 1500 <= len(names) <= mime.MAX_PARTS


def test_below_the_limits_nothing_is_trimmed() -> None:
    result = parse_message(flat_parts(1500))
    assert len(result["attachments"]) == 1500
    assert "part_limit_exceeded" not in result["warnings"]


# --------------------------------------------------------------------------------------------
# CPython's email test corpus
# --------------------------------------------------------------------------------------------


def cpython_email_corpus() -> list[Path]:
    try:
        import test  # the CPython regression-test package
    except ImportError as exc:  # pragma: no cover - depends on the interpreter build
        pytest.fail(f"CPython 'test' package not importable ({exc}); install the python3 test package")
    data = Path(os.path.dirname(test.__file__)) / "test_email" / "data"
    files = sorted(data.glob("msg_*.txt"))
    if not files:
        pytest.fail(f"CPython email test data not found at {data} (msg_*.txt); install the python3 test package")
    return files


def test_cpython_email_corpus_never_raises_anything_else() -> None:
    files = cpython_email_corpus()
    parsed = rejected = 0
    for path in files:
        raw = path.read_bytes()
        try:
            result = parse_message(raw, source=str(path))
        except MessageRejected as exc:
            assert re.match(r"^[a-z0-9_]+: ", exc.reason), (path.name, exc.reason)
            rejected += 1
            continue
        assert set(result) == SCHEMA_KEYS, path.name
        json.dumps(result, ensure_ascii=False).encode("utf-8")
        assert "@" in result["from"]["email"], path.name
        parsed += 1
    assert parsed >= 30 and parsed + rejected == len(files)


# --------------------------------------------------------------------------------------------
# Huge bodies
# --------------------------------------------------------------------------------------------

TEN_MB_LINE = "We would like a demo of the product for our sales team, ideally next week. " * 14 + "\n"


@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_10_mb_body_finishes_quickly(subtype: str) -> None:
    repeats = 10_000_000 // len(TEN_MB_LINE) + 1
    body = TEN_MB_LINE * repeats if subtype == "plain" else "<p>" + "</p><p>".join([TEN_MB_LINE] * repeats) + "</p>"
    raw = f"From: a@acme.example\nSubject: big\nContent-Type: text/{subtype}; charset=utf-8\n\n".encode() + body.encode()
    assert len(raw) >= 10_000_000
    warm_up()
    start = time.perf_counter()
    result = parse_message(raw)
    elapsed = time.perf_counter() - start
    assert result[subtype if subtype == "html" else "text"] == body  # the body itself is never cut
    assert "clean_truncated" in result["warnings"]  # only what cleaning looks at is
    assert result["replyText"].startswith("We would like a demo")
    assert result["language"] == "en"
    assert elapsed < 3.0, f"parse took {elapsed:.2f}s"  # typically ~0.1-0.3 s


# --------------------------------------------------------------------------------------------
# Sniffed attachment types
# --------------------------------------------------------------------------------------------

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
DOCX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + bytes(200)


def with_attachment(data: bytes, content_type: str, filename: str | None) -> bytes:
    name = f'; filename="{filename}"' if filename else ""
    return (
        "From: a@acme.example\nSubject: file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nSee attached.\n"
        f"--B\nContent-Type: {content_type}\nContent-Disposition: attachment{name}\n"
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(data).decode() + "--B--\n"
    ).encode()


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "sniffed", "mismatch"),
    [
        (PDF, "application/pdf", "quote.pdf", "application/pdf", False),
        (EXE, "application/pdf", "quote.pdf", "application/x-msdownload", True),  # an EXE posing as a PDF
        (EXE, "application/octet-stream", "invoice.pdf", "application/x-msdownload", True),  # the name claims it
        (EXE, "application/octet-stream", None, "application/x-msdownload", False),  # nothing claimed
        (PNG, "image/png", "logo.png", "image/png", False),
        (PNG, "image/jpeg", "logo.jpg", "image/png", True),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "cv.docx",
         "application/zip", False),  # a DOCX is a ZIP
        (b"plain words, no magic number", "text/plain", "notes.txt", None, False),
    ],
    ids=["pdf", "exe-as-pdf", "exe-named-pdf", "exe-unclaimed", "png", "png-as-jpeg", "docx", "unknown"],
)
def test_attachment_types_are_sniffed_from_the_bytes(data, content_type, filename, sniffed, mismatch) -> None:
    result = parse_message(with_attachment(data, content_type, filename))
    (att,) = result["attachments"]
    assert att["contentType"] == content_type
    assert att["sniffedContentType"] == sniffed
    assert att["contentTypeMismatch"] is mismatch
    assert ("attachment_type_mismatch" in result["warnings"]) is mismatch


# --------------------------------------------------------------------------------------------
# uuencode
# --------------------------------------------------------------------------------------------


def uuencode(data: bytes, name: str) -> str:
    lines = [binascii.b2a_uu(data[i : i + 45]).decode("ascii") for i in range(0, len(data), 45)]
    return f"begin 644 {name}\n" + "".join(lines) + "`\nend\n"


def test_uuencoded_block_in_a_text_body_becomes_an_attachment() -> None:
    body = "Hi, the spec is attached.\n\n" + uuencode(PDF, "spec.pdf") + "\nThanks,\nOlga\n"
    result = parse_message(text_message(body.encode(), "text/plain; charset=us-ascii", "7bit"))
    (att,) = result["attachments"]
    assert att["filename"] == "spec.pdf"
    assert att["contentType"] == "application/pdf"
    assert att["sniffedContentType"] == "application/pdf"
    assert att["size"] == len(PDF) and att["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "begin 644" not in result["text"] and "Hi, the spec is attached." in result["text"]
    assert result["replyText"] == "Hi, the spec is attached."


def test_text_that_only_looks_like_uuencode_is_left_alone() -> None:
    body = "begin 644 notes\nthis is not uuencoded at all, just prose\nend\n"
    result = parse_message(text_message(body.encode(), "text/plain", "7bit"))
    assert result["attachments"] == []
    assert result["text"] == body


def test_uuencode_transfer_encoding_is_decoded() -> None:
    raw = (
        "From: a@acme.example\nSubject: uu\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nSee attached.\n"
        "--B\nContent-Type: application/pdf; name=spec.pdf\nContent-Transfer-Encoding: x-uuencode\n\n"
        + uuencode(PDF, "spec.pdf") + "--B--\n"
    ).encode()
    (att,) = parse_message(raw)["attachments"]
    assert att["sha256"] == hashlib.sha256(PDF).hexdigest()


# --------------------------------------------------------------------------------------------
# Derived fields on the message
# --------------------------------------------------------------------------------------------


def test_html_sanitized_is_derived_and_html_kept_as_sent() -> None:
    html = '<p onclick="x()">Hi <script>alert(1)</script><img src="https://t.example/p.gif" width=1 height=1></p>'
    result = parse_message(text_message(html.encode(), "text/html; charset=utf-8", None))
    assert result["html"] == html
    assert result["htmlSanitized"] == "<p>Hi </p>"
    assert parse_message(simple())["htmlSanitized"] is None


def test_signature_fields_come_from_the_removed_signature() -> None:
    result = parse_message(FULL)
    assert result["signature"] == "Alex Chen\nCTO, Acme"
    assert result["signatureFields"] == {"title": "CTO", "company": "Acme", "phone": None, "urls": []}
    assert parse_message(simple())["signatureFields"] == {"title": None, "company": None, "phone": None, "urls": []}
