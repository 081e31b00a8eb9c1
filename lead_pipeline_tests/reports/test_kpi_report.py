"""The KPI report's core: what it reads from the warehouse, and what it renders, without Dagster."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from PIL import Image

from lead_pipeline.reports.kpi_report import KpiData, read_kpi_data, render
from lead_pipeline.stores.warehouse import ensure_schema
from lead_pipeline_tests.reports.by_hand import quantile
from lead_pipeline_tests.reports.chromium import visit
from lead_pipeline_tests.reports.pixels import coloured_share_and_hues

ARRIVAL = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# (day offset, alias, score, route, hours to the CRM or None when not sent)
LEADS = [
    (0, "sales@x.example", 72, "crm", 1.0), (0, "sales@x.example", 55, "crm", 3.0),
    (0, "demo@x.example", 48, "crm", 10.0), (0, "demo@x.example", 20, "review", None),
    (1, "demo@x.example", 64, "crm", 0.5), (1, "jobs@x.example", 5, "recruiting", None),
    (1, "sales@x.example", -30, "spam", None), (1, "sales@x.example", 41, "crm", None),
]


@pytest.fixture
def warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(conn)
    for n, (offset, alias, score, route, hours) in enumerate(LEADS):
        received = ARRIVAL + timedelta(days=offset, minutes=n)
        conn.execute(
            "INSERT INTO leads (lead_id, message_id, sender_email, intent, source_alias, received_at, received_date, "
            "content_hash, score, route, status, duplicate_count, published_at) "
            "VALUES (?, ?, ?, 'demo', ?, ?, ?, 'h', ?, ?, 'new', 0, ?)",
            [f"L{n}", f"<{n}@x>", f"p{n}@x.example", alias, received, received.date(), score, route,
             received + timedelta(hours=hours) if hours is not None else None],
        )
    days = sorted({(offset, alias) for offset, alias, *_ in LEADS})
    for offset, alias in days:
        mine = [lead for lead in LEADS if lead[:2] == (offset, alias)]
        conn.execute(
            "INSERT INTO kpi_daily (day, source_alias, messages, parsed, dead_letters, duplicates_collapsed, leads, "
            "qualified) VALUES (?, ?, ?, ?, 0, 1, ?, ?)",
            [(ARRIVAL + timedelta(days=offset)).date(), alias, len(mine) + 1, len(mine) + 1, len(mine),
             sum(lead[3] == "crm" for lead in mine)],
        )
    yield conn
    conn.close()


def test_the_report_reads_volumes_latency_percentiles_and_score_bins_from_the_warehouse(warehouse):
    data = read_kpi_data(warehouse)

    assert data.days == ["2026-11-02", "2026-11-03"]
    qualified = {(row["day"], row["source_alias"]): row["qualified"] for row in data.by_day_alias}
    assert qualified[("2026-11-02", "sales@x.example")] == 2 and qualified[("2026-11-03", "sales@x.example")] == 1
    assert data.totals == {"messages": len(LEADS) + len(data.by_day_alias), "leads": len(LEADS),
                           "qualified": sum(lead[3] == "crm" for lead in LEADS)}

    latency = {(row["day"], row["percentile"]): row["hours"] for row in data.latency_by_day}
    for offset in (0, 1):
        day = (ARRIVAL + timedelta(days=offset)).date().isoformat()
        hours = [lead[4] for lead in LEADS if lead[0] == offset and lead[4] is not None]
        assert latency[(day, "median")] == pytest.approx(quantile(hours, 0.5))
        assert latency[(day, "p95")] == pytest.approx(quantile(hours, 0.95))

    bins = {(row["score_bin"], row["route"]): row["leads"] for row in data.scores}
    expected: dict[tuple[int, str], int] = {}
    for *_, score, route, _hours in LEADS:
        key = (score - score % 5, route)
        expected[key] = expected.get(key, 0) + 1
    assert bins == expected


def test_the_page_carries_its_own_scripts_and_the_png_shows_coloured_charts(warehouse, tmp_path):
    report = render(read_kpi_data(warehouse))

    # Offline: no script or stylesheet is fetched from anywhere.
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", report.html)
    assert "vegaEmbed" in report.html and len(report.html) > 100_000
    png = tmp_path / "report.png"
    png.write_bytes(report.png)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 500 and image.height > 1000
    share, hues = coloured_share_and_hues(png)
    assert share > 0.03
    assert hues >= 3  # aliases, percentiles and routes each get their own colours


def test_an_empty_warehouse_still_renders_a_report_that_opens_without_warnings(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as conn:
        ensure_schema(conn)
        data = read_kpi_data(conn)
    report = render(data)
    assert data == KpiData([], [], [], {"messages": 0, "leads": 0, "qualified": 0})
    assert report.first_day is None and report.png.startswith(b"\x89PNG")
    page = tmp_path / "empty.html"
    page.write_text(report.html)
    opened = visit(page, tmp_path / "empty.png")
    assert opened.console == []
    assert "no data yet" in opened.dom and "no lead sent to the CRM yet" in opened.dom
