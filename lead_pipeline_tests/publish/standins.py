"""Stand-ins for the publishing targets: real HTTP servers (Starlette under uvicorn) on a free 127.0.0.1 port.

* `HubSpotStandin` — the HubSpot CRM v3 endpoints the client uses, with HubSpot's documented semantics:
  contacts unique by (lowercased) email, batch upsert by `idProperty: email` updating instead of
  duplicating; deals whose `hasUniqueValue` properties (`lead_pipeline_lead_id`) are enforced unique; deal →
  contact associations (`HUBSPOT_DEFINED`, type 3) to existing contacts only; batch read by a unique
  `idProperty` (207 + `OBJECT_NOT_FOUND` for missing ids); multi-status (207) per-record errors on batch
  writes when every input has an `objectWriteTraceId`, otherwise a failing record fails the whole batch (400,
  nothing applied); at most 100 inputs per batch; unknown deal properties refused; bearer token.
* `SlackStandin` — an incoming webhook: records each accepted message, answers `ok`.
* `HelpdeskStandin` — a generic ticket webhook: records tickets, deduplicates by `Idempotency-Key`.

Common controls:

* a rate limit: `rate_limit=N` answers 429 (Retry-After, HubSpot's `policyName`) to the N-th and later requests
  of each `rate_window`-second window of `clock`;
* a fault plan, consumed in order like the MailParse stand-in's: each request takes the first fault whose
  `path` prefix matches and uses one of its `times`. Kinds: `ok` (pass through), `http` (answer `status`
  without doing anything), `alternate` (of its `times` requests, the 1st, 3rd, 5th… fail with `status`: half
  the requests failing for a while), `after_commit` (do the work, then answer `status`: the answer is lost),
  `slow_after_commit` (do the work, answer after `delay` seconds: the client has timed out);
* `clock`: a `FakeClock` shared with the clients' `sleep` makes rate-limit waits instant and exact.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lead_pipeline.publish.hubspot import DEAL_PROPERTIES
from lead_pipeline_tests.ingest.servers import FaultSchedule, running_app

ANY_PATH = "/"


class FakeClock:
    """Monotonic seconds that move only when someone sleeps: pass `clock.sleep` to the clients."""

    def __init__(self, start: float = 1_000.0):
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)


@dataclass
class Fault:
    kind: str
    status: int = 500
    times: int = 1
    path: str = ANY_PATH
    retry_after: str | None = None
    delay: float = 0.0
    seen: int = 0

    @classmethod
    def ok(cls, times: int = 1, path: str = ANY_PATH) -> Fault:
        return cls("ok", times=times, path=path)

    @classmethod
    def http(cls, status: int = 500, *, times: int = 1, path: str = ANY_PATH, retry_after: str | None = None) -> Fault:
        return cls("http", status=status, times=times, path=path, retry_after=retry_after)

    @classmethod
    def alternate(cls, status: int = 500, *, times: int = 10, path: str = ANY_PATH) -> Fault:
        return cls("alternate", status=status, times=times, path=path)

    @classmethod
    def after_commit(cls, status: int = 500, *, times: int = 1, path: str = ANY_PATH) -> Fault:
        return cls("after_commit", status=status, times=times, path=path)

    @classmethod
    def slow_after_commit(cls, delay: float, *, times: int = 1, path: str = ANY_PATH) -> Fault:
        return cls("slow_after_commit", delay=delay, times=times, path=path)

    def matches(self, path: str) -> bool:
        return path.startswith(self.path)


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    status: int
    fault: str | None
    inputs: int  # batch inputs in the body (0 when not a batch)
    at: float


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-serialisable, or bytes/str for a plain answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Standin:
    name = "standin"

    def __init__(self, *, faults: Iterable[Fault] = (), rate_limit: int | None = None, rate_window: float = 1.0,
                 retry_after: str | None = None, clock: Callable[[], float] = time.monotonic):
        self._faults = FaultSchedule(faults)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.retry_after = retry_after  # None: the seconds left in the window, rounded up
        self.clock = clock
        self._window: tuple[int, int] = (-1, 0)  # (window index, requests in it)
        self._lock = threading.RLock()
        self.requests_log: list[Logged] = []
        self._stack: ExitStack | None = None
        self._url: str | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._url is not None, "start the stand-in first (use it as a context manager)"
        return self._url

    def __enter__(self):
        self._stack = ExitStack()
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PATCH", "PUT"])])
        self._url = self._stack.enter_context(running_app(app))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self._stack is not None
        self._stack.close()

    # -- controls -------------------------------------------------------------------------

    def set_faults(self, faults: Iterable[Fault]) -> None:
        self._faults.replace(faults)

    @property
    def pending_faults(self) -> list[Fault]:
        return self._faults.pending()

    def requests_to(self, path: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.requests_log if r.path == path]

    # -- request handling -----------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        raw = await request.body()
        path = request.url.path
        with self._lock:
            answer, fault = self._answer(request.method, path, dict(request.headers), raw)
            inputs = _count_inputs(raw)
            self.requests_log.append(Logged(request.method, path, answer.status, fault, inputs, self.clock()))
        if answer.delay:
            await asyncio.sleep(answer.delay)
        body = answer.body
        if isinstance(body, (bytes, str)):
            content, media = (body.encode() if isinstance(body, str) else body), "text/plain; charset=utf-8"
        else:
            content, media = json.dumps(body).encode(), "application/json"
        return Response(content, status_code=answer.status, media_type=media, headers=answer.headers)

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[Answer, str | None]:
        refused = self.authorise(headers, path)
        if refused is not None:
            return refused, None
        limited = self._rate_limited()
        if limited is not None:
            return limited, "rate_limit"
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "http":
            headers_out = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return Answer(fault.status, self.error_body(fault.status, "injected failure"), headers_out), "http"
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.bad_json(), None
        answer = self.handle(method, path, headers, body)
        if fault is not None and fault.kind == "after_commit":
            return Answer(fault.status, self.error_body(fault.status, "injected failure after commit")), "after_commit"
        if fault is not None and fault.kind == "slow_after_commit":
            answer.delay = fault.delay
            return answer, "slow_after_commit"
        return answer, None

    def _take_fault(self, path: str) -> Fault | None:
        fault = self._faults.take(path)
        if fault is None or fault.kind == "ok":
            return None
        if fault.kind == "alternate":
            fault.seen += 1
            return Fault.http(fault.status) if fault.seen % 2 == 1 else None
        return fault

    def _rate_limited(self) -> Answer | None:
        if not self.rate_limit:
            return None
        now = self.clock()
        index = math.floor(now / self.rate_window)
        current, count = self._window
        count = count + 1 if index == current else 1
        self._window = (index, count)
        if count < self.rate_limit:
            return None
        left = (index + 1) * self.rate_window - now
        retry_after = self.retry_after if self.retry_after is not None else str(max(1, math.ceil(left)))
        return Answer(429, self.rate_limit_body(), {"Retry-After": retry_after})

    # -- per service ----------------------------------------------------------------------

    def authorise(self, headers: Mapping[str, str], path: str) -> Answer | None:
        return None

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message, "status": status}

    def rate_limit_body(self) -> Any:
        return {"error": "rate_limited"}

    def bad_json(self) -> Answer:
        return Answer(400, self.error_body(400, "invalid JSON"))


def _count_inputs(raw: bytes) -> int:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return 0
    return len(body.get("inputs") or []) if isinstance(body, dict) and isinstance(body.get("inputs"), list) else 0


# -- HubSpot ----------------------------------------------------------------------------------

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BUILTIN_DEAL_PROPERTIES = {"dealname", "pipeline", "dealstage", "description", "amount", "closedate",
                           "hubspot_owner_id", "dealtype"}
DEAL_TO_CONTACT = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}


class HubSpotStandin(_Standin):
    name = "hubspot"

    def __init__(self, *, token: str = "hs-token", define_custom_properties: bool = True,
                 partial_upserts: bool = True, reject_emails: Iterable[str] = (),
                 reject_deals: Iterable[str] = (), daily_limit_exhausted: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.token = token
        self.partial_upserts = partial_upserts  # False: a bad contact fails its whole upsert batch
        self.reject_emails = {e.lower() for e in reject_emails}
        self.reject_deals = set(reject_deals)  # values of lead_pipeline_lead_id refused as invalid
        self.daily_limit_exhausted = daily_limit_exhausted
        self._ids = itertools.count(1001)
        self.contacts: dict[str, dict[str, Any]] = {}  # id → record
        self.deals: dict[str, dict[str, Any]] = {}
        self.associations: set[tuple[str, str]] = set()  # (deal id, contact id)
        self.deal_properties: dict[str, dict[str, Any]] = {}
        if define_custom_properties:
            for definition in DEAL_PROPERTIES:
                self.deal_properties[definition["name"]] = dict(definition)

    # -- inspection -----------------------------------------------------------------------

    def contact_emails(self) -> list[str]:
        with self._lock:
            return sorted(c["properties"]["email"] for c in self.contacts.values())

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        with self._lock:
            return next((c for c in self.contacts.values() if c["properties"]["email"] == email.lower()), None)

    def deals_for_lead(self, lead_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [d for d in self.deals.values() if d["properties"].get("lead_pipeline_lead_id") == lead_id]

    def deal_lead_ids(self) -> list[str]:
        with self._lock:
            return sorted(d["properties"].get("lead_pipeline_lead_id") for d in self.deals.values())

    def contacts_of_deal(self, deal_id: str) -> list[str]:
        with self._lock:
            return sorted(c for d, c in self.associations if d == deal_id)

    # -- protocol -------------------------------------------------------------------------

    def authorise(self, headers: Mapping[str, str], path: str) -> Answer | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"status": "error", "category": "INVALID_AUTHENTICATION",
                                "message": "Authentication credentials not found.",
                                "correlationId": str(uuid.uuid4())})
        if self.daily_limit_exhausted:
            return Answer(429, {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY",
                                "message": "You have reached your daily limit."})
        return None

    def error_body(self, status: int, message: str) -> Any:
        return {"status": "error", "category": "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR",
                "message": message, "correlationId": str(uuid.uuid4())}

    def rate_limit_body(self) -> Any:
        return {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()), "policyName": "SECONDLY"}

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Answer:
        routes = {
            ("POST", "/crm/v3/objects/contacts/batch/upsert"): self._upsert_contacts,
            ("POST", "/crm/v3/objects/deals/batch/create"): self._create_deals,
            ("POST", "/crm/v3/objects/deals/batch/read"): self._read_deals,
            ("POST", "/crm/v3/properties/deals"): self._create_property,
        }
        handler = routes.get((method, path))
        if handler is None:
            return Answer(404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"no route {path}"})
        if not isinstance(body, dict):
            return Answer(400, self.error_body(400, "body must be a JSON object"))
        return handler(body)

    def _batch_inputs(self, body: Mapping[str, Any]) -> list[dict[str, Any]] | Answer:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, dict) for i in inputs):
            return Answer(400, self.error_body(400, "inputs must be a non-empty list of objects"))
        if len(inputs) > 100:
            return Answer(400, self.error_body(400, f"Batch size {len(inputs)} exceeds the limit of 100"))
        return inputs

    def _now_text(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def _batch_answer(self, results: list[dict], errors: list[dict], ok_status: int) -> Answer:
        stamp = self._now_text()
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}
        if errors:
            body |= {"errors": errors, "numErrors": len(errors)}
            return Answer(207, body)
        return Answer(ok_status, body)

    @staticmethod
    def _record_error(message: str, trace_id: str | None, category: str = "VALIDATION_ERROR") -> dict[str, Any]:
        return {"status": "error", "category": category, "message": message,
                "context": {"objectWriteTraceId": [trace_id]} if trace_id else {}}

    def _upsert_contacts(self, body: Mapping[str, Any]) -> Answer:
        inputs = self._batch_inputs(body)
        if isinstance(inputs, Answer):
            return inputs
        keys = []
        for item in inputs:
            if item.get("idProperty") != "email":
                return Answer(400, self.error_body(400, f"idProperty {item.get('idProperty')!r} is not a unique "
                                                        "contact property (use email)"))
            keys.append(str(item.get("id") or "").strip().lower())
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            return Answer(400, self.error_body(400, f"Duplicate IDs found in batch input: {duplicates}"))
        partial = self.partial_upserts and all(i.get("objectWriteTraceId") for i in inputs)
        problems: dict[int, str] = {}
        for n, (item, email) in enumerate(zip(inputs, keys, strict=True)):
            properties = item.get("properties") or {}
            if not EMAIL.match(email):
                problems[n] = f"Property values were not valid: INVALID_EMAIL {email!r}"
            elif email in self.reject_emails:
                problems[n] = f"Property values were not valid: {email} is blocked"
            elif properties.get("email") and str(properties["email"]).strip().lower() != email:
                problems[n] = "Property values were not valid: email differs from id"
        if problems and not partial:
            return Answer(400, self.error_body(400, "; ".join(problems.values())))
        results, errors = [], []
        stamp = self._now_text()
        for n, (item, email) in enumerate(zip(inputs, keys, strict=True)):
            trace = item.get("objectWriteTraceId")
            if n in problems:
                error = self._record_error(problems[n], trace)
                error["context"]["ids"] = [item.get("id")]
                errors.append(error)
                continue
            properties = {k: str(v) for k, v in (item.get("properties") or {}).items()} | {"email": email}
            existing = next((c for c in self.contacts.values() if c["properties"]["email"] == email), None)
            if existing is None:
                contact_id = str(next(self._ids))
                existing = {"id": contact_id, "properties": {"hs_object_id": contact_id, "createdate": stamp},
                            "createdAt": stamp, "archived": False}
                self.contacts[contact_id] = existing
                new = True
            else:
                new = False
            existing["properties"].update(properties)
            existing["properties"]["lastmodifieddate"] = stamp
            existing["updatedAt"] = stamp
            result = {**existing, "properties": dict(existing["properties"]), "new": new}
            if trace:
                result["objectWriteTraceId"] = trace
            results.append(result)
        return self._batch_answer(results, errors, 200)

    def _unique_properties(self) -> list[str]:
        return [name for name, d in self.deal_properties.items() if d.get("hasUniqueValue")]

    def _create_deals(self, body: Mapping[str, Any]) -> Answer:
        inputs = self._batch_inputs(body)
        if isinstance(inputs, Answer):
            return inputs
        partial = all(i.get("objectWriteTraceId") for i in inputs)
        unique = self._unique_properties()
        taken = {name: {d["properties"].get(name) for d in self.deals.values()} for name in unique}
        problems: dict[int, str] = {}
        for n, item in enumerate(inputs):
            properties = item.get("properties") or {}
            unknown = sorted(set(properties) - BUILTIN_DEAL_PROPERTIES - set(self.deal_properties))
            if unknown:
                problems[n] = f"Property values were not valid: PROPERTY_DOESNT_EXIST {unknown}"
                continue
            clash = [name for name in unique if properties.get(name) is not None
                     and str(properties[name]) in taken[name]]
            if clash:
                problems[n] = (f"Property values were not valid: {clash[0]} must be unique; "
                               f"{properties[clash[0]]!r} is already used by another deal")
                continue
            if str(properties.get("lead_pipeline_lead_id")) in self.reject_deals:
                problems[n] = "Property values were not valid: deal refused by the stand-in"
                continue
            association_problem = self._check_associations(item.get("associations") or [])
            if association_problem:
                problems[n] = association_problem
                continue
            for name in unique:  # a later input of the same batch may not reuse the value either
                if properties.get(name) is not None:
                    taken[name].add(str(properties[name]))
        if problems and not partial:
            return Answer(400, self.error_body(400, "; ".join(problems.values())))
        results, errors = [], []
        stamp = self._now_text()
        for n, item in enumerate(inputs):
            trace = item.get("objectWriteTraceId")
            if n in problems:
                errors.append(self._record_error(problems[n], trace))
                continue
            deal_id = str(next(self._ids))
            properties = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            record = {"id": deal_id, "properties": properties | {"hs_object_id": deal_id, "createdate": stamp},
                      "createdAt": stamp, "updatedAt": stamp, "archived": False}
            self.deals[deal_id] = record
            for association in item.get("associations") or []:
                self.associations.add((deal_id, str(association["to"]["id"])))
            result = {**record, "properties": dict(record["properties"])}
            if trace:
                result["objectWriteTraceId"] = trace
            results.append(result)
        return self._batch_answer(results, errors, 201)

    def _check_associations(self, associations: list[Any]) -> str | None:
        for association in associations:
            to = (association or {}).get("to") or {}
            types = (association or {}).get("types") or []
            if str(to.get("id")) not in self.contacts:
                return f"Association target contact {to.get('id')!r} does not exist"
            if types != [DEAL_TO_CONTACT]:
                return f"Invalid association types {types!r} for deal to contact (HUBSPOT_DEFINED 3)"
        return None

    def _read_deals(self, body: Mapping[str, Any]) -> Answer:
        inputs = self._batch_inputs(body)
        if isinstance(inputs, Answer):
            return inputs
        id_property = body.get("idProperty")
        if id_property is not None and id_property not in self._unique_properties():
            return Answer(400, self.error_body(400, f"{id_property!r} is not a unique deal property"))
        wanted_props = body.get("properties") or []
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id"))
            if id_property is None:
                deal = self.deals.get(key)
            else:
                deal = next((d for d in self.deals.values() if d["properties"].get(id_property) == key), None)
            if deal is None:
                missing.append(key)
                continue
            props = {p: deal["properties"].get(p) for p in wanted_props} | {"hs_object_id": deal["id"]}
            results.append({"id": deal["id"], "properties": props, "createdAt": deal["createdAt"],
                            "updatedAt": deal["updatedAt"], "archived": False})
        errors = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                   "message": "Could not get some DEAL objects, they may be deleted or not exist. "
                              "Check that ids are valid.", "context": {"ids": missing}}] if missing else []
        return self._batch_answer(results, errors, 200)

    def _create_property(self, body: Mapping[str, Any]) -> Answer:
        name = body.get("name")
        if not name or not body.get("type") or not body.get("fieldType") or not body.get("groupName"):
            return Answer(400, self.error_body(400, "name, type, fieldType and groupName are required"))
        if name in self.deal_properties or name in BUILTIN_DEAL_PROPERTIES:
            return Answer(409, {"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                                "message": f"A property named '{name}' already exists."})
        self.deal_properties[name] = dict(body)
        return Answer(201, dict(body))


# -- Slack ------------------------------------------------------------------------------------


class SlackStandin(_Standin):
    name = "slack"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.path = f"/services/T0LEADS/B0ALERTS/{uuid.uuid4().hex[:24]}"
        self.messages: list[dict[str, Any]] = []

    @property
    def webhook_url(self) -> str:
        return self.url + self.path

    def error_body(self, status: int, message: str) -> Any:
        return {500: "internal_error", 503: "service_unavailable"}.get(status, message.replace(" ", "_"))

    def rate_limit_body(self) -> Any:
        return "rate_limited"

    def bad_json(self) -> Answer:
        return Answer(400, "invalid_payload")

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Answer:
        if method != "POST" or path != self.path:
            return Answer(404, "no_service")
        if not isinstance(body, dict):
            return Answer(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return Answer(400, "no_text")
        self.messages.append(body)
        return Answer(200, "ok")

    def lead_ids(self) -> list[str]:
        """The lead id of every message received, from the context block."""
        with self._lock:
            found = []
            for message in self.messages:
                text = json.dumps(message.get("blocks") or [])
                match = re.search(r"lead `([^`]+)`", text)
                found.append(match.group(1) if match else "?")
            return found


# -- helpdesk ---------------------------------------------------------------------------------


class HelpdeskStandin(_Standin):
    name = "helpdesk"

    def __init__(self, *, dedupe: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.dedupe = dedupe
        self.tickets: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(5001)

    @property
    def webhook_url(self) -> str:
        return self.url + "/api/tickets"

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Answer:
        if method != "POST" or path != "/api/tickets":
            return Answer(404, {"error": "not_found"})
        if not isinstance(body, dict) or not body.get("subject") or not (body.get("requester") or {}).get("email"):
            return Answer(422, {"error": "subject and requester.email are required"})
        key = headers.get("idempotency-key")
        if self.dedupe and key and key in self._by_key:
            return Answer(200, self._by_key[key])
        ticket = {"id": f"T-{next(self._ids)}", **body}
        self.tickets.append(ticket)
        if key:
            self._by_key[key] = ticket
        return Answer(201, ticket)
