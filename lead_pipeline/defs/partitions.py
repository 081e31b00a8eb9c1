import dagster as dg

from lead_pipeline.settings import partitions_start_date
from lead_pipeline.stores.window import DateWindow

# One partition per UTC day of arrival; `end_offset=1` makes today's partition available.
daily_partitions = dg.DailyPartitionsDefinition(start_date=partitions_start_date(), end_offset=1)

# A backfill of many days runs as one run per range, and each asset processes the range in batches.
single_run_backfill = dg.BackfillPolicy.single_run()

# Deduplication reads and writes leads of every day, so runs that process mail queue one at a time
# (`tag_concurrency_limits` in dagster.yaml); landing runs proceed alongside.
PROCESSING_RUN_TAGS = {"lead_pipeline/stage": "process"}


def window_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> DateWindow:
    window = context.partition_time_window
    return DateWindow(window.start.date().isoformat(), window.end.date().isoformat())
