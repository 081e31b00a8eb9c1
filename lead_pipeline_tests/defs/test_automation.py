import dagster as dg

from lead_pipeline.defs.automation import landed_days_sensor
from lead_pipeline.definitions import build_definitions
from lead_pipeline.settings import SAMPLE_INBOX, Settings


def test_after_a_landing_sweep_the_sensor_requests_each_new_day_once(pipeline_env):
    defs = build_definitions(Settings.from_env())
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        requests = list(landed_days_sensor(context))
        days = {request.partition_key for request in requests}
        assert len(days) == len(requests) >= 10
        assert all(request.run_key.startswith(request.partition_key) for request in requests)

        # A second sweep lands nothing new, so its materialization asks for no day.
        defs.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        context = dg.build_sensor_context(instance=instance, definitions=defs, cursor=context.cursor)
        assert list(landed_days_sensor(context)) == []
    assert any(SAMPLE_INBOX.glob("*.eml"))
