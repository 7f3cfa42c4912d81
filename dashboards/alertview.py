"""Alerts for one scope's page (pure): which ones belong there, in what order, and the
playbook text (Event -> Tasks -> Actions) in the page's language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stream.geography import Geo
from stream.push import Alert, PlaybookText

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_STATUS = {"firing": 0, "pending": 1}


@dataclass(frozen=True)
class AlertCard:
    alert: Alert
    playbook: PlaybookText | None
    location: str | None


def belongs(alert: Alert, scope: str, geo: Geo) -> bool:
    """An alert is shown on its own scope's page and on every page that contains it."""
    kind = geo.known_kind(scope)
    if kind == "network":
        return True
    loc = alert.labels.get("location")
    if kind == "location":
        return loc == scope or alert.scope == scope
    region = alert.labels.get("region")
    return (
        region == scope or alert.scope == scope or (loc is not None and loc in geo.members(scope))
    )


def playbook(alert: Alert, lang: str) -> PlaybookText | None:
    """The playbook in ``lang``, else in the other language, else None."""
    for key in (lang, "ru", "en"):
        text = alert.playbook.get(key)
        if text is not None and text.event:
            return text
    return None


def cards(alerts: Iterable[Alert], scope: str, geo: Geo, lang: str) -> list[AlertCard]:
    """Live alerts of the page: firing before pending, most severe first, newest first."""
    live = [a for a in alerts if a.status in _STATUS and belongs(a, scope, geo)]
    live.sort(key=lambda a: (_STATUS[a.status], _SEVERITY.get(a.severity, 3),
                             -(a.starts_ms or a.active_ms), a.id))
    return [AlertCard(a, playbook(a, lang), a.labels.get("location")) for a in live]


def per_location(alerts: Iterable[Alert]) -> dict[str, int]:
    """Live alerts per location label (for the leaderboard)."""
    out: dict[str, int] = {}
    for a in alerts:
        loc = a.labels.get("location")
        if loc and a.status in _STATUS:
            out[loc] = out.get(loc, 0) + 1
    return out
