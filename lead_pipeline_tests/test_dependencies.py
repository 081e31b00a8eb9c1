from importlib import metadata

import pytest


def _dagster_family() -> dict[str, str]:
    return {
        dist.metadata["Name"].lower(): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower().replace("_", "-").startswith("dagster")
    }


def test_dagster_libraries_move_in_lockstep_with_core():
    family = _dagster_family()
    core = family.pop("dagster")
    major, minor, patch = core.split(".")
    # dagster 1.X.N ships its libraries as 0.(X+16).N; `dagster-pipes` and the webserver follow core.
    expected_lib = f"0.{int(minor) + 16}.{patch}"
    mismatched = {
        name: version for name, version in family.items()
        if version not in (core, expected_lib)
    }
    assert not mismatched, f"dagster {core} expects libraries at {expected_lib}: {mismatched}"
    assert {"dagster-webserver", "dagster-postgres", "dagster-duckdb"} <= set(family)


def test_psycopg2_is_recent_enough_for_dagster_postgres():
    version = tuple(int(p) for p in metadata.version("psycopg2-binary").split(".")[:3])
    assert version >= (2, 9, 10)


@pytest.mark.parametrize("package", ["dagster-ge", "great-expectations"])
def test_no_great_expectations_0x(package):
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        return
    assert package != "dagster-ge", "dagster-ge only supports great-expectations 0.x"
    assert not version.startswith("0."), f"{package} {version}: use great-expectations 1.x"
