"""The webhook receiver (`lead-pipeline webhook serve`): Starlette, served by uvicorn. Plain Python, no Dagster.

Its one job is durability: a delivery is answered 202 only after `store.land` returned, so an
acknowledged delivery is in the landing table; anything the store cannot take is answered 503 (with
`Retry-After`) so the sender retries. It does not judge content: a JSON payload that later fails
validation is still landed, and becomes a dead letter (raw bytes kept) when the parse stage reads it.

Routes and how each sender proves who it is:

| route | auth | landed as (`source`, `payload_format`, `delivery_key`) |
| --- | --- | --- |
| `POST /webhooks/mailparse` | `X-Signature` (`t=<unix>,v1=<hex>` or bare hex HMAC-SHA256 of the raw body) with any of `secrets` | `webhook`, `mailparse_json`, `X-MailParse-Event-Id` else payload `id` else sha256 of the body |
| `POST /webhooks/postmark` | `?token=<secret>` or HTTP basic auth whose password is one of `secrets` (Postmark does not sign its inbound webhook; put the credentials in the webhook URL) | `postmark`, `postmark_json`, `MessageID` else sha256 of the body |
| `POST /webhooks/sendgrid` | `?token=<secret>` or basic auth, as Postmark (SendGrid Inbound Parse is unsigned) | `sendgrid`, `sendgrid_form`, sha256 of the canonical form JSON |
| `POST /webhooks/mailgun` | Mailgun's own form fields: `signature` = HMAC-SHA256(signing key, `timestamp`+`token`), any of `mailgun_signing_keys`, `timestamp` within the tolerance | `mailgun`, `mailgun_form`, `Message-Id\\|recipient` else `token` |
| `GET /healthz` | none | `{"status": "ok"}` |

Statuses: 202 `{"landing_id", "duplicate"}` once stored (a replay of a known delivery key is 202 with
`duplicate: true` and stored once); 401 bad/absent signature or credentials, or a timestamp outside the
tolerance; 413 a body over `max_body_bytes` (by Content-Length, and by counting streamed bytes); 400 a body
that is not JSON (MailParse, Postmark) or not a form (SendGrid, Mailgun); 503 the store is unavailable.

Form deliveries are landed as the canonical JSON of their fields and files (see `adapters.forms`), the JSON
ones as the exact request bytes (the MailParse signature covers those bytes).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gc
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lead_pipeline.ingest.adapters import mailgun as mailgun_adapter
from lead_pipeline.ingest.adapters import postmark as postmark_adapter
from lead_pipeline.ingest.adapters.forms import Form, FormError, parse_form
from lead_pipeline.ingest.landing import landing_row
from lead_pipeline.ingest.payloads import parse_address, parse_address_list, parse_received_at, safe_key
from lead_pipeline.stores.operational import OperationalStore

__all__ = ["DEFAULT_MAX_BODY_BYTES", "GroupCommit", "app_from_settings", "create_app", "serve", "sign", "verify_signature"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
RETRY_AFTER_S = 10
MAX_SIGNATURES = 8  # v1 entries considered in one X-Signature header


def verify_signature(
    header: str | None, body: bytes, secrets: Sequence[str], *, now: float, tolerance_s: int = 300
) -> bool:
    """Whether `header` (an `X-Signature` value) signs `body` with any of `secrets`.

    Two forms (`mailparse-api.md` §3): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`, rejected
    when `|now - t| > tolerance_s` (several `v1=` entries are allowed); and the legacy bare
    `<hex HMAC-SHA256(secret, body)>` (no replay window: the delivery key absorbs replays). Digests are compared
    with `hmac.compare_digest`, against every secret.
    """
    if not header or not secrets:
        return False
    header = header.strip()
    candidates: list[str] = []
    if "=" in header and (header.startswith("t=") or "," in header or "v1=" in header):
        stamp: str | None = None
        for item in header.split(","):
            key, sep, value = item.strip().partition("=")
            if not sep:
                return False
            if key == "t":
                stamp = value.strip()
            elif key == "v1":
                candidates.append(value.strip().lower())
        if stamp is None or not candidates or not stamp.isdigit():
            return False
        if abs(now - int(stamp)) > tolerance_s:
            return False
        signed = stamp.encode("ascii") + b"." + body
    else:
        candidate = header.lower()
        candidates.append(candidate[7:] if candidate.startswith("sha256=") else candidate)
        signed = body
    wanted = [c.encode("ascii", "replace") for c in candidates[:MAX_SIGNATURES]]
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest().encode("ascii")
        for candidate in wanted:
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """An `X-Signature` value for `body` (the `t=,v1=` form; the bare form when `timestamp` is None)."""
    if timestamp is None:
        return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _Reply(Exception):
    """Stop handling a request and answer with `response`."""

    def __init__(self, response: Response):
        self.response = response


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers))


# Errors meaning the store cannot be reached at all: a batch failing so fails as a whole, at once.
_STORE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError, OSError)


class GroupCommit:
    """Lands concurrent deliveries together: one `store.land` (one transaction) per batch, one batch at a time.

    Each caller awaits its own row's outcome, so a delivery is still acknowledged only after the transaction
    holding it has committed; what changes is that the deliveries arriving while a batch commits share the next
    transaction instead of queueing for the database lock one by one (SQLite has a single writer; PostgreSQL
    pays a commit per transaction). A batch failing because the store is down fails every caller in it (503); a
    batch failing for any other reason is retried row by row, so one bad row cannot refuse its neighbours.
    """

    def __init__(self, store: OperationalStore, *, max_batch: int = 500):
        self.store = store
        self.max_batch = max_batch
        self._pending: list[tuple[dict[str, Any], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def land(self, row: dict[str, Any]) -> bool:
        """Wait until `row` is stored; True if its delivery key was already in the landing table (a replay)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((row, future))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    outcomes = await run_in_threadpool(self._land_batch, [row for row, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - every waiter learns it was not stored
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the request was cancelled (client gone); the row is stored anyway
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None

    def _land_batch(self, rows: list[dict[str, Any]]) -> list[bool | BaseException]:
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["landing_id"], row)
        try:
            new_ids = self.store.land(list(unique.values()))
        except _STORE_DOWN:
            raise
        except sa.exc.SQLAlchemyError:
            if len(unique) == 1:
                raise
            return [self._land_one(row) for row in rows]
        seen: set[str] = set()
        outcomes: list[bool | BaseException] = []
        for row in rows:
            landing_id = row["landing_id"]
            outcomes.append(landing_id not in new_ids or landing_id in seen)
            seen.add(landing_id)
        return outcomes

    def _land_one(self, row: dict[str, Any]) -> bool | BaseException:
        try:
            return row["landing_id"] not in self.store.land([row])
        except sa.exc.SQLAlchemyError as exc:
            return exc


def create_app(
    store: OperationalStore,
    *,
    secrets: Sequence[str],
    mailgun_signing_keys: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    tolerance_s: int = 300,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The receiver's ASGI app; see the module docstring for routes, auth and statuses."""
    secrets = tuple(s for s in secrets if s)
    mailgun_keys = tuple(k for k in mailgun_signing_keys if k)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise _error(400, "bad_content_length", f"Content-Length {declared!r} is not a number")
            if int(declared) > max_body_bytes:
                raise _error(413, "too_large", f"body of {declared} bytes exceeds the {max_body_bytes}-byte limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise _error(413, "too_large", f"body exceeds the {max_body_bytes}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    def check_shared_secret(request: Request) -> None:
        """Postmark and SendGrid: `?token=` or the basic-auth password must be one of the secrets."""
        offered = []
        if request.query_params.get("token"):
            offered.append(request.query_params["token"])
        auth = request.headers.get("authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                offered.append(base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[2])
            except (binascii.Error, ValueError):
                pass
        matched = False
        for value in offered:
            for secret in secrets:
                matched |= hmac.compare_digest(value.encode("utf-8"), secret.encode("utf-8"))
        if not matched:
            raise _error(401, "unauthorized", "missing or wrong ?token= / basic-auth password")

    def decode_json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as exc:
            raise _error(400, "invalid_json", f"body is not JSON: {exc}") from None

    def decode_form(request: Request, body: bytes) -> Form:
        try:
            return parse_form(request.headers.get("content-type"), body)
        except FormError as exc:
            raise _error(400, "invalid_form", str(exc)) from None

    committer = GroupCommit(store)

    async def land(row: dict[str, Any]) -> Response:
        try:
            duplicate = await committer.land(row)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.warning("webhook: store unavailable, answering 503: %s", (str(exc).splitlines() or [""])[0][:300])
            raise _error(503, "store_unavailable", "the delivery was not stored; retry later",
                         headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        return JSONResponse({"landing_id": row["landing_id"], "duplicate": duplicate}, status_code=202)

    def row_for(source: str, payload_format: str, key: str, raw: bytes, alias: str | None,
                received_at: datetime | None) -> dict[str, Any]:
        now = datetime.fromtimestamp(clock(), UTC)
        key = safe_key(key)
        return landing_row(
            source=source, source_ref=f"{source}:{key}", delivery_key=key, payload_format=payload_format,
            raw=raw, received_at=received_at or now, alias=alias, now=now,
        )

    def handler(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except _Reply as reply:
                return reply.response

        endpoint.__name__ = fn.__name__
        return endpoint

    @handler
    async def mailparse(request: Request) -> Response:
        body = await read_body(request)
        if not verify_signature(request.headers.get("x-signature"), body, secrets, now=clock(),
                                tolerance_s=tolerance_s):
            raise _error(401, "invalid_signature", "X-Signature is absent, wrong, or outside the time tolerance")
        payload = decode_json(body)
        fields = payload if isinstance(payload, dict) else {}
        event_id = request.headers.get("x-mailparse-event-id") or fields.get("id")
        key = str(event_id).strip() if isinstance(event_id, (str, int)) and str(event_id).strip() else (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        received_at = None
        for name in ("receivedAt", "received_at"):
            try:
                received_at = parse_received_at(fields.get(name))[0]
            except ValueError:
                received_at = None
            if received_at:
                break
        alias = parse_address(fields.get("alias")) if fields.get("alias") is not None else None
        return await land(row_for("webhook", "mailparse_json", key, body,
                                  alias["email"].lower() if alias else None, received_at))

    @handler
    async def postmark(request: Request) -> Response:
        _early_size_check(request, max_body_bytes)
        check_shared_secret(request)
        body = await read_body(request)
        payload = decode_json(body)
        fields = payload if isinstance(payload, dict) else {}
        key = postmark_adapter.delivery_key(fields) or "sha256:" + hashlib.sha256(body).hexdigest()
        alias = parse_address(fields.get("OriginalRecipient")) if isinstance(fields.get("OriginalRecipient"), str) \
            else None
        return await land(row_for("postmark", postmark_adapter.PAYLOAD_FORMAT, key, body,
                                  alias["email"].lower() if alias else None, None))

    @handler
    async def sendgrid(request: Request) -> Response:
        _early_size_check(request, max_body_bytes)
        check_shared_secret(request)
        form = decode_form(request, await read_body(request))
        raw = form.to_bytes()
        alias = None
        try:
            envelope = json.loads(form.text("envelope") or "{}")
            rcpt, _ = parse_address_list(envelope.get("to") if isinstance(envelope, dict) else None)
            alias = rcpt[0]["email"].lower() if rcpt else None
        except ValueError:
            pass
        return await land(row_for("sendgrid", "sendgrid_form", "sha256:" + hashlib.sha256(raw).hexdigest(), raw,
                                  alias, None))

    @handler
    async def mailgun(request: Request) -> Response:
        form = decode_form(request, await read_body(request))
        if not mailgun_adapter.verify_signature(
            form.text("timestamp"), form.text("token"), form.text("signature"), mailgun_keys, now=clock(),
            tolerance_s=tolerance_s,
        ):
            raise _error(401, "invalid_signature", "Mailgun signature is absent, wrong, or outside the time tolerance")
        raw = form.to_bytes()
        key = mailgun_adapter.delivery_key(form) or "sha256:" + hashlib.sha256(raw).hexdigest()
        rcpt, _ = parse_address_list(form.text("recipient"))
        return await land(row_for("mailgun", "mailgun_form", key, raw, rcpt[0]["email"].lower() if rcpt else None,
                                  None))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            await run_in_threadpool(store.ensure_schema)
        except (sa.exc.SQLAlchemyError, OSError) as exc:  # keep serving: deliveries get 503 until the store is back
            log.warning("webhook: store unavailable at startup: %s", (str(exc).splitlines() or [""])[0][:300])
        # Everything imported so far (SQLAlchemy, pandas, the parsers) lives as long as the process: keep it out of
        # the cyclic GC's full collections, which otherwise stall every in-flight delivery for tens of ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()

    return Starlette(
        routes=[
            Route("/webhooks/mailparse", mailparse, methods=["POST"]),
            Route("/webhooks/postmark", postmark, methods=["POST"]),
            Route("/webhooks/sendgrid", sendgrid, methods=["POST"]),
            Route("/webhooks/mailgun", mailgun, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _early_size_check(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise _error(413, "too_large", f"body of {declared} bytes exceeds the {limit}-byte limit")


def app_from_settings(settings: Any = None) -> Starlette:
    """The receiver configured from the environment (`LEAD_STORE_URL`, `MAILPARSE_WEBHOOK_SECRETS`,
    `MAILGUN_SIGNING_KEYS`); usable as a uvicorn factory: `uvicorn --factory lead_pipeline.ingest.webhook:app_from_settings`.
    """
    from lead_pipeline.settings import Settings

    settings = settings or Settings.from_env()
    return create_app(
        OperationalStore(settings.store_url), secrets=settings.webhook_secrets,
        mailgun_signing_keys=settings.mailgun_signing_keys,
    )


def serve(app: Starlette, *, host: str = "127.0.0.1", port: int = 8787, log_level: str = "info") -> None:
    """Run `app` under uvicorn until interrupted (what `lead-pipeline webhook serve` calls)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
