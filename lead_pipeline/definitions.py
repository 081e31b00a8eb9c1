"""The code location: every area's assets, checks and automation, bound to resources from the environment."""

from __future__ import annotations

import dagster as dg

from lead_pipeline.defs import automation, distributed
from lead_pipeline.defs.alerts import sensors as alert_sensors
from lead_pipeline.defs.attachments import assets as attachment_assets
from lead_pipeline.defs.compliance import jobs as compliance_jobs
from lead_pipeline.defs.ingest import assets as ingest_assets
from lead_pipeline.defs.ingest import jobs as ingest_jobs
from lead_pipeline.defs.ingest import sensors as ingest_sensors
from lead_pipeline.defs.leads import assets as lead_assets
from lead_pipeline.defs.leads import checks as lead_checks
from lead_pipeline.defs.parse import assets as parse_assets
from lead_pipeline.defs.publish import assets as publish_assets
from lead_pipeline.defs.resources import build_resources
from lead_pipeline.defs.warehouse import assets as warehouse_assets
from lead_pipeline.defs.warehouse import checks as warehouse_checks
from lead_pipeline.logs import protect_run_logs
from lead_pipeline.settings import Settings

# Every process that loads the code location (code server, run and step workers) masks its logs.
protect_run_logs()

AREAS = (ingest_assets, parse_assets, attachment_assets, lead_assets, publish_assets, warehouse_assets)
CHECKS = (lead_checks, warehouse_checks, publish_assets)


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules(list(AREAS)),
        asset_checks=dg.load_asset_checks_from_modules(list(CHECKS)),
        jobs=[
            ingest_jobs.land_inbox_job, ingest_jobs.land_mailparse_job, automation.process_partitions_job,
            ingest_jobs.land_and_process_mailparse_job,
            automation.redrive_dead_letters_job, distributed.process_partitions_celery_job,
            compliance_jobs.subject_export_job, compliance_jobs.subject_erasure_job, compliance_jobs.retention_job,
        ],
        schedules=[compliance_jobs.retention_schedule(settings.retention_days)],
        sensors=[
            ingest_sensors.inbox_sensor, automation.landing_backlog_sensor,
            *ingest_sensors.build_mailparse_sensors(settings.mailparse_aliases),
            alert_sensors.pipeline_health_sensor,
        ],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
