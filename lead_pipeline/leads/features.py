"""The table scoring rules are evaluated on: lead columns joined with their extraction signals."""

from __future__ import annotations

import json

import pandas as pd


def scoring_frame(leads: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per lead: its columns plus the signals of its representative (earliest) delivery."""
    if leads.empty:
        return leads.assign(intent=pd.Series(dtype="object"))
    first = deliveries.drop_duplicates("lead_id")
    lead_ids = leads["lead_id"]
    if _plain_keys(first["lead_id"]) and _plain_keys(lead_ids):
        # A dict instead of a label lookup per lead.
        features = dict(zip(first["lead_id"].tolist(), first["features"].tolist(), strict=True))
        loads = json.loads
        parsed = [loads(features[lead_id]) for lead_id in lead_ids.tolist()]
    else:
        representative = first.set_index("lead_id")["features"]
        parsed = [json.loads(representative[lead_id]) for lead_id in lead_ids]
    signals = pd.DataFrame(parsed, index=leads.index)
    signals = signals.drop(columns=[c for c in signals.columns if c in leads.columns])
    return pd.concat([leads, signals], axis=1)


def _plain_keys(values: pd.Series) -> bool:
    """Only str, nothing missing: a dict finds what a label lookup finds."""
    return not values.isna().any() and pd.api.types.infer_dtype(values, skipna=False) == "string"
