from datetime import UTC, date, datetime

from lead_pipeline.ingest.landing import peek_envelope, prepare_landing
from lead_pipeline.mail.sources import RawMessage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

MESSAGE = (
    b"Delivered-To: demo@yourcompany.example\r\n"
    b"Received: from mail.acme.example by mx.yourcompany.example; Mon, 2 Nov 2026 23:30:00 -0500\r\n"
    b"Received: from laptop by mail.acme.example; Mon, 2 Nov 2026 23:29:58 -0500\r\n"
    b"From: Alex <alex@acme.example>\r\nDate: Mon, 2 Nov 2026 23:29:00 -0500\r\nSubject: Demo\r\n\r\nHi\r\n"
)


def test_arrival_time_comes_from_the_topmost_received_header_in_utc():
    received_at, alias = peek_envelope(MESSAGE)
    assert received_at.astimezone(UTC) == datetime(2026, 11, 3, 4, 30, tzinfo=UTC)
    assert alias == "demo@yourcompany.example"


def test_without_received_the_date_header_and_to_are_used():
    received_at, alias = peek_envelope(b"From: a@b.example\nTo: Sales <Sales@YourCompany.example>\n"
                                       b"Date: Tue, 10 Nov 2026 08:00:00 +0100\n\nbody")
    assert received_at.astimezone(UTC) == datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert alias == "sales@yourcompany.example"


def test_landing_rows_are_keyed_by_content_and_dated_by_arrival():
    batch = prepare_landing([RawMessage("a.eml", MESSAGE), RawMessage("copy.eml", MESSAGE)],
                            source="inbox", earliest=date(2020, 1, 1), now=NOW)
    assert [row["received_date"] for row in batch.landed] == ["2026-11-03", "2026-11-03"]
    assert batch.landed[0]["landing_id"] == batch.landed[1]["landing_id"]
    assert batch.landed[0]["received_at"] == "2026-11-03T04:30:00Z"


def test_undated_mail_lands_today_and_too_old_mail_is_rejected_with_the_fix():
    undated = RawMessage("undated.eml", b"From: a@b.example\n\nno date at all")
    old = RawMessage("old.eml", b"From: a@b.example\nDate: Fri, 1 Mar 2019 10:00:00 +0000\n\nold")
    batch = prepare_landing([undated, old], source="inbox", earliest=date(2020, 1, 1), now=NOW)
    assert [row["received_date"] for row in batch.landed] == ["2026-11-26"]
    [rejected] = batch.rejected
    assert rejected["source_ref"] == "old.eml"
    assert "LEAD_PIPELINE_START_DATE" in rejected["reason"]
    assert rejected["raw"] == old.raw


def test_each_delivery_records_what_vouched_for_it():
    from lead_pipeline.ingest.landing import landing_row

    def verification(source: str) -> str:
        return landing_row(source=source, source_ref="r", delivery_key="k", payload_format="mime", raw=b"x",
                           received_at=None, alias=None, now=datetime(2026, 11, 2, tzinfo=UTC))["signature_verification"]

    assert [verification(s) for s in ("webhook", "mailgun", "postmark", "sendgrid", "mailparse", "inbox")] == [
        "hmac_verified", "hmac_verified", "secret_verified", "secret_verified", "fetched_with_token", "unsigned",
    ]


def test_header_like_lines_of_the_body_are_not_headers_whatever_the_line_ends():
    for eol in (b"\n", b"\r\n"):
        raw = eol.join([
            b"To: sales@yourcompany.example", b"Date: Tue, 03 Nov 2026 10:00:00 +0000", b"",
            b"Received: by x; Wed, 04 Nov 2026 09:00:00 +0000", b"Delivered-To: other@elsewhere.example", b"",
        ])
        received_at, alias = peek_envelope(raw)
        assert (received_at, alias) == (datetime(2026, 11, 3, 10, tzinfo=UTC), "sales@yourcompany.example")
    # No empty line at all: every line is read as a header, as before.
    assert peek_envelope(b"Delivered-To: jobs@yourcompany.example\r\nSubject: hi")[1] == "jobs@yourcompany.example"


def _envelope_by_the_stdlib_parser(raw: bytes) -> tuple[datetime | None, str | None]:
    """What `peek_envelope` gave when it parsed every header with `email`'s compat32 parser: the oracle."""
    from email.parser import BytesHeaderParser
    from email.policy import compat32
    from email.utils import getaddresses

    from lead_pipeline.ingest.landing import ALIAS_HEADERS, HEADER_PEEK_BYTES, _parse_date
    from lead_pipeline.mail.header_block import BLANK_LINE_RE

    head = raw[:HEADER_PEEK_BYTES]
    blank = BLANK_LINE_RE.search(head)
    headers = BytesHeaderParser(policy=compat32).parsebytes(head[: blank.end()] if blank else head)
    received = [str(value) for value in headers.get_all("Received") or []]
    received_at = (_parse_date(received[0].rpartition(";")[2]) if received else None) or _parse_date(
        str(headers.get("Date") or ""))
    for name in ALIAS_HEADERS:
        addresses = [addr for _, addr in getaddresses([str(headers.get(name) or "")]) if "@" in addr]
        if addresses:
            return received_at, addresses[0].strip().lower()
    return received_at, None


def test_reading_only_the_envelope_headers_gives_what_parsing_every_header_gives():
    from lead_pipeline.settings import SAMPLE_INBOX

    odd = [
        b"From sender Mon Nov  2 10:00:00 2026\nReceived: by a; Mon, 2 Nov 2026 10:00:00 +0000\n\tcont\nTo: a@b.example\n\nx",
        b" continued first\nTo: a@b.example\n\nbody",
        b"X-A: 1\n: no name\n\tcontinued\nTo: <a@b.example>,\n d@e.example\nnot a header\nDate: Tue, 3 Nov 2026 10:00:00 +0100\n\n",
        b"Subject: hi\r\nTO: A@B.example\r\nDATE: Tue, 3 Nov 2026 10:00:00 +0100\r\n\r\n",
        b"To : a@b.example\nDate: Tue, 3 Nov 2026 10:00:00 +0100\n\n",
        b"Received: 1\rDelivered-To: q@r.example\r\r",
        b"To: \xc3\xa9l\xc3\xa8ve <e@x.example>\nDate: Tue, 3 Nov 2026 10:00:00 +0100\n\n",
        b"Delivered-To:\nTo: z@y.example\nReceived: from a by b;\n Wed, 4 Nov 2026 10:00:00 -0500\n"
        b"Received: x; Tue, 3 Nov 2026 10:00:00 +0100\n\n",
        b"",
    ]
    samples = [path.read_bytes() for path in sorted(SAMPLE_INBOX.rglob("*.eml"))]
    assert samples
    for raw in odd + samples:
        assert peek_envelope(raw) == _envelope_by_the_stdlib_parser(raw), raw[:200]
