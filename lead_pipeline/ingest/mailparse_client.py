"""HTTP client of the MailParse REST polling API (`mailparse-api.md` §2). Plain Python, no Dagster.

Every request goes through the retry loop of `lead_pipeline.http_retry` (429/5xx/timeouts retried with
backoff, Retry-After honoured; `MailParseUnavailable` when retries run out or the server asks for a wait
longer than a tick: the cursor is unchanged, the next tick resumes). Beyond that:

* 401/403 → `MailParseAuthError` at once, no retry. Other 4xx → `MailParseError`, no retry.
* a 200 whose body is not JSON or not the page shape → `MalformedPage`, no retry (the page is
  refetched by the next tick from the unchanged cursor).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from lead_pipeline.http_responses import detail
from lead_pipeline.http_retry import RetryPolicy, Unavailable, send
from lead_pipeline.ingest.payloads import canonical_json

__all__ = [
    "MailParseAuthError",
    "MailParseClient",
    "MailParseError",
    "MailParseUnavailable",
    "MalformedPage",
    "Page",
    "canonical_item_bytes",
]

MAX_LIMIT = 500


class MailParseError(Exception):
    """Base of every MailParse client failure."""


class MailParseAuthError(MailParseError):
    """401/403: the token was refused. Not retried."""


class MailParseUnavailable(Unavailable, MailParseError):
    """Retries exhausted on 429/5xx/timeouts/connection errors, or a Retry-After too long to wait in a tick."""


class MalformedPage(MailParseError):
    """A 200 whose body is not JSON or not `{"data": [...], "next_cursor": ..., "has_more": ...}`."""


@dataclass(frozen=True)
class Page:
    items: list[Any]  # the JSON items as received (normally objects; not normalised)
    raw_items: list[bytes]  # canonical JSON bytes of each item: the same page refetched gives the same bytes
    next_cursor: str | None
    has_more: bool


def canonical_item_bytes(item: Any) -> bytes:
    """What the landing table stores for one polled item: `json.dumps(item, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` in UTF-8 (ASCII-escaped only if the item holds a lone surrogate)."""
    return canonical_json(item)


class MailParseClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._token = token
        self._policy = RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base, backoff_cap=backoff_cap)
        self._sleep = sleep
        self._random = random.Random()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=True,
            headers={"User-Agent": "lead-pipeline/mailparse-client"},
        )

    # -- public API ---------------------------------------------------------------------

    def fetch_page(self, cursor: str | None, *, limit: int = 100, alias: str | None = None) -> Page:
        """One page of messages after `cursor` (None: from the start of retention), oldest first."""
        params: dict[str, Any] = {"limit": max(1, min(int(limit), MAX_LIMIT))}
        if cursor is not None:
            params["cursor"] = cursor
        if alias is not None:
            params["alias"] = alias
        response = self._request(f"{self.base_url}/v1/messages", params=params, authorised=True)
        return _page_of(response)

    def has_new_messages(self, cursor: str | None, alias: str | None = None) -> bool:
        """Cheap check for sensors: is there at least one message after `cursor`?"""
        return bool(self.fetch_page(cursor, limit=1, alias=alias).items)

    def fetch_raw(self, message_id: str) -> bytes:
        """The original MIME of a message (`GET /v1/messages/{id}/raw`)."""
        url = f"{self.base_url}/v1/messages/{quote(message_id, safe='')}/raw"
        return self._request(url, authorised=True).content

    def download(self, url: str) -> bytes:
        """An attachment `downloadUrl` or a `rawUrl`, while it is valid. The bearer token is sent only to
        the API's own origin (scheme, host and port), never to a third-party file host."""
        absolute = urljoin(self.base_url + "/", url)
        if urlsplit(absolute).scheme not in ("http", "https"):
            raise MailParseError(f"cannot download {url!r}: not an http(s) URL")
        return self._request(absolute, authorised=_origin(absolute) == self._origin).content

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MailParseClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- one request, with the shared retry loop ------------------------------------------

    def _request(self, url: str, *, params: dict[str, Any] | None = None, authorised: bool) -> httpx.Response:
        what = f"GET {_redact(url)}"
        response = send(
            self._http, "GET", url, what=what, policy=self._policy, sleep=self._sleep, rng=self._random,
            params=params, headers={"Authorization": f"Bearer {self._token}"} if authorised else None,
            unavailable=MailParseUnavailable,
        )
        status = response.status_code
        if status in (401, 403) and not authorised:  # a third-party file host: the signed URL expired
            raise MailParseError(f"{what} answered HTTP {status}: the URL was refused (expired?); not retried")
        if status in (401, 403):
            kind = "401 Unauthorized" if status == 401 else "403 Forbidden"
            raise MailParseAuthError(
                f"{what} answered {kind}: the MailParse API token (MAILPARSE_API_TOKEN) was refused; "
                f"check the token and its permissions. Not retried."
            )
        if status >= 400:
            raise MailParseError(f"{what} answered HTTP {status}{detail(response, 200)}; not retried")
        return response


def _page_of(response: httpx.Response) -> Page:
    try:
        body = response.json()
    except ValueError as exc:
        raise MalformedPage(f"page body is not JSON ({exc}): {response.content[:120]!r}") from None
    if not isinstance(body, dict):
        raise MalformedPage(f"page is not a JSON object but {type(body).__name__}")
    data = body.get("data")
    if not isinstance(data, list):
        raise MalformedPage(f"page has no 'data' list (keys: {sorted(body)[:10]})")
    next_cursor = body["next_cursor"] if "next_cursor" in body else body.get("nextCursor")
    has_more = body["has_more"] if "has_more" in body else body.get("hasMore", False)
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise MalformedPage(f"next_cursor is not a string: {next_cursor!r}")
    if not isinstance(has_more, bool):
        raise MalformedPage(f"has_more is not a boolean: {has_more!r}")
    if has_more and not next_cursor:
        raise MalformedPage("has_more is true but there is no next_cursor to continue from")
    return Page(items=data, raw_items=[canonical_item_bytes(item) for item in data],
                next_cursor=next_cursor or None, has_more=has_more)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _redact(url: str) -> str:
    """Drop query strings from error messages: signed download URLs carry their credentials there."""
    return url.split("?", 1)[0]
