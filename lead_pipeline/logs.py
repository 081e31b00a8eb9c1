"""PII-safe logging: email addresses and phone numbers are masked when a log record is created.

Masking happens in the process-wide LogRecord factory, so it covers every logger at once: the
project's, third-party libraries', and Dagster's `context.log` (a `logging.Logger` whose records
feed the run's event log storage, the console and the captured compute logs). `PiiFilter` also
masks the structured `extra` fields, which logging attaches after the factory has run, on the
handlers this module configures.

Exception texts reach Dagster's event log as structured failure data, not as log records:
`protect_run_logs` turns on Dagster's own redaction of user-code errors for them.

`LEAD_PIPELINE_LOG_PII=1` turns on the trusted debug mode: nothing is masked. It is off by default
and meant for a developer's machine, never for shared run logs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

TRUSTED_DEBUG_VARIABLE = "LEAD_PIPELINE_LOG_PII"
# Dagster's own switch: a failing step's event carries an error id instead of the exception text,
# and the traceback goes to the `dagster.redacted_errors` logger (masked here, shown on stderr).
DAGSTER_REDACT_ERRORS_VARIABLE = "DAGSTER_REDACT_USER_CODE_ERRORS"

# Local part, then "@" (or its URL encoding, as in logged query strings), then a dotted domain.
_EMAIL = re.compile(r"(?<![\w.+'\-])([\w.+'\-]+)(?:@|%40)((?:[\w\-]+\.)+[\w\-]*[^\W\d_][\w\-]*)")
# International numbers: "+" then 7-15 digits, separated by spaces, dots, dashes, slashes or brackets.
_PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d++(?:[\s./\-]?\(?\d++\)?)*+(?![\w\-])")
# National numbers need at least two digit groups ("(312) 555-0145", "020 7946 0877"): bare digit
# runs are ids, counts and epoch times far more often than phone numbers.
_PHONE_NATIONAL = re.compile(r"(?<![\w.+\-])(?:\(\d{1,5}\)|\d{2,5}+)(?:[\s.\-]\d{2,5}+)++(?![\w\-]|\.\d)")
# Matches starting like these are dates ("2026-11-02 10") or IPv4 addresses, not phone numbers.
_NOT_PHONES = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,3}(?:\.\d{1,3}){3}(?!\d)")
_DIGIT = re.compile(r"\d")
_PHONE_DIGITS = range(7, 16)
_KEPT_DIGITS = 2


def trusted_debug_mode(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return (env.get(TRUSTED_DEBUG_VARIABLE) or "").strip().lower() in {"1", "true", "yes", "on"}


def _mask_email(match: re.Match[str]) -> str:
    return f"{match.group(1)[:1]}***@{match.group(2)}"


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = _DIGIT.findall(text)
    if len(digits) not in _PHONE_DIGITS or _NOT_PHONES.match(text):
        return text
    hidden = len(digits) - _KEPT_DIGITS
    out, seen = [], 0
    for char in text:
        if char.isdigit():
            seen += 1
            out.append("*" if seen <= hidden else char)
        else:
            out.append(char)
    return "".join(out)


def mask_pii(text: str) -> str:
    """`text` with email addresses as `d***@example.com` and all but the last two digits of phone numbers hidden."""
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(_mask_email, text)
    if _DIGIT.search(text):
        text = _PHONE_INTERNATIONAL.sub(_mask_phone, text)
        text = _PHONE_NATIONAL.sub(_mask_phone, text)
    return text


def mask_value(value: Any) -> Any:
    """Strings masked inside str, list, tuple and dict values; anything else is returned as is."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_value(item) for item in value)
    return value


def redact(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`mask_value`, unless the trusted debug mode is on: for text bound for logs, metadata or errors."""
    return value if trusted_debug_mode(environ) else mask_value(value)


# Attributes every LogRecord has; anything else on a record came from `extra=` (or from a framework).
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def structured_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra` fields that are plain data (Dagster attaches its own objects too)."""
    return {
        key: value for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("dagster_")
        and isinstance(value, str | int | float | bool | list | tuple | dict | type(None))
    }


def mask_record(record: logging.LogRecord) -> None:
    """Mask the message, its arguments, the traceback and the structured fields of `record` in place."""
    if record not in _text_masked:
        _mask_text(record)
        _text_masked.add(record)
    for key, value in structured_fields(record).items():
        setattr(record, key, mask_value(value))


# Records whose message and traceback are masked already; their `extra` fields can still come later.
# Kept beside the records, not on them: frameworks copy a record's attributes into new records.
_text_masked: weakref.WeakSet[logging.LogRecord] = weakref.WeakSet()


def _mask_text(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call is reported by the handler, as logging always does
        message = None
    if message is not None:
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_pii(record.stack_info)


class PiiFilter(logging.Filter):
    """Masks every record passing through (never drops one); passes them unchanged in trusted debug mode."""

    def __init__(self, trusted: bool | None = None):
        super().__init__()
        self.trusted = trusted_debug_mode() if trusted is None else trusted

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.trusted:
            mask_record(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the structured fields, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **structured_fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


WITHHELD = "[log message withheld: it could not be masked]"
_installed_factory: Any = None
_warned_trusted = False


def install_pii_masking(environ: Mapping[str, str] | None = None) -> bool:
    """Mask every log record this process creates from now on; idempotent. Returns whether masking is on."""
    global _installed_factory, _warned_trusted
    if trusted_debug_mode(environ):
        if not _warned_trusted:
            _warned_trusted = True
            logging.getLogger(__name__).warning(
                "%s is set: logs carry email addresses and phone numbers", TRUSTED_DEBUG_VARIABLE
            )
        return False
    current = logging.getLogRecordFactory()
    if current is _installed_factory:
        return True

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            mask_record(record)
        except Exception:  # noqa: BLE001 - a log call must never fail, nor pass what could not be masked
            record.msg, record.args, record.exc_info, record.exc_text = WITHHELD, (), None, None
        return record

    logging.setLogRecordFactory(masking_factory)
    _installed_factory = masking_factory
    return True


def protect_run_logs() -> bool:
    """Mask every log record of this process and, unless set otherwise, have Dagster keep exception
    texts (which can quote an address) out of failure events; nothing changes in trusted debug mode."""
    if install_pii_masking():
        os.environ.setdefault(DAGSTER_REDACT_ERRORS_VARIABLE, "1")
        return True
    return False


def configure_logging(level: int | str = logging.INFO, stream: Any = None) -> logging.Handler:
    """JSON lines on stderr for the `lead_pipeline` loggers, masked; for the CLI and the webhook server."""
    protect_run_logs()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiFilter())
    logger = logging.getLogger("lead_pipeline")
    for existing in [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]:
        logger.removeHandler(existing)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
