"""The Dagster shell around the functional core: one sub-package per area."""

import warnings

import dagster as dg

# `backfill_policy` is beta in this dagster line; the policy is a deliberate choice, not news to each run.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message="Parameter `backfill_policy`")
