"""Calendar periods of the history API: local days, ISO weeks and months (pure).

A period is keyed by its first local date; its label is ``2025-03-04``, ``2025-W10`` or
``2025-03``. ``compare=previous`` pairs a period with the one just before it,
``compare=year`` with the same day, ISO week or month one year earlier.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

By = Literal["day", "week", "month"]
BYS: tuple[By, ...] = ("day", "week", "month")
SQL_KEY: dict[By, str] = {
    "day": "day",
    "week": "CAST(date_trunc('week', day) AS DATE)",
    "month": "CAST(date_trunc('month', day) AS DATE)",
}


def start_of(day: dt.date, by: By) -> dt.date:
    """First date of the period holding ``day`` (ISO weeks start on Monday)."""
    if by == "day":
        return day
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: dt.date, by: By) -> dt.date:
    """First date of the period after the one starting at ``start``."""
    if by == "day":
        return start + dt.timedelta(days=1)
    if by == "week":
        return start + dt.timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return dt.date(year, month, 1)


def previous_start(start: dt.date, by: By) -> dt.date:
    if by == "day":
        return start - dt.timedelta(days=1)
    if by == "week":
        return start - dt.timedelta(days=7)
    year, month = (start.year - 1, 12) if start.month == 1 else (start.year, start.month - 1)
    return dt.date(year, month, 1)


def year_before(start: dt.date, by: By) -> dt.date | None:
    """The same period one year earlier (None for a week 53 or 29 February with no twin)."""
    if by == "week":
        year, week, _ = start.isocalendar()
        try:
            return dt.date.fromisocalendar(year - 1, week, 1)
        except ValueError:
            return None
    try:
        return start.replace(year=start.year - 1)
    except ValueError:  # 29 February
        return None


def label(start: dt.date, by: By) -> str:
    if by == "day":
        return start.isoformat()
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year:04d}-{start.month:02d}"


def series(first: dt.date, last: dt.date, by: By) -> list[dt.date]:
    """Starts of every period that meets ``first..last`` (inclusive), in order."""
    out = []
    start = start_of(first, by)
    while start <= last:
        out.append(start)
        start = next_start(start, by)
    return out


def compare_start(start: dt.date, by: By, compare: str | None) -> dt.date | None:
    if compare == "previous":
        return previous_start(start, by)
    if compare == "year":
        return year_before(start, by)
    return None
