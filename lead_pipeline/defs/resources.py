"""Resources shared by every area: the operational store, the warehouse, the inbox, the rules."""


import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource

from lead_pipeline.settings import Settings

# The core modules pull in pandas, DuckDB and SQLAlchemy: imported when a resource is used, so that
# loading the code location (every sensor tick, every UI reload) stays fast.
if TYPE_CHECKING:
    import duckdb

    from lead_pipeline.leads.firmographics import Firmographics
    from lead_pipeline.leads.scoring import ActiveRules
    from lead_pipeline.mail.sources import RawMessage
    from lead_pipeline.stores.blobs import BlobStore
    from lead_pipeline.stores.operational import OperationalStore


class LeadStoreResource(dg.ConfigurableResource):
    """The operational store (landing, dead letters, messages, leads): SQLite or PostgreSQL."""

    url: str

    def open(self) -> "OperationalStore":
        from lead_pipeline.stores.operational import OperationalStore

        store = OperationalStore(self.url)
        store.ensure_schema()
        return store


# DuckDB admits one process with the file open for writing. Every step that opens the warehouse
# claims a slot of this pool, limited to 1 in dagster.yaml, so that holds across runs and executors.
DUCKDB_WAREHOUSE_POOL = "duckdb_warehouse"
WAREHOUSE_WRITERS = {"pool": DUCKDB_WAREHOUSE_POOL}


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse, with its tables created on first use."""

    @contextmanager
    def open(self) -> Iterator["duckdb.DuckDBPyConnection"]:
        from lead_pipeline.stores import warehouse

        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as conn:
            warehouse.ensure_schema(conn)
            yield conn


class BlobStoreResource(dg.ConfigurableResource):
    """Attachment bytes by sha256: a folder (`LEAD_PIPELINE_HOME/blobs`) or an fsspec URL
    (`LEAD_BLOB_STORE_URL`, e.g. `s3://bucket/prefix` with the standard `AWS_*` variables)."""

    root: str

    def open(self) -> "BlobStore":
        from lead_pipeline.stores.blobs import BlobStore

        return BlobStore(self.root)


class ReportsResource(dg.ConfigurableResource):
    """Rendered reports (`LEAD_PIPELINE_HOME/reports`)."""

    root: str

    def publish(self, name: str, content: bytes) -> Path:
        """Write the report file whole or not at all: a reader never sees a half-written page."""
        target = Path(self.root) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(content)
        partial.replace(target)
        return target


class InboxResource(dg.ConfigurableResource):
    """A folder of .eml files, an mbox file or a Maildir."""

    path: str

    def read_messages(self) -> Iterator["RawMessage"]:
        from lead_pipeline.mail.sources import iter_raw_messages

        return iter_raw_messages(self.path)


class LeadRulesResource(dg.ConfigurableResource):
    """The scoring rules file and the firmographics table the leads are judged against."""

    rules_file: str
    firmographics_file: str

    def scoring_rules(self, store: "OperationalStore", now: str) -> "ActiveRules":
        """The rules file, or the last accepted rules when the file has an error (reported, not applied)."""
        from lead_pipeline.leads.scoring import resolve_rules

        return resolve_rules(self.rules_file, store, now)

    def firmographics(self) -> "Firmographics":
        from lead_pipeline.leads.firmographics import Firmographics

        return Firmographics.from_csv(self.firmographics_file)


class EnrichmentResource(dg.ConfigurableResource):
    """The optional HTTP company-enrichment provider (`ENRICHMENT_API_URL`); unset means CSV only."""

    api_url: str | None = None
    api_token: str | None = None
    timeout_s: float = 3.0

    def provider(self):
        if not self.api_url:
            return None
        from lead_pipeline.leads.enrichment import HttpEnrichmentProvider

        return HttpEnrichmentProvider(self.api_url, self.api_token, timeout=self.timeout_s)


def _secret(name: str):
    """A secret read when the run starts, not baked into the definitions; None when unset."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    from lead_pipeline.defs.alerts.resources import HealthAlertsResource
    from lead_pipeline.defs.attachments.resources import AttachmentIntakeResource, MalwareScannerResource
    from lead_pipeline.defs.compliance.resources import ComplianceResource
    from lead_pipeline.defs.ingest.resources import MailParseResource
    from lead_pipeline.defs.publish.resources import PublishResource

    token = dg.EnvVar("MAILPARSE_API_TOKEN") if os.environ.get("MAILPARSE_API_TOKEN") else None
    enrichment_token = dg.EnvVar("ENRICHMENT_API_TOKEN") if os.environ.get("ENRICHMENT_API_TOKEN") else None
    blobs = BlobStoreResource(root=settings.blob_store)
    return {
        "publishing": PublishResource(
            crm_api_url=settings.crm_api_url,
            crm_api_token=_secret("CRM_API_TOKEN"),
            slack_webhook_url=_secret("SLACK_WEBHOOK_URL"),
            helpdesk_webhook_url=_secret("HELPDESK_WEBHOOK_URL"),
            alert_threshold=settings.alert_threshold,
            base_url=settings.base_url,
        ),
        "enrichment": EnrichmentResource(api_url=settings.enrichment_api_url, api_token=enrichment_token),
        "mailparse": MailParseResource(
            api_url=settings.mailparse_api_url, api_token=token, aliases=list(settings.mailparse_aliases)
        ),
        "lead_store": LeadStoreResource(url=settings.store_url),
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "inbox": InboxResource(path=str(settings.inbox)),
        "reports": ReportsResource(root=str(settings.reports_dir)),
        "health_alerts": HealthAlertsResource(
            slack_webhook_url=_secret("SLACK_WEBHOOK_URL"), backlog_threshold=settings.backlog_alert_threshold,
            dead_letter_threshold=settings.dead_letter_alert_threshold, base_url=settings.base_url,
        ),
        "blobs": blobs,
        "attachments": AttachmentIntakeResource(
            blobs=blobs, scanner=MalwareScannerResource(clamd_url=settings.clamd_url),
            max_file_bytes=settings.attachment_max_file_bytes,
            max_message_bytes=settings.attachment_max_message_bytes,
        ),
        "compliance": ComplianceResource(home=str(settings.home), erasure_salt=_secret("LEAD_ERASURE_SALT")),
        "lead_rules": LeadRulesResource(
            rules_file=str(settings.rules_file), firmographics_file=str(settings.firmographics_file)
        ),
    }
