"""Polling MailParse into the landing table: durability order, crash replay, and the fault-storm scenario,
against the stand-in server and a real store (SQLite and PostgreSQL)."""

import hashlib
import json
from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa

from lead_pipeline.ingest.mailparse_client import MailParseClient, MailParseUnavailable, MalformedPage
from lead_pipeline.ingest.parsing import parse_landed
from lead_pipeline.ingest.payloads import canonical_json
from lead_pipeline.ingest.polling import poll_stream
from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import DateWindow, OperationalStore
from lead_pipeline_tests.ingest.mailparse_standin import Fault, MailParseStandin, generate_messages

ALIASES = ["demo@yourcompany.example", "sales@yourcompany.example", "partners@yourcompany.example"]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EVERYTHING = DateWindow("1970-01-01", "2101-01-01")


class Crash(Exception):
    pass


@pytest.fixture
def store(store_url):
    store = OperationalStore(store_url)
    store.ensure_schema()
    yield store
    store.dispose()


def client_for(api, **kwargs) -> MailParseClient:
    options = {"timeout": 0.3, "max_attempts": 5, "backoff_base": 0.01, "backoff_cap": 2.0, "sleep": lambda s: None}
    return MailParseClient(api.url, "t", **{**options, **kwargs})


def landed_rows(store: OperationalStore) -> list[sa.Row]:
    t = schema.landing
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.delivery_key)))


def dead_letter_rows(store: OperationalStore) -> list[sa.Row]:
    t = schema.dead_letters
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.dead_letter_id)))


def parse_everything(store: OperationalStore):
    rows = [row for batch in store.iter_landed(EVERYTHING) for row in batch]
    return parse_landed(rows, parsed_at="2026-11-26T12:00:00Z")


def test_a_crash_between_landing_and_the_cursor_replays_the_page_without_duplicates(store):
    messages, _, _ = generate_messages(30, ALIASES)
    with MailParseStandin(messages) as api:
        client = client_for(api)
        calls = 0

        def crash_on_second_page():
            nonlocal calls
            calls += 1
            if calls == 2:
                raise Crash("killed after landing page 2, before saving its cursor")

        with pytest.raises(Crash):
            poll_stream(client, store, stream="mailparse:*", alias=None, now=lambda: NOW, page_limit=10,
                        before_cursor_saved=crash_on_second_page)
        assert store.count_landed() == 20  # page 2 is landed ...
        cursor_after_page_1 = store.read_cursor("mailparse:*")
        assert cursor_after_page_1 == api.requests_to("/v1/messages")[1].query["cursor"]  # ... its cursor is not

        result = poll_stream(client, store, stream="mailparse:*", alias=None, now=lambda: NOW, page_limit=10)
        assert api.requests_to("/v1/messages")[2].query["cursor"] == cursor_after_page_1  # page 2 again
        assert (result.pages, result.landed, result.already_landed, result.invalid) == (2, 10, 10, 0)

    rows = landed_rows(store)
    assert len(rows) == 30 == len({r.delivery_key for r in rows})
    assert sorted(r.delivery_key for r in rows) == sorted(m["id"] for m in messages)
    parsed = parse_everything(store)
    assert parsed.dead_letters == []
    assert len(parsed.messages) == 30 == len({(m["message_id"], m["sender_email"]) for m in parsed.messages})


def test_the_fault_storm_lands_every_message_exactly_once_and_parks_the_cursors_at_the_end(store):
    """1,000 messages over 3 aliases, with 429s (Retry-After), 500s, a reset, responses slower than the client
    timeout, exhausted retries failing whole ticks, and one malformed page; plus 3 invalid items."""
    messages, raw_mime, files = generate_messages(1000, ALIASES, raw_every=40, attachment_every=25)
    invalid = [
        {"id": "bad_no_sender", "alias": ALIASES[0], "subject": "who sent this?"},
        {"id": "bad_date", "alias": ALIASES[1], "from": "a@b.example", "receivedAt": "the day after tomorrow"},
        {"id": "bad_text", "alias": ALIASES[2], "from": "a@b.example", "text": ["not", "a", "string"]},
    ]
    for position, item in zip((100, 500, 900), invalid):
        messages.insert(position, item)
    faults = [
        Fault.ok(1), Fault.http(429, retry_after="1"), Fault.ok(2), Fault.http(500, times=2), Fault.ok(1),
        Fault.slow(0.6), Fault.ok(2), Fault.malformed(), Fault.ok(1), Fault.reset(), Fault.http(502),
        Fault.ok(3), Fault.http(500, times=4),  # max_attempts=4: this tick fails loudly, the next recovers
        Fault.ok(2), Fault.http(429, retry_after="0", times=2), Fault.slow(0.6),
        Fault.http(503, path="/v1/messages/"), Fault.http(500, path="/files/"),
    ]
    failures: list[str] = []
    blobs: dict[str, bytes] = {}

    def keep_attachment(key: str, attachment: dict, content: bytes) -> None:
        blobs[hashlib.sha256(content).hexdigest()] = content

    with MailParseStandin(messages, raw_mime=raw_mime, files=files, faults=faults) as api:
        client = client_for(api, max_attempts=4)
        streams = {f"mailparse:{alias}": alias for alias in ALIASES}
        for tick in range(30):
            quiet = True
            for stream, alias in streams.items():
                try:
                    result = poll_stream(client, store, stream=stream, alias=alias, now=lambda: NOW, page_limit=50,
                                         max_pages=4, attachment_sink=keep_attachment)
                except (MalformedPage, MailParseUnavailable) as exc:
                    failures.append(type(exc).__name__)
                    quiet = False
                    continue
                quiet = quiet and result.landed == 0 and result.invalid == 0
            if quiet:
                break
        else:
            pytest.fail("polling never caught up")
        assert api.pending_faults == [], "every injected fault was met"
        statuses = [r.status for r in api.requests_log]
        assert {429, 500, 502, 503, None} <= set(statuses)
        assert failures.count("MalformedPage") == 1 and failures.count("MailParseUnavailable") == 1

        for stream, alias in streams.items():  # every cursor sits at the end of its alias
            assert client.fetch_page(store.read_cursor(stream), alias=alias).items == []

    expected_blobs = {  # attachments of messages landed as JSON (a rawUrl message carries its own in the MIME)
        a["sha256"] for m in messages if not (m.get("rawUrl") or m.get("raw_url")) for a in m.get("attachments", [])
    }
    assert expected_blobs and set(blobs) == expected_blobs

    rows = landed_rows(store)
    valid_ids = sorted(m["id"] for m in messages if not m["id"].startswith("bad_"))
    assert len(valid_ids) == 1000
    assert [r.delivery_key for r in rows] == valid_ids  # each exactly once (and unique by constraint)
    by_format = {fmt: sum(r.payload_format == fmt for r in rows) for fmt in ("mime", "mailparse_json")}
    assert by_format == {"mime": len(raw_mime), "mailparse_json": 1000 - len(raw_mime)}
    assert all(r.source_alias in ALIASES for r in rows)

    letters = dead_letter_rows(store)
    assert sorted(json.loads(r.raw)["id"] for r in letters) == ["bad_date", "bad_no_sender", "bad_text"]
    assert all(r.stage == "landing" and r.reason.startswith("invalid_payload: ") for r in letters)

    parsed = parse_everything(store)
    assert parsed.dead_letters == []
    assert len(parsed.messages) == 1000
    assert len({(m["message_id"], m["sender_email"]) for m in parsed.messages}) == 1000


def test_invalid_items_become_dead_letters_with_their_bytes_and_the_cursor_moves_on(store):
    messages, _, _ = generate_messages(4, ALIASES)
    messages.insert(2, {"id": "msg_invalid", "from": "nobody", "alias": ALIASES[0]})
    messages.insert(3, "not an object")
    with MailParseStandin(messages) as api:
        client = client_for(api)
        result = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW)
        assert (result.pages, result.landed, result.invalid) == (1, 4, 2)
        letters = dead_letter_rows(store)
        assert sorted(bytes(r.raw) for r in letters) == sorted([canonical_json(messages[2]), b'"not an object"'])
        assert {r.source_ref for r in letters} == {"mailparse:msg_invalid",
                                                   "mailparse:sha256:" + hashlib.sha256(b'"not an object"').hexdigest()}
        assert store.read_cursor("s") == result.cursor is not None
        again = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW)
        assert (again.landed, again.invalid) == (0, 0)
        assert len(dead_letter_rows(store)) == 2


def test_a_malformed_page_lands_nothing_and_keeps_the_cursor(store):
    messages, _, _ = generate_messages(25, ALIASES)
    with MailParseStandin(messages, faults=[Fault.ok(1), Fault.malformed()]) as api:
        client = client_for(api)
        with pytest.raises(MalformedPage):
            poll_stream(client, store, stream="s", alias=None, now=lambda: NOW, page_limit=10)
        assert store.count_landed() == 10
        cursor = store.read_cursor("s")
        result = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW, page_limit=10)
        assert api.requests_to("/v1/messages")[2].query["cursor"] == cursor
        assert (result.pages, result.landed) == (2, 15) and store.count_landed() == 25


def test_raw_urls_land_the_original_mime_and_fall_back_to_json_when_gone(store):
    messages, raw_mime, _ = generate_messages(8, ALIASES, raw_every=4)
    gone = sorted(raw_mime)[1]
    with MailParseStandin(messages, raw_mime={k: v for k, v in raw_mime.items() if k != gone}) as api:
        result = poll_stream(client_for(api), store, stream="s", alias=None, now=lambda: NOW)
    assert result.landed == 8
    rows = {r.delivery_key: r for r in landed_rows(store)}
    kept = sorted(raw_mime)[0]
    assert rows[kept].payload_format == "mime" and bytes(rows[kept].raw) == raw_mime[kept]
    assert rows[gone].payload_format == "mailparse_json"  # 404: the JSON still carries the message
    assert json.loads(rows[gone].raw)["id"] == gone
    assert rows[kept].received_at == messages[3]["received_at"]


def test_a_raw_download_that_keeps_failing_fails_the_poll_before_landing_its_page(store):
    messages, raw_mime, _ = generate_messages(8, ALIASES, raw_every=4)
    with MailParseStandin(messages, raw_mime=raw_mime, faults=[Fault.http(500, times=5, path="/v1/messages/")]) as api:
        with pytest.raises(MailParseUnavailable):
            poll_stream(client_for(api, max_attempts=3), store, stream="s", alias=None, now=lambda: NOW)
        assert store.count_landed() == 0 and store.read_cursor("s") is None
        result = poll_stream(client_for(api), store, stream="s", alias=None, now=lambda: NOW)
        assert result.landed == 8


def test_mail_older_than_the_first_partition_is_a_dead_letter_naming_the_setting(store):
    messages, _, _ = generate_messages(3, ALIASES)
    with MailParseStandin(messages) as api:
        result = poll_stream(client_for(api), store, stream="s", alias=None, now=lambda: NOW,
                             earliest=date(2026, 3, 3))
    assert (result.landed, result.invalid) == (0, 3)
    assert all("LEAD_PIPELINE_START_DATE" in r.reason for r in dead_letter_rows(store))


def test_a_page_without_a_next_cursor_does_not_rewind_the_stream(tmp_path):
    store = OperationalStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.ensure_schema()
    store.save_cursor("s", "c-41", "2026-11-26T00:00:00Z")
    pages = iter([
        {"data": [{"id": "m1", "from": "a@b.example"}], "next_cursor": "c-42", "has_more": True},
        {"data": [], "next_cursor": None, "has_more": False},
    ])
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("cursor"))
        return httpx.Response(200, json=next(pages))

    client = MailParseClient("https://api.example", "t", transport=httpx.MockTransport(handler))
    result = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW)
    assert seen == ["c-41", "c-42"]
    assert result.cursor == "c-42" == store.read_cursor("s")
    assert result.received_dates == ("2026-11-26",)  # no receivedAt: dated when polled


def test_max_pages_bounds_one_poll_and_the_next_continues(store):
    messages, _, _ = generate_messages(35, ALIASES)
    with MailParseStandin(messages) as api:
        client = client_for(api)
        first = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW, page_limit=10, max_pages=2)
        second = poll_stream(client, store, stream="s", alias=None, now=lambda: NOW, page_limit=10)
    assert (first.pages, first.landed, second.pages, second.landed) == (2, 20, 2, 15)
