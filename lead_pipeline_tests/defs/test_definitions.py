import dagster as dg

from lead_pipeline.definitions import build_definitions, defs
from lead_pipeline.settings import Settings


def test_the_code_location_loads_every_definition():
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "landed_messages", "parsed_messages", "normalised_leads", "deduplicated_leads", "scored_leads",
        "warehouse/messages", "warehouse/leads", "warehouse/lead_attachments", "warehouse/dead_letters",
        "warehouse/kpi_daily",
    } <= keys
    assert {job.name for job in repo.get_all_jobs()} >= {"land_inbox", "process_partitions"}
    blocking = [c for c in repo.asset_graph.asset_check_keys if repo.asset_graph.get_check_spec(c).blocking]
    assert len(blocking) >= 4


def test_resources_follow_the_environment(pipeline_env, monkeypatch, tmp_path):
    monkeypatch.setenv("LEAD_STORE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("LEAD_PIPELINE_INBOX", str(tmp_path / "mail"))
    resources = build_definitions(Settings.from_env()).resources
    assert resources["lead_store"].url == "postgresql://postgres@127.0.0.1:5432/test"
    assert resources["inbox"].path == str(tmp_path / "mail")
    assert resources["warehouse"].database == pipeline_env["WAREHOUSE_PATH"]


def test_defaults_put_every_store_under_lead_pipeline_home(tmp_path):
    settings = Settings.from_env({"LEAD_PIPELINE_HOME": str(tmp_path)})
    assert settings.store_url == f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.inbox.name == "sample_inbox" and any(settings.inbox.glob("*.eml"))


def test_loading_the_code_location_does_not_import_the_heavy_core():
    """Sensor ticks and UI reloads load the location; pandas and the parsers load only in runs."""
    import subprocess
    import sys

    probe = (
        "import sys, lead_pipeline.definitions; "
        "print(','.join(m for m in ('pandas', 'numpy', 'py3langid', 'phonenumbers', 'lead_pipeline.mail.mime') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
