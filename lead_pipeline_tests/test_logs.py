import io
import os
import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from lead_pipeline import logs
from lead_pipeline.logs import JsonFormatter, PiiFilter, install_pii_masking, mask_pii, trusted_debug_mode

ADDRESS = "dana.whitfield@acme-robotics.example"
PHONE = "+1 (312) 555-0145"


def _unmask() -> None:
    logging.setLogRecordFactory(logging.LogRecord)
    logs._installed_factory = None


@pytest.fixture
def plain_records():
    """Starts without masking (loading the code location installs it); restores what was there after."""
    original, installed = logging.getLogRecordFactory(), logs._installed_factory
    _unmask()
    yield
    logging.setLogRecordFactory(original)
    logs._installed_factory = installed


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"Dana <{ADDRESS}> wrote", "Dana <d***@acme-robotics.example> wrote"),
        ("GET /contacts?email=dana%40acme.example", "GET /contacts?email=d***@acme.example"),
        ("müller@bücher.de", "m***@bücher.de"),
        (PHONE, "+* (***) ***-**45"),
        ("+442079460877", "+**********77"),
        ("+33 1 42 68 53 00.", "+** * ** ** ** 00."),
        ("call (207) 555-0191 today", "call (***) ***-**91 today"),
        ("020 7946 0877", "*** **** **77"),
    ],
)
def test_addresses_and_phone_numbers_are_masked(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02..2026-11-06: 45 parsed, 0 dead letters",
        "at 2026-11-02 10:53:28, 45 found, 45 new",
        "run 7664d040-3c97-4029-a605-5a07615c1192 of 12345678-1234-5678-9abc-def012345678",
        "127.0.0.1:5432 and 192.168.100.200",
        "rate 0.5555555555555556, epoch 1764193408, 1234567 bytes, dagster 1.13.27",
    ],
)
def test_dates_ids_addresses_of_hosts_and_numbers_are_left_alone(text):
    assert mask_pii(text) == text


def _record(msg, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("lead_pipeline.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def _failure():
    try:
        raise ValueError(f"no lead for {ADDRESS}")
    except ValueError:
        import sys

        return sys.exc_info()


def test_the_filter_masks_message_arguments_structured_fields_and_tracebacks():
    record = _record("lead from %s, phone %s", ADDRESS, PHONE, exc_info=_failure(),
                     sender_email=ADDRESS, contact={"phones": [PHONE]}, lead_count=3)
    assert PiiFilter(trusted=False).filter(record) is True
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert ADDRESS not in line and "555-0145" not in line
    assert entry["message"] == "lead from d***@acme-robotics.example, phone +* (***) ***-**45"
    assert entry["sender_email"] == "d***@acme-robotics.example"
    assert entry["contact"] == {"phones": ["+* (***) ***-**45"]}
    assert entry["lead_count"] == 3
    assert "ValueError: no lead for d***@acme-robotics.example" in entry["exception"]


def test_the_trusted_debug_mode_masks_nothing_and_is_off_by_default():
    assert not trusted_debug_mode({})
    assert not trusted_debug_mode({"LEAD_PIPELINE_LOG_PII": "0"})
    assert trusted_debug_mode({"LEAD_PIPELINE_LOG_PII": "1"})
    record = _record("lead from %s", ADDRESS, sender_email=ADDRESS)
    PiiFilter(trusted=True).filter(record)
    assert record.getMessage() == f"lead from {ADDRESS}" and record.sender_email == ADDRESS


def test_installed_masking_covers_every_logger_and_is_skipped_in_trusted_mode(plain_records):
    stream = io.StringIO()
    logger = logging.getLogger("some_library")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        assert install_pii_masking({"LEAD_PIPELINE_LOG_PII": "1"}) is False
        logger.warning("trusted: %s", ADDRESS)
        assert install_pii_masking({}) is True
        assert install_pii_masking({}) is True  # idempotent: one masking layer
        logger.warning("masked: %s %s", ADDRESS, PHONE)
    finally:
        logger.removeHandler(handler)
    trusted, masked = stream.getvalue().splitlines()
    assert trusted == f"trusted: {ADDRESS}"
    assert masked == "masked: d***@acme-robotics.example +* (***) ***-**45"


@dg.asset
def chatty_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info(f"new lead {ADDRESS}, phone {PHONE}")
    logging.getLogger("lead_pipeline.chatty").warning("python logger: %s", ADDRESS)
    return dg.MaterializeResult(metadata={"leads": 1})


def _run_logs_contain(tmp_path: Path, needles: list[str]) -> set[str]:
    """Materialize `chatty_asset` on a persistent instance; which needles its run logs contain."""
    tmp_path.mkdir()
    overrides = {"python_logs": {"managed_python_loggers": ["lead_pipeline"], "python_log_level": "DEBUG"}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        assert dg.materialize([chatty_asset], instance=instance).success
        stored = "\n".join(
            entry.user_message for entry in instance.all_logs(instance.get_runs()[0].run_id)
        )
        files = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    return {needle for needle in needles if needle in stored or needle.encode() in files}


def test_dagster_run_logs_are_masked_unless_trusted(tmp_path, plain_records):
    needles = [ADDRESS, "555-0145"]
    assert install_pii_masking({}) is True
    assert _run_logs_contain(tmp_path / "masked", needles) == set()
    _unmask()
    # The same run without masking leaks both: the check above could fail.
    assert _run_logs_contain(tmp_path / "trusted", needles) == set(needles)


@dg.asset
def failing_asset() -> None:
    raise ValueError(f"no lead for {ADDRESS} at {PHONE}")


def test_a_failure_quoting_an_address_leaves_an_error_id_in_the_event_log_and_a_masked_traceback(
    tmp_path, plain_records, monkeypatch, caplog
):
    monkeypatch.delenv("DAGSTER_REDACT_USER_CODE_ERRORS", raising=False)
    monkeypatch.delenv("LEAD_PIPELINE_LOG_PII", raising=False)
    assert logs.protect_run_logs() is True
    assert os.environ["DAGSTER_REDACT_USER_CODE_ERRORS"] == "1"
    with caplog.at_level(logging.ERROR), dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.materialize([failing_asset], instance=instance, raise_on_error=False)
        failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error
        files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert "error ID" in failure.message and ADDRESS not in failure.message
    assert ADDRESS.encode() not in files and b"555-0145" not in files
    # The traceback, for whoever looks the error id up in the process's stderr, is masked too.
    traceback = "".join(r.exc_text or "" for r in caplog.records if r.name == "dagster.redacted_errors")
    assert "ValueError: no lead for d***@acme-robotics.example at +* (***) ***-**45" in traceback
    assert ADDRESS not in caplog.text


def test_a_record_that_cannot_be_masked_is_withheld_and_the_log_call_still_succeeds(plain_records, monkeypatch):
    stream = io.StringIO()
    logger = logging.getLogger("some_library.broken")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    install_pii_masking({})

    def broken(_text: str) -> str:
        raise RuntimeError("masking failed")

    monkeypatch.setattr(logs, "mask_pii", broken)
    try:
        logger.warning("lead from %s", ADDRESS)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == logs.WITHHELD + "\n"
