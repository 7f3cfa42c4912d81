"""Working-time arithmetic in a location's own calendar (opening hours, holidays, time zone).

SLA deadlines of domain.md are counted in *working* time: "3 working hours" skips nights,
weekends and holidays; "2 working days" ends at closing time of the second working day
after the day of receipt. All arithmetic goes through zoneinfo, so DST changes are exact.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from stream.config import StreamSettings

_MAX_DAYS = 800  # a calendar with no working day in two years is treated as always closed


class WorkCalendar:
    """Opening intervals per weekday (minutes of the local day, Monday first) and holidays."""

    def __init__(
        self,
        tz: ZoneInfo,
        hours: tuple[tuple[int, int] | None, ...],
        holidays: frozenset[dt.date] = frozenset(),
    ) -> None:
        if len(hours) != 7:
            raise ValueError("hours must have 7 entries, Monday first")
        self.tz = tz
        self.hours = hours
        self.holidays = holidays

    def local_date(self, ms: int) -> dt.date:
        return dt.datetime.fromtimestamp(ms / 1000, self.tz).date()

    def _interval_ms(self, day: dt.date) -> tuple[int, int] | None:
        """Opening interval of a local date in epoch ms, or None when closed."""
        if day in self.holidays:
            return None
        span = self.hours[day.weekday()]
        if span is None:
            return None
        start = dt.datetime.combine(day, dt.time(span[0] // 60, span[0] % 60), self.tz)
        if span[1] == 24 * 60:
            nxt = day + dt.timedelta(days=1)
            end = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz)
        else:
            end = dt.datetime.combine(day, dt.time(span[1] // 60, span[1] % 60), self.tz)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def is_open(self, ms: int) -> bool:
        """Inside today's opening hours (not a holiday)."""
        return self.open_since_ms(ms) is not None

    def open_since_ms(self, ms: int) -> int | None:
        """Start of the opening interval containing ``ms`` (None when closed)."""
        span = self._interval_ms(self.local_date(ms))
        return span[0] if span is not None and span[0] <= ms < span[1] else None

    def add_working_ms(self, start_ms: int, duration_ms: int) -> int:
        """The instant when ``duration_ms`` of working time has passed after ``start_ms``."""
        remaining = duration_ms
        day = self.local_date(start_ms)
        for _ in range(_MAX_DAYS):
            span = self._interval_ms(day)
            if span is not None:
                begin = max(span[0], start_ms)
                if begin < span[1]:
                    available = span[1] - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += dt.timedelta(days=1)
        return start_ms + duration_ms

    def end_of_working_day(self, start_ms: int, n: int) -> int:
        """Closing time of the n-th working day after the local day of ``start_ms``.

        Received on Monday: n=2 ends Wednesday at closing. Received on a Saturday (closed),
        Monday is day 1 and Tuesday day 2. n=0 means closing time of the receipt day (or of
        the next working day when received after closing or on a closed day).
        """
        day = self.local_date(start_ms)
        counted = 0
        span0 = self._interval_ms(day)
        if n == 0 and span0 is not None and start_ms < span0[1]:
            return span0[1]
        for _ in range(_MAX_DAYS):
            day += dt.timedelta(days=1)
            span = self._interval_ms(day)
            if span is not None:
                counted += 1
                if counted >= max(n, 1):
                    return span[1]
        return start_ms + n * 86_400_000

    def day_start_ms(self, day: dt.date) -> int:
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp() * 1000)


def location_calendar(cfg: StreamSettings, location: str | None) -> WorkCalendar:
    """The working calendar of a location (its zone, hours, holidays), or the default one."""
    lc = cfg.location(location) if location else None
    tz = ZoneInfo(cfg.timezone_of(location) if location else cfg.core.default_timezone)
    hours = (lc.hours if lc and lc.hours else cfg.calendar.hours).minutes()
    days = frozenset(dt.date.fromisoformat(d)
                     for d in (*cfg.calendar.holidays, *(lc.holidays if lc else ())))
    return WorkCalendar(tz, hours, days)
