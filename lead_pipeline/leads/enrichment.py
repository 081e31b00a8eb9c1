"""Company enrichment: the user's firmographics CSV first, then an optional HTTP provider.

The provider answers `GET {base_url}/companies/{domain}` with JSON `{"name", "industry", "employees",
"target_account"}` (404 when it knows nothing). Answers and failures are cached in the operational
store; a failure never blocks a lead, it is recorded and retried once the cache entry is stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from lead_pipeline.leads.firmographics import Company, Firmographics

FOUND, NOT_FOUND, FAILED = "found", "not_found", "failed"
RETRY_FAILED_AFTER = timedelta(hours=1)
REFRESH_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class EnrichmentOutcome:
    companies: dict[str, Company]  # domain -> facts, from the CSV or the provider
    status: dict[str, str]  # domain -> csv, found, not_found, failed
    requests: int  # calls made to the provider in this batch


class HttpEnrichmentProvider:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 3.0,
                 transport: httpx.BaseTransport | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                    transport=transport)

    def fetch(self, domain: str) -> tuple[str, dict | None, str | None]:
        """(status, payload, error) for one domain; never raises."""
        try:
            response = self._client.get(f"/companies/{domain}")
        except httpx.HTTPError as exc:
            return FAILED, None, f"{type(exc).__name__}: {exc}"
        if response.status_code == 404:
            return NOT_FOUND, None, None
        if response.status_code != 200:
            return FAILED, None, f"HTTP {response.status_code}"
        try:
            payload = response.json()
        except ValueError as exc:
            return FAILED, None, f"invalid JSON: {exc}"
        if not isinstance(payload, dict) or not payload.get("name"):
            return FAILED, None, "answer has no company name"
        return FOUND, payload, None

    def close(self) -> None:
        self._client.close()


def _company(domain: str, payload: dict) -> Company:
    employees = payload.get("employees")
    return Company(
        domain=domain,
        name=str(payload["name"]),
        industry=payload.get("industry"),
        employees=int(employees) if isinstance(employees, (int, float)) or str(employees).isdigit() else None,
        target_account=bool(payload.get("target_account")),
    )


def _fresh(row, now: datetime) -> bool:
    age = now - datetime.strptime(row.fetched_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return age < (RETRY_FAILED_AFTER if row.status == FAILED else REFRESH_AFTER)


def enrich(
    domains: Iterable[str | None],
    firmographics: Firmographics,
    store,
    provider: HttpEnrichmentProvider | None,
    now: datetime,
) -> EnrichmentOutcome:
    """Facts for each distinct domain of a batch: one provider call per domain the cache can't answer."""
    wanted = sorted({d for d in domains if d})
    companies: dict[str, Company] = {}
    status: dict[str, str] = {}
    for domain in wanted:
        facts = firmographics.lookup(domain)
        if facts:
            companies[domain], status[domain] = facts, "csv"
    if provider is None:
        return EnrichmentOutcome(companies, status, 0)

    remaining = [d for d in wanted if d not in companies]
    cached = store.cached_enrichments(remaining)
    fetched, stamp = [], now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for domain in remaining:
        row = cached.get(domain)
        if row is not None and _fresh(row, now):
            result, payload = row.status, json.loads(row.payload) if row.payload else None
        else:
            result, payload, error = provider.fetch(domain)
            fetched.append({"domain": domain, "status": result, "error": error, "fetched_at": stamp,
                            "payload": json.dumps(payload, sort_keys=True) if payload else None})
        status[domain] = result
        if result == FOUND and payload:
            companies[domain] = _company(domain, payload)
    store.save_enrichments(fetched)
    return EnrichmentOutcome(companies, status, len(fetched))


def apply_enrichment(candidate: dict, outcome: EnrichmentOutcome) -> dict:
    """A candidate with the provider's facts where the message and the CSV said nothing."""
    domain = candidate.get("company_domain")
    features = json.loads(candidate["features"])
    features["enrichment"] = outcome.status.get(domain, "none") if domain else "none"
    facts = outcome.companies.get(domain) if domain else None
    updated = dict(candidate)
    if facts is not None:
        updated["company"] = candidate.get("company") or facts.name
        features.update(is_target_account=facts.target_account, industry=facts.industry, employees=facts.employees,
                        has_company=True)
    updated["features"] = json.dumps(features, sort_keys=True, ensure_ascii=False)
    return updated
