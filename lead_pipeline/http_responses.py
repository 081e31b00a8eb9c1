"""Reading HTTP answers the same way in every client: Retry-After and a short error excerpt."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (integer seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def detail(response: httpx.Response, limit: int = 300) -> str:
    """": <start of the body>" for error messages, or "" when the body is empty."""
    text = response.text[:limit].strip() if response.content else ""
    return f": {text}" if text else ""
