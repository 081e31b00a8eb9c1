"""The table scoring rules are evaluated on: lead columns joined with their extraction signals."""

from __future__ import annotations

import json

import pandas as pd


def scoring_frame(leads: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per lead: its columns plus the signals of its representative (earliest) delivery."""
    if leads.empty:
        return leads.assign(intent=pd.Series(dtype="object"))
    representative = deliveries.drop_duplicates("lead_id").set_index("lead_id")["features"]
    signals = pd.DataFrame(
        [json.loads(representative[lead_id]) for lead_id in leads["lead_id"]], index=leads.index
    )
    signals = signals.drop(columns=[c for c in signals.columns if c in leads.columns])
    return pd.concat([leads, signals], axis=1)
