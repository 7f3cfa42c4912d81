"""Metric windows in one place: their names and which buckets each one reads.

``1h`` is the last 60 minute buckets including the current one; ``today`` is a location's
local calendar day so far (a region or the network sums each member's own day); ``7d`` and
``30d`` are the last 168 / 720 hour buckets of the scope, including the current hour. The
staff / touchpoint breakdown keeps local days: ``today``, ``7d`` and ``30d`` are the last
1 / 7 / 30 of them. The flow profile ("usual for this hour") reads the 4 weeks of completed
hours before the current one. The ring tables (``stream.layout``) are sized from these.
"""

from __future__ import annotations

from typing import Literal, TypeGuard

from stream.readmodel import QueryError

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

Window = Literal["1h", "today", "7d", "30d"]
WINDOWS: tuple[Window, ...] = ("1h", "today", "7d", "30d")
LAST_HOUR_MINUTES = 60  # minute buckets of ``1h``
HOUR_WINDOWS: dict[str, int] = {"7d": 168, "30d": 720}  # hour buckets of the long windows
DAY_WINDOWS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}  # local days per breakdown
PROFILE_HOURS = 4 * 7 * 24  # completed hours behind the flow profile


def is_window(window: str) -> TypeGuard[Window]:
    return window in WINDOWS


def check_window(window: str) -> Window:
    """``window`` itself when it is one of ``WINDOWS``; QueryError naming them otherwise."""
    if not is_window(window):
        raise QueryError(f"unknown window {window!r}; expected one of {', '.join(WINDOWS)}")
    return window


def last_hour_minutes(now_ms: int) -> tuple[int, int]:
    """First and last minute bucket of ``1h`` (inclusive)."""
    last = now_ms // MINUTE_MS
    return last - LAST_HOUR_MINUTES + 1, last


def hour_buckets(window: str, now_ms: int, offset_ms: int = 0) -> tuple[int, int]:
    """First and last hour bucket of ``7d`` / ``30d``; ``offset_ms`` aligns a location's
    buckets to its own local hours (zones such as +05:30)."""
    last = (now_ms - offset_ms) // HOUR_MS
    return last - HOUR_WINDOWS[window] + 1, last


def day_buckets(window: str, day: int) -> tuple[int, int]:
    """First and last local day (date ordinals) of a breakdown window ending on ``day``."""
    if window not in DAY_WINDOWS:
        raise QueryError(f"window {window!r} is not kept per staff/touchpoint; "
                         "use today, 7d or 30d")
    return day - DAY_WINDOWS[window] + 1, day


def profile_hours(now_ms: int, offset_ms: int = 0) -> tuple[int, int, int]:
    """First and last completed hour bucket behind the flow profile, and the current one."""
    now_h = (now_ms - offset_ms) // HOUR_MS
    return now_h - PROFILE_HOURS, now_h - 1, now_h
