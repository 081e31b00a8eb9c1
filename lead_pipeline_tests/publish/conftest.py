from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from lead_pipeline.publish.helpdesk import HelpdeskWebhook
from lead_pipeline.publish.http import RetryPolicy
from lead_pipeline.publish.hubspot import HubSpotClient
from lead_pipeline.publish.slack import SlackWebhook
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.publish.standins import FakeClock, HelpdeskStandin, HubSpotStandin, SlackStandin

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TOKEN = "hs-test-token"


def breakdown(*rules: tuple[str, int]) -> str:
    return json.dumps([{"rule": name, "points": points, "evidence": {}} for name, points in rules])


def lead(lead_id: str, *, email: str | None = None, score: int = 70, route: str = "crm",
         name: str | None = "Dana Whitfield", company: str | None = "Acme Robotics",
         subject: str = "Demo request for 40 seats", day: str = "2026-03-02",
         rules: tuple[tuple[str, int], ...] | None = None) -> dict[str, Any]:
    """One row with the store's lead columns."""
    if rules is None:
        rules = (("subject_mentions_demo_pricing_enterprise", 20), ("buying_intent", 15), ("target_account", 15),
                 ("business_sender", 10), ("sender_authenticated", 10))
    return {
        "lead_id": lead_id, "message_id": f"<{lead_id}@mail.example>",
        "sender_email": email or f"{lead_id}@acme-robotics.example", "sender_name": name, "forwarded_by": None,
        "company": company, "company_domain": "acme-robotics.example" if company else None, "phone": "+14155550100",
        "role": "VP Operations", "subject": subject, "source_alias": "sales@yourcompany.example",
        "received_at": f"{day}T09:{zlib.crc32(lead_id.encode()) % 60:02d}:00Z", "received_date": day, "intent": "demo",
        "score": score, "score_breakdown": breakdown(*rules), "route": route, "status": "new", "duplicate_count": 0,
    }


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@pytest.fixture
def store(store_url: str) -> Iterator[OperationalStore]:
    store = OperationalStore(store_url)
    store.ensure_schema()
    yield store
    store.dispose()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[OperationalStore]:
    store = OperationalStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.ensure_schema()
    yield store
    store.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hubspot(clock) -> Iterator[HubSpotStandin]:
    with HubSpotStandin(token=TOKEN, clock=clock) as standin:
        yield standin


@pytest.fixture
def slack_standin(clock) -> Iterator[SlackStandin]:
    with SlackStandin(clock=clock) as standin:
        yield standin


@pytest.fixture
def helpdesk_standin(clock) -> Iterator[HelpdeskStandin]:
    with HelpdeskStandin(clock=clock) as standin:
        yield standin


def crm_client(standin: HubSpotStandin, clock: FakeClock, *, attempts: int = 6, token: str = TOKEN,
               timeout: float = 5.0) -> HubSpotClient:
    return HubSpotClient(standin.url, token, sleep=clock.sleep, seed=7, timeout=timeout,
                         retry=RetryPolicy(max_attempts=attempts, backoff_base=0.2, backoff_cap=30.0))


def slack_client(standin: SlackStandin, clock: FakeClock, *, attempts: int = 5, timeout: float = 5.0) -> SlackWebhook:
    return SlackWebhook(standin.webhook_url, sleep=clock.sleep, seed=7, timeout=timeout,
                        retry=RetryPolicy(max_attempts=attempts, backoff_base=0.2))


def helpdesk_client(standin: HelpdeskStandin, clock: FakeClock, *, attempts: int = 5,
                    timeout: float = 5.0) -> HelpdeskWebhook:
    return HelpdeskWebhook(standin.webhook_url, sleep=clock.sleep, seed=7, timeout=timeout,
                           retry=RetryPolicy(max_attempts=attempts, backoff_base=0.2))
