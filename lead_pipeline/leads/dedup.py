"""Collapse deliveries into leads.

A lead is one inquiry from one person. Two deliveries are the same lead when they share
(message_id, sender_email) (redelivery, reply-all copy) or (sender_email, content_hash)
(the same text sent again or forwarded). Lead ids are derived from content, never from
processing order, so any re-run or backfill order yields the same ids.
"""

from __future__ import annotations

import hashlib

import pandas as pd

LEAD_COLUMNS = [
    "lead_id", "message_id", "sender_email", "sender_name", "forwarded_by", "company", "company_domain",
    "phone", "role", "subject", "source_alias", "received_at", "received_date", "content_hash", "intent",
    "landing_id", "duplicate_count", "status",
]


def natural_lead_id(sender_email: str, content_hash: str) -> str:
    return hashlib.sha256(f"{sender_email}\n{content_hash}".encode()).hexdigest()[:32]


def assign_lead_ids(candidates: pd.DataFrame, known: pd.DataFrame) -> pd.Series:
    """Lead id per candidate row (index-aligned).

    `known` holds (message_id, sender_email, lead_id) already assigned in the store: a message
    keeps the lead it was first given even if its text is later re-cleaned differently.
    """
    if candidates.empty:
        return pd.Series([], index=candidates.index, dtype="object")
    natural = pd.Series(
        [natural_lead_id(s, h) for s, h in zip(candidates["sender_email"], candidates["content_hash"], strict=True)],
        index=candidates.index,
    )
    ordered = candidates.assign(natural=natural).sort_values(["received_at", "landing_id"])
    # Within the batch, all copies of a (message_id, sender) follow its earliest copy.
    first_of_message = ordered.groupby(["message_id", "sender_email"], sort=False)["natural"].transform("first")
    assigned = first_of_message.reindex(candidates.index)
    if not known.empty:
        keys = pd.MultiIndex.from_frame(candidates[["message_id", "sender_email"]])
        lookup = known.drop_duplicates(["message_id", "sender_email"]).set_index(["message_id", "sender_email"])["lead_id"]
        prior = pd.Series(lookup.reindex(keys).to_numpy(), index=candidates.index)
        assigned = prior.where(prior.notna(), assigned)
    return assigned.astype("object")


def build_leads(deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per lead from all its deliveries (candidate columns plus `lead_id`).

    The earliest delivery represents the lead; `duplicate_count` is how many more copies arrived.
    """
    if deliveries.empty:
        return pd.DataFrame(columns=LEAD_COLUMNS)
    ordered = deliveries.sort_values(["lead_id", "received_at", "landing_id"])
    first = ordered.groupby("lead_id", sort=True).head(1).set_index("lead_id")
    copies = ordered.groupby("lead_id", sort=True).size()
    leads = first.assign(duplicate_count=(copies - 1).astype(int), status="new").reset_index()
    return leads[LEAD_COLUMNS]
