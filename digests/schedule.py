"""When a digest is due, and which period it covers (pure, no clock of its own).

A digest has one *slot* per period: a daily digest at 08:00 is due at 08:00 local time of
every day and covers the day before; a weekly one on its weekday and covers the last
complete ISO week (Monday to Sunday) before that day; a monthly one on its day of the
month (clamped to the month's last day) and covers the month before. The slot's key is the
covered period's label (``2025-03-04``, ``2025-W10``, ``2025-03``, as ``/api/history``
labels it), so each period is sent once whatever the clock does.

Local time to an instant, across DST (``local_instant``):

- a time that does not exist (the spring-forward gap, e.g. 02:30 in New York on
  2025-03-09) is read with the offset before the gap, so it falls the gap's length later
  on the clock (03:30 EDT), as Python's ``fold=0`` does;
- a time that happens twice (the autumn fold, e.g. 01:30 on 2025-11-02) is the first one.

Either way there is exactly one instant per local date, so a slot is due once.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from archive import periods
from digests.config import DigestConfig, Period


@dataclass(frozen=True, slots=True)
class Slot:
    digest: str
    period: Period
    start: dt.date  # first local date of the covered period
    label: str  # the covered period as /api/history labels it
    due_ms: int  # when it is due (epoch ms)
    send_date: dt.date  # the local date it is due on

    @property
    def key(self) -> str:
        """Its key in the digests' KV bucket."""
        return f"slot.{self.digest}.{self.label}"

    @property
    def last(self) -> dt.date:
        """Last local date of the covered period."""
        return periods.next_start(self.start, self.period) - dt.timedelta(days=1)


def local_instant(day: dt.date, hour: int, minute: int, tz: ZoneInfo) -> int:
    """Epoch ms of ``day hour:minute`` local time in ``tz`` (see the module docstring)."""
    naive = dt.datetime(day.year, day.month, day.day, hour, minute)
    return int(naive.replace(tzinfo=tz, fold=0).timestamp() * 1000)


def local_date(ms: int, tz: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz).date()


def sends_on(spec: DigestConfig, day: dt.date) -> bool:
    """Is ``day`` a send date of the digest?"""
    if spec.period == "day":
        return True
    if spec.period == "week":
        return day.weekday() == spec.weekday_index
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(spec.day, last)


def covered_start(period: Period, send_date: dt.date) -> dt.date:
    """First date of the last complete period before ``send_date``."""
    return periods.previous_start(periods.start_of(send_date, period), period)


def slot_on(spec: DigestConfig, day: dt.date, tz: ZoneInfo) -> Slot:
    """The slot due on ``day`` (assumed to be a send date)."""
    hour, minute = spec.at_hm
    start = covered_start(spec.period, day)
    return Slot(spec.id, spec.period, start, periods.label(start, spec.period),
                local_instant(day, hour, minute, tz), day)


def slots_between(spec: DigestConfig, tz: ZoneInfo, after_ms: int, until_ms: int) -> list[Slot]:
    """Slots due in ``(after_ms, until_ms]``, oldest first."""
    out: list[Slot] = []
    day = local_date(after_ms, tz) - dt.timedelta(days=1)
    end = local_date(until_ms, tz) + dt.timedelta(days=1)
    while day <= end:
        if sends_on(spec, day):
            slot = slot_on(spec, day, tz)
            if after_ms < slot.due_ms <= until_ms:
                out.append(slot)
        day += dt.timedelta(days=1)
    return out


def next_slot(spec: DigestConfig, tz: ZoneInfo, after_ms: int) -> Slot:
    """The first slot due after ``after_ms``."""
    day = local_date(after_ms, tz) - dt.timedelta(days=1)
    while True:
        if sends_on(spec, day):
            slot = slot_on(spec, day, tz)
            if slot.due_ms > after_ms:
                return slot
        day += dt.timedelta(days=1)


def latest_slot(spec: DigestConfig, tz: ZoneInfo, now_ms: int) -> Slot:
    """The most recent slot due at or before ``now_ms`` (``cxpulse digest --now`` sends
    its period)."""
    day = local_date(now_ms, tz)
    while True:
        if sends_on(spec, day):
            slot = slot_on(spec, day, tz)
            if slot.due_ms <= now_ms:
                return slot
        day -= dt.timedelta(days=1)


def slot_for_period(spec: DigestConfig, tz: ZoneInfo, start: dt.date) -> Slot:
    """The slot that covers the period starting at (or holding) ``start``."""
    first = periods.start_of(start, spec.period)
    day = periods.next_start(first, spec.period)
    while not sends_on(spec, day):
        day += dt.timedelta(days=1)
    return slot_on(spec, day, tz)
