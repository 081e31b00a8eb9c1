"""Runtime settings read from the environment variables of the product contract."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SAMPLE_INBOX = Path(str(resources.files("lead_pipeline") / "sample_inbox"))
DEFAULT_RULES_FILE = Path(str(resources.files("lead_pipeline") / "data" / "scoring_rules.yaml"))
DEFAULT_FIRMOGRAPHICS_FILE = Path(str(resources.files("lead_pipeline") / "data" / "firmographics.csv"))
# Partitions start here; mail received earlier becomes a dead letter naming this variable.
DEFAULT_START_DATE = "2020-01-01"


@dataclass(frozen=True)
class Settings:
    home: Path
    inbox: Path
    store_url: str
    warehouse_path: Path
    rules_file: Path
    firmographics_file: Path
    mailparse_api_url: str | None = None
    # Aliases polled by their own sensor and cursor; empty means one stream for all aliases.
    mailparse_aliases: tuple[str, ...] = ()
    webhook_secrets: tuple[str, ...] = ()
    mailgun_signing_keys: tuple[str, ...] = ()
    enrichment_api_url: str | None = None
    crm_api_url: str | None = None
    alert_threshold: int = 60
    base_url: str = "http://127.0.0.1:3000"
    backlog_alert_threshold: int = 500
    dead_letter_alert_threshold: int = 20
    # Attachments: a blob store URL (None: the local `blobs_dir`), clamd's address, size limits.
    blob_store_url: str | None = None
    clamd_url: str | None = None
    attachment_max_file_bytes: int = 25 * 1024 * 1024
    attachment_max_message_bytes: int = 50 * 1024 * 1024
    # Unqualified leads older than this many days are removed daily; unset leaves the schedule stopped.
    retention_days: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("LEAD_PIPELINE_HOME") or ".lead_pipeline").expanduser().resolve()
        return cls(
            home=home,
            inbox=Path(env.get("LEAD_PIPELINE_INBOX") or SAMPLE_INBOX).expanduser(),
            store_url=env.get("LEAD_STORE_URL") or f"sqlite:///{home / 'store.sqlite'}",
            warehouse_path=Path(env.get("WAREHOUSE_PATH") or home / "warehouse.duckdb").expanduser(),
            rules_file=Path(env.get("LEAD_SCORING_RULES") or DEFAULT_RULES_FILE).expanduser(),
            firmographics_file=Path(env.get("LEAD_FIRMOGRAPHICS") or DEFAULT_FIRMOGRAPHICS_FILE).expanduser(),
            mailparse_api_url=env.get("MAILPARSE_API_URL") or None,
            mailparse_aliases=_csv(env.get("MAILPARSE_ALIASES")),
            webhook_secrets=_csv(env.get("MAILPARSE_WEBHOOK_SECRETS")),
            mailgun_signing_keys=_csv(env.get("MAILGUN_SIGNING_KEYS")),
            enrichment_api_url=env.get("ENRICHMENT_API_URL") or None,
            crm_api_url=env.get("CRM_API_URL") or None,
            alert_threshold=int(env.get("LEAD_ALERT_THRESHOLD") or 60),
            base_url=env.get("LEAD_PIPELINE_BASE_URL") or "http://127.0.0.1:3000",
            backlog_alert_threshold=int(env.get("LEAD_BACKLOG_ALERT_THRESHOLD") or 500),
            dead_letter_alert_threshold=int(env.get("LEAD_DEAD_LETTER_ALERT_THRESHOLD") or 20),
            blob_store_url=env.get("LEAD_BLOB_STORE_URL") or None,
            clamd_url=env.get("CLAMD_URL") or None,
            attachment_max_file_bytes=int(env.get("LEAD_ATTACHMENT_MAX_FILE_BYTES") or 25 * 1024 * 1024),
            attachment_max_message_bytes=int(env.get("LEAD_ATTACHMENT_MAX_MESSAGE_BYTES") or 50 * 1024 * 1024),
            retention_days=int(env["LEAD_RETENTION_DAYS"]) if env.get("LEAD_RETENTION_DAYS") else None,
        )

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def blob_store(self) -> str:
        """Where attachment bytes go: `LEAD_BLOB_STORE_URL`, else `blobs_dir`."""
        return self.blob_store_url or str(self.blobs_dir)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def partitions_start_date(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("LEAD_PIPELINE_START_DATE") or DEFAULT_START_DATE
