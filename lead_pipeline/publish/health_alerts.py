"""Operational health alerts: the landing backlog and the dead letters against their thresholds. No Dagster.

A gauge alerts once when it reaches its threshold and stays quiet while it stays there; once it falls
below, it is armed again. Which gauges are over their threshold is the caller's state between readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gauge:
    name: str  # stable key kept in the caller's state
    label: str
    value: int
    threshold: int
    remedy: str

    @property
    def over(self) -> bool:
        return self.value >= self.threshold


def pipeline_gauges(*, backlog: int, dead_letters: int, backlog_threshold: int,
                    dead_letter_threshold: int) -> list[Gauge]:
    return [
        Gauge("landing_backlog", "Landed deliveries waiting to be processed", backlog, backlog_threshold,
              "Is the daemon running `landing_backlog_sensor`, and are `process_partitions` runs failing?"),
        Gauge("dead_letters", "Dead letters", dead_letters, dead_letter_threshold,
              "Read their reasons (`SELECT stage, reason, count(*) FROM dead_letters GROUP BY ALL`), fix the "
              "cause, then run `redrive_dead_letters_job`."),
    ]


def newly_over(gauges: Iterable[Gauge], already_alerted: Iterable[str]) -> list[Gauge]:
    """Gauges at or over their threshold that have not been alerted since they last were below it."""
    alerted = set(already_alerted)
    return [gauge for gauge in gauges if gauge.over and gauge.name not in alerted]


def still_alerted(gauges: Iterable[Gauge], already_alerted: Iterable[str], just_alerted: Iterable[str]) -> list[str]:
    """The state after a reading: gauges alerted and still over; a gauge back below its threshold is re-armed."""
    alerted = set(already_alerted) | set(just_alerted)
    return sorted(gauge.name for gauge in gauges if gauge.over and gauge.name in alerted)


def build_health_alert(gauges: Sequence[Gauge], *, base_url: str) -> dict[str, Any]:
    """One Slack message naming every gauge that crossed its threshold, with what to check."""
    headline = "Lead pipeline needs attention: " + ", ".join(
        f"{gauge.label.lower()} {gauge.value} (threshold {gauge.threshold})" for gauge in gauges)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Lead pipeline needs attention", "emoji": True}},
    ]
    for gauge in gauges:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*{gauge.label}*: {gauge.value} (threshold {gauge.threshold})\n{gauge.remedy}")}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{base_url}|Dagster UI>"}]})
    return {"text": headline, "blocks": blocks, "unfurl_links": False}
