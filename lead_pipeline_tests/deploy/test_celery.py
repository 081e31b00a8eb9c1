"""A day of mail processed by `process_partitions_celery`: every step a task on one of two Celery workers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import redis
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster_celery.make_app import make_app

from lead_pipeline.definitions import build_definitions
from lead_pipeline.settings import Settings
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.deploy.conftest import DEPLOY

# dagster-celery registers its task on the app once per submitted step; the first registration serves.
pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")

# Names of this run's own, so the steps are traced to these two workers whoever else uses the Redis server.
WORKERS = tuple(f"lead_pipeline_{uuid.uuid4().hex[:8]}" for _ in range(2))
DAGSTER_CELERY = Path(sys.executable).with_name("dagster-celery")


@pytest.fixture
def broker_url(monkeypatch) -> Iterator[str]:
    """A Redis database of the local server to itself (emptied before and after), as broker and result backend."""
    url = f"redis://127.0.0.1:6379/{random.randrange(1, 16)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("LEAD_CELERY_BROKER_URL", url)
    monkeypatch.setenv("LEAD_CELERY_BACKEND_URL", url)
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def celery_workers(production_home, settings, broker_url, tmp_path) -> Iterator[dict[str, Path]]:
    """Two single-process workers started as the README says, sharing the test's environment."""
    logs = {name: tmp_path / f"{name}.log" for name in WORKERS}
    # `dagster-celery` runs `celery` from PATH, as from an activated virtualenv.
    env = {**os.environ, "PATH": f"{DAGSTER_CELERY.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    workers = [
        subprocess.Popen(
            [str(DAGSTER_CELERY), "worker", "start", "-A", "dagster_celery.app", "-y", str(DEPLOY / "celery.yaml"),
             "-n", name, "--loglevel", "INFO", "--", "--concurrency=1"],
            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        for name, log in logs.items()
    ]
    try:
        _wait_for_workers(broker_url, workers, logs)
        yield logs
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)


def _wait_for_workers(
    broker_url: str, workers: list[subprocess.Popen], logs: dict[str, Path], timeout_s: float = 120
) -> None:
    app = make_app({"broker": broker_url, "backend": broker_url, "include": [], "config_source": None})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and all(worker.poll() is None for worker in workers):
        if len(app.control.ping(timeout=1.0)) >= len(workers):
            return
        time.sleep(0.5)
    raise AssertionError("Celery workers did not start:\n" + "\n".join(log.read_text()[-2000:] for log in logs.values()))


def test_a_partition_materialises_through_two_celery_workers(celery_workers, settings: Settings):
    day, deliveries = _land_the_inbox(settings)
    job = ReconstructableRepository.for_module("lead_pipeline.definitions", "defs").get_reconstructable_job(
        "process_partitions_celery"
    )
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(job, instance=instance, tags={"dagster/partition": day})
        assert result.success, [event.message for event in result.all_events if event.is_failure]
        step_starts = [event for event in result.all_events if event.is_step_start]
        handed_to_worker = [
            entry.dagster_event.event_specific_data.metadata["Celery worker"].value
            for entry in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            if entry.dagster_event.event_specific_data.metadata.get("Celery worker")
        ]

    step_pids = {event.pid for event in step_starts}
    assert len(step_starts) == len(handed_to_worker) >= 10
    assert os.getpid() not in step_pids and len(step_pids) >= 2
    assert {name.split("@")[0] for name in handed_to_worker} == set(WORKERS)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        parsed = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        kpi_days = conn.execute("SELECT DISTINCT CAST(day AS VARCHAR) FROM kpi_daily").fetchall()
    assert parsed == deliveries
    assert kpi_days == [(day,)]


def _land_the_inbox(settings: Settings) -> tuple[str, int]:
    """Land the sample inbox; returns the day with the most deliveries, and how many."""
    with dg.DagsterInstance.get() as instance:
        build_definitions(settings).resolve_job_def("land_inbox").execute_in_process(instance=instance)
    store = OperationalStore(settings.store_url)
    day, deliveries, _ = max(store.landing_backlog(), key=lambda row: row[1])
    store.dispose()
    return day, deliveries
