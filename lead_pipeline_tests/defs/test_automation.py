import os
import shutil
import time

import dagster as dg

from lead_pipeline.definitions import build_definitions
from lead_pipeline.defs.automation import landing_backlog_sensor
from lead_pipeline.defs.ingest.sensors import inbox_sensor
from lead_pipeline.defs.resources import InboxResource, LeadStoreResource
from lead_pipeline.settings import SAMPLE_INBOX, Settings


def test_the_backlog_sensor_requests_each_landed_day_once_until_it_is_processed(pipeline_env):
    settings = Settings.from_env()
    defs = build_definitions(settings)
    store = LeadStoreResource(url=settings.store_url)
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        requests = list(landing_backlog_sensor(dg.build_sensor_context(instance=instance), lead_store=store))
        days = sorted(request.partition_key for request in requests)
        assert days == store.open().unprocessed_dates() and len(days) >= 10

        # Landing the same inbox again changes no run key: re-evaluation is harmless.
        defs.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        again = list(landing_backlog_sensor(dg.build_sensor_context(instance=instance), lead_store=store))
        assert [r.run_key for r in again] == [r.run_key for r in requests]

        first = requests[0]
        defs.resolve_job_def("process_partitions").execute_in_process(instance=instance, partition_key=first.partition_key)
        after = list(landing_backlog_sensor(dg.build_sensor_context(instance=instance), lead_store=store))
        assert first.partition_key not in {r.partition_key for r in after}
        assert len(after) == len(requests) - 1


def test_the_inbox_sensor_fires_for_new_files_only(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    resources = {"inbox": InboxResource(path=str(inbox))}

    def tick(instance, cursor):
        return inbox_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

    with dg.instance_for_test() as instance:
        first = tick(instance, None)
        assert len(first.run_requests) == 1
        quiet = tick(instance, first.cursor)
        assert quiet.run_requests == [] and quiet.skip_message
        assert quiet.cursor in (None, first.cursor)

        new_file = inbox / "new.eml"
        new_file.write_bytes(next(iter(sorted(SAMPLE_INBOX.glob("*.eml")))).read_bytes())
        later = time.time() + 5
        os.utime(new_file, (later, later))
        assert len(tick(instance, first.cursor).run_requests) == 1


def test_mail_landed_before_the_first_partition_becomes_a_dead_letter_not_a_stuck_backlog(pipeline_env):
    from datetime import UTC, datetime

    from lead_pipeline.ingest.landing import landing_row

    settings = Settings.from_env()
    store = LeadStoreResource(url=settings.store_url)
    old = landing_row(source="webhook", source_ref="webhook:evt_old", delivery_key="evt_old",
                      payload_format="mailparse_json", raw=b"{}", received_at=datetime(2011, 5, 1, tzinfo=UTC),
                      alias=None, now=datetime.now(UTC))
    store.open().land([old])
    with dg.instance_for_test() as instance:
        requests = list(landing_backlog_sensor(dg.build_sensor_context(instance=instance), lead_store=store))
    assert requests == []
    [letter] = store.open().read_dead_letters().to_dict("records")
    assert letter["received_date"] == "2011-05-01" and "LEAD_PIPELINE_START_DATE" in letter["reason"]
