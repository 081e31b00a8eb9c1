"""Publishing scored leads to the CRM (HubSpot), Slack, a helpdesk and the nurture list. No Dagster here.

    from lead_pipeline.publish import PublishSettings, publish_leads

    settings = PublishSettings.from_env()
    with settings.clients() as clients:
        result = publish_leads(store, leads, crm_client=clients.crm, slack=clients.slack,
                               helpdesk=clients.helpdesk, alert_threshold=settings.alert_threshold,
                               base_url=settings.base_url)
"""

from lead_pipeline.publish.config import PublishClients, PublishSettings
from lead_pipeline.publish.publisher import DEFAULT_ALERT_THRESHOLD, PublishError, PublishResult, publish_leads

__all__ = ["DEFAULT_ALERT_THRESHOLD", "PublishClients", "PublishError", "PublishResult", "PublishSettings",
           "publish_leads"]
