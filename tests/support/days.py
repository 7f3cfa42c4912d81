"""Local days for tests that run on the wall clock, at whatever hour CI happens to run.

A region's or the network's live "today" sums each member's own local day, while a day of
history, of comment topics or of a digest is one calendar date read in each location's zone.
Near a midnight (Kolkata's at 18:30 UTC, Yekaterinburg's at 19:00, Moscow's at 21:00) the
members are on different dates, and events of "the last hour" straddle one. These helpers
place a test's events, or its clock, where every zone involved is on the same date.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from stream.clock import wall_ms

MOSCOW, YEKATERINBURG, KOLKATA = "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Kolkata"
# the zones of the locations the tests run on the wall clock
SUITE_ZONES = (MOSCOW, YEKATERINBURG, KOLKATA, "Asia/Novosibirsk")


def _day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[int, int]:
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def midnight_within(guard_s: float, zones: Iterable[str] = SUITE_ZONES,
                    now_ms: int | None = None) -> float | None:
    """Seconds until the next local midnight of any of ``zones`` when it is less than
    ``guard_s`` away, else None."""
    now = wall_ms() if now_ms is None else now_ms
    soonest = min(_day_bounds(dt.datetime.fromtimestamp(now / 1000, ZoneInfo(z)).date(),
                              ZoneInfo(z))[1] for z in zones)
    left = (soonest - now) / 1000
    return left if left < guard_s else None


def one_date_ms(now_ms: int, span_ms: int, zones: Iterable[str] = (MOSCOW, YEKATERINBURG,
                                                                     KOLKATA),
                margin_ms: int = 900_000) -> int:
    """The latest minute at or before ``now_ms`` whose ``[t - span_ms, t + margin_ms]`` is one
    and the same local date in every zone: a test clock set there compares a scope's live
    "today" with its last day of history."""
    tzs = [ZoneInfo(z) for z in zones]

    def dates(ms: int) -> set[dt.date]:
        return {dt.datetime.fromtimestamp(ms / 1000, tz).date() for tz in tzs}

    t = now_ms - now_ms % 60_000
    while len(dates(t - span_ms) | dates(t + margin_ms)) > 1:
        t -= 60_000
    return t


async def today_span(zones: Iterable[str], scope_zone: str, want_ms: int,
                     age_ms: int = 0) -> tuple[int, int]:
    """``(first_ms, last_ms)``, at most ``want_ms`` long and ending at or before now, that lies
    in today's date (today in ``scope_zone``) in every one of ``zones``: events placed there
    count as "today" for the scope whatever the hour ("today" does not change under the test:
    ``tests/conftest.py`` starts none within a minute of a midnight). The span ends at least
    ``age_ms`` before now (room for newer events of the test itself)."""
    tzs = [ZoneInfo(z) for z in zones]
    scope = ZoneInfo(scope_zone)
    while True:
        now = wall_ms()
        day = dt.datetime.fromtimestamp(now / 1000, scope).date()
        bounds = [_day_bounds(day, tz) for tz in tzs]
        first = max(b[0] for b in bounds)
        if first > now:
            raise ValueError(f"{day} has not begun everywhere yet: give the westernmost zone "
                             "as the scope's")
        last = min([now - age_ms, *(b[1] - 1 for b in bounds)])
        if last - first >= min(want_ms, 60_000):
            return max(first, last - want_ms), last
        await asyncio.sleep(5)  # just after the scope's midnight: let the day grow a minute
