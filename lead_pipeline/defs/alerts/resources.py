import dagster as dg


class HealthAlertsResource(dg.ConfigurableResource):
    """Thresholds of the pipeline's health gauges, and the Slack webhook their alerts go to (unset: logged only)."""

    slack_webhook_url: str | None = None
    backlog_threshold: int
    dead_letter_threshold: int
    base_url: str = "http://127.0.0.1:3000"

    def post_alert(self, message: dict) -> bool:
        """Post one message; False when no webhook is configured. Raises the Slack client's errors."""
        if not self.slack_webhook_url:
            return False
        from lead_pipeline.publish.http import RetryPolicy
        from lead_pipeline.publish.slack import SlackWebhook

        # A sensor tick is short: a few quick attempts, then the next tick tries again.
        with SlackWebhook(self.slack_webhook_url, timeout=5.0,
                          retry=RetryPolicy(max_attempts=3, backoff_base=0.5, backoff_cap=5.0)) as slack:
            slack.post(message)
        return True
