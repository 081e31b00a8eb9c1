"""Resources of the attachments area: the malware scanner and the intake policy."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from lead_pipeline.defs.resources import BlobStoreResource

if TYPE_CHECKING:
    from lead_pipeline.attachments.intake import AttachmentIntake
    from lead_pipeline.attachments.scanning import ClamdScanner, NoScanner


class MalwareScannerResource(dg.ConfigurableResource):
    """ClamAV's clamd (`CLAMD_URL`: `unix:///run/clamav/clamd.ctl` or `tcp://host:3310`); unset means
    attachments are recorded `unscanned`."""

    clamd_url: str | None = None
    timeout_s: float = 60.0

    def scanner(self) -> "ClamdScanner | NoScanner":
        from lead_pipeline.attachments.scanning import ClamdScanner, NoScanner

        return ClamdScanner(self.clamd_url, timeout_s=self.timeout_s) if self.clamd_url else NoScanner()


class AttachmentIntakeResource(dg.ConfigurableResource):
    """How attachments are taken in: size limits per file and per message, scanned, then stored."""

    blobs: BlobStoreResource
    scanner: MalwareScannerResource
    max_file_bytes: int = 25 * 1024 * 1024
    max_message_bytes: int = 50 * 1024 * 1024

    def open(self) -> "AttachmentIntake":
        from lead_pipeline.attachments.intake import AttachmentIntake, AttachmentLimits

        return AttachmentIntake(
            self.blobs.open(), self.scanner.scanner(),
            AttachmentLimits(max_file_bytes=self.max_file_bytes, max_message_bytes=self.max_message_bytes),
            now=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
