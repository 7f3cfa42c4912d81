"""The NPS sparkline's SVG: points in time order across the width, target and ticks placed
on the same scale."""

from __future__ import annotations

import re

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
