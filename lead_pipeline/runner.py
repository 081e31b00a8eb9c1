"""One full pass of the asset graph from the shell: land every source, then process the days it filled."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from lead_pipeline.logs import redact
from lead_pipeline.settings import Settings

# What one run processes at most: its assets hold up to this many messages' rows at once (a single
# day with more is still one run), so memory is bounded whatever the mailbox spans, and a backfill
# of many quiet days still runs as a few runs (each run costs seconds of Dagster overhead).
MAX_MESSAGES_PER_RUN = 40_000
MAX_DAYS_PER_RUN = 366
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The instance a bare `lead-pipeline run` creates: quiet, and an event log that keeps its engines (a run over
# a range of days writes thousands of per-partition events; see `lead_pipeline.stores.dagster_event_log`).
DEFAULT_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
event_log_storage:
  module: lead_pipeline.stores.dagster_event_log
  class: SqliteEventLogKeepingEngines
  config:
    base_dir: {event_log_dir}
"""
# Rendered from the whole warehouse, not per day: in a backfill of several runs only the last one renders it.
REPORT_ASSETS = {dg.AssetKey("kpi_report")}


class PipelineRunFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class RunSummary:
    messages: int
    parsed: int
    dead_letters: int
    leads: int
    duplicates_collapsed: int
    qualified: int
    warehouse: str
    days_processed: int

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def day_ranges(
    messages_per_day: Mapping[str, int], max_messages: int = MAX_MESSAGES_PER_RUN, max_days: int = MAX_DAYS_PER_RUN
) -> Iterator[tuple[str, str]]:
    """Contiguous runs of ISO days as inclusive (first, last) pairs, each at most `max_days` long and
    holding at most `max_messages` (by the day's count), unless one day alone holds more."""
    start = prev = None
    held = 0
    for day in sorted(date.fromisoformat(d) for d in messages_per_day):
        count = messages_per_day[day.isoformat()]
        if (start is not None and day - prev == timedelta(days=1) and (day - start).days < max_days
                and held + count <= max_messages):
            prev, held = day, held + count
            continue
        if start is not None:
            yield start.isoformat(), prev.isoformat()
        start = prev = day
        held = count
    if start is not None:
        yield start.isoformat(), prev.isoformat()


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance `dagster dev` shows: `$DAGSTER_HOME`, else one under `LEAD_PIPELINE_HOME`."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        # The repository's dagster.yaml is for `make`; a bare `lead-pipeline run` gets the quiet default.
        event_log_dir = settings.dagster_home / "history" / "runs"  # where the stock SQLite storage keeps it
        config.write_text(DEFAULT_INSTANCE_CONFIG.format(event_log_dir=json.dumps(str(event_log_dir))))
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def _execute(
    job: dg.JobDefinition, instance: dg.DagsterInstance, tags: dict[str, str] | None = None,
    asset_selection: list[dg.AssetKey] | None = None,
):
    result = job.execute_in_process(
        instance=instance, run_config=QUIET_RUN_CONFIG, tags=tags, asset_selection=asset_selection,
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            f"{event.step_key}: {event.event_specific_data.error.message.strip()}"  # type: ignore[union-attr]
            for event in result.all_events
            if event.is_step_failure
        ]
        message = f"run {result.run_id} of {job.name} failed: " + "; ".join(failures or ["see run logs"])
        raise PipelineRunFailed(redact(message))
    return result


def run_pipeline(
    settings: Settings,
    instance: dg.DagsterInstance,
    *,
    all_days: bool = False,
    echo: Callable[[str], None] = lambda _: None,
) -> RunSummary:
    from lead_pipeline.definitions import build_definitions
    from lead_pipeline.defs.automation import STALE_REASON, utc_now
    from lead_pipeline.defs.partitions import daily_partitions
    from lead_pipeline.stores.operational import OperationalStore

    defs = build_definitions(settings)
    echo(f"landing {settings.inbox}")
    landing = _execute(defs.resolve_job_def("land_inbox"), instance)
    meta = landing.asset_materializations_for_node("landed_messages")[0].metadata
    echo(f"  {meta['messages_found'].value} found, {meta['newly_landed'].value} new, {meta['rejected'].value} rejected")

    if settings.mailparse_api_url:
        echo(f"polling MailParse at {settings.mailparse_api_url}")
        polled = _execute(defs.resolve_job_def("land_mailparse"), instance)
        meta_polled = polled.asset_materializations_for_node("mailparse_messages")[0].metadata
        echo(f"  {meta_polled['landed'].value} landed from {meta_polled['pages'].value} pages")

    store = OperationalStore(settings.store_url)
    first = daily_partitions.start.date()
    store.dead_letter_landings_before(first.isoformat(), STALE_REASON.format(first=first), utc_now())
    counts = store.landed_day_counts() if all_days else {day: n for day, n, _ in store.landing_backlog()}
    days = {day: n for day, n in counts.items() if day >= first.isoformat()}
    if meta["rejected"].value:
        days.setdefault(datetime.now(UTC).date().isoformat(), 0)  # rejected input is filed under today
    process = defs.resolve_job_def("process_partitions")
    ranges = list(day_ranges(days))
    all_but_reports = sorted(process.asset_layer.executable_asset_keys - REPORT_ASSETS)
    for index, (first, last) in enumerate(ranges, start=1):
        echo(f"processing {first} .. {last} ({index}/{len(ranges)})")
        _execute(process, instance, tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
                 asset_selection=None if index == len(ranges) else all_but_reports)
    store.dispose()
    return summarise(settings, days_processed=len(days))


def summarise(settings: Settings, days_processed: int = 0) -> RunSummary:
    import duckdb

    from lead_pipeline.stores.warehouse import ensure_schema

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        ensure_schema(conn)
        parsed, duplicates = conn.execute("SELECT count(*), count(*) FILTER (WHERE is_duplicate) FROM messages").fetchone()
        dead_letters = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        leads, qualified = conn.execute("SELECT count(*), count(*) FILTER (WHERE route = 'crm') FROM leads").fetchone()
    return RunSummary(
        messages=parsed + dead_letters,
        parsed=parsed,
        dead_letters=dead_letters,
        leads=leads,
        duplicates_collapsed=duplicates,
        qualified=qualified,
        warehouse=str(settings.warehouse_path),
        days_processed=days_processed,
    )
