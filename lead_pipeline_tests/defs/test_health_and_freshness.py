"""Freshness policies on the leads and CRM assets, and the health sensor posting to a Slack stand-in."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from lead_pipeline.definitions import build_definitions, defs
from lead_pipeline.settings import Settings
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.publish.standins import Fault, SlackStandin

BACKLOG_THRESHOLD = 3
DEAD_LETTER_THRESHOLD = 2


def test_leads_and_crm_assets_carry_a_freshness_policy():
    graph = defs.get_repository_def().asset_graph
    for key in ("normalised_leads", "deduplicated_leads", "scored_leads", "published_leads"):
        policy = graph.get(dg.AssetKey(key)).freshness_policy
        assert isinstance(policy, dg.FreshnessPolicy), key
        assert policy.fail_window.to_timedelta() >= timedelta(days=1) > policy.warn_window.to_timedelta(), key


def landing(n: int) -> dict:
    key = f"delivery-{n:03d}"
    return {
        "landing_id": key, "source": "webhook", "source_ref": key, "source_alias": "demo@x.example",
        "delivery_key": key, "payload_format": "mime", "raw_sha256": key.ljust(64, "0"),
        "received_at": "2026-11-02T10:00:00Z", "received_date": "2026-11-02", "raw": b"x",
        "landed_at": "2026-11-02T10:00:01Z",
    }


def dead_letter(n: int) -> dict:
    key = f"delivery-{n:03d}"
    return {"dead_letter_id": f"dl-{key}", "stage": "parse", "source": "webhook", "source_ref": key,
            "landing_id": key, "source_alias": "demo@x.example", "reason": "unparseable", "raw_ref": f"landing:{key}",
            "raw": None, "received_date": "2026-11-02", "failed_at": "2026-11-02T10:00:02Z"}


class Ticks:
    """The health sensor ticking against the real resources, its cursor carried between ticks like the daemon does."""

    def __init__(self, settings: Settings, instance: dg.DagsterInstance):
        self.defs = build_definitions(settings)
        self.instance = instance
        self.cursor: str | None = None

    def tick(self) -> dg.SensorExecutionData:
        sensor = self.defs.resolve_sensor_def("pipeline_health_sensor")
        resources = {key: self.defs.resources[key] for key in ("lead_store", "health_alerts")}
        result = sensor.evaluate_tick(
            dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=resources))
        assert not result.run_requests
        self.cursor = result.cursor
        return result


@pytest.fixture
def health_env(pipeline_env, store_url, monkeypatch):
    monkeypatch.setenv("LEAD_STORE_URL", store_url)
    monkeypatch.setenv("LEAD_BACKLOG_ALERT_THRESHOLD", str(BACKLOG_THRESHOLD))
    monkeypatch.setenv("LEAD_DEAD_LETTER_ALERT_THRESHOLD", str(DEAD_LETTER_THRESHOLD))
    store = OperationalStore(store_url)
    store.ensure_schema()
    yield store
    store.dispose()


def test_each_crossing_posts_one_message_and_a_gauge_rearms_once_below(health_env, monkeypatch):
    store = health_env
    with SlackStandin() as slack, dg.instance_for_test() as instance:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
        ticks = Ticks(Settings.from_env(), instance)

        ticks.tick()
        assert slack.messages == [] and json.loads(ticks.cursor) == []

        store.land([landing(n) for n in range(BACKLOG_THRESHOLD)])
        ticks.tick()
        assert len(slack.messages) == 1
        assert "waiting to be processed" in slack.messages[0]["text"].lower()
        assert f"{BACKLOG_THRESHOLD} (threshold {BACKLOG_THRESHOLD})" in slack.messages[0]["text"]
        assert "dead letters" not in slack.messages[0]["text"].lower()

        store.land([landing(BACKLOG_THRESHOLD)])  # still over: no repeat, however many ticks
        ticks.tick()
        ticks.tick()
        assert len(slack.messages) == 1

        # Two deliveries fail: the backlog falls below its threshold (re-armed), dead letters reach theirs.
        store.record_dead_letters([dead_letter(0), dead_letter(1)])
        ticks.tick()
        assert len(slack.messages) == 2
        assert "dead letters 2 (threshold 2)" in slack.messages[1]["text"].lower()
        assert "waiting" not in slack.messages[1]["text"].lower()
        assert json.loads(ticks.cursor) == ["dead_letters"]

        store.land([landing(BACKLOG_THRESHOLD + 1)])  # the backlog crosses again: a new alert
        ticks.tick()
        assert len(slack.messages) == 3 and "waiting to be processed" in slack.messages[2]["text"].lower()
        assert json.loads(ticks.cursor) == ["dead_letters", "landing_backlog"]

        store.resolve_dead_letters("parse", ["delivery-000", "delivery-001"])  # re-driven: back in the backlog
        ticks.tick()
        assert len(slack.messages) == 3 and json.loads(ticks.cursor) == ["landing_backlog"]


def test_an_alert_slack_refused_is_posted_on_a_later_tick(pipeline_env, monkeypatch, tmp_path):
    monkeypatch.setenv("LEAD_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.setenv("LEAD_DEAD_LETTER_ALERT_THRESHOLD", "1")
    store = OperationalStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.ensure_schema()
    store.record_dead_letters([dead_letter(0)])
    with SlackStandin(faults=[Fault.http(503, times=3)]) as slack, dg.instance_for_test() as instance:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
        ticks = Ticks(Settings.from_env(), instance)

        refused = ticks.tick()
        assert slack.messages == [] and json.loads(ticks.cursor) == []
        assert "not delivered" in refused.skip_message

        ticks.tick()
        ticks.tick()
        assert len(slack.messages) == 1 and "dead letters 1 (threshold 1)" in slack.messages[0]["text"].lower()
    store.dispose()
