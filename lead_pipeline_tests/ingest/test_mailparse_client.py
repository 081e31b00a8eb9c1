"""The MailParse client against the stand-in server on 127.0.0.1 (real HTTP, scripted faults)."""

import time
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from lead_pipeline.ingest.mailparse_client import (
    MailParseAuthError,
    MailParseClient,
    MailParseError,
    MailParseUnavailable,
    MalformedPage,
)
from lead_pipeline_tests.ingest.mailparse_standin import LISTING, Fault, MailParseStandin, generate_messages

ALIASES = ["demo@yourcompany.example", "sales@yourcompany.example", "partners@yourcompany.example"]


@pytest.fixture(scope="module")
def mailbox():
    return generate_messages(60, ALIASES, raw_every=10, attachment_every=7)


def client_for(api: MailParseStandin, token: str = "t", **kwargs) -> tuple[MailParseClient, list[float]]:
    sleeps: list[float] = []
    options = {"timeout": 0.3, "max_attempts": 6, "backoff_base": 0.01, "backoff_cap": 2.0, "sleep": sleeps.append}
    return MailParseClient(api.url, token, **{**options, **kwargs}), sleeps


def drain(client: MailParseClient, alias=None, limit=7) -> tuple[list[dict], str | None, int]:
    items, cursor, pages = [], None, 0
    while True:
        page = client.fetch_page(cursor, limit=limit, alias=alias)
        items.extend(page.items)
        pages += 1
        cursor = page.next_cursor or cursor
        if not page.has_more:
            return items, cursor, pages


def test_pagination_reaches_the_end_of_each_alias_oldest_first(mailbox):
    messages, raw, files = mailbox
    with MailParseStandin(messages, raw_mime=raw, files=files) as api:
        client, sleeps = client_for(api)
        seen = []
        for alias in ALIASES:
            items, cursor, pages = drain(client, alias)
            expected = [m["id"] for m in messages if m["alias"] == alias]
            assert [i["id"] for i in items] == expected
            assert pages == -(-len(expected) // 7)
            assert client.fetch_page(cursor, alias=alias).items == []  # the cursor sits at the end
            assert not client.has_new_messages(cursor, alias)
            seen.extend(items)
        assert sorted(i["id"] for i in seen) == sorted(m["id"] for m in messages)
        api.add_messages([{**messages[0], "id": "msg_new"}])
        assert client.has_new_messages(cursor, ALIASES[0])
        assert sleeps == []
        assert all(r.query.get("limit") in {"7", "100", "1"} for r in api.requests_log)
        assert all(r.authorised for r in api.requests_log)


def test_the_same_page_refetched_gives_the_same_canonical_bytes(mailbox):
    messages, raw, files = mailbox
    with MailParseStandin(messages, raw_mime=raw, files=files) as api:
        client, _ = client_for(api)
        first, again = client.fetch_page(None, limit=20), client.fetch_page(None, limit=20)
        assert first.raw_items == again.raw_items and len(first.raw_items) == 20
        assert first.raw_items[1].startswith(b'{"alias":')  # sorted keys, compact


def test_429_500_slow_and_reset_are_retried_until_the_page_comes(mailbox):
    messages, raw, files = mailbox
    faults = [
        Fault.http(429, retry_after="1"),
        Fault.http(500),
        Fault.http(502),
        Fault.slow(0.8),  # past the 0.3 s client timeout
        Fault.reset(),
        Fault.http(503, retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)),
    ]
    with MailParseStandin(messages, raw_mime=raw, files=files, faults=faults) as api:
        client, sleeps = client_for(api, max_attempts=7)
        started = time.monotonic()
        page = client.fetch_page(None, limit=5)
        assert [i["id"] for i in page.items] == [m["id"] for m in messages[:5]]
        assert time.monotonic() - started < 3  # the injected sleep does not wait; only the timeout does
        assert len(sleeps) == 6
        assert sleeps[0] == 1.0  # Retry-After in seconds, honoured
        assert 0.5 <= sleeps[5] <= 2.0  # Retry-After as an HTTP date
        assert all(0 <= s <= 0.01 * 2 ** n for n, s in enumerate(sleeps[1:5], start=1))  # jittered backoff
        assert api.pending_faults == []


def test_401_fails_at_once_with_a_clear_message_and_no_retry(mailbox):
    messages, _, _ = mailbox
    with MailParseStandin(messages, token="right") as api:
        client, sleeps = client_for(api, token="wrong")
        with pytest.raises(MailParseAuthError) as exc:
            client.fetch_page(None)
        assert "401" in str(exc.value) and "MAILPARSE_API_TOKEN" in str(exc.value) and "refused" in str(exc.value)
        assert len(api.requests_log) == 1 and sleeps == []


def test_403_fails_at_once_too(mailbox):
    messages, _, _ = mailbox
    with MailParseStandin(messages, faults=[Fault.http(403)]) as api:
        client, sleeps = client_for(api)
        with pytest.raises(MailParseAuthError, match="403 Forbidden"):
            client.has_new_messages(None)
        assert len(api.requests_log) == 1 and sleeps == []


@pytest.mark.parametrize("fault", [Fault.malformed(), Fault.bad_shape()])
def test_a_malformed_page_raises_without_retrying(mailbox, fault):
    messages, _, _ = mailbox
    with MailParseStandin(messages, faults=[fault]) as api:
        client, sleeps = client_for(api)
        with pytest.raises(MalformedPage):
            client.fetch_page(None)
        assert len(api.requests_log) == 1 and sleeps == []
        assert client.fetch_page(None).items  # the next call gets the page


def test_exhausted_retries_raise_unavailable_naming_the_error_and_attempts(mailbox):
    messages, _, _ = mailbox
    with MailParseStandin(messages, faults=[Fault.http(500, times=10)]) as api:
        client, sleeps = client_for(api, max_attempts=4)
        with pytest.raises(MailParseUnavailable) as exc:
            client.fetch_page(None)
        assert "4 attempts" in str(exc.value) and "HTTP 500" in str(exc.value)
        assert len(api.requests_log) == 4 and len(sleeps) == 3


def test_timeouts_exhausted_raise_unavailable(mailbox):
    messages, _, _ = mailbox
    with MailParseStandin(messages, faults=[Fault.slow(0.6, times=2)]) as api:
        client, _ = client_for(api, max_attempts=2, timeout=0.2)
        with pytest.raises(MailParseUnavailable, match="2 attempts; last error: timeout"):
            client.fetch_page(None)


def test_connection_refused_is_retried_then_unavailable():
    with MailParseStandin([]) as api:
        url = api.url  # the port is closed once the stand-in stops
    sleeps: list[float] = []
    client = MailParseClient(url, "t", max_attempts=3, backoff_base=0.01, sleep=sleeps.append)
    with pytest.raises(MailParseUnavailable, match="connection error"):
        client.fetch_page(None)
    assert len(sleeps) == 2


def test_a_retry_after_longer_than_the_cap_is_not_waited_for(mailbox):
    messages, _, _ = mailbox
    with MailParseStandin(messages, faults=[Fault.http(429, retry_after="3600")]) as api:
        client, sleeps = client_for(api, backoff_cap=30)
        with pytest.raises(MailParseUnavailable, match="retry after 3600 s"):
            client.fetch_page(None)
        assert sleeps == [] and len(api.requests_log) == 1


def test_raw_mime_and_attachment_downloads(mailbox):
    messages, raw, files = mailbox
    with MailParseStandin(messages, raw_mime=raw, files=files,
                          faults=[Fault.http(500, path="/files/")]) as api:
        client, sleeps = client_for(api)
        message_id = next(iter(raw))
        assert client.fetch_raw(message_id) == raw[message_id]
        assert client.download(f"{api.url}/v1/messages/{message_id}/raw") == raw[message_id]
        assert client.download(f"{api.url}/files/att-7.pdf") == files["att-7.pdf"]  # after one 500
        assert len(sleeps) == 1
        with pytest.raises(MailParseError, match="HTTP 404"):
            client.download(f"{api.url}/files/expired.pdf")


def test_the_bearer_token_goes_only_to_the_api_origin(mailbox):
    messages, raw, files = mailbox
    with MailParseStandin(messages) as api, MailParseStandin([], files=files) as file_host:
        client, _ = client_for(api)
        assert client.download(f"{file_host.url}/files/att-0.pdf") == files["att-0.pdf"]
        assert [r.bearer_sent for r in file_host.requests_log] == [False]
        with pytest.raises(MailParseError):
            client.download(f"{api.url}/files/missing")
        assert [r.bearer_sent for r in api.requests_log] == [True]


def test_a_mock_transport_can_replace_the_network():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"data": [{"id": "m1"}], "nextCursor": "c2", "hasMore": False})

    client = MailParseClient("https://api.mailparse.example", "tok", transport=httpx.MockTransport(handler))
    page = client.fetch_page("c1", limit=1000, alias="demo@yourcompany.example")
    assert page.next_cursor == "c2" and not page.has_more and page.raw_items == [b'{"id":"m1"}']
    assert calls[0].url.path == LISTING
    assert dict(calls[0].url.params) == {"limit": "500", "cursor": "c1", "alias": "demo@yourcompany.example"}
    assert calls[0].headers["Authorization"] == "Bearer tok"
