"""Publish scored leads: CRM (HubSpot), Slack sales alerts, helpdesk tickets, the nurture list.

`publish_leads` is the one entry point; it is idempotent through the publish ledger
(`lead_pipeline.stores.publishing`), so any number of calls over any overlapping sets of leads publish each
lead at most once per channel:

* route `crm` → contact (upserted by email) and deal (unique `lead_pipeline_lead_id`) in HubSpot; CRM
  unconfigured → ledger rows `recorded_unsent` holding the payload, sent once CRM_API_URL is set.
* route `crm` and score ≥ `alert_threshold` → one Slack alert, ever.
* route `support` → one helpdesk ticket.
* route `nurture` → a `nurture_list` row (removed when a later score routes the lead elsewhere).
* a lead `sent` to a channel it no longer qualifies for (route changed, score dropped) stays `sent` and is
  flagged with the reason; the flag clears if it qualifies again.
* failures are recorded per lead (`failed`, `last_error`) and retried by the next call; claims of runs that
  died are taken over after `claim_ttl` (for Slack, whose messages cannot be deduplicated, such a claim is
  flagged for a person instead of re-sent).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from lead_pipeline.logs import redact
from lead_pipeline.publish import payloads
from lead_pipeline.publish.helpdesk import HelpdeskError, HelpdeskUnavailable, HelpdeskWebhook, build_ticket
from lead_pipeline.publish.hubspot import (
    BATCH_LIMIT,
    CrmAuthError,
    CrmError,
    CrmRequestError,
    CrmUnavailable,
    HubSpotClient,
    crm_record,
)
from lead_pipeline.publish.http import PublishHttpError
from lead_pipeline.publish.slack import SlackError, SlackOutcomeUnknown, SlackUnavailable, SlackWebhook, build_alert
from lead_pipeline.stores import publishing
from lead_pipeline.stores.operational import OperationalStore, records
from lead_pipeline.stores.publishing import (
    CRM,
    FAILED,
    FLAGGED,
    HELPDESK,
    PENDING,
    RECORDED_UNSENT,
    SENT,
    SLACK,
    LedgerItem,
)

__all__ = ["DEFAULT_ALERT_THRESHOLD", "PublishError", "PublishResult", "publish_leads"]

DEFAULT_ALERT_THRESHOLD = 60
DEFAULT_CLAIM_TTL = timedelta(minutes=15)
MAX_ERRORS_KEPT = 200  # messages in PublishResult.errors; every failure is in the ledger regardless

# Outcomes counted per channel in PublishResult.counts
SENT_NOW, FAILED_NOW, RECORDED, UNKNOWN = "sent", "failed", "recorded_unsent", "flagged"
ALREADY_SENT, IN_PROGRESS, NEEDS_PERSON = "already_sent", "in_progress", "awaiting_person"


@dataclass
class PublishResult:
    """What one call did. `counts[channel][outcome]`: leads per outcome of this call — `sent`, `failed`,
    `recorded_unsent`, `flagged` (outcome unknown, left for a person), `already_sent`, `in_progress`
    (claimed by another live run), `awaiting_person` (flagged earlier)."""

    counts: dict[str, Counter] = field(default_factory=lambda: {c: Counter() for c in publishing.CHANNELS})
    flagged: dict[str, dict[str, str]] = field(default_factory=dict)  # channel → lead → reason, new this call
    unflagged: dict[str, list[str]] = field(default_factory=dict)  # channel → leads whose flag was cleared
    nurture_added: int = 0
    nurture_removed: int = 0
    crm_requests: int = 0
    errors: list[str] = field(default_factory=list)  # per-lead and transient failures (retried next call)
    fatal: list[str] = field(default_factory=list)  # configuration problems: bad token, revoked webhook

    def count(self, channel: str, outcome: str, n: int = 1) -> None:
        if n:
            self.counts.setdefault(channel, Counter())[outcome] += n

    def as_metadata(self) -> dict[str, Any]:
        """Flat numbers for Dagster metadata."""
        out: dict[str, Any] = {}
        for channel in publishing.CHANNELS:
            for outcome, n in sorted(self.counts.get(channel, Counter()).items()):
                out[f"{channel}_{outcome}"] = int(n)
            out[f"{channel}_newly_flagged"] = len(self.flagged.get(channel, {}))
        out |= {"nurture_added": self.nurture_added, "nurture_removed": self.nurture_removed,
                "crm_requests": self.crm_requests, "errors": len(self.errors), "fatal": len(self.fatal)}
        return out


class PublishError(RuntimeError):
    """A channel is misconfigured (token refused, webhook revoked). Everything else was still published and
    recorded; `result` says what."""

    def __init__(self, result: PublishResult):
        # The message becomes the step's failure in the run logs; error bodies may quote a contact.
        super().__init__(redact("publishing needs attention: " + " | ".join(result.fatal)))
        self.result = result


def publish_leads(
    store: OperationalStore,
    leads: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    crm_client: HubSpotClient | None,
    slack: SlackWebhook | None,
    helpdesk: HelpdeskWebhook | None,
    alert_threshold: int = DEFAULT_ALERT_THRESHOLD,
    crm_threshold: int | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
    claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
    raise_on_fatal: bool = True,
) -> PublishResult:
    """Publish every scored lead of `leads` (the store's or warehouse's lead columns: `lead_id`,
    `sender_email`, `sender_name`, `company`, `company_domain`, `phone`, `role`, `subject`, `score`,
    `score_breakdown`, `route`, `received_at`/`received_date`). Unscored leads (no route) are skipped.
    A client that is None means the channel is unconfigured. `crm_threshold` (the rules' `thresholds.crm`)
    additionally flags a published lead whose score fell below it even if its route stayed `crm`.
    Raises `PublishError` at the end when a channel is misconfigured (unless `raise_on_fatal` is false)."""
    now = now or datetime.now(UTC)
    rows = _lead_rows(leads)
    result = PublishResult()
    run = _Run(store, now, uuid.uuid4().hex, now - claim_ttl, base_url, result)

    def crm_ok(lead: dict[str, Any]) -> bool:
        return lead["route"] == "crm" and (crm_threshold is None or (payloads.score_of(lead) or 0) >= crm_threshold)

    def alert_ok(lead: dict[str, Any]) -> bool:
        return lead["route"] == "crm" and (payloads.score_of(lead) or 0) >= alert_threshold

    def support_ok(lead: dict[str, Any]) -> bool:
        return lead["route"] == "support"

    run.flags(CRM, rows, crm_ok, "the CRM")
    run.flags(SLACK, rows, alert_ok, f"a sales alert (route crm, score ≥ {alert_threshold})")
    run.flags(HELPDESK, rows, support_ok, "a support ticket")

    run.crm([r for r in rows if crm_ok(r)], crm_client)
    run.slack([r for r in rows if alert_ok(r)], slack)
    run.helpdesk([r for r in rows if support_ok(r)], helpdesk)
    run.nurture(rows)

    if result.fatal and raise_on_fatal:
        raise PublishError(result)
    return result


def _lead_rows(leads: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = records(leads) if isinstance(leads, pd.DataFrame) else [dict(r) for r in leads]
    by_id: dict[str, dict[str, Any]] = {}
    for item in items:
        route = payloads.text(item, "route")
        if route is None or payloads.text(item, "lead_id") is None:
            continue  # not scored yet: nothing to publish
        item["route"], item["lead_id"] = route, str(item["lead_id"])
        by_id[item["lead_id"]] = item
    return sorted(by_id.values(), key=lambda r: (str(payloads.value(r, "received_at") or ""), str(r["lead_id"])))


@dataclass
class _Run:
    store: OperationalStore
    now: datetime
    token: str
    stale_before: datetime
    base_url: str | None
    result: PublishResult

    # -- flags on published leads ---------------------------------------------------------

    def flags(self, channel: str, rows: Sequence[dict[str, Any]], qualifies: Callable[[dict], bool],
              what: str) -> None:
        ledger = publishing.ledger_rows(self.store, channel, [r["lead_id"] for r in rows])
        reasons: dict[str, str] = {}
        requalified: list[str] = []
        for lead in rows:
            row = ledger.get(lead["lead_id"])
            if row is None or row.state != SENT:
                continue
            if qualifies(lead):
                if row.flag_reason is not None:
                    requalified.append(lead["lead_id"])
                continue
            reasons[lead["lead_id"]] = (
                f"published, but no longer qualifies for {what}: route {row.route_at_publish} → {lead['route']}, "
                f"score {row.score_at_publish} → {payloads.score_of(lead)}"
            )
        changed = publishing.flag_sent(self.store, channel, reasons, self.now)
        if changed:
            self.result.flagged[channel] = {lead_id: reasons[lead_id] for lead_id in changed}
        cleared = publishing.clear_flags(self.store, channel, requalified, self.now)
        if cleared:
            self.result.unflagged[channel] = cleared

    # -- which leads a channel works on ---------------------------------------------------

    def _due(self, channel: str, rows: Sequence[dict[str, Any]], *, retake_stale: bool,
             skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Leads not yet sent on the channel; counts those it passes over (except `skip`)."""
        ledger = publishing.ledger_rows(self.store, channel, [r["lead_id"] for r in rows])
        due = []
        stale = publishing.stamp(self.stale_before)
        for lead in rows:
            if lead["lead_id"] in skip:
                continue
            row = ledger.get(lead["lead_id"])
            if row is None or row.state in (FAILED, RECORDED_UNSENT):
                due.append(lead)
            elif row.state == SENT:
                self.result.count(channel, ALREADY_SENT)
            elif row.state == FLAGGED:
                self.result.count(channel, NEEDS_PERSON)
            elif row.state == PENDING and (row.claimed_at or "") < stale and retake_stale:
                due.append(lead)
            else:
                self.result.count(channel, IN_PROGRESS)
        return due

    def _unconfigured(self, channel: str, items: Sequence[LedgerItem], ledger_states: Mapping[str, str]) -> None:
        # Only leads never attempted (or still unsent) are recorded; a `failed` row keeps its error.
        todo = [i for i in items if ledger_states.get(i.lead_id) in (None, RECORDED_UNSENT)]
        publishing.record_unsent(self.store, channel, todo, self.now)
        self.result.count(channel, RECORDED, len(todo))

    def _states(self, channel: str, lead_ids: Sequence[str]) -> dict[str, str]:
        return {k: v.state for k, v in publishing.ledger_rows(self.store, channel, lead_ids).items()}

    # -- CRM ------------------------------------------------------------------------------

    def crm(self, rows: Sequence[dict[str, Any]], client: HubSpotClient | None) -> None:
        due = self._due(CRM, rows, retake_stale=True)  # safe: deals are found by their unique lead id
        records_by_id = {r["lead_id"]: crm_record(r, base_url=self.base_url) for r in due}
        items = [LedgerItem(r["lead_id"], {"contact": dict(records_by_id[r["lead_id"]].contact),
                                           "deal": dict(records_by_id[r["lead_id"]].deal)},
                            payloads.score_of(r), r["route"]) for r in due]
        if client is None:
            self._unconfigured(CRM, items, self._states(CRM, [i.lead_id for i in items]))
            return
        owned = publishing.claim(self.store, CRM, items, now=self.now, token=self.token,
                                 stale_before=self.stale_before)
        self.result.count(CRM, IN_PROGRESS, len(items) - len(owned))
        queue = [records_by_id[i.lead_id] for i in items if i.lead_id in owned]
        requests_before = client.requests_made
        try:
            for start in range(0, len(queue), BATCH_LIMIT):
                chunk = queue[start : start + BATCH_LIMIT]
                try:
                    outcomes = client.publish(chunk)
                except CrmAuthError as exc:
                    self._fail(CRM, [r.lead_id for r in queue[start:]], str(exc), fatal=True)
                    return
                except CrmUnavailable as exc:  # the CRM is down: stop here, the rest is retried next call
                    self._fail(CRM, [r.lead_id for r in queue[start:]], str(exc))
                    return
                except CrmRequestError as exc:  # refused as a whole: wrong URL, missing deal property
                    self._fail(CRM, [r.lead_id for r in queue[start:]], str(exc), fatal=True)
                    return
                except (CrmError, PublishHttpError) as exc:
                    self._fail(CRM, [r.lead_id for r in chunk], str(exc))
                    continue
                sent = [{"lead_id": o.lead_id, "crm_contact_id": o.contact_id, "crm_deal_id": o.deal_id}
                        for o in outcomes.values() if o.ok]
                publishing.mark_sent(self.store, CRM, sent, self.now)
                self.result.count(CRM, SENT_NOW, len(sent))
                failed = {o.lead_id: o.error or "no deal id" for o in outcomes.values() if not o.ok}
                self._fail(CRM, list(failed), failed)
        finally:
            self.result.crm_requests += client.requests_made - requests_before

    # -- Slack ----------------------------------------------------------------------------

    def slack(self, rows: Sequence[dict[str, Any]], webhook: SlackWebhook | None) -> None:
        # Claims of dead runs: the message may have gone out. Never re-sent; flagged for a person.
        ledger = publishing.ledger_rows(self.store, SLACK, [r["lead_id"] for r in rows])
        stale = publishing.stamp(self.stale_before)
        dead = {lead_id: "the run sending this alert stopped before recording the answer; it may or may not "
                         "have been posted, so it is not re-sent (one alert per lead)"
                for lead_id, row in ledger.items() if row.state == PENDING and (row.claimed_at or "") < stale}
        publishing.mark_unknown(self.store, SLACK, dead, self.now, stale_before=self.stale_before)
        self.result.count(SLACK, UNKNOWN, len(dead))

        due = self._due(SLACK, rows, retake_stale=False, skip=frozenset(dead))
        messages = {r["lead_id"]: build_alert(r, base_url=self.base_url) for r in due}
        items = [LedgerItem(r["lead_id"], messages[r["lead_id"]], payloads.score_of(r), r["route"]) for r in due]
        if webhook is None:
            self._unconfigured(SLACK, items, self._states(SLACK, [i.lead_id for i in items]))
            return
        owned = publishing.claim(self.store, SLACK, items, now=self.now, token=self.token, stale_before=None)
        self.result.count(SLACK, IN_PROGRESS, len(items) - len(owned))
        queue = [i.lead_id for i in items if i.lead_id in owned]
        for position, lead_id in enumerate(queue):
            try:
                webhook.post(messages[lead_id])
            except SlackOutcomeUnknown as exc:
                publishing.mark_unknown(self.store, SLACK, {lead_id: f"{exc}; not re-sent (one alert per lead)"},
                                        self.now, token=self.token)
                self.result.count(SLACK, UNKNOWN)
                self.result.errors.append(f"slack {lead_id}: {exc}")
            except SlackUnavailable as exc:
                self._fail(SLACK, queue[position:], str(exc))
                return
            except SlackError as exc:
                if exc.webhook_broken:
                    self._fail(SLACK, queue[position:], str(exc), fatal=True)
                    return
                self._fail(SLACK, [lead_id], str(exc))
            else:
                publishing.mark_sent(self.store, SLACK, [{"lead_id": lead_id}], self.now)
                self.result.count(SLACK, SENT_NOW)

    # -- helpdesk -------------------------------------------------------------------------

    def helpdesk(self, rows: Sequence[dict[str, Any]], webhook: HelpdeskWebhook | None) -> None:
        due = self._due(HELPDESK, rows, retake_stale=True)  # the Idempotency-Key makes a re-send harmless
        tickets = {r["lead_id"]: build_ticket(r, base_url=self.base_url) for r in due}
        items = [LedgerItem(r["lead_id"], tickets[r["lead_id"]], payloads.score_of(r), r["route"]) for r in due]
        if webhook is None:
            self._unconfigured(HELPDESK, items, self._states(HELPDESK, [i.lead_id for i in items]))
            return
        owned = publishing.claim(self.store, HELPDESK, items, now=self.now, token=self.token,
                                 stale_before=self.stale_before)
        self.result.count(HELPDESK, IN_PROGRESS, len(items) - len(owned))
        queue = [i.lead_id for i in items if i.lead_id in owned]
        for position, lead_id in enumerate(queue):
            try:
                ticket_id = webhook.create_ticket(tickets[lead_id])
            except HelpdeskUnavailable as exc:
                self._fail(HELPDESK, queue[position:], str(exc))
                return
            except HelpdeskError as exc:
                if exc.status in (401, 403, 404, 410):
                    self._fail(HELPDESK, queue[position:], str(exc), fatal=True)
                    return
                self._fail(HELPDESK, [lead_id], str(exc))
            else:
                publishing.mark_sent(self.store, HELPDESK, [{"lead_id": lead_id, "ticket_id": ticket_id}], self.now)
                self.result.count(HELPDESK, SENT_NOW)

    # -- nurture list ---------------------------------------------------------------------

    def nurture(self, rows: Sequence[dict[str, Any]]) -> None:
        listed = [
            {"lead_id": r["lead_id"], "email": payloads.text(r, "sender_email") or "",
             "name": payloads.text(r, "sender_name"), "company": payloads.text(r, "company")}
            for r in rows if r["route"] == "nurture"
        ]
        self.result.nurture_added = publishing.upsert_nurture(self.store, listed, self.now)
        self.result.nurture_removed = publishing.remove_from_nurture(
            self.store, [r["lead_id"] for r in rows if r["route"] != "nurture"])

    # -- failures -------------------------------------------------------------------------

    def _fail(self, channel: str, lead_ids: Sequence[str], error: str | Mapping[str, str], *,
              fatal: bool = False) -> None:
        if not lead_ids:
            return
        errors = dict(error) if isinstance(error, Mapping) else {lead_id: error for lead_id in lead_ids}
        publishing.mark_failed(self.store, channel, errors, self.now, self.token)
        self.result.count(channel, FAILED_NOW, len(errors))
        if fatal:
            self.result.fatal.append(f"{channel}: {next(iter(errors.values()))}")
        else:
            room = max(0, MAX_ERRORS_KEPT - len(self.result.errors))
            self.result.errors.extend(
                f"{channel} {lead_id}: {message}" for lead_id, message in list(errors.items())[:room])
