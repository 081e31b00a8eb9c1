"""The Dagster UI in a real browser: the webserver on the project's workspace, opened in headless Chromium.

Debian's `chromium` drives the pages (Playwright with the system browser; no browser download), so the check
is what a user sees: the asset graph, the asset checks and the latest materialisation's metadata.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from lead_pipeline.definitions import build_definitions
from lead_pipeline.settings import Settings
from lead_pipeline.stores.operational import OperationalStore

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LEAD_PIPELINE_TEST_CHROMIUM", "/usr/bin/chromium")
# Headless in a container: no sandbox, no GPU, and no calls home that would wait on a network there is not.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Pages render from GraphQL answers; a loaded machine can take a while for the first one.
UI_TIMEOUT_MS = 60_000
GROUPS = ["ingest", "parse", "leads", "publish", "warehouse"]
ASSET = "scored_leads"
PRODUCT_VARIABLES = ("MAILPARSE_API_URL", "MAILPARSE_API_TOKEN", "CRM_API_URL", "CRM_API_TOKEN", "SLACK_WEBHOOK_URL",
                     "HELPDESK_WEBHOOK_URL", "ENRICHMENT_API_URL", "LEAD_STORE_URL", "WAREHOUSE_PATH",
                     "LEAD_PIPELINE_INBOX")


@pytest.fixture
def ui_env(tmp_path) -> dict[str, str]:
    """The environment `make dev` gives the webserver, with every store in a temp dir and no remote system."""
    home = tmp_path / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if k not in PRODUCT_VARIABLES}
    return env | {"LEAD_PIPELINE_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}


@pytest.fixture
def materialised(ui_env) -> dg.EventLogEntry:
    """Land the sample inbox and process its latest day into the instance the webserver shows."""
    settings = Settings.from_env(ui_env)
    defs = build_definitions(settings)
    with dg.DagsterInstance.from_config(ui_env["DAGSTER_HOME"]) as instance:
        defs.resolve_job_def("land_inbox").execute_in_process(instance=instance)
        store = OperationalStore(settings.store_url)
        day = store.unprocessed_dates()[-1]
        store.dispose()
        result = defs.resolve_job_def("process_partitions").execute_in_process(instance=instance, partition_key=day)
        assert result.success
        latest = instance.get_latest_materialization_event(dg.AssetKey(ASSET))
    assert latest is not None
    return latest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webserver(ui_env, materialised, tmp_path) -> Iterator[str]:
    port = free_port()
    log = open(tmp_path / "webserver.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)],
        cwd=REPO, env=ui_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "webserver did not answer /server_info"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture
def page(webserver, tmp_path) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=webserver, viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            page.screenshot(path=tmp_path / "last.png")
            browser.close()


def visit(page: Page, path: str) -> None:
    page.goto(path)
    # The first visit offers a newsletter sign-up over the page; a user skips it.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=3_000)
        skip.click()
    except PlaywrightTimeout:  # not offered: nothing to dismiss
        pass


def snapshot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=screenshots / f"{name}.png")


def test_the_ui_shows_the_asset_graph_checks_and_latest_materialisation_metadata(page, materialised, ui_env,
                                                                                   tmp_path):
    defs = build_definitions(Settings.from_env(ui_env))
    graph = defs.resolve_asset_graph()
    check_names = sorted(key.name for key in graph.asset_check_keys if key.asset_key == dg.AssetKey(ASSET))
    assert check_names, "the asset under test has checks"
    metadata = materialised.asset_materialization.metadata  # type: ignore[union-attr]

    # The global lineage: every asset group of the code location.
    visit(page, "/asset-groups")
    for group in GROUPS:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    snapshot(page, tmp_path, "lineage")

    # A group's graph: its assets as nodes, the edges' neighbours, and each node's check results.
    visit(page, "/locations/lead_pipeline/asset-groups/leads")
    leads_group = sorted(key.path[-1] for key in graph.get_all_asset_keys() if graph.get(key).group_name == "leads")
    for name in [*leads_group, "parsed_messages", "published_leads"]:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    expect(page.get_by_text(f"{len(check_names)} / {len(check_names)} Passed").first).to_be_visible()
    snapshot(page, tmp_path, "leads_group")

    # The asset's checks, by name (the list truncates long names in the middle; the title keeps them whole),
    # each with its latest result.
    visit(page, f"/assets/{ASSET}?view=checks")
    for name in check_names:
        entry = page.locator("span").filter(has=page.get_by_title(name, exact=True))
        expect(entry.first).to_be_visible()
        expect(entry.first).to_contain_text("Succeeded")
    snapshot(page, tmp_path, "checks")

    # The latest materialisation's metadata: labels and the values this run recorded.
    visit(page, f"/assets/{ASSET}")
    expect(page.get_by_text("Latest materialization").first).to_be_visible()
    for label in ("leads_scored", "rules_version"):
        row = page.get_by_role("row").filter(has=page.get_by_text(label, exact=True))
        expect(row.first).to_be_visible()
        expect(row.first).to_contain_text(str(metadata[label].value))
    snapshot(page, tmp_path, "asset")
