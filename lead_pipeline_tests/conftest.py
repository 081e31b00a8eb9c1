from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

# Tests that need PostgreSQL fail (never skip) when it is unreachable: CI starts it.
POSTGRES_URL = os.environ.get("LEAD_PIPELINE_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    schema = f"lp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment of the product contract pointing every store into a temp dir."""
    env = {
        "LEAD_PIPELINE_HOME": str(tmp_path / "home"),
        "WAREHOUSE_PATH": str(tmp_path / "home" / "warehouse.duckdb"),
    }
    for key in ("LEAD_STORE_URL", "LEAD_PIPELINE_INBOX", "DAGSTER_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def pytest_terminal_summary(terminalreporter):
    """Per-field accuracy of lead intelligence, when the evaluation ran."""
    from lead_pipeline_tests.leads.accuracy_report import ACCURACY

    if not ACCURACY:
        return
    terminalreporter.section("lead intelligence accuracy (labelled set)")
    for field, (right, total, wrong) in sorted(ACCURACY.items()):
        terminalreporter.write_line(f"{field:16s} {right:3d}/{total:<3d} {right / total:6.1%}")
        if terminalreporter.verbosity > 0:
            for line in wrong:
                terminalreporter.write_line(f"    {line}")
