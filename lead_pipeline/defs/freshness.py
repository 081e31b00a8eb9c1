"""How fresh the leads and their publication must be: inbound mail arrives every working day, so a day
without new leads or without a CRM pass means a source or the pipeline has stopped."""

from datetime import timedelta

import dagster as dg

# Warn after a quiet half day; fail after a full day (plus slack for a late run) without a materialization.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=12))
