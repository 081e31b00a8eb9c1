"""The one retry loop of every HTTP client (MailParse, HubSpot, Slack, helpdesk). Plain Python, no Dagster.

* 429 → wait `Retry-After` (seconds or an HTTP date); without it, the backoff below. A wait longer than
  `backoff_cap` is not done inside a run or a sensor tick: `unavailable` at once, saying when to come back.
* 5xx, connection errors, timeouts → exponential backoff with full jitter,
  `uniform(0, min(backoff_cap, backoff_base * 2**(attempt-1)))`; 503 also honours Retry-After.
* at most `max_attempts` attempts, then `unavailable` naming the last error.
* Anything else (2xx, 3xx, 4xx other than 429) is returned to the caller, which knows what it means.

A request whose outcome is unknown (it was sent, but no answer came: read timeout, connection dropped
mid-answer) is retried only when `retry_unknown_outcome` is true: safe for idempotent requests, not for
a Slack message, where `unknown` is raised instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from lead_pipeline.http_responses import detail, retry_after


class Unavailable(Exception):
    """Retries exhausted on 429/5xx/timeouts/connection errors, or a Retry-After too long to wait for."""


class OutcomeUnknown(Exception):
    """The request went out but no answer came back: it may or may not have taken effect."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


# Errors raised before the request reached the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def send(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    retry_unknown_outcome: bool = True,
    give_up: Callable[[httpx.Response], str | None] | None = None,
    unavailable: type[Exception] = Unavailable,
    unknown: type[Exception] = OutcomeUnknown,
) -> httpx.Response:
    """One request with the retry policy above. `give_up(response)` may name a reason not to retry a 429/5xx
    (e.g. a daily quota); `unavailable`/`unknown` are the exception classes raised."""
    rng = rng or random.Random()
    last_error = "no attempt made"
    for attempt in range(1, policy.max_attempts + 1):
        delay: float | None = None
        try:
            response = http.request(method, url, json=json, params=params, headers=headers)
        except _NOT_SENT as exc:
            last_error = f"connection error ({type(exc).__name__}: {exc})"
        except httpx.TimeoutException as exc:
            last_error = f"timeout ({type(exc).__name__}) after {http.timeout.read} s without an answer"
            if not retry_unknown_outcome:
                raise unknown(f"{what}: {last_error}; the request may have been applied") from exc
        except httpx.TransportError as exc:
            last_error = f"connection error ({type(exc).__name__}: {exc}) before an answer"
            if not retry_unknown_outcome:
                raise unknown(f"{what}: {last_error}; the request may have been applied") from exc
        else:
            status = response.status_code
            if status != 429 and status < 500:
                return response
            last_error = f"HTTP {status}{detail(response)}"
            reason = give_up(response) if give_up else None
            if reason:
                raise unavailable(f"{what}: {last_error}; {reason}")
            if status in (429, 503):
                delay = retry_after(response.headers.get("Retry-After"))
                if delay is not None and delay > policy.backoff_cap:
                    raise unavailable(
                        f"{what}: HTTP {status} asks to retry after {delay:.0f} s, longer than the "
                        f"{policy.backoff_cap:.0f} s this client waits (attempt {attempt}); try again later"
                    )
        if attempt == policy.max_attempts:
            break
        if delay is None:
            delay = rng.uniform(0, min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1)))
        sleep(delay)
    raise unavailable(
        f"{what} failed after {policy.max_attempts} attempt{'s' if policy.max_attempts > 1 else ''}; "
        f"last error: {last_error}"
    )
