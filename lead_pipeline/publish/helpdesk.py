"""Support tickets through a generic JSON webhook (`HELPDESK_WEBHOOK_URL`). Plain Python, no Dagster.

`POST {url}` with a JSON ticket and an `Idempotency-Key: lead-pipeline-{lead_id}` header (plus the lead id
as `external_id` in the body), so a helpdesk that deduplicates can make retries harmless. Any 2xx is
success; the ticket id is read from the answer's `id`, `ticket_id` or `ticket.id` when there is one.
Retries as in `lead_pipeline.publish.http`, timeouts included (the key makes them safe).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from lead_pipeline.publish import payloads
from lead_pipeline.publish.http import PublishHttpError, RetryPolicy, Unavailable, check_url, detail, redact, send

__all__ = ["HelpdeskError", "HelpdeskUnavailable", "HelpdeskWebhook", "build_ticket", "idempotency_key"]


class HelpdeskError(PublishHttpError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class HelpdeskUnavailable(Unavailable, HelpdeskError):
    def __init__(self, message: str):
        Unavailable.__init__(self, message)
        self.status = 0


def idempotency_key(lead_id: str) -> str:
    return f"lead-pipeline-{lead_id}"


class HelpdeskWebhook:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(max_attempts=5),
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        seed: int | None = None,
    ):
        self.url = check_url(url, "HELPDESK_WEBHOOK_URL")
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random(seed)
        headers = {"User-Agent": "lead-pipeline/helpdesk"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport, headers=headers)

    def create_ticket(self, ticket: Mapping[str, Any]) -> str | None:
        """Post one ticket; returns the helpdesk's ticket id when it tells one."""
        what = f"helpdesk webhook {redact(self.url)}"
        response = send(
            self._http, "POST", self.url, json=dict(ticket), what=what, policy=self.retry, sleep=self._sleep,
            rng=self._rng, headers={"Idempotency-Key": idempotency_key(str(ticket["external_id"]))},
            unavailable=HelpdeskUnavailable,
        )
        if response.status_code >= 300:
            raise HelpdeskError(f"{what} answered HTTP {response.status_code}{detail(response)}",
                                response.status_code)
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        found = body.get("id") or body.get("ticket_id") or (body.get("ticket") or {}).get("id")
        return None if found is None else str(found)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HelpdeskWebhook:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def build_ticket(lead: Mapping[str, Any], *, base_url: str | None = None) -> dict[str, Any]:
    link = payloads.lead_link(lead, base_url)
    subject = payloads.text(lead, "subject") or "(no subject)"
    company = payloads.text(lead, "company")
    return {
        "external_id": str(lead["lead_id"]),
        "subject": subject,
        "requester": {"email": payloads.text(lead, "sender_email"), "name": payloads.text(lead, "sender_name")},
        "company": company,
        "phone": payloads.text(lead, "phone"),
        "received_at": payloads.text(lead, "received_at"),
        "description": "\n".join(filter(None, [
            f"Support request from {payloads.text(lead, 'sender_name') or payloads.text(lead, 'sender_email')}"
            + (f" ({company})" if company else ""),
            f"Subject: {subject}",
            f"Lead: {link}",
        ])),
        "link": link,
        "source": "lead_pipeline",
        "tags": ["lead-pipeline", "support"],
    }
