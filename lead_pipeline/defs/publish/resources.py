"""Where qualified leads go: the CRM, sales alerts in Slack, helpdesk tickets."""

import dagster as dg


class PublishResource(dg.ConfigurableResource):
    """Publishing channels; an unset URL means the channel records what it would send."""

    crm_api_url: str | None = None
    crm_api_token: str | None = None
    slack_webhook_url: str | None = None
    helpdesk_webhook_url: str | None = None
    alert_threshold: int = 60
    base_url: str = "http://127.0.0.1:3000"

    def settings(self):
        from lead_pipeline.publish.config import PublishSettings

        return PublishSettings(
            crm_api_url=self.crm_api_url, crm_api_token=self.crm_api_token,
            slack_webhook_url=self.slack_webhook_url, helpdesk_webhook_url=self.helpdesk_webhook_url,
            alert_threshold=self.alert_threshold, base_url=self.base_url,
        )
