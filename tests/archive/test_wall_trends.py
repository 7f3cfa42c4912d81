"""The wall's trend tile from the archive: three metrics, two spans, last year's line."""

from __future__ import annotations

import re

from dashboards.history import _months_ago
from dashboards.trendview import chart, trend_tile

MONTHS = ["2024-12", *(f"2025-{m:02d}" for m in range(1, 13))]


def _series(n: int,
            gap: int | None = None) -> list[tuple[str, float | None, float | None, int]]:
    return [(MONTHS[i] if n <= 13 else f"2025-06-{i + 1:02d}",
             None if i == gap else 40.0 + i, 30.0 + i if i % 2 else None, 10 + i)
            for i in range(n)]


def test_tile_has_each_metric_span_and_both_lines() -> None:
    series = {(m, by): _series(13 if by == "month" else 30, gap=3)
              for m in ("nps", "csat", "buttons.index") for by in ("month", "day")}
    html = trend_tile(series, "ru")
    for m in ("nps", "csat", "buttons.index"):
        for by, n in (("month", 13), ("day", 30)):
            assert f'data-k="trend-{m}-{by}" data-n="{n}"' in html
    assert "Тренды из архива" in html and "год назад" in html
    assert "дек 25" in html or "янв 25" in html
    assert html.count("stroke-dasharray") >= 6  # last year's line in every chart
    assert "+52" in html  # NPS of the last month, signed


def test_chart_breaks_the_line_at_a_period_without_data() -> None:
    svg = chart(_series(6, gap=2))
    solid = re.findall(r'<polyline points="([^"]+)"[^>]*stroke-width="3"', svg)
    assert len(solid) == 2  # split around the missing period
    assert chart([]).startswith("<svg") and "polyline" not in chart([])


def test_thirteen_months_back() -> None:
    first = _months_ago(12)
    assert first.endswith("-01")
