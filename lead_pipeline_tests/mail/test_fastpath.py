"""The fast path (fast-mail-parser, checked against the raw bytes) against the stdlib path.

Whatever the fast path accepts must come out exactly as the stdlib path would have made it;
whatever it cannot vouch for must go to the stdlib path.
"""

from __future__ import annotations

import base64
import quopri
import random
import string
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import fast_mail_parser
import pytest

from lead_pipeline.mail import fastpath, mime
from lead_pipeline.mail.fastpath import parse_fast
from lead_pipeline.mail.mime import MessageRejected, parse_message
from lead_pipeline.mail.parts import MAX_DEPTH, _stub_meta, part_meta
from lead_pipeline_tests.mail import test_clean as tc
from lead_pipeline_tests.mail import test_mime as tm

SAMPLE_INBOX = Path(mime.__file__).resolve().parents[1] / "sample_inbox"


def outcome(raw: bytes):
    try:
        return parse_message(raw, source="x")
    except MessageRejected as exc:
        return ("rejected", exc.reason)


def stdlib_outcome(raw: bytes, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as patched:
        patched.setattr(mime, "parse_fast", lambda data: None)
        return outcome(raw)


def wrap(content_type: str, body: bytes, cte: str | None = None, extra: str = "") -> bytes:
    head = f"From: Olga <olga@acme.example>\nTo: demo@yourcompany.example\nSubject: fixture\n{extra}MIME-Version: 1.0\n"
    head += f"Content-Type: {content_type}\n" + (f"Content-Transfer-Encoding: {cte}\n" if cte else "")
    return head.encode() + b"\n" + body


def fixture_messages() -> list[bytes]:
    """Every message the mail tests build, and more shapes the fast path must get right."""
    out = [tm.FULL, tm.FULL.replace(b"\n", b"\r\n"), tm.simple(), tm.simple("Date: Tue, 3 Nov 2026 04:12:44 -0500")]
    for charset, codec, cte, text in tm.CHARSET_CASES:
        body = tm.encode_body((text + "\n").encode(codec), cte)
        out.append(tm.text_message(body, f'text/plain; charset="{charset}"', cte))
        html = tm.encode_body(f"<html><body><p>{text}</p></body></html>".encode(codec), cte)
        out.append(tm.text_message(html, f"text/html; charset={charset}", cte))
    for disposition in [
        "attachment; filename*=utf-8''%E2%82%AC%20rates%202026.pdf",
        "attachment;\n filename*0*=utf-8''Angebot%20f%C3%BCr;\n filename*1*=%20M%C3%BCller.pdf",
        'attachment; filename="=?utf-8?q?Pr=C3=A9sentation.pdf?="',
        'attachment; filename="../../etc/passwd"',
        "inline; filename=logo.png",
    ]:
        out.append(
            ("From: a@acme.example\nSubject: file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
             "--B\nContent-Type: text/plain\n\nSee attached.\n"
             f"--B\nContent-Type: application/pdf\nContent-Disposition: {disposition}\n"
             "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(tm.PDF).decode() + "--B--\n").encode()
        )
    msg = EmailMessage()
    msg["From"] = "Marcus <marcus@acme.example>"
    msg.set_content("Please find my resume attached.\n")
    msg.add_alternative("<p>Resume attached.<img src='cid:logo@acme'></p>", subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG fake", "image", "png", cid="<logo@acme>")
    msg.add_attachment(tm.PDF, maintype="application", subtype="pdf", filename="Résumé.pdf")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="seats.csv")
    out += [msg.as_bytes(), msg.as_bytes().replace(b"\n", b"\r\n")]
    out += [tm.nested_message(depth).as_bytes() for depth in (1, 2, 4)]
    out += [tm.flat_parts(3), tm.flat_parts(40), tm.deep_multiparts(3), tm.deep_rfc822(3)]
    for html in tc.HTML_REPLIES.values():
        out.append(wrap("text/html; charset=utf-8", quopri.encodestring(html.encode()), "quoted-printable"))
    for case in ("pdf", "exe"):
        out.append(tm.with_attachment(tm.PDF if case == "pdf" else tm.EXE, "application/pdf", "quote.pdf"))
    out.append(tm.text_message(("Spec:\n\n" + tm.uuencode(tm.PDF, "spec.pdf")).encode(), "text/plain", "7bit"))
    out += [
        # quoted-printable: soft breaks, trailing whitespace, encoded line ends, CRLF
        wrap("text/plain; charset=utf-8", b"caf=C3=A9 au lait =\nsoft  \nline=20\r\nend=0D=0Ax", "quoted-printable"),
        # base64 body split at odd widths, with CRLF
        wrap("text/plain; charset=utf-8", base64.b64encode("Grüße aus München ".encode() * 20)[:44] + b"\r\n"
             + base64.b64encode("Grüße aus München ".encode() * 20)[44:] + b"\r\n", "base64"),
        # preamble, epilogue, whitespace after delimiters, a part without headers
        wrap('multipart/mixed; boundary="b o"', b"preamble\n--b o  \n\nno headers here\n--b o\t\n"
             b"Content-Type: text/html\n\n<p>html</p>\n--b o--  \nepilogue\n"),
        # multipart/related with a start parameter
        wrap('multipart/related; boundary=R; start="<root@x>"; type="text/html"',
             b"--R\nContent-Type: image/png\nContent-ID: <img@x>\nContent-Transfer-Encoding: base64\n\n"
             + base64.encodebytes(tm.PNG) + b"--R\nContent-Type: text/html\nContent-ID: <root@x>\n\n"
             b"<p>root</p>\n--R--\n"),
        # 8-bit headers and body without a declared charset
        "From: Jürgen <j@brenner.example>\nSubject: Grüße\n\nGrüße aus München\n".encode("latin-1"),
        # folded headers, encoded words, many recipients, an empty header value
        b"From: =?utf-8?q?J=C3=BCrgen?=\n <j@brenner.example>\nTo: a@x.example,\n\tb@x.example, \"C, D\" <c@x.example>\n"
        b"X-Empty:\nSubject: =?utf-8?b?R3LDvMOfZQ==?=\n\nbody\n",
    ]
    return out


def mutated(seeds: list[bytes], n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [blob for raw in seeds for blob in tm.mutations(raw, rng, n)]


CORPORA = {
    "sample_inbox": lambda: [path.read_bytes() for path in sorted(SAMPLE_INBOX.glob("*.eml"))],
    "cpython": lambda: [path.read_bytes() for path in tm.cpython_email_corpus()],
    "fixtures": fixture_messages,
    "mutations": lambda: mutated(fixture_messages()[:12] + [tm.nested_message(2).as_bytes()], 40, 7),
}
# How much of each corpus the fast path must take (it declines whatever it cannot vouch for).
MIN_ACCEPTED = {"sample_inbox": 1.0, "cpython": 0.5, "fixtures": 0.85, "mutations": 0.4}


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_fast_path_output_is_the_stdlib_path_output(corpus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = CORPORA[corpus]()
    accepted = 0
    for index, raw in enumerate(messages):
        data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        if parse_fast(data) is None:
            continue
        accepted += 1
        assert outcome(raw) == stdlib_outcome(raw, monkeypatch), f"{corpus}[{index}]"
    assert accepted >= MIN_ACCEPTED[corpus] * len(messages), f"fast path took {accepted}/{len(messages)}"


# --------------------------------------------------------------------------------------------
# What the fast path must leave to the stdlib
# --------------------------------------------------------------------------------------------

MIXED = "From: a@acme.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"


def b64_part(payload: bytes) -> str:
    return f"--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{payload.decode()}\n"


DECLINED = {
    # the stdlib flags whitespace inside base64 as a defect (Rust skips it): the warning must stay
    "base64_with_spaces": (MIXED + b64_part(b"SGVs bG8gdGhlcmU=") + "--B--\n").encode(),
    # padding mid-stream: Rust decodes on, the stdlib stops at the first padding
    "base64_padding_mid_stream": (MIXED + "--B\nContent-Type: application/octet-stream\nContent-Disposition: "
                                  "attachment\nContent-Transfer-Encoding: base64\n\naGVsbG8=\naGk=\n--B--\n").encode(),
    "missing_close_delimiter": (MIXED + "--B\nContent-Type: text/plain\n\nhello\n").encode(),
    "missing_start_delimiter": (MIXED + "just text\n").encode(),
    # "--Bx" is not a delimiter of B to the stdlib; Rust splits at it
    "delimiter_prefix": (MIXED + "--B\nContent-Type: text/plain\n\nhello\n--Bx\nmore\n--B--\n").encode(),
    # a bare CR is a line break to the stdlib only
    "bare_cr": (MIXED + "--B\nContent-Type: text/plain\n\nhello\r--B\rContent-Type: text/html\r\r<p>x</p>\n--B--\n").encode(),
    "duplicate_content_type": b"From: a@acme.example\nContent-Type: text/html\nContent-Type: text/plain\n\nhello\n",
    "missing_header_separator": b"From: a@acme.example\nSubject: x\nthis line is not a header\n\nbody\n",
    "mbox_envelope_line": b"From someone@acme.example Tue Nov  3 10:00:00 2026\nFrom: a@acme.example\n\nbody\n",
    "continuation_first": b" folded first\nFrom: a@acme.example\n\nbody\n",
    "delivery_status": (MIXED.replace("mixed", "report; report-type=delivery-status")
                        + "--B\nContent-Type: text/plain\n\nfailed\n--B\nContent-Type: message/delivery-status\n\n"
                        "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; x@y.example\nAction: failed\n"
                        "--B--\n").encode(),
    "digest": (MIXED.replace("mixed", "digest") + "--B\n\nFrom: x@y.example\n\nbody\n--B--\n").encode(),
    "encoded_rfc822": (MIXED + "--B\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
                       + base64.encodebytes(b"From: x@y.example\n\nbody\n").decode() + "--B--\n").encode(),
    "too_deep": tm.nested_message(MAX_DEPTH).as_bytes(),
    "too_many_parts": tm.flat_parts(2500),
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_what_the_fast_path_cannot_vouch_for_goes_to_the_stdlib(case: str) -> None:
    raw = DECLINED[case]
    assert parse_fast(raw) is None
    result = outcome(raw)
    assert isinstance(result, dict) or result[1].startswith("no_sender"), result


def test_only_messages_with_base64_bodies_need_the_rust_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = []

    def parse_email_tree(data: bytes, *, mode: str):
        parsed.append(data)
        return fast_mail_parser.parse_email_tree(data, mode=mode)

    monkeypatch.setattr(fastpath, "fast_mail_parser", SimpleNamespace(parse_email_tree=parse_email_tree))
    single = (b"From: a@acme.example\nContent-Type: text/plain; charset=utf-8\n"
              b"Content-Transfer-Encoding: quoted-printable\n\nJ=C3=BCrgen\n")
    items, root = parse_fast(single)
    assert root.children is None and root.payload() == "Jürgen\n".encode()
    assert [name for name, _ in items] == ["From", "Content-Type", "Content-Transfer-Encoding"]
    forwarded = b"From: a@acme.example\nContent-Type: message/rfc822\n\nFrom: b@acme.example\n\nhi\n"
    nested = (MIXED + "--B\nContent-Type: multipart/alternative; boundary=C\n\n--C\nContent-Type: text/plain\n\n"
              "hello\n--C\nContent-Type: text/html\n\n<p>hello</p>\n--C--\n\n--B\nContent-Type: text/plain\n"
              "Content-Disposition: attachment; filename=a.txt\n\nnotes\n--B--\n").encode()
    for raw in (single, forwarded, nested):
        assert parse_fast(raw) is not None
    assert parsed == []
    assert [part.ctype for part in parse_fast(nested)[1].children] == ["multipart/alternative", "text/plain"]
    assert parse_fast(forwarded)[1].children[0].payload() == b"hi\n"
    for needs_tree in [
        (MIXED + b64_part(b"aGVsbG8=") + "--B--\n").encode(),
        b"From: a@acme.example\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n",
        (MIXED + b64_part(b"aGVsbG8=").replace("base64", "bAsE64") + "--B--\n").encode(),  # found on the way
    ]:
        parsed.clear()
        assert parse_fast(needs_tree)[1] is not None
        assert parsed == [needs_tree]


def test_declined_messages_keep_the_stdlib_findings() -> None:
    assert "InvalidBase64CharactersDefect" in parse_message(DECLINED["base64_with_spaces"])["warnings"]
    (att,) = parse_message(DECLINED["base64_padding_mid_stream"])["attachments"]
    assert att["size"] == len(b"hello")
    assert "CloseBoundaryNotFoundDefect" in parse_message(DECLINED["missing_close_delimiter"])["warnings"]
    assert "part_limit_exceeded" in parse_message(DECLINED["too_deep"])["warnings"]


# --------------------------------------------------------------------------------------------
# The memo shortcuts are exact
# --------------------------------------------------------------------------------------------


def random_param_value(rng: random.Random) -> str:
    quoted_chars = string.ascii_letters + string.digits + " !#$%&'()*+,-./:<=>?@[]^_`{|}~"
    roll = rng.random()
    if roll < 0.5:
        return '"' + "".join(rng.choice(quoted_chars) for _ in range(rng.randint(1, 30))) + '"'
    if roll < 0.85:
        return "".join(rng.choice(string.ascii_letters + string.digits + "!#$%&'*+.^_`|~-") for _ in range(rng.randint(1, 30)))
    return "".join(rng.choice(quoted_chars + '";\\\t') for _ in range(rng.randint(0, 20)))


def test_masked_part_meta_equals_the_stdlib_on_every_value() -> None:
    # part_meta memoises with boundary/name/filename values masked out; the stdlib must agree.
    rng = random.Random(2026)
    params = ["boundary", "name", "Name", "filename", "charset", "start", "size"]
    for _ in range(4000):
        content_type = rng.choice(["multipart/mixed", "application/pdf", "text/plain", "image/png", "text"]) + "".join(
            f";{rng.choice(['', ' ', chr(10) + ' '])}{rng.choice(params)}{rng.choice(['=', ' = '])}{random_param_value(rng)}"
            for _ in range(rng.randint(0, 3))
        )
        disposition = rng.choice([None, rng.choice(["attachment", "inline", "Attachment"]) + "".join(
            f"; {rng.choice(params)}={random_param_value(rng)}" for _ in range(rng.randint(0, 2))
        )])
        unfolded = content_type.replace("\n", "")
        assert part_meta(content_type, disposition) == _stub_meta.__wrapped__(unfolded, disposition, "text/plain"), (
            content_type, disposition)


def test_address_list_split_without_quotes_equals_the_character_walk() -> None:
    rng = random.Random(7)
    alphabet = ["a", "b@x.example", " ", ",", ";", "<", ">", "Bob", ":", "."]
    for _ in range(5000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        assert mime._split_address_list(value) == mime._split_address_list_quoted(value), value
