"""Sales alerts to a Slack incoming webhook (`SLACK_WEBHOOK_URL`). Plain Python, no Dagster.

Slack answers `200 ok`, or 400 (`invalid_payload`, `no_text`), 403 (`action_prohibited`), 404
(`no_service`: the webhook was removed), 410 (`channel_is_archived`), 429 with Retry-After, or 5xx.

A webhook has no idempotency key, so a message must not be posted twice: a request is retried only when
Slack cannot have posted it (429, 5xx, connection refused). A request that went out and got no answer
raises `SlackOutcomeUnknown`; the publisher flags it for a person instead of re-sending.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from lead_pipeline.publish import payloads
from lead_pipeline.publish.http import (
    OutcomeUnknown,
    PublishHttpError,
    RetryPolicy,
    Unavailable,
    check_url,
    detail,
    redact,
    send,
)

__all__ = ["SlackError", "SlackOutcomeUnknown", "SlackUnavailable", "SlackWebhook", "build_alert"]


class SlackError(PublishHttpError):
    """Slack refused the message (4xx other than 429): the webhook or the payload is wrong. Not retried here."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status

    @property
    def webhook_broken(self) -> bool:
        """403/404/410: the webhook itself is unusable (revoked, removed, archived channel)."""
        return self.status in (403, 404, 410)


class SlackUnavailable(Unavailable, SlackError):
    def __init__(self, message: str):
        Unavailable.__init__(self, message)
        self.status = 0


class SlackOutcomeUnknown(OutcomeUnknown, PublishHttpError):
    """The message went out and no answer came back: it may have been posted."""


class SlackWebhook:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(max_attempts=5),
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        seed: int | None = None,
    ):
        self.url = check_url(url, "SLACK_WEBHOOK_URL")
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport,
                                  headers={"User-Agent": "lead-pipeline/slack-alerts"})

    def post(self, message: Mapping[str, Any]) -> None:
        """Post one message; returns when Slack said `ok`."""
        what = f"Slack webhook {redact(self.url)}"
        response = send(
            self._http, "POST", self.url, json=dict(message), what=what, policy=self.retry, sleep=self._sleep,
            rng=self._rng, retry_unknown_outcome=False, unavailable=SlackUnavailable, unknown=SlackOutcomeUnknown,
        )
        if response.status_code >= 300:
            broken = response.status_code in (403, 404, 410)
            hint = " (SLACK_WEBHOOK_URL revoked or its channel archived?)" if broken else ""
            raise SlackError(f"{what} answered HTTP {response.status_code}{detail(response)}{hint}",
                             response.status_code)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackWebhook:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def build_alert(lead: Mapping[str, Any], *, base_url: str | None = None) -> dict[str, Any]:
    """A Block Kit message: sender, company, subject, score with its top three reasons, and the lead link."""
    name = payloads.text(lead, "sender_name")
    email = payloads.text(lead, "sender_email") or "?"
    sender = f"{_escape(name)} <mailto:{email}|{_escape(email)}>" if name else f"<mailto:{email}|{_escape(email)}>"
    company = payloads.text(lead, "company") or payloads.text(lead, "company_domain") or "—"
    subject = payloads.text(lead, "subject") or "(no subject)"
    score = payloads.score_of(lead)
    reasons = payloads.reason_lines(lead)
    link = payloads.lead_link(lead, base_url)
    headline = f"New qualified lead: {company if company != '—' else email} (score {score})"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(headline, 150), "emoji": True}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": _clip(f"*Sender*\n{sender}", 2000)},
            {"type": "mrkdwn", "text": _clip(f"*Company*\n{_escape(company)}", 2000)},
            {"type": "mrkdwn", "text": _clip(f"*Subject*\n{_escape(subject)}", 2000)},
            {"type": "mrkdwn", "text": f"*Score*\n{score}"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            "*Top reasons*\n" + ("\n".join(f"• {_escape(line)}" for line in reasons) or "—"), 3000)}},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open lead"}, "url": link,
             "action_id": "open_lead"},
        ]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"lead `{lead['lead_id']}` · <{link}|{link}>"}]},
    ]
    return {"text": _clip(f"{headline}: {subject} — {link}", 3000), "blocks": blocks, "unfurl_links": False}


def _escape(value: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
