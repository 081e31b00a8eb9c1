"""A small client of the HubSpot CRM v3 REST API for publishing leads. Plain Python, no Dagster.

Endpoints (https://developers.hubspot.com/docs/api-reference/legacy/crm/...):

* `POST /crm/v3/objects/contacts/batch/upsert` — inputs `{"idProperty": "email", "id": EMAIL, "properties":
  {...}, "objectWriteTraceId": EMAIL}`: creates the contact or updates the one with that email. Idempotent.
* `POST /crm/v3/objects/deals/batch/read` — `{"idProperty": "lead_pipeline_lead_id", "inputs": [{"id":
  LEAD_ID}]}`: the deals already carrying those lead ids (missing ones come back as `OBJECT_NOT_FOUND` errors
  in a 207). Reads by a unique property are consistent at once, unlike the search API, which indexes
  asynchronously and may not yet see a deal created a second ago.
* `POST /crm/v3/objects/deals/batch/create` — inputs `{"properties": {...}, "associations": [{"to": {"id":
  CONTACT_ID}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}],
  "objectWriteTraceId": LEAD_ID}`. With an `objectWriteTraceId` on every input HubSpot answers 207
  multi-status with per-record `errors` (each naming its `objectWriteTraceId` in `context`) instead of
  failing the whole batch.
* `POST /crm/v3/properties/deals` — `ensure_deal_properties()` creates the custom deal properties once.

Why a deal is never created twice: every deal carries `lead_pipeline_lead_id`, a custom property created
with `hasUniqueValue: true`, which HubSpot enforces (a second create with the same value is rejected).
`publish()` first reads deals by that property and creates only those not found; a create rejected (a
concurrent run, or a retried request whose first answer was lost) is resolved by reading again. Contacts
are upserted by email (HubSpot's unique contact key), so re-runs never duplicate them either.

Batch failures: 207 errors are mapped to their records; a whole batch refused with a 4xx (other than
401/403/404/429) is split in halves until the bad records are isolated, so one invalid record never
blocks the others. Retries: see `lead_pipeline.publish.http` (429 Retry-After, 5xx backoff with jitter,
bounded attempts); a 429 for the daily quota (`policyName: DAILY`) is not retried. 401/403 raise
`CrmAuthError` at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from lead_pipeline.publish import payloads
from lead_pipeline.publish.http import PublishHttpError, RetryPolicy, Unavailable, check_url, detail, send

__all__ = [
    "BATCH_LIMIT", "CrmAuthError", "CrmError", "CrmOutcome", "CrmRecord", "CrmRequestError", "CrmUnavailable",
    "DEAL_PROPERTIES", "DEAL_TO_CONTACT", "HubSpotClient", "LEAD_ID_PROPERTY", "crm_record",
]

BATCH_LIMIT = 100  # HubSpot's limit of inputs per batch request
DEAL_TO_CONTACT = 3  # HUBSPOT_DEFINED association type id, deal → contact
LEAD_ID_PROPERTY = "lead_pipeline_lead_id"

# Custom deal properties this integration writes; `ensure_deal_properties()` creates them.
DEAL_PROPERTIES: tuple[dict[str, Any], ...] = (
    {"name": LEAD_ID_PROPERTY, "label": "Lead pipeline lead id", "type": "string", "fieldType": "text",
     "groupName": "dealinformation", "hasUniqueValue": True},
    {"name": "lead_pipeline_score", "label": "Lead score", "type": "number", "fieldType": "number",
     "groupName": "dealinformation"},
    {"name": "lead_pipeline_reasons", "label": "Lead score reasons", "type": "string", "fieldType": "textarea",
     "groupName": "dealinformation"},
    {"name": "lead_pipeline_url", "label": "Lead link", "type": "string", "fieldType": "text",
     "groupName": "dealinformation"},
)


class CrmError(PublishHttpError):
    """Base of the HubSpot client's errors."""


class CrmAuthError(CrmError):
    """401/403: CRM_API_TOKEN was refused or lacks a scope. Not retried."""


class CrmUnavailable(Unavailable, CrmError):
    """Retries exhausted (429/5xx/timeouts), or a wait longer than this client does."""


class CrmRequestError(CrmError):
    """A request HubSpot refused as a whole and that splitting cannot help (e.g. 404: wrong CRM_API_URL)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CrmRecord:
    """One lead to publish: its contact properties (with `email`) and its deal properties (with the lead id)."""

    lead_id: str
    email: str
    contact: Mapping[str, str]
    deal: Mapping[str, str]


@dataclass(frozen=True)
class CrmOutcome:
    lead_id: str
    contact_id: str | None = None
    deal_id: str | None = None
    error: str | None = None
    created: bool = False  # the deal was created by this call (False: it already existed)

    @property
    def ok(self) -> bool:
        return self.error is None and self.deal_id is not None


@dataclass
class BatchResult:
    ids: dict[str, str] = field(default_factory=dict)  # key → HubSpot object id
    errors: dict[str, str] = field(default_factory=dict)  # key → why that record failed

    def merge(self, other: BatchResult) -> None:
        self.ids.update(other.ids)
        self.errors.update(other.errors)


def crm_record(lead: Mapping[str, Any], *, base_url: str | None = None,
               lead_id_property: str = LEAD_ID_PROPERTY, pipeline: str = "default",
               dealstage: str = "appointmentscheduled") -> CrmRecord:
    """The contact and deal HubSpot gets for a lead. Empty fields are left out, so an upsert never blanks
    what a sales rep already entered on the contact."""
    email = str(payloads.text(lead, "sender_email") or "").lower()
    first, last = payloads.split_name(payloads.text(lead, "sender_name"))
    contact = {
        "email": email, "firstname": first, "lastname": last, "company": payloads.text(lead, "company"),
        "phone": payloads.text(lead, "phone"), "jobtitle": payloads.text(lead, "role"),
        "website": payloads.text(lead, "company_domain"),
    }
    subject = payloads.text(lead, "subject") or "(no subject)"
    who = payloads.text(lead, "company") or payloads.text(lead, "sender_name") or email
    score = payloads.score_of(lead)
    reasons = payloads.reason_lines(lead)
    link = payloads.lead_link(lead, base_url)
    description = "\n".join([
        f"Subject: {subject}",
        f"Score: {score if score is not None else 'unscored'}",
        *(["Top reasons:", *(f"  {line}" for line in reasons)] if reasons else []),
        f"Lead: {link}",
    ])
    deal = {
        "dealname": _clip(f"{who}: {subject}", 250), "pipeline": pipeline, "dealstage": dealstage,
        "description": description, lead_id_property: str(lead["lead_id"]),
        "lead_pipeline_score": None if score is None else str(score),
        "lead_pipeline_reasons": "\n".join(reasons) or None, "lead_pipeline_url": link,
    }
    return CrmRecord(
        lead_id=str(lead["lead_id"]), email=email,
        contact={k: v for k, v in contact.items() if v}, deal={k: v for k, v in deal.items() if v},
    )


class HubSpotClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        lead_id_property: str = LEAD_ID_PROPERTY,
        seed: int | None = None,
    ):
        if not token:
            raise CrmAuthError("CRM_API_TOKEN is empty: HubSpot needs a private app token (Bearer)")
        self.base_url = check_url(base_url, "CRM_API_URL").rstrip("/")
        self.retry = retry
        self.lead_id_property = lead_id_property
        self.requests_made = 0  # logical requests; retries of one request are not counted
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "lead-pipeline/hubspot-client",
                     "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- the whole publication of a batch of leads ---------------------------------------

    def publish(self, records: Sequence[CrmRecord]) -> dict[str, CrmOutcome]:
        """Contacts upserted by email, then one deal per lead associated to its contact, created only if no
        deal carries the lead id yet. Per-record failures come back as outcomes with `error`; a failure of
        the whole service raises (`CrmUnavailable`, `CrmAuthError`, `CrmRequestError`)."""
        if not records:
            return {}
        latest: dict[str, CrmRecord] = {}
        for record in records:  # one contact per email; the last lead's fields win
            latest[record.email] = record
        contacts = self.upsert_contacts([r.contact for r in latest.values()])
        with_contact = [r for r in records if r.email in contacts.ids]
        existing = self.read_deals([r.lead_id for r in with_contact])
        to_create = [r for r in with_contact if r.lead_id not in existing]
        created = self.create_deals([(r.deal, contacts.ids[r.email]) for r in to_create])
        rejected = [r.lead_id for r in to_create if r.lead_id not in created.ids]
        if rejected:  # e.g. the unique lead id is taken: a deal exists after all (a lost answer, a parallel run)
            existing.update(self.read_deals(rejected))
        out: dict[str, CrmOutcome] = {}
        for r in records:
            contact_id = contacts.ids.get(r.email)
            if contact_id is None:
                out[r.lead_id] = CrmOutcome(r.lead_id, error=f"contact: {contacts.errors.get(r.email, 'not upserted')}")
            elif r.lead_id in created.ids:
                out[r.lead_id] = CrmOutcome(r.lead_id, contact_id, created.ids[r.lead_id], created=True)
            elif r.lead_id in existing:
                out[r.lead_id] = CrmOutcome(r.lead_id, contact_id, existing[r.lead_id])
            else:
                out[r.lead_id] = CrmOutcome(r.lead_id, contact_id,
                                            error=f"deal: {created.errors.get(r.lead_id, 'not created')}")
        return out

    # -- endpoints ------------------------------------------------------------------------

    def upsert_contacts(self, contacts: Sequence[Mapping[str, str]]) -> BatchResult:
        """Upsert by email; returns lowercased email → contact id, and per-email errors."""
        inputs = []
        seen: set[str] = set()
        for properties in contacts:
            email = str(properties["email"]).strip().lower()
            if email in seen:  # HubSpot refuses a batch naming one id twice
                continue
            seen.add(email)
            inputs.append({"idProperty": "email", "id": email, "objectWriteTraceId": email,
                           "properties": {k: str(v) for k, v in properties.items()}})

        def key_of(result: Mapping[str, Any]) -> str | None:
            return str((result.get("properties") or {}).get("email") or "").lower() or None

        return self._batched("/crm/v3/objects/contacts/batch/upsert", inputs,
                             key_of_input=lambda i: i["id"], key_of_result=key_of, what="contacts upsert")

    def create_deals(self, deals: Sequence[tuple[Mapping[str, str], str]]) -> BatchResult:
        """(deal properties, contact id) pairs; returns lead id → deal id, and per-lead errors."""
        prop = self.lead_id_property
        inputs = [
            {"properties": {k: str(v) for k, v in properties.items()}, "objectWriteTraceId": str(properties[prop]),
             "associations": [{"to": {"id": str(contact_id)},
                               "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                          "associationTypeId": DEAL_TO_CONTACT}]}]}
            for properties, contact_id in deals
        ]

        def key_of(result: Mapping[str, Any]) -> str | None:
            return (result.get("properties") or {}).get(prop)

        return self._batched("/crm/v3/objects/deals/batch/create", inputs,
                             key_of_input=lambda i: i["objectWriteTraceId"], key_of_result=key_of,
                             what="deals create")

    def read_deals(self, lead_ids: Iterable[str]) -> dict[str, str]:
        """lead id → id of the deal carrying it, for those that exist."""
        prop = self.lead_id_property
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(lead_ids)), BATCH_LIMIT):
            body = {"idProperty": prop, "properties": [prop], "inputs": [{"id": lead_id} for lead_id in chunk]}
            response = self._post("/crm/v3/objects/deals/batch/read", body, what="deals read")
            if response.status_code not in (200, 207):
                hint = (f"; does the unique deal property {prop!r} exist? HubSpotClient.ensure_deal_properties() "
                        f"creates it" if response.status_code == 400 else "")
                raise CrmRequestError(f"deals read answered HTTP {response.status_code}{detail(response)}{hint}",
                                      response.status_code)
            payload = _json(response, "deals read")
            for result in payload.get("results") or []:
                lead_id = (result.get("properties") or {}).get(prop)
                if lead_id in chunk and result.get("id") is not None and not result.get("archived"):
                    found[lead_id] = str(result["id"])
            for error in payload.get("errors") or []:
                if error.get("category") != "OBJECT_NOT_FOUND":
                    raise CrmRequestError(f"deals read: {_error_text(error)}")
        return found

    def ensure_deal_properties(self) -> list[str]:
        """Create this integration's custom deal properties (the lead id one with unique values); those that
        exist already are left alone. Returns the names created."""
        created = []
        for definition in DEAL_PROPERTIES:
            definition = dict(definition)
            if definition["name"] == LEAD_ID_PROPERTY:
                definition["name"] = self.lead_id_property
            response = self._post("/crm/v3/properties/deals", definition, what="deal property create")
            if response.status_code in (200, 201):
                created.append(definition["name"])
            elif response.status_code != 409:
                raise CrmRequestError(f"creating deal property {definition['name']!r} answered HTTP "
                                      f"{response.status_code}{detail(response)}", response.status_code)
        return created

    # -- plumbing -------------------------------------------------------------------------

    def _batched(self, path: str, inputs: list[dict[str, Any]], *, key_of_input: Callable[[dict], str],
                 key_of_result: Callable[[Mapping[str, Any]], str | None], what: str) -> BatchResult:
        result = BatchResult()
        for chunk in _chunks(inputs, BATCH_LIMIT):
            result.merge(self._batch(path, list(chunk), key_of_input, key_of_result, what))
        return result

    def _batch(self, path: str, inputs: list[dict[str, Any]], key_of_input: Callable[[dict], str],
               key_of_result: Callable[[Mapping[str, Any]], str | None], what: str) -> BatchResult:
        keys = [key_of_input(i) for i in inputs]
        response = self._post(path, {"inputs": inputs}, what=f"{what} ({len(inputs)})")
        status = response.status_code
        if status == 404:
            raise CrmRequestError(f"{what}: HTTP 404 at {self.base_url}{path}: is CRM_API_URL the API root "
                                  f"(https://api.hubapi.com)?", 404)
        if status >= 400:  # the whole batch was refused: isolate the records at fault
            if len(inputs) == 1:
                return BatchResult(errors={keys[0]: f"HTTP {status}{detail(response)}"})
            half = len(inputs) // 2
            out = self._batch(path, inputs[:half], key_of_input, key_of_result, what)
            out.merge(self._batch(path, inputs[half:], key_of_input, key_of_result, what))
            return out
        payload = _json(response, what)
        out = BatchResult()
        wanted = set(keys)
        for item in payload.get("results") or []:
            key = item.get("objectWriteTraceId") or key_of_result(item)
            if key in wanted and item.get("id") is not None:
                out.ids[key] = str(item["id"])
        unassigned: list[str] = []
        for error in payload.get("errors") or []:
            context = error.get("context") or {}
            named = [str(k) for k in (context.get("objectWriteTraceId") or []) + (context.get("ids") or [])]
            named = [k for k in named if k in wanted] or [k.lower() for k in named if k.lower() in wanted]
            for key in named:
                out.errors.setdefault(key, _error_text(error))
            if not named:
                unassigned.append(_error_text(error))
        for key in keys:
            if key not in out.ids and key not in out.errors:
                out.errors[key] = "; ".join(unassigned) or f"missing from the answer (HTTP {status})"
        return out

    def _post(self, path: str, body: Any, *, what: str) -> httpx.Response:
        self.requests_made += 1
        response = send(
            self._http, "POST", f"{self.base_url}{path}", json=body, what=f"HubSpot {what}", policy=self.retry,
            sleep=self._sleep, rng=self._rng, give_up=_daily_limit, unavailable=CrmUnavailable,
        )
        if response.status_code in (401, 403):
            raise CrmAuthError(
                f"HubSpot {what} answered HTTP {response.status_code}{detail(response)}: CRM_API_TOKEN was "
                f"refused or lacks the crm.objects.contacts.write / crm.objects.deals.write scopes. Not retried."
            )
        return response


def _daily_limit(response: httpx.Response) -> str | None:
    if response.status_code != 429:
        return None
    try:
        policy = str(response.json().get("policyName", ""))
    except (ValueError, AttributeError):
        return None
    return "the daily API quota is used up; not retried before tomorrow" if policy.upper() == "DAILY" else None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise CrmRequestError(f"{what}: HTTP {response.status_code} with a body that is not JSON: "
                              f"{response.content[:120]!r}", response.status_code) from None
    if not isinstance(body, dict):
        raise CrmRequestError(f"{what}: answer is not a JSON object", response.status_code)
    return body


def _error_text(error: Mapping[str, Any]) -> str:
    parts = [str(error.get("category") or error.get("status") or "error"), str(error.get("message") or "")]
    return ": ".join(p for p in parts if p)[:500]


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]
