"""The KPI report: charts of the warehouse's KPIs as one offline HTML page and a PNG. Plain Python, no Dagster.

The charts are Vega-Lite specs built with Altair and rendered by vl-convert, which embeds the Vega
libraries in the page (no CDN) and draws the PNG itself (no browser). Every input is aggregated in
DuckDB first, so a chart's data stays a few rows per day whatever the number of leads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import duckdb
import vl_convert

SCORE_BIN = 5
ROUTE_ORDER = ["crm", "review", "nurture", "support", "recruiting", "spam"]
WIDTH = 560


@dataclass(frozen=True)
class KpiData:
    """What the charts show, as JSON-ready rows."""

    by_day_alias: list[dict[str, Any]]  # day, source_alias, messages, leads, qualified
    latency_by_day: list[dict[str, Any]]  # day, percentile ('median' | 'p95'), hours
    scores: list[dict[str, Any]]  # score_bin, route, leads
    totals: dict[str, int]  # messages, leads, qualified

    @property
    def days(self) -> list[str]:
        return sorted({row["day"] for row in self.by_day_alias})


@dataclass(frozen=True)
class RenderedReport:
    html: str
    png: bytes
    totals: dict[str, int]
    first_day: str | None
    last_day: str | None


def read_kpi_data(conn: duckdb.DuckDBPyConnection) -> KpiData:
    """The report's rows from the warehouse tables `kpi_daily` and `leads`."""
    by_day_alias = _rows(conn, """
        SELECT strftime(day, '%Y-%m-%d') AS day, source_alias, messages, leads, qualified
        FROM kpi_daily ORDER BY day, source_alias
    """)
    # Percentiles do not add up across aliases: the day's are computed from its leads.
    latency = _rows(conn, """
        WITH published AS (
            SELECT received_date AS day, (epoch(published_at) - epoch(received_at)) / 3600.0 AS hours
            FROM leads WHERE published_at IS NOT NULL
        )
        SELECT strftime(day, '%Y-%m-%d') AS day, 'median' AS percentile, quantile_cont(hours, 0.5) AS hours
        FROM published GROUP BY day
        UNION ALL
        SELECT strftime(day, '%Y-%m-%d'), 'p95', quantile_cont(hours, 0.95) FROM published GROUP BY day
        ORDER BY 1, 2
    """)
    scores = _rows(conn, f"""
        SELECT (floor(score / {SCORE_BIN}) * {SCORE_BIN})::INTEGER AS score_bin, coalesce(route, 'unrouted') AS route,
               count(*)::INTEGER AS leads
        FROM leads WHERE score IS NOT NULL GROUP BY ALL ORDER BY ALL
    """)
    messages, leads, qualified = conn.execute(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(leads), 0), coalesce(sum(qualified), 0) FROM kpi_daily"
    ).fetchone()
    totals = {"messages": int(messages), "leads": int(leads), "qualified": int(qualified)}
    return KpiData(by_day_alias, latency, scores, totals)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build_chart(data: KpiData) -> alt.VConcatChart:
    """Volume and qualified leads by day and alias, latency to the CRM, and the score distribution."""
    days = data.days
    span = f"{days[0]} to {days[-1]}" if days else "no data yet"
    # Days as ordinal labels: one bar per day, no time-zone shift in the browser.
    day_axis = alt.X("day:O", title="day (UTC)", axis=alt.Axis(labelAngle=-45, labelOverlap="greedy"))

    def per_alias(measure: str, title: str) -> alt.Chart:
        return _drawn(data.by_day_alias, title, "no mail processed yet", lambda chart: chart.mark_bar().encode(
            day_axis, alt.Y(f"sum({measure}):Q", title=measure), alt.Color("source_alias:N", title="alias"),
            tooltip=["day:N", "source_alias:N", f"{measure}:Q"]))

    latency = _drawn(
        data.latency_by_day, "Latency from arrival to CRM (hours)", "no lead sent to the CRM yet",
        lambda chart: chart.mark_line(point=True).encode(
            day_axis, alt.Y("hours:Q", title="hours"),
            alt.Color("percentile:N", sort=["median", "p95"], title="percentile"),
            tooltip=["day:N", "percentile:N", alt.Tooltip("hours:Q", format=".1f")]),
    )
    scores = _drawn(
        data.scores, "Score distribution by route", "no scored lead yet",
        lambda chart: chart.mark_bar().encode(
            alt.X("score_bin:Q", bin=alt.BinParams(step=SCORE_BIN, binned=True), title="score"),
            alt.X2("score_end:Q"), alt.Y("sum(leads):Q", title="leads"),
            alt.Color("route:N", sort=ROUTE_ORDER, title="route"), tooltip=["score_bin:Q", "route:N", "leads:Q"],
        ).transform_calculate(score_end=f"datum.score_bin + {SCORE_BIN}"),
    )
    totals = data.totals
    headline = (f"{totals.get('messages', 0)} messages, {totals.get('leads', 0)} leads, "
                f"{totals.get('qualified', 0)} qualified")
    return (
        alt.vconcat(per_alias("messages", "Messages by day and alias"),
                    per_alias("qualified", "Qualified leads by day and alias"), latency, scores)
        .resolve_scale(color="independent")
        .properties(title=alt.Title(f"Lead pipeline KPIs, {span}", subtitle=headline))
    )


def _drawn(rows: Sequence[dict[str, Any]], title: str, when_empty: str,
           draw: Callable[[alt.Chart], alt.Chart]) -> alt.Chart:
    if rows:
        return draw(alt.Chart(_values(rows), title=title, width=WIDTH, height=200))
    # Empty data makes Vega warn about infinite extents: say plainly why the chart is empty instead.
    note = alt.Chart(alt.Data(values=[{"note": when_empty}]), title=title, width=WIDTH, height=200)
    return note.mark_text(size=14, color="gray").encode(text="note:N")


def _values(rows: Sequence[dict[str, Any]]) -> alt.Data:
    # Inline values rather than a DataFrame: the rows are already aggregated, and Altair's row cap
    # for DataFrames would fail a long history.
    return alt.Data(values=list(rows))


def render(data: KpiData) -> RenderedReport:
    spec = build_chart(data).to_dict()
    days = data.days
    return RenderedReport(
        html=vl_convert.vegalite_to_html(spec, bundle=True),
        png=vl_convert.vegalite_to_png(spec, scale=2),
        totals=dict(data.totals),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
    )
