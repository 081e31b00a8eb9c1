import json

import dagster as dg

from lead_pipeline.defs.alerts.resources import HealthAlertsResource
from lead_pipeline.defs.resources import LeadStoreResource

HEALTH_TICK_SECONDS = 60


@dg.sensor(minimum_interval_seconds=HEALTH_TICK_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING)
def pipeline_health_sensor(
    context: dg.SensorEvaluationContext, lead_store: LeadStoreResource, health_alerts: HealthAlertsResource
):
    """Post to Slack when the landing backlog or the dead-letter count reaches its threshold: once per crossing.

    The cursor lists the gauges already alerted; a gauge leaves it when it falls below its threshold,
    so the next crossing alerts again. A failed post leaves the gauge armed for the next tick.
    """
    from lead_pipeline.publish.health_alerts import build_health_alert, newly_over, pipeline_gauges, still_alerted
    from lead_pipeline.publish.http import PublishHttpError
    from lead_pipeline.publish.slack import SlackOutcomeUnknown

    store = lead_store.open()
    try:
        backlog = sum(pending for _day, pending, _latest in store.landing_backlog())
        dead_letters = store.count_rows("dead_letters")
    finally:
        store.dispose()
    gauges = pipeline_gauges(
        backlog=backlog, dead_letters=dead_letters, backlog_threshold=health_alerts.backlog_threshold,
        dead_letter_threshold=health_alerts.dead_letter_threshold,
    )
    already = json.loads(context.cursor) if context.cursor else []
    due = newly_over(gauges, already)
    sent: list[str] = []
    undelivered = ""
    if due:
        message = build_health_alert(due, base_url=health_alerts.base_url)
        try:
            posted = health_alerts.post_alert(message)
            sent = [gauge.name for gauge in due]
            context.log.warning(message["text"] if posted else f"{message['text']} (SLACK_WEBHOOK_URL unset: not sent)")
        except SlackOutcomeUnknown as exc:
            # It may have been posted: repeating it every tick would be worse than missing one.
            sent = [gauge.name for gauge in due]
            context.log.warning(f"{message['text']}; Slack did not answer: {exc}")
        except PublishHttpError as exc:
            undelivered = f"; alert not delivered, retrying next tick: {exc}"
            context.log.error(f"{message['text']}{undelivered}")
    context.update_cursor(json.dumps(still_alerted(gauges, already, sent)))
    readings = ", ".join(f"{gauge.name} {gauge.value}/{gauge.threshold}" for gauge in gauges)
    return dg.SkipReason(readings + undelivered)
