"""The records a digest ranks: cases replayed with the engine's incident book agree with
the history's incident metrics, and the narrowed replays lose nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from archive.history import HistoryQuery
from digests import records
from digests.source import Source
from tests.support.digests import World

WEEK = (dt.date(2025, 2, 24), dt.date(2025, 3, 2))


async def _export(world: World, scope: str, tmp_path: Path) -> Path:
    source = Source(world.archive, scope, tmp_path)
    return await source.export("incidents", WEEK[0] - dt.timedelta(days=35),
                               dt.date(2025, 3, 6))


async def test_cases_by_category_sum_to_the_history(world: World, tmp_path: Path) -> None:
    for scope in ("msk", "network"):  # one zone; Moscow and New York
        steps = await _export(world, scope, tmp_path)
        now = world.now[0]
        lo, hi = records.period_bounds_ms(dt.UTC, WEEK[0] - dt.timedelta(days=1),
                                          WEEK[1] + dt.timedelta(days=1))
        full = records.by_category(records.replay(world.cfg, steps), scope, *WEEK, now)
        narrow = records.by_category(records.replay(world.cfg, steps, lo, hi), scope, *WEEK,
                                     now)
        assert full == narrow and full
        real = [c for name, c in full.items() if name != "thanks"]
        expected = {}
        for metric in ("incidents.opened", "incidents.sla_breached", "incidents.resolved",
                       "incidents.within_sla"):
            result = await world.archive.history(HistoryQuery(
                scope=scope, metric=metric, by="week", first=WEEK[0], last=WEEK[1]))
            expected[metric] = result.points[0].value
        assert sum(c.opened for c in real) == expected["incidents.opened"]
        assert sum(c.breached for c in real) == expected["incidents.sla_breached"]
        assert sum(c.resolved for c in real) == expected["incidents.resolved"]
        within = sum(c.on_time for c in real) / sum(c.resolved for c in real)
        assert within == expected["incidents.within_sla"]


async def test_the_overdue_replay_keeps_every_open_incident(world: World,
                                                            tmp_path: Path) -> None:
    steps = await _export(world, "network", tmp_path)
    day = dt.date(2025, 3, 4)
    lo, hi = records.period_bounds_ms(dt.UTC, day, day)
    now = world.now[0]
    full = records.replay(world.cfg, steps)
    narrow = records.replay(world.cfg, steps, lo, hi, unresolved=True)
    def keys(views: list[records.IncidentView]) -> list[tuple[object, ...]]:
        # `problem` (repeats at the location) is not shown in a digest
        return [(v.location, v.incident, v.status, v.breached, v.resolve_deadline_ms)
                for v in views]

    assert keys(records.overdue(full, "network", now)) == keys(records.overdue(narrow,
                                                                                "network", now))
    assert records.overdue(full, "network", now)  # the demo has some
    assert (keys(records.breached_between(full, "network", lo, hi, now))
            == keys(records.breached_between(narrow, "network", lo, hi, now)))
