"""A Dagster instance configured by deploy/dagster.production.yaml, on a fresh PostgreSQL database."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lead_pipeline.settings import SAMPLE_INBOX, Settings
from lead_pipeline_tests.conftest import POSTGRES_URL

DEPLOY = Path(__file__).parents[2] / "deploy"


@pytest.fixture
def dagster_database() -> Iterator[sa.URL]:
    """A database of its own: the instance creates its tables there, and it is dropped afterwards."""
    server = sa.make_url(POSTGRES_URL)
    name = f"dagster_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def production_home(pipeline_env, tmp_path, monkeypatch, dagster_database: sa.URL) -> Path:
    """`DAGSTER_HOME` holding the production dagster.yaml, its connection set as operators set it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.production.yaml", home / "dagster.yaml")
    for key, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": dagster_database.host,
        "DAGSTER_PG_PORT": str(dagster_database.port or 5432),
        "DAGSTER_PG_USERNAME": dagster_database.username,
        "DAGSTER_PG_PASSWORD": dagster_database.password or "",
        "DAGSTER_PG_DB": dagster_database.database,
    }.items():
        monkeypatch.setenv(key, value)
    return home


@pytest.fixture
def settings(pipeline_env, tmp_path, monkeypatch) -> Settings:
    inbox = shutil.copytree(SAMPLE_INBOX, tmp_path / "inbox")
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(inbox))
    return Settings.from_env()
