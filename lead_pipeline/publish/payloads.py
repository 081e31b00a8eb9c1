"""What every channel says about a lead: its link back, its top scoring reasons, plain values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd

DEFAULT_BASE_URL = "http://127.0.0.1:3000"  # the Dagster UI of `make dev`


def value(lead: Mapping[str, Any], key: str) -> Any:
    """A lead field with pandas' missing values (NaN, NaT, None, pd.NA) as None."""
    item = lead.get(key)
    if item is None or isinstance(item, (str, bytes, list, dict, tuple)):
        return item
    try:
        return None if pd.isna(item) else item
    except (TypeError, ValueError):
        return item


def text(lead: Mapping[str, Any], key: str) -> str | None:
    item = value(lead, key)
    if item is None:
        return None
    result = str(item).strip()
    return result or None


def score_of(lead: Mapping[str, Any]) -> int | None:
    item = value(lead, "score")
    return None if item is None else int(item)


def lead_link(lead: Mapping[str, Any], base_url: str | None = None) -> str:
    """Where a person opens the lead: the `scored_leads` partition of its day in the Dagster UI, the lead id
    in the query (`LEAD_PIPELINE_BASE_URL`, default http://127.0.0.1:3000)."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    query: dict[str, str] = {}
    day = text(lead, "received_date") or (text(lead, "received_at") or "")[:10]
    if day:
        query["partition"] = day
    query["lead_id"] = str(lead["lead_id"])
    return f"{base}/assets/{quote('scored_leads')}?{urlencode(query)}"


def breakdown(lead: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = value(lead, "score_breakdown")
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [item for item in raw if isinstance(item, Mapping)] if isinstance(raw, list) else []


def top_reasons(lead: Mapping[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The `n` rules that added the most points (positive ones first, ties by rule name)."""
    items = [
        {"rule": str(item.get("rule", "?")), "points": int(item.get("points") or 0)}
        for item in breakdown(lead)
    ]
    items.sort(key=lambda r: (-r["points"], r["rule"]))
    return items[:n]


def reason_lines(lead: Mapping[str, Any], n: int = 3) -> list[str]:
    return [f"{r['points']:+d} {r['rule'].replace('_', ' ')}" for r in top_reasons(lead, n)]


def split_name(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    parts = name.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else None)
