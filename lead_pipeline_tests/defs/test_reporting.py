"""KPIs and the KPI report after the whole graph ran over the sample inbox, publishing to CRM and Slack stand-ins."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lead_pipeline.settings import SAMPLE_INBOX, Settings
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline.stores.publishing import read_ledger
from lead_pipeline.stores.window import DateWindow
from lead_pipeline_tests.publish.standins import HubSpotStandin, SlackStandin
from lead_pipeline_tests.reports.by_hand import quantile
from lead_pipeline_tests.reports.chromium import visit
from lead_pipeline_tests.reports.pixels import coloured_share_and_hues

LABELS = Path(__file__).parents[1] / "fixtures" / "sample_inbox_labels.csv"
TOKEN = "hs-report-token"


def seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


class Ran:
    def __init__(self, settings: Settings, stdout: str, report_metadata: dict, hubspot: HubSpotStandin):
        self.settings = settings
        self.stdout = stdout
        self.report_metadata = report_metadata
        self.hubspot = hubspot

    def kpi_rows(self) -> dict[tuple[str, str], dict]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as conn:
            cursor = conn.execute("SELECT * FROM kpi_daily")
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return {(row["day"].isoformat(), row["source_alias"]): row for row in rows}


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Iterator[Ran]:
    """`lead-pipeline run` over the sample inbox, as a user runs it, publishing to stand-ins on 127.0.0.1."""
    home = tmp_path_factory.mktemp("reporting")
    inbox = shutil.copytree(SAMPLE_INBOX, home / "inbox")
    with HubSpotStandin(token=TOKEN) as hubspot, SlackStandin() as slack:
        env = {key: value for key, value in os.environ.items()
               if key not in ("LEAD_STORE_URL", "DAGSTER_HOME", "WAREHOUSE_PATH")}
        env.update(LEAD_PIPELINE_HOME=str(home / "home"), LEAD_PIPELINE_INBOX=str(inbox), CRM_API_URL=hubspot.url,
                   CRM_API_TOKEN=TOKEN, SLACK_WEBHOOK_URL=slack.webhook_url)
        result = subprocess.run([sys.executable, "-m", "lead_pipeline", "run"], env=env, capture_output=True,
                                text=True, timeout=600, check=True)
        settings = Settings.from_env(env)
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            event = instance.get_latest_materialization_event(dg.AssetKey("kpi_report"))
        yield Ran(settings, result.stdout, dict(event.asset_materialization.metadata), hubspot)


def test_kpi_daily_matches_a_hand_count_of_the_sample_inbox_and_the_store(ran):
    with open(LABELS, newline="") as handle:
        labels = list(csv.DictReader(handle))
    messages = Counter((row["received_date"], row["alias"]) for row in labels)

    store = OperationalStore(ran.settings.store_url)
    leads = store.read_leads_in(DateWindow("2000-01-01", "2100-01-01"))
    sent = read_ledger(store, channel="crm")
    store.dispose()
    sent_at = {row.lead_id: row.first_sent_at for row in sent.itertuples() if row.state == "sent"}
    leads_by_key = Counter(zip(leads["received_date"], leads["source_alias"], strict=True))
    qualified = Counter((row.received_date, row.source_alias) for row in leads.itertuples() if row.route == "crm")
    latencies: dict[tuple[str, str], list[float]] = {}
    for row in leads.itertuples():
        if row.lead_id in sent_at:
            key = (row.received_date, row.source_alias)
            latencies.setdefault(key, []).append(seconds(sent_at[row.lead_id]) - seconds(row.received_at))

    kpi = ran.kpi_rows()
    assert set(kpi) == set(messages)
    assert sum(leads_by_key.values()) == len({row["lead_group"] for row in labels})
    assert sent_at and set(sent_at) == set(leads.loc[leads["route"] == "crm", "lead_id"])
    assert sorted(ran.hubspot.deal_lead_ids()) == sorted(sent_at)
    for key, row in kpi.items():
        assert row["messages"] == row["parsed"] == messages[key], key
        assert row["dead_letters"] == 0 and row["parse_success_rate"] == 1.0
        assert row["leads"] == leads_by_key[key], key
        # Every message of a key beyond its leads was collapsed into a lead.
        assert row["duplicates_collapsed"] == messages[key] - leads_by_key[key], key
        assert row["qualified"] == qualified[key], key
        assert row["qualification_rate"] == pytest.approx(qualified[key] / leads_by_key[key]), key
        if key in latencies:
            assert row["median_latency_to_crm_s"] == pytest.approx(quantile(latencies[key], 0.5), abs=1e-3), key
            assert row["p95_latency_to_crm_s"] == pytest.approx(quantile(latencies[key], 0.95), abs=1e-3), key
        else:
            assert row["median_latency_to_crm_s"] is None and row["p95_latency_to_crm_s"] is None, key


def test_the_report_asset_writes_the_page_and_png_under_home_and_links_them(ran):
    meta = ran.report_metadata
    reports = ran.settings.home / "reports"
    html, png = Path(meta["html_path"].path), Path(meta["png_path"].path)
    assert (html, png) == (reports / "kpi_report.html", reports / "kpi_report.png")
    assert f"KPI report: {html}" in ran.stdout.splitlines()
    assert meta["report"].url == html.as_uri()
    assert png.stat().st_size == meta["png_bytes"].value > 10_000
    kpi = ran.kpi_rows()
    assert meta["messages"].value == sum(row["messages"] for row in kpi.values())
    assert meta["qualified"].value == sum(row["qualified"] for row in kpi.values())
    assert meta["days"].value == len({day for day, _ in kpi})
    share, hues = coloured_share_and_hues(png)
    assert share > 0.03 and hues >= 4


def test_the_report_opens_in_chromium_without_errors_and_draws_every_chart(ran, tmp_path):
    page = ran.settings.home / "reports" / "kpi_report.html"
    opened = visit(page, tmp_path / "screenshot.png", width=1000, height=1500)

    assert opened.console == []
    assert 'class="marks"' in opened.dom  # Vega drew an SVG
    kpi = ran.kpi_rows()
    with duckdb.connect(str(ran.settings.warehouse_path), read_only=True) as conn:
        score_bars = conn.execute("SELECT count(DISTINCT (floor(score / 5), route)) FROM leads").fetchone()[0]
        latency_days = conn.execute("SELECT count(DISTINCT received_date) FROM leads WHERE published_at IS NOT NULL"
                                    ).fetchone()[0]
    # One bar per day and alias in each of the two volume charts, one per score bin and route.
    assert opened.dom.count('aria-roledescription="bar"') == 2 * len(kpi) + score_bars
    # Median and p95 points for each day with a lead sent to the CRM.
    assert opened.dom.count('aria-roledescription="point"') == 2 * latency_days > 0
    for title in ("Messages by day and alias", "Qualified leads by day and alias",
                  "Latency from arrival to CRM (hours)", "Score distribution by route"):
        assert title in opened.dom

    # The screenshot shows the charts: each quarter of the page, one chart each, is drawn in colour.
    share, hues = coloured_share_and_hues(opened.screenshot)
    assert share > 0.03 and hues >= 4
    for top in (60, 360, 660, 960):
        band_share, _ = coloured_share_and_hues(opened.screenshot, box=(0, top, 800, top + 280))
        assert band_share > 0.005, top
