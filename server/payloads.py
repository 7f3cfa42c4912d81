"""What each topic and display endpoint carries, computed from the core's read API (the
payload structs are the contract's, ``stream.push``).

``Reads`` memoises ``core.metrics`` for one fan-out tick, so a location's ``today`` numbers
feed its ``metrics:`` and ``display:`` topics with one query. The display subset is built
here and only here: it holds button shares and counts, never staff ids, comments or
incidents.
"""

from __future__ import annotations

from server.config import ServerSettings
from stream.push import MAX_INCIDENTS, DisplayData, IncidentsData, MetricsData
from stream.readmodel import CoreReader, Metrics


class Reads:
    """Per-tick memo of metric queries against a ``CoreReader``."""

    def __init__(self, core: CoreReader) -> None:
        self.core = core
        self._memo: dict[tuple[str, str], Metrics] = {}
        self.queries = 0

    def metrics(self, scope: str, window: str) -> Metrics:
        key = (scope, window)
        found = self._memo.get(key)
        if found is None:
            found = self.core.metrics(scope, window)
            self._memo[key] = found
            self.queries += 1
        return found


def metrics_data(reads: Reads, scope: str, windows: tuple[str, ...]) -> MetricsData:
    return MetricsData(scope, {w: reads.metrics(scope, w) for w in windows})


def button_count(counts: dict[str, int], configured: int) -> int:
    """Buttons to show: the configured number, else the highest pressed (at least 3)."""
    if configured >= 2:
        return configured
    pressed = [int(v) for v, n in counts.items() if n > 0]
    return max([3, *pressed])


def display_data(reads: Reads, cfg: ServerSettings, location: str) -> DisplayData:
    m = reads.metrics(location, "today")
    loc = cfg.location(location)
    n = button_count(m.buttons.counts, cfg.server.display_buttons)
    counts = [m.buttons.counts.get(str(v), 0) for v in range(1, n + 1)]
    presses = m.buttons.presses
    shares = [c / presses for c in counts] if presses else []
    return DisplayData(
        location=location, name=(loc.name if loc and loc.name else location),
        day_start_ms=m.start_ms, ratings=presses, buttons=n, shares=shares, counts=counts,
        index=m.buttons.index,
    )


def incidents_data(core: CoreReader, scope: str) -> IncidentsData:
    views = [v for v in core.incidents(scope) if v.status != "resolved"]
    return IncidentsData(scope, len(views), sum(v.breached for v in views), views[:MAX_INCIDENTS])
