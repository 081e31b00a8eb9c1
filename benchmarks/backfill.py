"""Backfill throughput: a year of generated mail through `lead-pipeline run`, end to end.

    .venv/bin/python benchmarks/backfill.py [--messages N [N ...]] [--workers W] [--baseline-workers B]
                                            [--no-baseline] [--seed S] [--keep DIR]

For each N (default 100,000 and 1,000,000): generates N messages spread over the 365 days up to
today (`lead_pipeline.synthetic`, as `lead-pipeline generate --out DIR` writes them; not timed),
then times `lead-pipeline run --json` in a fresh home (SQLite store, DuckDB warehouse, CRM, Slack
and helpdesk unconfigured so the publish ledger records what would be sent). That is the real
backfill path: land the folder, then one `process_partitions` run per range of at most 31 daily
partitions (the assets' single-run `BackfillPolicy`), each asset working through its range in
chunks, parse and extraction in a process per core.

Reported per N: wall time, messages per second end to end (landing → warehouse and publish
ledger), time per message (it should stay flat as N grows), and the peak memory of the whole
process tree (the CLI, the forkserver and its workers), polled from /proc every 0.2 s: the sum of
RSS (counts pages the processes share once per process, so an upper bound) and of PSS (shared pages
split between their processes). Then where the time went: landing, and each asset's steps summed
over the runs, from the Dagster instance's step statistics.

The baseline is a smaller backfill (`--baseline-messages`, default 20,000) run twice: with every
core and with `LEAD_PIPELINE_WORKERS=1` (parse and extraction in the one process); the ratio shows
what the worker processes buy. Targets on a 2-core machine:
>= 3,000 messages/s end to end and peak memory under 1.5 GiB at every N.
Wall-clock time on a possibly shared machine; not a test: figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lead_pipeline.synthetic import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATE = 3_000
TARGET_MEMORY_GIB = 1.5
DAYS = 365
POLL_SECONDS = 0.2


# --------------------------------------------------------------------------------------------
# Memory of a process tree, from /proc
# --------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; zeros once it has gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass
class TreeMemory:
    """Peak summed RSS and PSS of a process and all its descendants, polled in a thread."""

    root: int
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    peak_processes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            pids, pending = [], [self.root]
            while pending:
                pid = pending.pop()
                pids.append(pid)
                pending += _children(pid)
            sizes = [_memory_kib(pid) for pid in pids]
            self.peak_rss_kib = max(self.peak_rss_kib, sum(rss for rss, _ in sizes))
            self.peak_pss_kib = max(self.peak_pss_kib, sum(pss for _, pss in sizes))
            self.peak_processes = max(self.peak_processes, len(pids))

    def stop(self) -> None:
        self._stop.set()


# --------------------------------------------------------------------------------------------
# One backfill
# --------------------------------------------------------------------------------------------


@dataclass
class Backfill:
    messages: int
    workers: str
    seconds: float
    summary: dict
    memory: TreeMemory
    steps: dict[str, float]  # step key -> seconds, summed over runs
    runs: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def step_seconds(dagster_home: Path) -> tuple[dict[str, float], int]:
    """Seconds per step key summed over every run the instance recorded, and the number of runs."""
    import dagster as dg

    totals: dict[str, float] = defaultdict(float)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        for run in runs:
            for stats in instance.get_run_step_stats(run.run_id):
                if stats.start_time and stats.end_time:
                    totals[stats.step_key] += stats.end_time - stats.start_time
    return dict(totals), len(runs)


def backfill(corpus: Path, start: str, messages: int, workers: str | None, home: Path) -> Backfill:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_", "MAILPARSE_", "CRM_", "SLACK_",
                                                                       "HELPDESK_", "ENRICHMENT_", "DAGSTER_"))}
    env.update(LEAD_PIPELINE_HOME=str(home), LEAD_PIPELINE_INBOX=str(corpus), LEAD_PIPELINE_START_DATE=start)
    if workers:
        env["LEAD_PIPELINE_WORKERS"] = workers
    command = [sys.executable, "-m", "lead_pipeline", "run", "--json"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    poller = threading.Thread(target=memory.poll, daemon=True)
    poller.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    poller.join()
    if process.returncode:
        raise SystemExit(f"lead-pipeline run failed ({process.returncode}):\n{err[-4000:]}")
    steps, runs = step_seconds(home / "dagster")
    return Backfill(messages, workers or "all cores", seconds, json.loads(out), memory, steps, runs)


def report(result: Backfill, per_message_base: float | None) -> None:
    gib = result.memory.peak_rss_kib / 1024**2
    pss_gib = result.memory.peak_pss_kib / 1024**2
    per_message = result.seconds / result.messages * 1e6
    flat = f"   ({per_message / per_message_base:4.2f}x the first size)" if per_message_base else ""
    s = result.summary
    print(f"{result.messages:,} messages, workers: {result.workers}")
    print(f"  wall {result.seconds:8.1f} s   {result.rate:8,.0f} messages/s end to end "
          f"(target {TARGET_RATE:,}: {'met' if result.rate >= TARGET_RATE else 'NOT met'})")
    print(f"  {per_message:8.0f} µs per message{flat}")
    print(f"  peak memory of the process tree: RSS {gib:5.2f} GiB, PSS {pss_gib:5.2f} GiB "
          f"(target < {TARGET_MEMORY_GIB} GiB: {'met' if pss_gib < TARGET_MEMORY_GIB else 'NOT met'}), "
          f"up to {result.memory.peak_processes} processes")
    print(f"  {s['parsed']:,} parsed, {s['dead_letters']:,} dead letters, {s['leads']:,} leads, "
          f"{s['duplicates_collapsed']:,} duplicates, {s['qualified']:,} qualified, "
          f"{s['days_processed']} days in {result.runs} runs")
    total = sum(result.steps.values())
    print(f"  where the time went (steps summed over runs, {total:.0f} s of {result.seconds:.0f} s wall):")
    for key, seconds in sorted(result.steps.items(), key=lambda item: -item[1]):
        print(f"    {key:40s} {seconds:8.1f} s  {result.messages / seconds if seconds else 0:10,.0f} messages/s")
    print(f"    {'(run start-up and Dagster between steps)':40s} {result.seconds - total:8.1f} s", flush=True)


def corpus_of(work: Path, n: int, seed: int, first_day) -> Path:
    corpus = work / f"corpus-{n}"
    if not corpus.exists():
        started = time.perf_counter()
        written = write_corpus(corpus, n, seed=seed, start=first_day, days=DAYS)
        print(f"generated {n:,} messages ({written.bytes / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f} s "
              "(not timed)", flush=True)
    return corpus


def cleanup(keep: Path | None, *paths: Path) -> None:
    if not keep:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[100_000, 1_000_000], metavar="N")
    parser.add_argument("--workers", help="LEAD_PIPELINE_WORKERS for the measured runs (default: every core)")
    parser.add_argument("--baseline-workers", default="1", help="LEAD_PIPELINE_WORKERS of the baseline (default 1)")
    parser.add_argument("--baseline-messages", type=int, default=20_000, metavar="N",
                        help="size of the baseline comparison (default 20,000)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline comparison")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work here and keep corpora and homes (default: a temp dir)")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="backfill-"))
    work.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=DAYS - 1)
    print(f"backfill of {DAYS} daily partitions ({first_day} .. {today}), {os.cpu_count()} cores, work dir {work}",
          flush=True)
    per_message_base = None
    try:
        if not args.no_baseline:
            n = args.baseline_messages
            corpus = corpus_of(work, n, args.seed, first_day)
            pooled = backfill(corpus, first_day.isoformat(), n, args.workers, work / f"home-{n}-pooled")
            single = backfill(corpus, first_day.isoformat(), n, args.baseline_workers, work / f"home-{n}-single")
            for result in (pooled, single):
                report(result, None)
            print(f"baseline: all cores {pooled.rate:,.0f} messages/s vs LEAD_PIPELINE_WORKERS={args.baseline_workers} "
                  f"{single.rate:,.0f} messages/s: {pooled.rate / single.rate:4.2f}x\n", flush=True)
            cleanup(args.keep, corpus, work / f"home-{n}-pooled", work / f"home-{n}-single")
        for n in args.messages:
            corpus = corpus_of(work, n, args.seed, first_day)
            result = backfill(corpus, first_day.isoformat(), n, args.workers, work / f"home-{n}")
            report(result, per_message_base)
            per_message_base = per_message_base or result.seconds / n * 1e6
            cleanup(args.keep, corpus, work / f"home-{n}")
            print(flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
