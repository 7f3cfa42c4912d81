"""Number formatting and the "too few answers" rule (pure).

Every score on the wall is a ``Score``: the text to show, its state (``ok``, ``few`` when
the sample is below ``[dashboards] min_sample``, ``none`` with no data at all), a tone
against its target, and the sample it was computed over. A tile never shows a score
computed over too few answers: it shows the sample size instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

State = Literal["ok", "few", "none"]
Tone = Literal["good", "warn", "bad", "neutral"]
MINUS = "\u2212"  # a real minus sign: "-7" reads as a dash from across the room
DASH = "—"


@dataclass(frozen=True)
class Score:
    text: str
    state: State
    tone: Tone
    sample: int


def signed(value: float) -> str:
    """``+42`` / ``−7`` / ``0`` (rounded to an integer)."""
    n = round(value)
    if n > 0:
        return f"+{n}"
    return f"{MINUS}{-n}" if n < 0 else "0"


def pct(fraction: float | None, digits: int = 0) -> str:
    """A fraction in [0, 1] as a percentage: ``0.834`` -> ``83%``."""
    if fraction is None:
        return DASH
    return f"{fraction * 100:.{digits}f}%"


def count(n: int) -> str:
    """Thousands separated by a thin space: ``12 345``."""
    return f"{n:,}".replace(",", "\u202f")


def decimal(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def index3(value: float | None) -> str:
    """A CSI index in [0, 1] with three decimals, as in the seeds (``0.834``)."""
    return DASH if value is None else f"{value:.3f}"


def tone_vs_target(value: float, target: float, warn_band: float) -> Tone:
    """good at or above target, warn within ``warn_band`` below it, bad further below."""
    if value >= target:
        return "good"
    return "warn" if value >= target - warn_band else "bad"


def score(value: float | None, sample: int, min_sample: int, text: str, tone: Tone) -> Score:
    """The rule of every tile: no data -> ``none``; fewer than ``min_sample`` -> ``few``
    (no number, so nobody acts on a score of three answers); else the formatted value."""
    if value is None or sample <= 0:
        return Score(DASH, "none", "neutral", sample)
    if sample < min_sample:
        return Score(DASH, "few", "neutral", sample)
    return Score(text, "ok", tone, sample)


def nps_score(nps: float | None, sample: int, min_sample: int, target: float) -> Score:
    tone = tone_vs_target(nps, target, 20.0) if nps is not None else "neutral"
    return score(nps, sample, min_sample, signed(nps) if nps is not None else DASH, tone)


def csat_score(csat: float | None, sample: int, min_sample: int, target: float) -> Score:
    tone = tone_vs_target(csat, target, 10.0) if csat is not None else "neutral"
    return score(csat, sample, min_sample, f"{csat:.0f}%" if csat is not None else DASH, tone)


def ces_score(ces: float | None, sample: int, min_sample: int) -> Score:
    """CES is a mean on 1..7 (7 = very easy): 5.5+ good, 4.5+ so-so."""
    tone = tone_vs_target(ces, 5.5, 1.0) if ces is not None else "neutral"
    return score(ces, sample, min_sample, decimal(ces), tone)


def duration(ms: int) -> str:
    """``1:02:03`` for an hour or more, ``12:05`` below, ``3d 04:00`` past a day."""
    s = max(0, ms) // 1000
    days, s = divmod(s, 86_400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if days:
        return f"{days}d {h:02d}:{m:02d}"
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def clock(ts_ms: int, tz: dt.tzinfo, seconds: bool = False) -> str:
    """``HH:MM`` (or ``HH:MM:SS``) local time of an epoch-ms instant."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%H:%M:%S" if seconds else "%H:%M")
