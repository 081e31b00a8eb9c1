"""A full `lead-pipeline run` over the sample inbox: run logs free of personal data, leads traceable to their bytes."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from lead_pipeline.settings import SAMPLE_INBOX

# Everything Dagster and every library log, at DEBUG, lands in the run logs of this instance.
INSTANCE_YAML = """\
telemetry:
  enabled: false
python_logs:
  python_log_level: DEBUG
  managed_python_loggers: [root, lead_pipeline]
"""
SENDER_HEADERS = ("From", "Sender", "Reply-To", "Return-Path")


@dataclass(frozen=True)
class FullRun:
    home: Path
    dagster_home: Path
    stdout: str
    stderr: str

    @property
    def store(self) -> Path:
        return self.home / "store.sqlite"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> FullRun:
    root = tmp_path_factory.mktemp("full_run")
    home, dagster_home = root / "home", root / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_", "MAILPARSE_", "DAGSTER_", "CRM_"))}
    env |= {"LEAD_PIPELINE_HOME": str(home), "DAGSTER_HOME": str(dagster_home), "GX_ANALYTICS_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, "-m", "lead_pipeline", "run"], env=env, cwd=root, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return FullRun(home, dagster_home, done.stdout, done.stderr)


def _inbox_senders() -> set[str]:
    """Every address in the sender headers of the sample inbox, read without the pipeline."""
    found = set()
    for path in sorted(SAMPLE_INBOX.glob("*.eml")):
        headers = BytesHeaderParser().parsebytes(path.read_bytes())
        values = [str(v) for name in SENDER_HEADERS for v in headers.get_all(name) or []]
        found |= {address.lower() for _, address in getaddresses(values) if "@" in address}
    return found


def _extracted(run: FullRun) -> tuple[set[str], set[str]]:
    """Sender addresses and E.164 phone numbers the pipeline extracted into its store."""
    engine = sa.create_engine(f"sqlite:///{run.store}")
    with engine.connect() as conn:
        emails = set(conn.execute(sa.text(
            "SELECT sender_email FROM messages UNION SELECT forwarded_by FROM leads WHERE forwarded_by IS NOT NULL"
        )).scalars())
        phones = set(conn.execute(sa.text(
            "SELECT phone FROM lead_candidates WHERE phone IS NOT NULL UNION SELECT phone FROM contacts WHERE phone IS NOT NULL"
        )).scalars())
    engine.dispose()
    return {e.lower() for e in emails}, phones


def _phone_pattern(e164: str) -> re.Pattern[bytes]:
    """The subscriber digits of a number however they were written: '+1 (312) 555-0145', '312.555.0145', ..."""
    digits = e164.lstrip("+")[-8:]
    return re.compile(rb"[\s().\-/]{0,2}".join(d.encode() for d in digits))


def _leaks(blob: bytes, emails: set[str], phones: set[str]) -> set[str]:
    lowered = blob.lower()
    return {e for e in emails if e.encode() in lowered} | {p for p in phones if _phone_pattern(p).search(blob)}


def test_run_logs_event_log_compute_logs_and_output_carry_no_sender_address_or_phone(full_run):
    extracted_emails, phones = _extracted(full_run)
    emails = extracted_emails | _inbox_senders()
    assert len(emails) >= 40 and len(phones) >= 30, "the sample inbox has dozens of each"
    # The search finds them where they legitimately are: the store holds every one.
    assert _leaks(full_run.store.read_bytes(), extracted_emails, phones) == extracted_emails | phones

    run_log_files = [p for p in full_run.dagster_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" and p.parent.name == "runs" for p in run_log_files), "event log storage"
    assert any(p.parent.name == "compute_logs" for p in run_log_files), "captured compute logs"
    leaks = {str(p.relative_to(full_run.dagster_home)): _leaks(p.read_bytes(), emails, phones) for p in run_log_files}
    leaks["stdout"] = _leaks(full_run.stdout.encode(), emails, phones)
    leaks["stderr"] = _leaks(full_run.stderr.encode(), emails, phones)
    assert {where: found for where, found in leaks.items() if found} == {}


def test_every_lead_traces_to_its_raw_message(full_run):
    with duckdb.connect(str(full_run.warehouse), read_only=True) as conn:
        leads = conn.execute(
            "SELECT lead_id, message_id, landing_id, source, strftime(parsed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),"
            " signature_verification, raw_sha256 FROM leads"
        ).fetchall()
    engine = sa.create_engine(f"sqlite:///{full_run.store}")
    with engine.connect() as conn:
        delivered = {
            row.landing_id: row for row in conn.execute(sa.text(
                "SELECT l.landing_id, l.source, l.source_ref, l.raw, l.signature_verification, m.message_id, m.parsed_at"
                " FROM landing l JOIN messages m USING (landing_id)"
            ))
        }
    engine.dispose()
    inbox_files = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in SAMPLE_INBOX.glob("*.eml")}
    assert leads
    for lead_id, message_id, landing_id, source, parsed_at, verification, raw_sha256 in leads:
        delivery = delivered[landing_id]
        assert hashlib.sha256(delivery.raw).hexdigest() == raw_sha256, lead_id
        assert Path(delivery.source_ref).name == inbox_files[raw_sha256]
        assert (source, verification) == (delivery.source, delivery.signature_verification) == ("inbox", "unsigned")
        assert (message_id, parsed_at) == (delivery.message_id, delivery.parsed_at)
