"""Enrichment against a real HTTP provider stand-in on 127.0.0.1: answers, timeouts and errors."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lead_pipeline.leads.enrichment import HttpEnrichmentProvider, apply_enrichment, enrich
from lead_pipeline.leads.firmographics import Company, Firmographics
from lead_pipeline.stores.operational import OperationalStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KNOWN = {"globex.example": {"name": "Globex", "industry": "Energy", "employees": 900, "target_account": True}}


class _Provider(BaseHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        domain = self.path.rsplit("/", 1)[-1]
        type(self).requests.append(domain)
        if domain == "slow.example":
            time.sleep(1.0)
        status, body = (200, KNOWN[domain]) if domain in KNOWN else (500, {}) if domain == "broken.example" else (404, {})
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def provider_url():
    _Provider.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path):
    store = OperationalStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.ensure_schema()
    return store


def test_the_provider_fills_gaps_failures_are_recorded_and_answers_are_cached(provider_url, store):
    csv = Firmographics({"acme.example": Company("acme.example", "Acme", "Robotics", 50, False)})
    provider = HttpEnrichmentProvider(provider_url, timeout=0.3)
    domains = ["acme.example", "globex.example", "slow.example", "broken.example", "unknown.example", None]
    outcome = enrich(domains, csv, store, provider, NOW)
    assert outcome.status == {"acme.example": "csv", "globex.example": "found", "slow.example": "failed",
                              "broken.example": "failed", "unknown.example": "not_found"}
    assert outcome.companies["globex.example"].target_account is True
    assert sorted(_Provider.requests) == ["broken.example", "globex.example", "slow.example", "unknown.example"]
    errors = {d: row.error for d, row in store.cached_enrichments(["slow.example", "broken.example"]).items()}
    assert "Timeout" in errors["slow.example"] and errors["broken.example"] == "HTTP 500"

    # Within the cache's lifetime nothing is asked again; a stale failure is retried.
    _Provider.requests = []
    again = enrich(domains, csv, store, provider, NOW + timedelta(minutes=5))
    assert again.status == outcome.status and again.requests == 0 and _Provider.requests == []
    later = enrich(domains, csv, store, provider, NOW + timedelta(hours=2))
    assert sorted(_Provider.requests) == ["broken.example", "slow.example"] and later.requests == 2
    provider.close()


def test_a_candidate_gets_the_providers_facts_only_where_it_had_none(provider_url, store):
    provider = HttpEnrichmentProvider(provider_url, timeout=0.3)
    outcome = enrich(["globex.example"], Firmographics({}), store, provider, NOW)
    blank = {"company_domain": "globex.example", "company": None, "features": json.dumps({"is_target_account": False})}
    named = {**blank, "company": "Globex Corp (from the signature)"}
    enriched, kept = apply_enrichment(blank, outcome), apply_enrichment(named, outcome)
    assert enriched["company"] == "Globex" and kept["company"] == "Globex Corp (from the signature)"
    assert json.loads(enriched["features"])["is_target_account"] is True
    assert json.loads(enriched["features"])["enrichment"] == "found"
    provider.close()
