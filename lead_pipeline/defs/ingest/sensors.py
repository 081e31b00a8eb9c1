"""Sensors that notice new mail cheaply and request the runs that land it; no heavy work in a tick."""

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from lead_pipeline.defs.ingest.jobs import land_and_process_mailparse_job, land_inbox_job
from lead_pipeline.defs.ingest.resources import MailParseResource, stream_name
from lead_pipeline.defs.resources import InboxResource, LeadStoreResource

TICK_SECONDS = 30
# Sensors on the path of new mail to the CRM. The daemon evaluates sensors every 5 s at most; a minimum under
# that lets these take every evaluation (a minimum of exactly 5 drops every other one to timing jitter).
NEW_MAIL_TICK_SECONDS = 1


def failed_attempts(instance: dg.DagsterInstance, tags: dict[str, str]) -> int:
    """How many runs with these tags failed: part of a run key so a failed run is retried, not deduplicated."""
    return len(instance.get_run_records(dg.RunsFilter(tags=tags, statuses=[dg.DagsterRunStatus.FAILURE])))


def latest_inbox_change(path: Path) -> float:
    """Newest modification time under the inbox (a folder, Maildir, or mbox file); stat calls only."""
    if path.is_file():
        return path.stat().st_mtime
    newest = 0.0
    for root, _dirs, files in os.walk(path):
        newest = max(newest, os.stat(root).st_mtime, *(os.stat(os.path.join(root, f)).st_mtime for f in files))
    return newest


@dg.sensor(job=land_inbox_job, minimum_interval_seconds=TICK_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource):
    """Land the inbox when a file in it is new or changed since the last landing this sensor requested."""
    path = Path(inbox.path)
    if not path.exists():
        return dg.SkipReason(f"inbox {path} does not exist")
    newest = latest_inbox_change(path)
    if context.cursor and newest <= float(context.cursor):
        return dg.SkipReason("no new mail in the inbox")
    context.update_cursor(str(newest))
    return dg.RunRequest(run_key=f"inbox:{newest}")


def build_mailparse_sensor(alias: str | None) -> dg.SensorDefinition:
    stream = stream_name(alias)
    slug = "".join(ch if ch.isalnum() else "_" for ch in (alias or "all_aliases")).strip("_")

    @dg.sensor(
        name=f"mailparse_{slug}", job=land_and_process_mailparse_job, minimum_interval_seconds=NEW_MAIL_TICK_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Polls MailParse for new mail to {alias or 'any alias'} (one page of one message); a run lands it and "
            "processes today's partition."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, mailparse: MailParseResource, lead_store: LeadStoreResource):
        if not mailparse.configured:
            return dg.SkipReason("MailParse is not configured")
        cursor = lead_store.open().read_cursor(stream)
        with mailparse.open_client() as client:
            if not client.has_new_messages(cursor, alias=alias):
                return dg.SkipReason(f"no new messages after cursor {cursor!r}")
        tags = {"lead_pipeline/stream": stream, "lead_pipeline/cursor": str(cursor)}
        return dg.RunRequest(
            run_key=f"{stream}:{cursor}:{failed_attempts(context.instance, tags)}",
            partition_key=datetime.now(UTC).date().isoformat(),
            run_config={"ops": {"mailparse_messages": {"config": {"aliases": [alias] if alias else []}}}},
            tags=tags,
        )

    return _sensor


def build_mailparse_sensors(aliases: tuple[str, ...]) -> list[dg.SensorDefinition]:
    return [build_mailparse_sensor(alias) for alias in (aliases or (None,))]
