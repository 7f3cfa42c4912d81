"""Why a live alert stays quiet: silences, maintenance windows and inhibition.

A suppressed alert keeps its state (it still fires, resolves and shows on the wall), but no
NATS "firing", webhook or log notification goes out for it while suppressed. Silences must
end (a maximum duration, no "forever"), remind before they expire, and say when they expire
which alerts are still firing, so a forgotten silence cannot hide a real problem for weeks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from alerting.matchers import Matcher, match_all, parse_matchers
from alerting.model import AlertState, SilenceState, SilenceView
from alerting.schedule import Calendars, MaintenanceWindow
from alerting.schema import InhibitConfig


def silence_phase(s: SilenceState, now_ms: int) -> Literal["pending", "active", "expired"]:
    if s.expired or now_ms >= s.ends_ms:
        return "expired"
    return "active" if now_ms >= s.starts_ms else "pending"


def silence_view(s: SilenceState, now_ms: int) -> SilenceView:
    return SilenceView(
        id=s.id, matchers=tuple(s.matchers), starts_ms=s.starts_ms, ends_ms=s.ends_ms,
        created_by=s.created_by, created_ms=s.created_ms, comment=s.comment,
        state=silence_phase(s, now_ms), removed_by=s.removed_by,
    )


@dataclass(frozen=True)
class _Inhibit:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


class Suppressor:
    """Computes ``suppressed_by`` for every live alert at one instant (pure)."""

    def __init__(
        self,
        inhibit: Sequence[InhibitConfig],
        maintenance: Sequence[tuple[MaintenanceWindow, tuple[Matcher, ...]]],
        calendars: Calendars,
    ) -> None:
        self._inhibit = [_Inhibit(parse_matchers(i.source), parse_matchers(i.target), i.equal)
                         for i in inhibit]
        self._maintenance = list(maintenance)
        self._calendars = calendars
        self._matchers: dict[str, tuple[Matcher, ...]] = {}

    def silence_matchers(self, s: SilenceState) -> tuple[Matcher, ...]:
        found = self._matchers.get(s.id)
        if found is None:
            found = self._matchers[s.id] = parse_matchers(s.matchers)
        return found

    def apply(self, alerts: Iterable[AlertState], silences: Sequence[SilenceState], now_ms: int
              ) -> list[AlertState]:
        """Set ``suppressed_by`` on each live alert; return those whose set changed."""
        live = [a for a in alerts if a.status != "resolved"]
        active = [s for s in silences if silence_phase(s, now_ms) == "active"]
        sources = self._inhibit_sources(live)
        changed = []
        for alert in live:
            reasons = [f"silence:{s.id}" for s in active
                       if match_all(self.silence_matchers(s), alert.labels)]
            reasons += self._maintenance_of(alert, now_ms)
            reasons += self._inhibitors_of(alert, sources)
            if reasons != alert.suppressed_by:
                alert.suppressed_by = reasons
                changed.append(alert)
        return changed

    def _maintenance_of(self, alert: AlertState, now_ms: int) -> list[str]:
        tz = self._calendars.of(alert.labels.get("location") or alert.scope).tz
        return [f"maintenance:{w.id}" for w, ms in self._maintenance
                if w.active(now_ms, tz) and match_all(ms, alert.labels)]

    def _inhibit_sources(self, live: list[AlertState]) -> list[dict[tuple[str, ...], list[str]]]:
        """Per inhibit rule: firing sources indexed by their ``equal`` label values."""
        out = []
        for rule in self._inhibit:
            index: dict[tuple[str, ...], list[str]] = {}
            for a in live:
                if a.status == "firing" and match_all(rule.source, a.labels):
                    key = tuple(a.labels.get(n, "") for n in rule.equal)
                    index.setdefault(key, []).append(a.id)
            out.append(index)
        return out

    def _inhibitors_of(self, alert: AlertState, sources: list[dict[tuple[str, ...], list[str]]]
                       ) -> list[str]:
        reasons = []
        for rule, index in zip(self._inhibit, sources, strict=True):
            if not match_all(rule.target, alert.labels):
                continue
            key = tuple(alert.labels.get(n, "") for n in rule.equal)
            reasons += [f"inhibited:{src}" for src in index.get(key, []) if src != alert.id]
        return reasons


def silence_notices(
    silences: Sequence[SilenceState], live: Sequence[AlertState], now_ms: int, reminder_s: float
) -> list[tuple[Literal["expiring", "expired"], SilenceState, tuple[str, ...]]]:
    """Reminders (once, ``reminder_s`` before the end, only when the silence mutes something)
    and expiry notices (listing muted alerts that still fire). Marks silences as done."""
    out: list[tuple[Literal["expiring", "expired"], SilenceState, tuple[str, ...]]] = []
    for s in silences:
        if s.expired:
            continue
        muted = tuple(a.id for a in live if a.status != "resolved"
                      and f"silence:{s.id}" in a.suppressed_by)
        if now_ms >= s.ends_ms:
            s.expired = True
            if not s.removed_by:
                out.append(("expired", s, tuple(i for i in muted
                                                if _status(live, i) == "firing")))
        elif (not s.reminded and now_ms >= s.ends_ms - reminder_s * 1000
              and now_ms >= s.starts_ms and muted):
            s.reminded = True
            out.append(("expiring", s, muted))
    return out


def _status(alerts: Sequence[AlertState], alert_id: str) -> str:
    return next((a.status for a in alerts if a.id == alert_id), "")
