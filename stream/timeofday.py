"""Times of day and weekdays as config writes them: ``"09:00-18:00"``, ``"mon"``.

One parser for every ``HH:MM-HH:MM`` span in the configuration: opening hours (within one
day), alert schedules and maintenance windows (which may wrap past midnight).
"""

from __future__ import annotations

import re

DAY_MIN = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})\Z")

Span = tuple[int, int]


def parse_span(text: str) -> Span:
    """``"22:00-02:00"`` -> (1320, 120) minutes; the end may be past midnight (wraps)."""
    m = _SPAN.match(text)
    if not m:
        raise ValueError(f"expected 'HH:MM-HH:MM', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if (h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2)
            or h1 * 60 + m1 == h2 * 60 + m2):
        raise ValueError(f"bad time span {text!r}")
    return h1 * 60 + m1, h2 * 60 + m2


def parse_hours(text: str, key: str) -> Span | None:
    """Opening hours ``"09:00-18:00"`` -> (540, 1080) minutes of the local day, within one
    day; ``""`` or ``"closed"`` -> None. Errors name ``key``."""
    if text in ("", "closed"):
        return None
    if not _SPAN.match(text):
        raise ValueError(f"{key}: expected 'HH:MM-HH:MM' or 'closed', got {text!r}")
    try:
        start, end = parse_span(text)
    except ValueError:
        start = end = 0
    if not start < end:
        raise ValueError(f"{key}: opening hours {text!r} must be within a day and end after start")
    return start, end
