"""The publish ledger and the nurture list in the operational store (SQLite or PostgreSQL).

One ledger row per (lead, channel), channel ∈ {crm, slack, helpdesk}. States:

* `recorded_unsent` — the channel is not configured: `payload` holds what would be sent. Such rows are
  sent (claimed like `failed` ones) once the channel is configured.
* `pending` — claimed by one publishing call (`claim_token`, `claimed_at`) before any outbound request.
  Only the caller holding the token may mark it `failed`; a claim older than the caller's lease is stale
  (its run died) and may be claimed again.
* `sent` — published; `first_sent_at`, `score_at_publish`, `route_at_publish` and the external ids say
  when, why and where. Never leaves `sent`: when the lead later stops qualifying, `flag_reason` and
  `flagged_at` are set (and cleared if it qualifies again). Nothing is ever un-published silently.
* `failed` — the last attempt failed (`last_error`, `attempts`); claimed and retried by the next call.
* `flagged` — the outcome of a send is unknown and re-sending could duplicate it (a Slack message whose
  answer was lost, or whose run died mid-send): left for a person, never retried automatically.

Every write is a single statement over the primary key guarded by the current state, so concurrent
publishers (two Dagster runs) and re-runs cannot move a row backwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import WRITE_CHUNK, OperationalStore, _chunks, _frame

CRM, SLACK, HELPDESK = "crm", "slack", "helpdesk"
CHANNELS = (CRM, SLACK, HELPDESK)
PENDING, SENT, FAILED, RECORDED_UNSENT, FLAGGED = "pending", "sent", "failed", "recorded_unsent", "flagged"
STATES = (PENDING, SENT, FAILED, RECORDED_UNSENT, FLAGGED)

__all__ = [
    "CHANNELS", "CRM", "FAILED", "FLAGGED", "HELPDESK", "LedgerItem", "PENDING", "RECORDED_UNSENT", "SENT",
    "SLACK", "STATES", "claim", "clear_flags", "flag_sent", "ledger_rows", "ledger_summary", "mark_failed",
    "mark_sent", "mark_unknown", "read_ledger", "read_nurture_list", "record_unsent", "remove_from_nurture",
    "stamp", "upsert_nurture",
]


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC, second precision: the store's timestamp format (sorts as text)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class LedgerItem:
    """What one channel would send for one lead."""

    lead_id: str
    payload: Mapping[str, Any]
    score: int | None
    route: str | None

    def payload_json(self) -> str:
        return json.dumps(self.payload, sort_keys=True, ensure_ascii=False, default=str)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown publish channel {channel!r}; expected one of {', '.join(CHANNELS)}")


# -- reads ------------------------------------------------------------------------------------


def read_ledger(store: OperationalStore, *, channel: str | None = None,
                lead_ids: Sequence[str] | None = None) -> pd.DataFrame:
    t = schema.publish_ledger
    base = sa.select(t).order_by(t.c.lead_id, t.c.channel)
    if channel is not None:
        _check_channel(channel)
        base = base.where(t.c.channel == channel)
    with store.engine.connect() as conn:
        if lead_ids is None:
            return _frame(conn.execute(base))
        frames = [_frame(conn.execute(base.where(t.c.lead_id.in_(chunk))))
                  for chunk in _chunks(sorted(set(lead_ids)), WRITE_CHUNK)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[c.name for c in t.c])
    return pd.concat(frames, ignore_index=True).sort_values(["lead_id", "channel"], ignore_index=True)


def ledger_rows(store: OperationalStore, channel: str, lead_ids: Sequence[str]) -> dict[str, sa.Row]:
    """lead_id → ledger row of one channel, for the leads that have one."""
    _check_channel(channel)
    t = schema.publish_ledger
    found: dict[str, sa.Row] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(sorted(set(lead_ids)), WRITE_CHUNK):
            stmt = sa.select(t).where(t.c.channel == channel, t.c.lead_id.in_(chunk))
            found.update({row.lead_id: row for row in conn.execute(stmt)})
    return found


def ledger_summary(store: OperationalStore) -> dict[str, dict[str, int]]:
    """channel → state → rows, plus `flagged_sent` for sent rows carrying a flag."""
    t = schema.publish_ledger
    out: dict[str, dict[str, int]] = {c: {} for c in CHANNELS}
    with store.engine.connect() as conn:
        for channel, state, count in conn.execute(
            sa.select(t.c.channel, t.c.state, sa.func.count()).group_by(t.c.channel, t.c.state)
        ):
            out.setdefault(channel, {})[state] = int(count)
        for channel, count in conn.execute(
            sa.select(t.c.channel, sa.func.count())
            .where(t.c.state == SENT, t.c.flag_reason.is_not(None))
            .group_by(t.c.channel)
        ):
            out.setdefault(channel, {})["flagged_sent"] = int(count)
    return out


# -- writes -----------------------------------------------------------------------------------


def record_unsent(store: OperationalStore, channel: str, items: Sequence[LedgerItem], now: datetime) -> int:
    """The channel is unconfigured: record what would be sent. New rows become `recorded_unsent`; rows already
    `recorded_unsent` get the current payload; rows in any other state are left alone. Returns rows written."""
    _check_channel(channel)
    if not items:
        return 0
    t, ts = schema.publish_ledger, stamp(now)
    new = [
        {"lead_id": i.lead_id, "channel": channel, "state": RECORDED_UNSENT, "payload": i.payload_json(),
         "attempts": 0, "updated_at": ts, "score_at_publish": i.score, "route_at_publish": i.route}
        for i in items
    ]
    refresh = (
        sa.update(t)
        .where(t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, t.c.state == RECORDED_UNSENT,
               t.c.payload != sa.bindparam("new_payload"))
        .values(payload=sa.bindparam("new_payload"), score_at_publish=sa.bindparam("score"),
                route_at_publish=sa.bindparam("route"), updated_at=ts)
    )
    written = 0
    with store.engine.begin() as conn:
        existing = set(_existing(conn, channel, [i.lead_id for i in items]))
        store._insert(conn, t, [r for r in new if r["lead_id"] not in existing], conflict=["lead_id", "channel"])
        written += len([r for r in new if r["lead_id"] not in existing])
        params = [{"key": i.lead_id, "new_payload": i.payload_json(), "score": i.score, "route": i.route}
                  for i in items if i.lead_id in existing]
        for chunk in _chunks(params, WRITE_CHUNK):
            written += conn.execute(refresh, list(chunk)).rowcount or 0
    return written


def claim(store: OperationalStore, channel: str, items: Sequence[LedgerItem], *, now: datetime, token: str,
          stale_before: datetime | None) -> set[str]:
    """Claim leads for one publishing call before anything is sent; returns the lead ids this call now owns.

    A lead is claimable when it has no row yet, or its row is `failed` or `recorded_unsent`, or `pending`
    with `claimed_at` before `stale_before` (its run died; None: stale claims are never taken over).
    `sent` and `flagged` rows are never claimed. Each claim counts one attempt and stores the payload.
    """
    _check_channel(channel)
    if not items:
        return set()
    t, ts = schema.publish_ledger, stamp(now)
    new = [
        {"lead_id": i.lead_id, "channel": channel, "state": PENDING, "claim_token": token, "claimed_at": ts,
         "payload": i.payload_json(), "attempts": 1, "updated_at": ts, "score_at_publish": i.score,
         "route_at_publish": i.route}
        for i in items
    ]
    claimable = (t.c.state == FAILED) | (t.c.state == RECORDED_UNSENT)  # no IN: executemany can't expand it
    if stale_before is not None:
        claimable = claimable | ((t.c.state == PENDING) & (t.c.claimed_at < stamp(stale_before)))
    take = (
        sa.update(t)
        .where(t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, claimable)
        .values(state=PENDING, claim_token=token, claimed_at=ts, attempts=t.c.attempts + 1,
                payload=sa.bindparam("new_payload"), score_at_publish=sa.bindparam("score"),
                route_at_publish=sa.bindparam("route"), updated_at=ts)
    )
    ids = [i.lead_id for i in items]
    with store.engine.begin() as conn:
        store._insert(conn, t, new, conflict=["lead_id", "channel"])  # rows that did not exist: ours now
        params = [{"key": i.lead_id, "new_payload": i.payload_json(), "score": i.score, "route": i.route}
                  for i in items]
        for chunk in _chunks(params, WRITE_CHUNK):
            conn.execute(take, list(chunk))
        owned: set[str] = set()
        for chunk in _chunks(ids, WRITE_CHUNK):
            owned.update(conn.execute(
                sa.select(t.c.lead_id).where(t.c.channel == channel, t.c.lead_id.in_(chunk),
                                             t.c.state == PENDING, t.c.claim_token == token)
            ).scalars())
    return owned


def mark_sent(store: OperationalStore, channel: str, results: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Record successful sends: each result has `lead_id` and optionally `crm_contact_id`, `crm_deal_id`,
    `ticket_id`. Written whoever holds the claim (the external object exists either way); a row already
    `sent` keeps its first ids and `first_sent_at`."""
    _check_channel(channel)
    if not results:
        return
    t, ts = schema.publish_ledger, stamp(now)
    stmt = (
        sa.update(t)
        .where(t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, t.c.state != SENT)
        .values(state=SENT, claim_token=None, last_error=None, updated_at=ts,
                first_sent_at=sa.func.coalesce(t.c.first_sent_at, ts),
                crm_contact_id=sa.bindparam("contact_id"), crm_deal_id=sa.bindparam("deal_id"),
                ticket_id=sa.bindparam("ticket"))
    )
    params = [{"key": r["lead_id"], "contact_id": r.get("crm_contact_id"), "deal_id": r.get("crm_deal_id"),
               "ticket": r.get("ticket_id")} for r in results]
    with store.engine.begin() as conn:
        for chunk in _chunks(params, WRITE_CHUNK):
            conn.execute(stmt, list(chunk))


def mark_failed(store: OperationalStore, channel: str, errors: Mapping[str, str], now: datetime, token: str) -> None:
    """Record failed attempts of the leads this call claimed (`token`); they are claimed again next call."""
    _set_from_claim(store, channel, errors, now, token, state=FAILED)


def mark_unknown(store: OperationalStore, channel: str, reasons: Mapping[str, str], now: datetime, *,
                 token: str | None = None, stale_before: datetime | None = None) -> None:
    """The send may or may not have happened and must not be repeated automatically: state `flagged`.
    Either this call's own claims (`token`) or the `pending` rows of dead runs (claimed before `stale_before`)."""
    if (token is None) == (stale_before is None):
        raise ValueError("pass exactly one of token (own claims) or stale_before (dead runs' claims)")
    _set_from_claim(store, channel, reasons, now, token, state=FLAGGED, stale_before=stale_before)


def _set_from_claim(store: OperationalStore, channel: str, messages: Mapping[str, str], now: datetime,
                    token: str | None, *, state: str, stale_before: datetime | None = None) -> None:
    _check_channel(channel)
    if not messages:
        return
    t, ts = schema.publish_ledger, stamp(now)
    guard = [t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, t.c.state == PENDING]
    if token is not None:
        guard.append(t.c.claim_token == token)
    if stale_before is not None:
        guard.append(t.c.claimed_at < stamp(stale_before))
    values: dict[str, Any] = {"state": state, "claim_token": None, "last_error": sa.bindparam("message"),
                              "updated_at": ts}
    if state == FLAGGED:
        values |= {"flag_reason": sa.bindparam("message"), "flagged_at": ts}
    stmt = sa.update(t).where(*guard).values(**values)
    params = [{"key": lead_id, "message": _clip(message)} for lead_id, message in messages.items()]
    with store.engine.begin() as conn:
        for chunk in _chunks(params, WRITE_CHUNK):
            conn.execute(stmt, list(chunk))


def flag_sent(store: OperationalStore, channel: str, reasons: Mapping[str, str], now: datetime) -> list[str]:
    """Flag published leads that no longer qualify (state stays `sent`). Returns the leads whose flag is new
    or whose reason changed; an unchanged flag is not rewritten."""
    _check_channel(channel)
    if not reasons:
        return []
    t, ts = schema.publish_ledger, stamp(now)
    stmt = (
        sa.update(t)
        .where(t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, t.c.state == SENT,
               sa.or_(t.c.flag_reason.is_(None), t.c.flag_reason != sa.bindparam("reason")))
        .values(flag_reason=sa.bindparam("reason"), flagged_at=ts, updated_at=ts)
    )
    changed: list[str] = []
    with store.engine.begin() as conn:
        for lead_id, reason in sorted(reasons.items()):
            if conn.execute(stmt, {"key": lead_id, "reason": _clip(reason)}).rowcount:
                changed.append(lead_id)
    return changed


def clear_flags(store: OperationalStore, channel: str, lead_ids: Sequence[str], now: datetime) -> list[str]:
    """A flagged `sent` lead qualifies again: clear its flag. Returns the leads cleared."""
    _check_channel(channel)
    t, ts = schema.publish_ledger, stamp(now)
    stmt = (
        sa.update(t)
        .where(t.c.lead_id == sa.bindparam("key"), t.c.channel == channel, t.c.state == SENT,
               t.c.flag_reason.is_not(None))
        .values(flag_reason=None, flagged_at=None, updated_at=ts)
    )
    cleared: list[str] = []
    with store.engine.begin() as conn:
        for lead_id in sorted(set(lead_ids)):
            if conn.execute(stmt, {"key": lead_id}).rowcount:
                cleared.append(lead_id)
    return cleared


def _existing(conn: sa.Connection, channel: str, lead_ids: Sequence[str]) -> list[str]:
    t = schema.publish_ledger
    found: list[str] = []
    for chunk in _chunks(sorted(set(lead_ids)), WRITE_CHUNK):
        found.extend(conn.execute(
            sa.select(t.c.lead_id).where(t.c.channel == channel, t.c.lead_id.in_(chunk))
        ).scalars())
    return found


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- nurture list -----------------------------------------------------------------------------


def upsert_nurture(store: OperationalStore, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Add nurture leads (`lead_id`, `email`, `name`, `company`); a lead already listed keeps its `added_at`
    and gets the current contact fields. Returns how many leads were new to the list."""
    if not rows:
        return 0
    t, ts = schema.nurture_list, stamp(now)
    values = [{"lead_id": r["lead_id"], "email": r["email"], "name": r.get("name"), "company": r.get("company"),
               "added_at": ts} for r in rows]
    with store.engine.begin() as conn:
        before = set(_nurture_ids(conn, [r["lead_id"] for r in values]))
        store._insert(conn, t, values, conflict=["lead_id"], update=["email", "name", "company"])
    return len({r["lead_id"] for r in values} - before)


def remove_from_nurture(store: OperationalStore, lead_ids: Sequence[str]) -> int:
    """Take leads off the list (their route is no longer nurture). Returns how many were listed."""
    t = schema.nurture_list
    removed = 0
    with store.engine.begin() as conn:
        for chunk in _chunks(sorted(set(lead_ids)), WRITE_CHUNK):
            removed += conn.execute(sa.delete(t).where(t.c.lead_id.in_(chunk))).rowcount or 0
    return removed


def read_nurture_list(store: OperationalStore) -> pd.DataFrame:
    t = schema.nurture_list
    with store.engine.connect() as conn:
        return _frame(conn.execute(sa.select(t).order_by(t.c.added_at, t.c.lead_id)))


def _nurture_ids(conn: sa.Connection, lead_ids: Sequence[str]) -> list[str]:
    t = schema.nurture_list
    found: list[str] = []
    for chunk in _chunks(sorted(set(lead_ids)), WRITE_CHUNK):
        found.extend(conn.execute(sa.select(t.c.lead_id).where(t.c.lead_id.in_(chunk))).scalars())
    return found
