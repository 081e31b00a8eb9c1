"""The great-expectations suite over scored leads.

great-expectations takes seconds to import, so it is imported when a validation runs, never when
the code location loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lead_pipeline.leads.scoring import ROUTES
from lead_pipeline.logs import redact

INTENTS = ("demo", "pricing", "partnership", "job_application", "support", "spam", "other")
E164 = r"^\+[1-9]\d{6,14}$"
DOMAIN = r"^[a-z0-9.-]+\.[a-z0-9-]+$"
SCORE_RANGE = (-200, 200)


@dataclass(frozen=True)
class ValidationSummary:
    success: bool
    evaluated: int
    failed: int
    results: list[dict[str, Any]]


def _suite(gx):
    e = gx.expectations
    suite = gx.ExpectationSuite(name="scored_leads")
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column="lead_id"),
        e.ExpectColumnValuesToBeUnique(column="lead_id"),
        e.ExpectColumnValuesToNotBeNull(column="sender_email"),
        e.ExpectColumnValuesToMatchRegex(column="sender_email", regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
        e.ExpectColumnValuesToBeBetween(column="score", min_value=SCORE_RANGE[0], max_value=SCORE_RANGE[1]),
        e.ExpectColumnValuesToBeInSet(column="route", value_set=list(ROUTES)),
        e.ExpectColumnValuesToBeInSet(column="intent", value_set=list(INTENTS)),
        e.ExpectColumnValuesToBeJsonParseable(column="score_breakdown"),
        e.ExpectColumnValuesToBeBetween(column="duplicate_count", min_value=0),
        e.ExpectColumnValuesToMatchRegex(column="phone", regex=E164, mostly=1.0),
        e.ExpectColumnValuesToMatchRegex(column="company_domain", regex=DOMAIN, mostly=1.0),
    ):
        suite.add_expectation(expectation)
    return suite


def validate_scored_leads(leads: pd.DataFrame) -> ValidationSummary:
    """Run the suite over scored leads (rows without a score yet are left out)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch_definition = (
        context.data_sources.add_pandas("lead_store")
        .add_dataframe_asset("scored_leads")
        .add_batch_definition_whole_dataframe("all")
    )
    scored = leads[leads["score"].notna()].reset_index(drop=True)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": scored})
    report = batch.validate(context.suites.add(_suite(gx)))
    results = [
        {
            "expectation": result.expectation_config.type,
            "column": result.expectation_config.kwargs.get("column"),
            "success": bool(result.success),
            "unexpected_count": int(result.result.get("unexpected_count") or 0),
            # Check metadata lands in the run's event log: offending addresses and phones are masked there.
            "unexpected_sample": redact([str(v) for v in (result.result.get("partial_unexpected_list") or [])[:3]]),
        }
        for result in report.results
    ]
    failed = sum(not r["success"] for r in results)
    return ValidationSummary(bool(report.success), len(results), failed, results)
