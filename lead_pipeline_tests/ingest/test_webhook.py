"""The webhook receiver under uvicorn on 127.0.0.1, driven with httpx, storing into real stores."""

import asyncio
import hashlib
import json
import time

import httpx
import pytest
import sqlalchemy as sa

from lead_pipeline.ingest.parsing import parse_landed
from lead_pipeline.ingest.webhook import create_app, sign, verify_signature
from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import DateWindow, OperationalStore
from lead_pipeline_tests.conftest import POSTGRES_URL
from lead_pipeline_tests.ingest.servers import TcpProxy, running_app

SECRET = "whsec_current"
PAYLOAD = {
    "id": "msg_01HV", "messageId": "<demo-1234@mx.yourcompany.example>", "receivedAt": "2026-04-17T14:22:11Z",
    "alias": "Demo@YourCompany.example", "from": {"email": "alex@example.com", "name": "Alex Chen"},
    "to": [{"email": "demo@yourcompany.example", "name": "Demo"}], "subject": "Requesting a product demo",
    "text": "Hi, we are evaluating your API for a new project.", "vendorExtension": {"kept": True},
}


def body_of(payload) -> bytes:
    return json.dumps(payload, indent=1).encode()  # not canonical on purpose: the raw bytes are what is signed


def signed(body: bytes, secret: str = SECRET, *, at: float | None = None, event_id: str | None = "evt-1",
           legacy: bool = False) -> dict[str, str]:
    headers = {"Content-Type": "application/json",
               "X-Signature": sign(body, secret) if legacy else sign(body, secret, timestamp=int(at or time.time()))}
    if event_id:
        headers["X-MailParse-Event-Id"] = event_id
    return headers


def open_store(url: str):
    store = OperationalStore(url)
    store.ensure_schema()
    return store


@pytest.fixture
def store(tmp_path):
    """SQLite; the tests about storage semantics use `any_store`, SQLite and PostgreSQL."""
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield store
    store.dispose()


@pytest.fixture
def any_store(store_url):
    store = open_store(store_url)
    yield store
    store.dispose()


def _receiver(store):
    with running_app(create_app(store, secrets=[SECRET, "whsec_previous"], max_body_bytes=64 * 1024)) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


@pytest.fixture
def receiver(store):
    yield from _receiver(store)


@pytest.fixture
def any_receiver(any_store):
    yield from _receiver(any_store)


def landing(store: OperationalStore) -> list[sa.Row]:
    t = schema.landing
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.landed_at, t.c.delivery_key)))


# -- signature verification (unit) ----------------------------------------------------------------


def test_both_signature_forms_verify_and_everything_else_does_not():
    body, now = b'{"id":"m1"}', 1_776_435_731
    assert verify_signature(sign(body, "s1", timestamp=now), body, ["s1"], now=now)
    assert verify_signature(sign(body, "s1"), body, ["s1"], now=now)  # legacy bare hex
    assert verify_signature(sign(body, "s1").upper(), body, ["s1"], now=now)
    assert verify_signature(f"t={now},v1={'0' * 64},v1={sign(body, 's2', timestamp=now)[-64:]}", body,
                            ["s1", "s2"], now=now)  # several v1 entries, rotation
    assert not verify_signature(sign(body, "s1", timestamp=now), body + b" ", ["s1"], now=now)  # raw bytes matter
    assert not verify_signature(sign(body, "s1", timestamp=now), body, ["other"], now=now)
    assert not verify_signature(sign(body, "s1", timestamp=now - 301), body, ["s1"], now=now)
    assert not verify_signature(sign(body, "s1", timestamp=now + 301), body, ["s1"], now=now)
    assert verify_signature(sign(body, "s1", timestamp=now - 300), body, ["s1"], now=now)
    assert verify_signature(sign(body, "s1", timestamp=now - 900), body, ["s1"], now=now, tolerance_s=1000)
    for header in (None, "", "t=abc,v1=00", f"t={now}", "v1=" + "0" * 64, "garbage", f"t={now},v1"):
        assert not verify_signature(header, body, ["s1"], now=now)
    assert not verify_signature(sign(body, "s1"), body, [], now=now)  # no secret configured: nothing verifies


# -- the MailParse route --------------------------------------------------------------------------


def test_a_signed_delivery_is_stored_as_the_exact_raw_bytes_then_acknowledged(any_receiver, any_store):
    body = body_of(PAYLOAD)
    response = any_receiver.post("/webhooks/mailparse", content=body, headers=signed(body))
    assert response.status_code == 202
    [row] = landing(any_store)
    assert response.json() == {"landing_id": row.landing_id, "duplicate": False}
    assert bytes(row.raw) == body
    assert (row.source, row.payload_format, row.delivery_key) == ("webhook", "mailparse_json", "evt-1")
    assert (row.received_at, row.received_date, row.source_alias) == (
        "2026-04-17T14:22:11Z", "2026-04-17", "demo@yourcompany.example")
    assert json.loads(bytes(row.raw))["vendorExtension"] == {"kept": True}  # unknown fields kept


def test_the_legacy_bare_signature_is_accepted(receiver, store):
    body = body_of(PAYLOAD)
    assert receiver.post("/webhooks/mailparse", content=body, headers=signed(body, legacy=True)).status_code == 202
    assert len(landing(store)) == 1


def test_bad_absent_and_stale_signatures_are_401_and_nothing_is_stored(receiver, store):
    body = body_of(PAYLOAD)
    cases = [
        signed(body, "not-the-secret"),
        {k: v for k, v in signed(body).items() if k != "X-Signature"},
        signed(body, at=time.time() - 301),  # outside the 300 s tolerance
        signed(body, at=time.time() + 600),
        {**signed(body), "X-Signature": signed(b'{"other": "body"}')["X-Signature"]},
    ]
    for headers in cases:
        response = receiver.post("/webhooks/mailparse", content=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "invalid_signature"
    assert landing(store) == []


def test_a_rotated_secret_is_accepted_and_a_retired_one_is_not(receiver, store):
    body = body_of(PAYLOAD)
    assert receiver.post("/webhooks/mailparse", content=body,
                         headers=signed(body, "whsec_previous", event_id="e1")).status_code == 202
    assert receiver.post("/webhooks/mailparse", content=body,
                         headers=signed(body, "whsec_retired", event_id="e2")).status_code == 401
    assert [r.delivery_key for r in landing(store)] == ["e1"]


def test_oversize_bodies_are_413_by_content_length_and_by_streamed_count(receiver, store):
    big = body_of({**PAYLOAD, "text": "x" * 70_000})
    response = receiver.post("/webhooks/mailparse", content=big, headers=signed(big))
    assert response.status_code == 413

    def chunks():  # no Content-Length: chunked transfer encoding, counted as it streams
        for _ in range(20):
            yield b"x" * 8192

    response = receiver.post("/webhooks/mailparse", content=chunks(), headers=signed(b"", event_id="e-chunked"))
    assert response.status_code == 413
    assert landing(store) == []


def test_a_body_that_is_not_json_is_400(receiver, store):
    body = b"id=msg_1&from=alex"
    response = receiver.post("/webhooks/mailparse", content=body, headers=signed(body))
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"
    assert landing(store) == []


def test_a_replayed_event_id_is_stored_once(any_receiver, any_store):
    body = body_of(PAYLOAD)
    first = any_receiver.post("/webhooks/mailparse", content=body, headers=signed(body, event_id="evt-7"))
    replay = any_receiver.post("/webhooks/mailparse", content=body, headers=signed(body, event_id="evt-7"))
    retried = body_of({**PAYLOAD, "subject": "re-serialised by the sender"})
    again = any_receiver.post("/webhooks/mailparse", content=retried, headers=signed(retried, event_id="evt-7"))
    assert [r.status_code for r in (first, replay, again)] == [202, 202, 202]
    assert [r.json()["duplicate"] for r in (first, replay, again)] == [False, True, True]
    assert len({r.json()["landing_id"] for r in (first, replay, again)}) == 1
    [row] = landing(any_store)
    assert bytes(row.raw) == body  # the first delivery wins


def test_without_an_event_header_the_payload_id_then_the_body_hash_key_the_delivery(receiver, store):
    body = body_of(PAYLOAD)
    no_id = body_of({k: v for k, v in PAYLOAD.items() if k != "id"})
    for content in (body, body, no_id, no_id):
        assert receiver.post("/webhooks/mailparse", content=content,
                             headers=signed(content, event_id=None)).status_code == 202
    assert sorted(r.delivery_key for r in landing(store)) == sorted(
        ["msg_01HV", "sha256:" + hashlib.sha256(no_id).hexdigest()])


def test_concurrent_duplicates_are_stored_once(any_receiver, any_store):
    async def burst():
        async with httpx.AsyncClient(base_url=str(any_receiver.base_url), timeout=20) as client:
            posts = []
            for n in range(60):
                body = body_of({**PAYLOAD, "id": f"evt-{n % 12}"})
                posts.append(client.post("/webhooks/mailparse", content=body, headers=signed(body, event_id=None)))
            return await asyncio.gather(*posts)

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [202] * 60
    rows = landing(any_store)
    assert sorted(r.delivery_key for r in rows) == sorted(f"evt-{n}" for n in range(12))


def test_a_payload_that_fails_validation_is_still_stored_and_becomes_a_dead_letter_at_parse(any_receiver, any_store):
    body = body_of({"id": "evt-bad", "subject": "no sender anywhere"})
    assert any_receiver.post("/webhooks/mailparse", content=body, headers=signed(body, event_id=None)).status_code == 202
    rows = [r for batch in any_store.iter_landed(DateWindow("1970-01-01", "2101-01-01")) for r in batch]
    batch = parse_landed(rows, parsed_at="2026-11-26T12:00:00Z")
    [letter] = batch.dead_letters
    assert letter["reason"].startswith("invalid_payload: no sender address")
    assert letter["raw_ref"] == f"landing:{rows[0].landing_id}" and bytes(rows[0].raw) == body


def test_healthz(receiver):
    assert receiver.get("/healthz").json() == {"status": "ok"}


# -- the store down ------------------------------------------------------------------------------


def test_postgresql_down_is_503_with_retry_after_nothing_acknowledged_then_recovery(postgres_url):
    url = sa.make_url(postgres_url)
    target = sa.make_url(POSTGRES_URL)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        store = OperationalStore(url.set(port=proxy.port).render_as_string(hide_password=False))
        direct = OperationalStore(postgres_url)
        try:
            store.ensure_schema()
            with running_app(create_app(store, secrets=[SECRET])) as base, httpx.Client(base_url=base) as client:
                def deliver(event_id: str) -> httpx.Response:
                    body = body_of({**PAYLOAD, "id": event_id})
                    return client.post("/webhooks/mailparse", content=body, headers=signed(body, event_id=event_id))

                assert deliver("before").status_code == 202
                proxy.down()
                during = deliver("during")
                assert during.status_code == 503
                assert during.headers["Retry-After"] == "10"
                assert during.json()["error"] == "store_unavailable"
                proxy.up()
                assert deliver("after").status_code == 202
                assert sorted(r.delivery_key for r in landing(direct)) == ["after", "before"]  # 503 = not stored
                assert deliver("during").status_code == 202  # the sender's retry
                assert sorted(r.delivery_key for r in landing(direct)) == ["after", "before", "during"]
        finally:
            store.dispose()
            direct.dispose()


def test_a_store_that_cannot_be_opened_is_503(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    store = OperationalStore(f"sqlite:///{blocker / 'store.sqlite'}")
    with running_app(create_app(store, secrets=[SECRET])) as base, httpx.Client(base_url=base) as client:
        body = body_of(PAYLOAD)
        response = client.post("/webhooks/mailparse", content=body, headers=signed(body))
        assert response.status_code == 503 and response.headers["Retry-After"] == "10"
        assert client.get("/healthz").status_code == 200


def test_group_commit_isolates_a_bad_row_and_reports_duplicates_in_a_batch(any_store):
    from datetime import UTC, datetime

    from lead_pipeline.ingest.landing import landing_row
    from lead_pipeline.ingest.webhook import GroupCommit

    now = datetime(2026, 11, 26, tzinfo=UTC)

    def row(key: str) -> dict:
        return landing_row(source="webhook", source_ref=key, delivery_key=key, payload_format="mailparse_json",
                           raw=key.encode(), received_at=now, alias=None, now=now)

    bad = {**row("bad"), "raw": None}  # violates NOT NULL: fails alone, not its batch

    async def one_batch():
        committer = GroupCommit(any_store)
        return await asyncio.gather(*(committer.land(r) for r in (row("a"), bad, row("b"), row("a"))),
                                    return_exceptions=True)

    outcomes = asyncio.run(one_batch())
    assert outcomes[0] is False and outcomes[2] is False and outcomes[3] is True
    assert isinstance(outcomes[1], sa.exc.IntegrityError)
    assert sorted(r.delivery_key for r in landing(any_store)) == ["a", "b"]
