"""Grouping and pacing of notifications (webhooks, log), after Alertmanager's model.

Alerts sharing the ``group_by`` labels (default: the location) travel in one message. A new
group waits ``group_wait_s`` to gather siblings (a bad shift breaks NPS, buttons and flow
together: one message, not three); later changes wait at least ``group_interval_s`` after
the previous send; a still-firing, unacknowledged alert is re-sent after its rule's
``repeat_interval_s``. Suppressed alerts are left out; acknowledged ones never repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from alerting.model import AlertState, AlertView, GroupState, Notification

_PRIORITY = {"new": 0, "resolved": 1, "repeat": 2}


@dataclass(frozen=True)
class Pacing:
    group_by: tuple[str, ...]
    group_wait_s: float
    group_interval_s: float


def group_of(labels: dict[str, str], group_by: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The group key and the labels that define it."""
    group = {name: labels.get(name, "") for name in group_by}
    return "|".join(f"{k}={v}" for k, v in group.items()), group


def need(alert: AlertState, repeat_s: float, now_ms: int) -> str | None:
    """Why this alert wants to be in the next message of its group, if it does."""
    if alert.status == "firing" and not alert.suppressed_by:
        if alert.notified_ms is None:
            return "new"
        if alert.ack is None and repeat_s > 0 and now_ms - alert.notified_ms >= repeat_s * 1000:
            return "repeat"
    if alert.status == "resolved" and alert.notified_ms is not None and not alert.resolved_notified:
        return "resolved"
    return None


def _members(alerts: Iterable[AlertState], pacing: Pacing) -> dict[str, list[AlertState]]:
    out: dict[str, list[AlertState]] = {}
    for a in alerts:
        live = a.status == "firing" and not a.suppressed_by
        owed = a.status == "resolved" and a.notified_ms is not None and not a.resolved_notified
        if live or owed:
            out.setdefault(group_of(a.labels, pacing.group_by)[0], []).append(a)
    return out


def flush(
    alerts: Iterable[AlertState],
    groups: dict[str, GroupState],
    pacing: Pacing,
    repeat_s: Callable[[str], float],
    view: Callable[[AlertState], AlertView],
    now_ms: int,
) -> list[Notification]:
    """Send what is due; updates group and alert bookkeeping in place."""
    out: list[Notification] = []
    members = _members(alerts, pacing)
    for key in [k for k in groups if k not in members]:
        del groups[key]  # nothing live or owed: the next alert here waits group_wait again
    for key, group_alerts in members.items():
        reasons = [r for a in group_alerts if (r := need(a, repeat_s(a.rule), now_ms))]
        group = groups.get(key)
        if group is None:
            group = groups[key] = GroupState(key=key, labels=group_of(
                group_alerts[0].labels, pacing.group_by)[1])
        if not reasons:
            continue
        if group.last_sent_ms is None:
            group.first_ms = group.first_ms if group.first_ms is not None else now_ms
            due = now_ms - group.first_ms >= pacing.group_wait_s * 1000
        else:
            due = now_ms - group.last_sent_ms >= pacing.group_interval_s * 1000
        if due:
            out.append(_send(group, group_alerts, min(reasons, key=_PRIORITY.__getitem__),
                             view, now_ms))
    return out


def _send(group: GroupState, alerts: list[AlertState], reason: str,
          view: Callable[[AlertState], AlertView], now_ms: int) -> Notification:
    for a in alerts:
        if a.status == "firing":
            a.notified_ms = now_ms
        else:
            a.resolved_notified = True
    group.last_sent_ms, group.first_ms = now_ms, None
    digest = hashlib.sha256(group.key.encode()).hexdigest()[:12]
    firing = any(a.status == "firing" for a in alerts)
    ordered = sorted(alerts, key=lambda a: (a.status != "firing", a.rule, a.id))
    return Notification(
        id=f"{digest}-{now_ms:x}", ts_ms=now_ms, group=dict(group.labels),
        status="firing" if firing else "resolved", reason=reason,  # type: ignore[arg-type]
        alerts=tuple(view(a) for a in ordered),
    )
