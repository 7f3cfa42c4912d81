"""When rules are active and notifications muted: opening hours and maintenance windows.

Everything is evaluated in the *location's own* time zone through zoneinfo, so "09:00" is
09:00 in Yekaterinburg or Berlin, before and after a DST change alike (Alertmanager's
mute-time intervals were UTC-only for years; its users kept four copies of one schedule).
Regions use their zone, the network the default zone; both use the default calendar hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from stream.timeofday import DAY_MIN, WEEKDAYS, Span, parse_span
from stream.workcal import WorkCalendar, location_calendar

if TYPE_CHECKING:
    from alerting.schema import MaintenanceConfig
    from stream.config import StreamSettings

def _local(ms: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz)


Calendar = WorkCalendar  # one working calendar for SLAs and alert schedules


ALWAYS_HOURS: tuple[Span | None, ...] = ((0, DAY_MIN),) * 7


@dataclass(frozen=True)
class Calendars:
    """Calendar per scope id; unknown locations get the default zone and default hours."""

    default: Calendar
    by_scope: dict[str, Calendar] = field(default_factory=dict)

    def of(self, scope: str) -> Calendar:
        return self.by_scope.get(scope, self.default)


def calendars_from_config(cfg: StreamSettings) -> Calendars:
    """Build calendars from ``[calendar]``, ``[[regions]]`` and ``[[locations]]``."""
    default = location_calendar(cfg, None)
    by_scope: dict[str, Calendar] = {"network": default}
    for region in cfg.regions:
        tz = ZoneInfo(region.timezone or cfg.core.default_timezone)
        by_scope[region.id] = WorkCalendar(tz, default.hours, default.holidays)
    for loc in cfg.locations:
        by_scope[loc.id] = location_calendar(cfg, loc.id)
    return Calendars(default, by_scope)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A one-off (absolute ``start_ms``..``end_ms``) or weekly recurring local-time window."""

    id: str
    start_ms: int | None = None
    end_ms: int | None = None
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; empty = every day
    span: Span | None = None
    tz: ZoneInfo | None = None  # None: the zone of the alert's scope

    def active(self, ms: int, scope_tz: ZoneInfo) -> bool:
        if self.start_ms is not None and self.end_ms is not None:
            return self.start_ms <= ms < self.end_ms
        if self.span is None:
            return False
        local = _local(ms, self.tz or scope_tz)
        minute = local.hour * 60 + local.minute
        start, end = self.span
        day = local.weekday()
        if start < end:
            inside = start <= minute < end
        elif minute >= start:
            inside = True
        else:  # after midnight: belongs to the window that began the previous day
            inside = minute < end
            day = (day - 1) % 7
        return inside and (not self.weekdays or day in self.weekdays)


def maintenance_window(mc: MaintenanceConfig) -> MaintenanceWindow:
    """Compile a validated ``[[alerts.maintenance]]`` entry."""
    if mc.start:
        start = dt.datetime.fromisoformat(mc.start)
        end = dt.datetime.fromisoformat(mc.end)
        return MaintenanceWindow(mc.id, int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    return MaintenanceWindow(
        mc.id,
        weekdays=frozenset(WEEKDAYS.index(d) for d in mc.weekdays),
        span=parse_span(mc.hours),
        tz=ZoneInfo(mc.timezone) if mc.timezone else None,
    )
