"""Taking attachments in: name sanitised, type checked against the bytes, size limits, malware scan,
then the bytes stored by sha256 (or quarantined) and one metadata row recorded per attachment.

Nothing is dropped silently: a file over a limit, or whose bytes cannot be recovered, gets a row with
status `rejected` or `missing` and the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lead_pipeline.attachments.filenames import sanitise_filename
from lead_pipeline.attachments.scanning import ERROR, INFECTED, UNSCANNED, ClamdScanner, NoScanner
from lead_pipeline.ingest.adapters.common import collecting_attachment_bytes
from lead_pipeline.ingest.formats import parse_payload
from lead_pipeline.mail.mime import MessageRejected, attachment_payloads, content_type_mismatch, sniff_content_type
from lead_pipeline.stores.attachments import (
    MISSING, QUARANTINED, REJECTED, STORED, landed_payloads, read_attachments, record_attachments,
)
from lead_pipeline.stores.blobs import BlobStore
from lead_pipeline.stores.operational import OperationalStore

MB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 25 * MB
DEFAULT_MAX_MESSAGE_BYTES = 50 * MB


@dataclass(frozen=True)
class AttachmentLimits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


class AttachmentIntake:
    def __init__(
        self, blobs: BlobStore, scanner: ClamdScanner | NoScanner, limits: AttachmentLimits, now: Callable[[], str]
    ):
        self.blobs = blobs
        self.scanner = scanner
        self.limits = limits
        self.now = now

    def take(
        self,
        landing_id: str,
        items: Sequence[tuple[Mapping[str, Any], bytes | None]],
        *,
        kept_bytes: int = 0,
        first_position: int = 0,
        missing_reason: str = "bytes_not_found",
    ) -> list[dict[str, Any]]:
        """The attachment rows of one delivery. `items` pairs each attachment's metadata (the message
        schema's `filename`, `contentType`, `size`, `sha256`) with its bytes, or None when they could
        not be had; `kept_bytes` counts attachments of the delivery already taken (per-message limit)."""
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for position, (meta, content) in enumerate(items, start=first_position):
            if content is None:
                if meta.get("sha256") and meta["sha256"] not in seen:
                    seen.add(meta["sha256"])
                    rows.append(self._row(landing_id, position, meta, None, MISSING, missing_reason))
                continue
            digest = hashlib.sha256(content).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            size = len(content)
            if size > self.limits.max_file_bytes:
                reason = f"file_too_large: {size} bytes > {self.limits.max_file_bytes}"
                rows.append(self._row(landing_id, position, meta, content, REJECTED, reason, digest))
            elif kept_bytes + size > self.limits.max_message_bytes:
                reason = f"message_too_large: {kept_bytes + size} bytes > {self.limits.max_message_bytes}"
                rows.append(self._row(landing_id, position, meta, content, REJECTED, reason, digest))
            else:
                verdict = self.scanner.scan(content)
                infected = verdict.status == INFECTED
                self.blobs.put(content, quarantined=infected)
                kept_bytes += size
                rows.append(self._row(landing_id, position, meta, content, QUARANTINED if infected else STORED,
                                      None, digest, verdict.status, verdict.detail))
        return rows

    def _row(
        self, landing_id: str, position: int, meta: Mapping[str, Any], content: bytes | None, status: str,
        reason: str | None, digest: str | None = None, scan_status: str = UNSCANNED, scan_detail: str | None = None,
    ) -> dict[str, Any]:
        original = meta.get("filename")
        declared = meta.get("contentType")
        sniffed = sniff_content_type(content) if content else meta.get("sniffedContentType")
        return {
            "landing_id": landing_id,
            "sha256": digest or meta["sha256"],
            "position": position,
            "filename": sanitise_filename(original),
            "original_filename": original,
            "content_type": declared,
            "sniffed_content_type": sniffed,
            "content_type_mismatch": bool(content_type_mismatch(declared, original, sniffed)),
            "size": len(content) if content is not None else int(meta.get("size") or 0),
            "status": status,
            "reason": reason,
            "scan_status": scan_status,
            "scan_detail": scan_detail,
            "processed_at": self.now(),
        }


@dataclass
class IntakeTotals:
    messages: int = 0
    stored: int = 0
    quarantined: int = 0
    rejected: int = 0
    missing: int = 0

    def count(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            setattr(self, row["status"], getattr(self, row["status"]) + 1)


def take_landed_attachments(
    store: OperationalStore, messages: Iterable[tuple[str, str]], intake: AttachmentIntake, batch_size: int = 100,
) -> IntakeTotals:
    """Take in the attachments of parsed deliveries (`messages`: landing_id and record JSON) not taken
    yet, or whose scan failed. The bytes come from the landed payload (MIME parts, a provider's JSON or
    form), else from the blob store (a retried scan); MailParse JSON attachments are taken in when
    polled, while their download URLs are valid."""
    wanted: dict[str, list[dict[str, Any]]] = {}
    for landing_id, record in messages:
        listed = [a for a in json.loads(record).get("attachments") or [] if a.get("sha256")]
        if listed:
            wanted[landing_id] = listed
    totals = IntakeTotals()
    ids = list(wanted)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        recorded = read_attachments(store, chunk)
        pending = [i for i in chunk if _needs_intake(wanted[i], recorded.get(i, []))]
        rows: list[dict[str, Any]] = []
        for landing in landed_payloads(store, pending):
            listed = wanted[landing.landing_id]
            payloads, reason = _landed_bytes(landing, {a["sha256"] for a in listed})
            for digest in {a["sha256"] for a in listed} - payloads.keys():
                if intake.blobs.has(digest):
                    payloads[digest] = intake.blobs.read(digest)
            taken = intake.take(landing.landing_id, [(a, payloads.get(a["sha256"])) for a in listed],
                                missing_reason=reason)
            rows.extend(taken)
            totals.messages += 1
            totals.count(taken)
        record_attachments(store, rows)
    return totals


def _landed_bytes(landing, wanted: set[str]) -> tuple[dict[str, bytes], str]:
    """The wanted attachments' bytes found in a landed payload, and why any other is missing."""
    raw = bytes(landing.raw)
    if landing.payload_format == "mime":
        return attachment_payloads(raw, wanted), "bytes_not_found: not among the message's MIME parts"
    if landing.payload_format == "mailparse_json":
        return {}, "not_downloaded: the download URL failed or had expired when the message was polled"
    with collecting_attachment_bytes() as found:
        try:
            parse_payload(landing.payload_format, raw, landing.source_ref)
        except MessageRejected:
            pass  # it parsed before (a record exists); whatever was decoded is still found
    return ({k: v for k, v in found.items() if k in wanted},
            f"bytes_not_found: not decodable from the {landing.payload_format} payload")


def take_polled_attachment(
    store: OperationalStore, intake: AttachmentIntake, landing_id: str, attachment: Mapping[str, Any], content: bytes
) -> list[dict[str, Any]]:
    """Take in one attachment downloaded while its delivery is polled; polling the delivery again
    takes nothing twice, and the per-message limit counts the attachments taken before it."""
    recorded = read_attachments(store, [landing_id]).get(landing_id, [])
    digest = hashlib.sha256(content).hexdigest()
    if any(row["sha256"] == digest and row["scan_status"] != ERROR for row in recorded):
        return []
    others = [row for row in recorded if row["sha256"] != digest]
    kept = sum(row["size"] for row in others if row["status"] in (STORED, QUARANTINED))
    position = next((row["position"] for row in recorded if row["sha256"] == digest),
                    max((row["position"] + 1 for row in recorded), default=0))
    rows = intake.take(landing_id, [(attachment, content)], kept_bytes=kept, first_position=position)
    record_attachments(store, rows)
    return rows


def _needs_intake(listed: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> bool:
    done = {row["sha256"] for row in recorded if row["scan_status"] != ERROR}
    return any(a["sha256"] not in done for a in listed)
