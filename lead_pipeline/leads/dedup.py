"""Collapse deliveries into leads.

A lead is one inquiry from one person. Two deliveries are the same lead when they share
(message_id, sender_email) (redelivery, reply-all copy) or (sender_email, content_hash)
(the same text sent again or forwarded). Lead ids are derived from content, never from
processing order, so any re-run or backfill order yields the same ids.
"""

from __future__ import annotations

import hashlib

import numpy as np
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


def _str_columns(frame: pd.DataFrame, columns: list[str]) -> list[list[str]] | None:
    """The columns as lists of str, or None when a value is missing or not a str.

    The fast paths below sort and group such lists in Python, which orders str exactly as
    pandas does (code point order) but knows nothing of pandas' rules for missing values.
    """
    lists = []
    for column in columns:
        values = frame[column]
        if values.isna().any() or pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None
        lists.append(values.tolist())
    return lists


def _order(*keys: list[str]) -> np.ndarray:
    """Positions sorting the rows by the keys (stable, like pandas' multi-column sort)."""
    rows = list(zip(*keys))
    return np.array(sorted(range(len(rows)), key=rows.__getitem__), dtype=np.intp)


def assign_lead_ids(candidates: pd.DataFrame, known: pd.DataFrame) -> pd.Series:
    """Lead id per candidate row (index-aligned).

    `known` holds (message_id, sender_email, lead_id) already assigned in the store: a message
    keeps the lead it was first given even if its text is later re-cleaned differently.
    """
    if candidates.empty:
        return pd.Series([], index=candidates.index, dtype="object")
    columns = _str_columns(candidates, ["received_at", "landing_id", "message_id", "sender_email"])
    if columns is None or not candidates.index.is_unique:
        assigned = _first_of_message_frames(candidates)
    else:
        received, landing, messages, senders = columns
        sha256 = hashlib.sha256  # natural_lead_id, inlined: one call per row adds up
        natural = [sha256(f"{s}\n{h}".encode()).hexdigest()[:32]
                   for s, h in zip(senders, candidates["content_hash"].tolist(), strict=True)]
        # Within the batch, all copies of a (message_id, sender) follow its earliest copy.
        first: dict[tuple[str, str], str] = {}
        for row in _order(received, landing).tolist():
            first.setdefault((messages[row], senders[row]), natural[row])
        assigned = pd.Series([first[key] for key in zip(messages, senders)], index=candidates.index, dtype=object,
                             name="natural")
    if not known.empty:
        keys = pd.MultiIndex.from_frame(candidates[["message_id", "sender_email"]])
        lookup = known.drop_duplicates(["message_id", "sender_email"]).set_index(["message_id", "sender_email"])["lead_id"]
        prior = pd.Series(lookup.reindex(keys).to_numpy(), index=candidates.index)
        assigned = prior.where(prior.notna(), assigned)
    return assigned.astype("object")


def _first_of_message_frames(candidates: pd.DataFrame) -> pd.Series:
    """`assign_lead_ids` within the batch with pandas' handling of missing keys."""
    natural = pd.Series(
        [natural_lead_id(s, h) for s, h in zip(candidates["sender_email"], candidates["content_hash"], strict=True)],
        index=candidates.index,
    )
    ordered = candidates.assign(natural=natural).sort_values(["received_at", "landing_id"])
    first_of_message = ordered.groupby(["message_id", "sender_email"], sort=False)["natural"].transform("first")
    return first_of_message.reindex(candidates.index)


def build_leads(deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per lead from all its deliveries (candidate columns plus `lead_id`).

    The earliest delivery represents the lead; `duplicate_count` is how many more copies arrived.
    """
    if deliveries.empty:
        return pd.DataFrame(columns=LEAD_COLUMNS)
    columns = _str_columns(deliveries, ["lead_id", "received_at", "landing_id"])
    if columns is None:
        ordered = deliveries.sort_values(["lead_id", "received_at", "landing_id"])
        first = ordered.groupby("lead_id", sort=True).head(1).set_index("lead_id")
        copies = ordered.groupby("lead_id", sort=True).size()
    else:
        # Sorted by lead, each lead's rows are a run: its first row represents it, the run's
        # length counts its copies.
        order = _order(*columns)
        lead_ids = np.asarray(columns[0], dtype=object)[order]
        starts = np.flatnonzero(np.concatenate(([True], lead_ids[1:] != lead_ids[:-1])))
        kept = [c for c in LEAD_COLUMNS if c not in ("duplicate_count", "status")]
        first = deliveries[kept].take(order[starts]).set_index("lead_id")
        copies = pd.Series(np.diff(np.append(starts, len(order))), index=first.index)
    leads = first.assign(duplicate_count=(copies - 1).astype(int), status="new").reset_index()
    return leads[LEAD_COLUMNS]


def build_contacts(leads: pd.DataFrame) -> pd.DataFrame:
    """One contact per sender address from all their leads: each lead is a touch; the latest known details win."""
    if leads.empty:
        return pd.DataFrame(columns=CONTACT_COLUMNS)
    columns = _str_columns(leads, ["sender_email", "received_at", "lead_id"])
    if columns is None:
        return _contacts_frames(leads)
    senders, received, lead_ids = columns
    order = _order(senders, received, lead_ids)
    emails = np.asarray(senders, dtype=object)[order]
    starts = np.flatnonzero(np.concatenate(([True], emails[1:] != emails[:-1])))
    ends = np.append(starts[1:], len(order)) - 1
    positions = np.arange(len(order))

    def last_known(column: str) -> np.ndarray:
        # The last non-missing value of each sender's run (what groupby's last() gives).
        values = leads[column].to_numpy(dtype=object)[order]
        last = np.maximum.accumulate(np.where(pd.isna(values), -1, positions))[ends]
        found = last >= starts
        picked = np.empty(len(starts), dtype=object)
        picked[found] = values[last[found]]
        return picked

    received_sorted = np.asarray(received, dtype=object)[order]
    contacts = pd.DataFrame({
        "contact_email": emails[starts],
        "name": last_known("sender_name"),
        "company": last_known("company"),
        "company_domain": last_known("company_domain"),
        "phone": last_known("phone"),
        "role": last_known("role"),
        # Within a sender's run arrivals ascend: the first is the earliest, the last the latest.
        "first_seen_at": received_sorted[starts],
        "last_seen_at": received_sorted[ends],
        "touches": ends - starts + 1,
        "latest_lead_id": np.asarray(lead_ids, dtype=object)[order][ends],
    }, dtype=object)
    return contacts  # object columns already, and nothing missing but the None of unknown details


def _contacts_frames(leads: pd.DataFrame) -> pd.DataFrame:
    """`build_contacts` with pandas' handling of missing keys."""
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
