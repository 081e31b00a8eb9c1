"""Cost of PII masking per log record, against the same logging without it.

    .venv/bin/python benchmarks/logs.py [--records N]

Logs N records (default 200,000) through a logger with one JSON-lines handler writing to memory,
three kinds in equal parts: plain text with numbers and dates (nothing to mask), a message with an
email address and a phone number as arguments, and one with structured `extra` fields holding
both. Once with the plain LogRecord factory (the baseline) and once with `install_pii_masking()`
plus the handler's `PiiFilter`, as `lead-pipeline run` sets them up. Reports records per second,
microseconds added per record and the ratio. Best of three; figures printed, not asserted.
"""

from __future__ import annotations

import argparse
import io
import logging
import time

from lead_pipeline import logs


def _emit(logger: logging.Logger, n: int) -> None:
    for i in range(n):
        kind = i % 3
        if kind == 0:
            logger.info("2026-11-02..2026-11-06: %d parsed, %d dead letters, rate %.3f", i, i % 7, 0.981)
        elif kind == 1:
            logger.info("top lead %s: %s (phone %s) scored %d", "1b02ccab", "dana.whitfield@acme-robotics.example",
                        "+1 (312) 555-0145", 75)
        else:
            logger.info("lead scored", extra={"sender_email": "dana.whitfield@acme-robotics.example",
                                              "phone": "+13125550145", "score": 75})


def _best_of_three(masked: bool, n: int) -> float:
    logger = logging.getLogger(f"benchmark.{masked}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    best = float("inf")
    for _ in range(3):
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logs.JsonFormatter())
        if masked:
            handler.addFilter(logs.PiiFilter(trusted=False))
        logger.handlers = [handler]
        started = time.perf_counter()
        _emit(logger, n)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    n = parser.parse_args().records

    logging.setLogRecordFactory(logging.LogRecord)
    baseline = _best_of_three(False, n)
    logs.install_pii_masking({})
    masked = _best_of_three(True, n)
    print(f"records                 {n:,}")
    print(f"baseline (no masking)   {n / baseline:12,.0f} records/s")
    print(f"masked                  {n / masked:12,.0f} records/s")
    print(f"added per record        {(masked - baseline) / n * 1e6:12.2f} µs")
    print(f"ratio masked/baseline   {masked / baseline:12.2f}x time")


if __name__ == "__main__":
    main()
