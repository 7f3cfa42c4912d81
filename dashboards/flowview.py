"""Incoming flow shaped for the wall (pure): this hour vs the usual, channel mix, and the
hour x weekday heatmap of ``FlowProfile`` (rows Monday first, columns local hours)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboards.fmt import Tone

SURGE = 1.5  # the shipped flow-surge alert fires at 1.5x the usual
BUSY = 1.2


@dataclass(frozen=True)
class Cell:
    value: float
    level: float  # 0..1 of the busiest cell
    now: bool


@dataclass(frozen=True)
class Heatmap:
    rows: list[list[Cell]]  # 7 weekdays x 24 hours
    peak: float


def vs_usual(this_hour: int, usual: float | None) -> tuple[float | None, Tone]:
    """Ratio of this hour's contacts to the usual for this hour and weekday, and its tone."""
    if usual is None or usual <= 0:
        return None, "neutral"
    ratio = this_hour / usual
    tone: Tone = "bad" if ratio >= SURGE else ("warn" if ratio >= BUSY else "good")
    return ratio, tone


def channel_mix(by_channel: Mapping[str, int]) -> list[tuple[str, int, float]]:
    """(channel, contacts, share) for channels with contacts, largest first."""
    total = sum(by_channel.values())
    if total <= 0:
        return []
    rows = [(ch, n, n / total) for ch, n in by_channel.items() if n > 0]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def heatmap(contacts: Sequence[Sequence[float]], weekday: int, hour: int) -> Heatmap:
    """Cells scaled to the busiest one; the current local (weekday, hour) is marked.
    A missing or ragged profile is padded with zeros to 7 x 24."""
    grid = [[float(v) for v in (list(row) + [0.0] * 24)[:24]] for row in contacts][:7]
    grid += [[0.0] * 24 for _ in range(7 - len(grid))]
    peak = max((v for row in grid for v in row), default=0.0)
    rows = [[Cell(v, v / peak if peak > 0 else 0.0, (d, h) == (weekday, hour))
             for h, v in enumerate(row)] for d, row in enumerate(grid)]
    return Heatmap(rows, peak)
