"""Processing spread over Celery workers, for deployments that outgrow one process per run.

The default executor stays in-process/multiprocess; this job runs each step as a Celery task.
The workers need the same environment as the code location (the product variables, `DAGSTER_HOME`
with a persistent instance such as `deploy/dagster.production.yaml`) and are started with
`dagster-celery worker start -A dagster_celery.app -y deploy/celery.yaml`.
"""

import dagster as dg
from dagster_celery import celery_executor

from lead_pipeline.defs.automation import PROCESSING
from lead_pipeline.defs.partitions import PROCESSING_RUN_TAGS, daily_partitions

# Read when a run starts, so broker credentials never sit in the definitions.
CELERY_EXECUTION_CONFIG = {
    "broker": {"env": "LEAD_CELERY_BROKER_URL"},
    "backend": {"env": "LEAD_CELERY_BACKEND_URL"},
}

process_partitions_celery_job = dg.define_asset_job(
    "process_partitions_celery",
    selection=PROCESSING,
    partitions_def=daily_partitions,
    tags=PROCESSING_RUN_TAGS,
    executor_def=celery_executor.configured(CELERY_EXECUTION_CONFIG, name="lead_pipeline_celery"),
    description="`process_partitions` with each step a task on the Celery workers (`LEAD_CELERY_BROKER_URL`).",
)
