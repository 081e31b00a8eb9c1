"""The deployment files agree with the code, the Makefile and each other; nothing here needs Docker or a cluster."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

import yaml

from lead_pipeline.defs.partitions import PROCESSING_RUN_TAGS
from lead_pipeline_tests.deploy.conftest import DEPLOY

REPOSITORY = DEPLOY.parent
README = (REPOSITORY / "README.md").read_text()


def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def _env_references(node: Any) -> Iterator[str]:
    """Variable names a Dagster config reads through `{env: NAME}`."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from _env_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_references(value)


def _documented(name: str) -> bool:
    return f"`{name}`" in README


def test_every_variable_the_production_configs_read_is_documented():
    names = {*_env_references(_load("dagster.production.yaml")), *_env_references(_load("celery.yaml"))}
    assert {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD", "LEAD_CELERY_BROKER_URL"} <= names
    assert [name for name in sorted(names) if not _documented(name)] == []


def test_the_kubernetes_environment_names_only_variables_the_product_reads():
    values = _load("helm/values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    (worker,) = _load("helm/celery-workers.yaml")["spec"]["template"]["spec"]["containers"]
    names = {item["name"] for item in deployment["env"]} | {item["name"] for item in worker["env"]}
    assert [name for name in sorted(names) if not _documented(name)] == []
    # The workers see what the code location sees.
    assert {item["name"]: item.get("value") for item in deployment["env"]}.items() <= {
        item["name"]: item.get("value") for item in worker["env"]
    }.items()
    assert deployment["envSecrets"] == [{"name": ref["secretRef"]["name"]} for ref in worker["envFrom"]]


def test_the_image_serves_the_code_location_the_project_declares():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    module = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    (deployment,) = _load("helm/values.yaml")["dagster-user-deployments"]["deployments"]
    assert f'"--module-name", "{module}"' in dockerfile
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    assert f'"--port", "{deployment["port"]}"' in dockerfile
    uv_pin = re.search(r"^UV_VERSION := (\S+)$", (REPOSITORY / "Makefile").read_text(), re.M).group(1)
    assert f"uv=={uv_pin}" in dockerfile and "uv sync --frozen" in dockerfile
    (worker,) = _load("helm/celery-workers.yaml")["spec"]["template"]["spec"]["containers"]
    assert "COPY deploy/celery.yaml /app/deploy/celery.yaml" in dockerfile
    assert worker["command"][worker["command"].index("-y") + 1] == "/app/deploy/celery.yaml"


def test_the_chart_applies_the_same_concurrency_rules_as_the_production_yaml():
    chart = _load("helm/values.yaml")["concurrency"]
    instance = _load("dagster.production.yaml")["concurrency"]
    assert chart["enabled"] is True
    assert (chart["pools"]["defaultLimit"], chart["pools"]["granularity"]) == (
        instance["pools"]["default_limit"], instance["pools"]["granularity"],
    )
    assert chart["runs"]["maxConcurrentRuns"] == instance["runs"]["max_concurrent_runs"]
    assert chart["runs"]["tagConcurrencyLimits"] == instance["runs"]["tag_concurrency_limits"] == [
        {"key": key, "value": value, "limit": 1} for key, value in PROCESSING_RUN_TAGS.items()
    ]
