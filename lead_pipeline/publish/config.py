"""Publishing configuration from the environment variables of the product contract, and the clients."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from lead_pipeline.publish.helpdesk import HelpdeskWebhook
from lead_pipeline.publish.hubspot import HubSpotClient
from lead_pipeline.publish.payloads import DEFAULT_BASE_URL
from lead_pipeline.publish.publisher import DEFAULT_ALERT_THRESHOLD
from lead_pipeline.publish.slack import SlackWebhook

__all__ = ["PublishClients", "PublishSettings"]


@dataclass(frozen=True)
class PublishClients:
    crm: HubSpotClient | None
    slack: SlackWebhook | None
    helpdesk: HelpdeskWebhook | None


@dataclass(frozen=True)
class PublishSettings:
    crm_api_url: str | None = None  # CRM_API_URL, e.g. https://api.hubapi.com; unset: recorded, not sent
    crm_api_token: str | None = None  # CRM_API_TOKEN, a HubSpot private app token
    slack_webhook_url: str | None = None  # SLACK_WEBHOOK_URL
    helpdesk_webhook_url: str | None = None  # HELPDESK_WEBHOOK_URL
    alert_threshold: int = DEFAULT_ALERT_THRESHOLD  # LEAD_ALERT_THRESHOLD
    base_url: str = DEFAULT_BASE_URL  # LEAD_PIPELINE_BASE_URL: where links in alerts and deals point

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PublishSettings:
        env = os.environ if environ is None else environ
        crm_url = (env.get("CRM_API_URL") or "").strip() or None
        token = (env.get("CRM_API_TOKEN") or "").strip() or None
        if crm_url and not token:
            raise ValueError("CRM_API_URL is set but CRM_API_TOKEN is not: HubSpot needs a private app token")
        raw_threshold = (env.get("LEAD_ALERT_THRESHOLD") or "").strip()
        try:
            threshold = int(raw_threshold) if raw_threshold else DEFAULT_ALERT_THRESHOLD
        except ValueError:
            raise ValueError(f"LEAD_ALERT_THRESHOLD must be a whole number of points, not {raw_threshold!r}") from None
        return cls(
            crm_api_url=crm_url,
            crm_api_token=token,
            slack_webhook_url=(env.get("SLACK_WEBHOOK_URL") or "").strip() or None,
            helpdesk_webhook_url=(env.get("HELPDESK_WEBHOOK_URL") or "").strip() or None,
            alert_threshold=threshold,
            base_url=(env.get("LEAD_PIPELINE_BASE_URL") or "").strip() or DEFAULT_BASE_URL,
        )

    @contextmanager
    def clients(self, *, sleep: Callable[[float], None] = time.sleep,
                timeout: float = 10.0) -> Iterator[PublishClients]:
        """The configured clients (None where unconfigured), closed on exit."""
        with ExitStack() as stack:
            crm = slack = helpdesk = None
            if self.crm_api_url:
                crm = stack.enter_context(HubSpotClient(self.crm_api_url, self.crm_api_token or "", sleep=sleep,
                                                        timeout=timeout))
            if self.slack_webhook_url:
                slack = stack.enter_context(SlackWebhook(self.slack_webhook_url, sleep=sleep, timeout=timeout))
            if self.helpdesk_webhook_url:
                helpdesk = stack.enter_context(HelpdeskWebhook(self.helpdesk_webhook_url, sleep=sleep,
                                                               timeout=timeout))
            yield PublishClients(crm, slack, helpdesk)
