"""Tables of the operational store, portable across SQLite and PostgreSQL.

Timestamps are RFC 3339 UTC strings and days are ISO dates, so both engines compare and index
them the same way; unique constraints, not application checks, make every write idempotent.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

landing = sa.Table(
    "landing",
    metadata,
    sa.Column("landing_id", sa.String(40), primary_key=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("source_alias", sa.Text, nullable=True),
    # What makes two deliveries the same one: the provider's event id, else the raw bytes' sha256.
    sa.Column("delivery_key", sa.String(200), nullable=False),
    sa.Column("payload_format", sa.String(32), nullable=False),
    sa.Column("raw_sha256", sa.String(64), nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.Column("received_date", sa.String(10), nullable=False, index=True),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("landed_at", sa.String(32), nullable=False),
    # hmac_verified, secret_verified, fetched_with_token or unsigned (lead_pipeline.ingest.landing).
    sa.Column("signature_verification", sa.String(32), nullable=True),
    sa.UniqueConstraint("source", "delivery_key", name="uq_landing_source_delivery"),
)

# Where each polled stream has got to; advanced only after its page is landed.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("stream", sa.String(200), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("dead_letter_id", sa.String(40), primary_key=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("landing_id", sa.String(40), nullable=True, index=True),
    sa.Column("source_alias", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_ref", sa.Text, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=True),
    sa.Column("received_date", sa.String(10), nullable=False, index=True),
    sa.Column("failed_at", sa.String(32), nullable=False),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("landing_id", sa.String(40), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False, index=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("source_alias", sa.Text, nullable=True),
    sa.Column("sender_email", sa.Text, nullable=False),
    sa.Column("sender_name", sa.Text, nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.Column("received_date", sa.String(10), nullable=False, index=True),
    sa.Column("reply_text", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("record", sa.Text, nullable=False),  # the whole parsed message as JSON
    sa.Column("parsed_at", sa.String(32), nullable=False),
)

def _lead_fields() -> list[sa.Column]:
    """Who and what a lead is; shared by candidates (one per delivery) and leads (one per inquiry)."""
    return [
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("sender_email", sa.Text, nullable=False),
        sa.Column("sender_name", sa.Text, nullable=True),
        sa.Column("forwarded_by", sa.Text, nullable=True),
        sa.Column("company", sa.Text, nullable=True),
        sa.Column("company_domain", sa.Text, nullable=True),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("role", sa.Text, nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("source_alias", sa.Text, nullable=True),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("received_date", sa.String(10), nullable=False, index=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("budget_amount", sa.Float, nullable=True),
        sa.Column("budget_currency", sa.String(3), nullable=True),
        sa.Column("timeline", sa.String(16), nullable=True),
        sa.Column("team_size", sa.Integer, nullable=True),
    ]


lead_candidates = sa.Table(
    "lead_candidates",
    metadata,
    sa.Column("landing_id", sa.String(40), primary_key=True),
    *_lead_fields(),
    sa.Column("features", sa.Text, nullable=False),  # JSON of the signals scoring rules may use
)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("lead_id", sa.String(40), primary_key=True),
    *_lead_fields(),
    sa.Column("landing_id", sa.String(40), nullable=False),  # the earliest delivery
    sa.Column("duplicate_count", sa.Integer, nullable=False),
    sa.Column("score", sa.Integer, nullable=True),
    sa.Column("score_breakdown", sa.Text, nullable=True),
    sa.Column("route", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    # Provenance: the raw delivery behind `landing_id` (with `message_id`), so any lead traces to its bytes.
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("parsed_at", sa.String(32), nullable=True),
    sa.Column("signature_verification", sa.String(32), nullable=True),
    sa.Column("raw_sha256", sa.String(64), nullable=True),
    sa.UniqueConstraint("message_id", "sender_email", name="uq_leads_message_sender"),
    # Deduplication reads every lead of the senders it sees (their contacts): by index, not by a scan.
    sa.Index("ix_leads_sender_email", "sender_email"),
)

# Every rules file that was accepted; the latest is what scoring falls back to when an edit is broken.
scoring_rules = sa.Table(
    "scoring_rules",
    metadata,
    sa.Column("rules_sha256", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("accepted_at", sa.String(32), nullable=False),
)

# Answers of the HTTP enrichment provider per company domain, failures included (retried after a while).
enrichment_cache = sa.Table(
    "enrichment_cache",
    metadata,
    sa.Column("domain", sa.Text, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # found, not_found, failed
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("fetched_at", sa.String(32), nullable=False),
)

# One row per person: every lead from the same normalised address is a touch on one contact.
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("contact_email", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("company", sa.Text, nullable=True),
    sa.Column("company_domain", sa.Text, nullable=True),
    sa.Column("phone", sa.Text, nullable=True),
    sa.Column("role", sa.Text, nullable=True),
    sa.Column("first_seen_at", sa.String(32), nullable=False),
    sa.Column("last_seen_at", sa.String(32), nullable=False),
    sa.Column("touches", sa.Integer, nullable=False),
    sa.Column("latest_lead_id", sa.String(40), nullable=False),
)

lead_deliveries = sa.Table(
    "lead_deliveries",
    metadata,
    sa.Column("landing_id", sa.String(40), primary_key=True),
    sa.Column("lead_id", sa.String(40), nullable=False, index=True),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("sender_email", sa.Text, nullable=False),
    sa.Column("received_date", sa.String(10), nullable=False, index=True),
    sa.Index("ix_lead_deliveries_message_sender", "message_id", "sender_email"),
)

# -- publishing (lead_pipeline/publish, lead_pipeline/stores/publishing.py) --------------------

# One row per (lead, channel) ever published or due to be: what was (or would be) sent, where it went,
# and in which state. Rows are claimed (`pending` + `claim_token`) before any outbound call, so two
# runs never publish the same lead at once; a `sent` row is never un-sent, only flagged (`flag_reason`).
publish_ledger = sa.Table(
    "publish_ledger",
    metadata,
    sa.Column("lead_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),  # crm, slack, helpdesk
    sa.Column("state", sa.String(16), nullable=False, index=True),  # pending, sent, failed, recorded_unsent, flagged
    sa.Column("claim_token", sa.String(40), nullable=True),
    sa.Column("claimed_at", sa.String(32), nullable=True),
    sa.Column("crm_contact_id", sa.Text, nullable=True),
    sa.Column("crm_deal_id", sa.Text, nullable=True),
    sa.Column("ticket_id", sa.Text, nullable=True),
    sa.Column("payload", sa.Text, nullable=True),  # JSON of what was (or would be) sent
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("first_sent_at", sa.String(32), nullable=True),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("score_at_publish", sa.Integer, nullable=True),
    sa.Column("route_at_publish", sa.String(16), nullable=True),
    sa.Column("flag_reason", sa.Text, nullable=True),  # set while a published lead no longer qualifies
    sa.Column("flagged_at", sa.String(32), nullable=True),
)

# Leads routed to nurture, for the marketing list.
nurture_list = sa.Table(
    "nurture_list",
    metadata,
    sa.Column("lead_id", sa.String(40), primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("company", sa.Text, nullable=True),
    sa.Column("added_at", sa.String(32), nullable=False),
)

# One row per distinct attachment of a delivery (stores/attachments.py): the bytes live in the blob
# store by sha256, only this metadata here. `status`: stored | quarantined | rejected | missing.
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("landing_id", sa.String(40), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),  # sanitised
    sa.Column("original_filename", sa.Text, nullable=True),
    sa.Column("content_type", sa.Text, nullable=True),  # as declared
    sa.Column("sniffed_content_type", sa.Text, nullable=True),
    sa.Column("content_type_mismatch", sa.Boolean, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("scan_status", sa.String(16), nullable=False),
    sa.Column("scan_detail", sa.Text, nullable=True),
    sa.Column("processed_at", sa.String(32), nullable=False),
)

# -- compliance (lead_pipeline/compliance) -----------------------------------------------------

# Subject access and erasure requests. The clear address lives here only while the request is pending
# (the CLI files it, the Dagster job reads it by `request_id`), so it never enters run config or logs.
subject_requests = sa.Table(
    "subject_requests",
    metadata,
    sa.Column("request_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # export, erase
    sa.Column("email_hash", sa.String(64), nullable=False),  # keyed hash, see compliance/identity.py
    sa.Column("email", sa.Text, nullable=True),  # cleared when the request completes
    sa.Column("output_path", sa.Text, nullable=True),  # where an export is written
    sa.Column("status", sa.String(16), nullable=False),  # pending, completed
    sa.Column("result", sa.Text, nullable=True),  # JSON: rows per store and table, never an address
    # Why the last attempt failed, without the address: Dagster hides step errors (redacted user code
    # errors), and whoever filed the request still needs the reason.
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("requested_at", sa.String(32), nullable=False),
    sa.Column("completed_at", sa.String(32), nullable=True),
)

# Everyone erased, as a keyed hash only: a later delivery from them is recognised, never re-identified.
erasure_log = sa.Table(
    "erasure_log",
    metadata,
    sa.Column("email_hash", sa.String(64), primary_key=True),
    sa.Column("first_erased_at", sa.String(32), nullable=False),
    sa.Column("last_erased_at", sa.String(32), nullable=False),
    sa.Column("erasures", sa.Integer, nullable=False),
)

# Deliveries removed by erasure or retention: landing skips them, so a mailbox still holding the
# message (or a replayed webhook) cannot bring them back. The id is the delivery's landing id, or
# the dead-letter id of a delivery rejected before landing; both are hashes of the delivery key.
landing_tombstones = sa.Table(
    "landing_tombstones",
    metadata,
    sa.Column("delivery_id", sa.String(40), primary_key=True),
    sa.Column("reason", sa.String(16), nullable=False),  # erasure, retention
    sa.Column("removed_at", sa.String(32), nullable=False),
)
