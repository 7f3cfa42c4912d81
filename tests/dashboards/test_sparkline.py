"""The NPS sparkline's SVG: points in time order across the width, target and ticks placed
on the same scale."""

from __future__ import annotations

import datetime as dt
import re

from dashboards.trendview import Point, nps_spark
from dashboards.widgets import nice_ticks, sparkline_svg, y_bounds


def _polyline(svg: str) -> list[tuple[float, float]]:
    m = re.search(r'<polyline points="([^"]+)"', svg)
    assert m is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in m.group(1).split())]


def test_points_span_the_width_and_higher_nps_is_drawn_higher() -> None:
    pts = [(0, 40.0), (10_000, 45.0), (20_000, 60.0)]
    svg = sparkline_svg(pts, 50.0, 544, 80)
    xy = _polyline(svg)
    assert [x for x, _ in xy] == sorted(x for x, _ in xy)
    assert xy[0][0] == 34 and xy[-1][0] == 544 - 6
    assert xy[0][1] > xy[1][1] > xy[2][1]  # SVG y grows downwards
    target_y = float(re.search(r'<line [^>]*y1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert xy[1][1] > target_y > xy[2][1]  # 45 below the target 50, 60 above it


def test_ticks_are_round_values_inside_the_range() -> None:
    low, high = y_bounds([40.0, 60.0], 50.0)
    ticks = nice_ticks(low, high)
    assert ticks and len(ticks) <= 3
    assert all(low < v < high and v % 5 == 0 for v in ticks)


def test_no_points_draws_only_the_target() -> None:
    svg = sparkline_svg([], 50.0, 544, 80)
    assert "<polyline" not in svg and "<line" in svg
    one = sparkline_svg([(5, 52.0)], 50.0, 544, 80)
    assert _polyline(one)[0][0] == (34 + 544 - 6) / 2


def test_the_sparkline_comes_from_the_archive_days_with_the_live_value_last() -> None:
    today = dt.date(2025, 6, 10)
    days: list[Point] = [("2025-06-07", 30.0, None, 40), ("2025-06-08", None, None, 0),
                         ("2025-06-09", 90.0, None, 3),  # 3 answers: left out
                         ("2025-06-10", 35.0, None, 25)]  # the archive's today lags the live
    points = nps_spark(days, 42.0, today, min_sample=10)
    assert points == [(dt.date(2025, 6, 7).toordinal(), 30.0), (today.toordinal(), 42.0)]
    assert nps_spark(days, None, today, 10)[-1] == (today.toordinal(), 35.0)
    assert nps_spark([], 42.0, today, 10) == [(today.toordinal(), 42.0)]
    svg = sparkline_svg(points, 50.0, 544, 80, caption="по дням")
    xy = _polyline(svg)
    assert xy[0][0] == 34 and xy[-1][0] == 544 - 6 and "по дням" in svg
