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
    "budget_amount", "budget_currency", "timeline", "team_size", "landing_id", "duplicate_count", "status",
]
CONTACT_COLUMNS = [
    "contact_email", "name", "company", "company_domain", "phone", "role", "first_seen_at", "last_seen_at",
    "touches", "latest_lead_id",
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


def build_contacts(leads: pd.DataFrame) -> pd.DataFrame:
    """One contact per sender address from all their leads: each lead is a touch; the latest known details win."""
    if leads.empty:
        return pd.DataFrame(columns=CONTACT_COLUMNS)
    ordered = leads.sort_values(["sender_email", "received_at", "lead_id"])
    grouped = ordered.groupby("sender_email", sort=True)
    details = grouped[["sender_name", "company", "company_domain", "phone", "role"]].last()  # last non-null
    contacts = pd.DataFrame({
        "contact_email": details.index,
        "name": details["sender_name"].to_numpy(),
        "company": details["company"].to_numpy(),
        "company_domain": details["company_domain"].to_numpy(),
        "phone": details["phone"].to_numpy(),
        "role": details["role"].to_numpy(),
        "first_seen_at": grouped["received_at"].min().to_numpy(),
        "last_seen_at": grouped["received_at"].max().to_numpy(),
        "touches": grouped.size().to_numpy(),
        "latest_lead_id": grouped["lead_id"].last().to_numpy(),
    })
    return contacts.astype(object).where(contacts.notna(), None)
