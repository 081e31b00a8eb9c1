"""What the publishing clients (HubSpot, Slack, helpdesk) share beyond the retry loop of
`lead_pipeline.http_retry`: their error base class and URL checks. Plain Python, no Dagster."""

from __future__ import annotations

from lead_pipeline.http_responses import detail
from lead_pipeline.http_retry import OutcomeUnknown, RetryPolicy, Unavailable, send

__all__ = [
    "OutcomeUnknown", "PublishHttpError", "RetryPolicy", "Unavailable", "check_url", "detail", "redact", "send",
]


class PublishHttpError(Exception):
    """Base of the publishing clients' errors."""


def check_url(url: str, variable: str) -> str:
    """An absolute http(s) URL, or a ValueError naming the variable it came from."""
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{variable} must be an absolute http(s) URL, not {redact(url) if parts.netloc else url!r}")
    return url


def redact(url: str) -> str:
    """A webhook URL is its own credential: error messages name only scheme, host and the first path part."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    first = parts.path.strip("/").split("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}/{first}/…" if first else f"{parts.scheme}://{parts.netloc}/"
