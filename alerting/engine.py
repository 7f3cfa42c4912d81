"""The alert engine: pure and synchronous, time injected, state an explicit snapshot.

Order of one ``step(now_ms, evaluations)``:
1. apply each rule evaluation to its alerts (``lifecycle``), opening new pending ones;
2. close alerts whose rule left its business hours, or was removed or relabelled in the
   config (after a restart);
3. silence reminders and expiries (before suppression is recomputed, so an expiring
   silence still knows what it muted);
4. recompute suppression (silences, maintenance, inhibition);
5. announce per-alert changes (firing when unsuppressed, resolved when announced);
6. flush grouped notifications; retire resolved alerts into the bounded history.
API calls (acknowledge, silences) mutate state; the adapter runs a step right after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from alerting.grouping import Pacing, flush
from alerting.lifecycle import Transition, advance, breaches, close, fingerprint, open_alert
from alerting.matchers import parse_matchers
from alerting.model import (
    Ack,
    AlertState,
    AlertView,
    EngineSnapshot,
    Evaluation,
    GroupState,
    Reading,
    SilenceNotice,
    SilenceState,
    SilenceView,
    StepResult,
)
from alerting.schedule import Calendars, maintenance_window
from alerting.schema import SEVERITY_RANK, AlertsConfig, Playbook, RuleConfig
from alerting.suppress import Suppressor, silence_notices, silence_view

EXPIRED_SILENCE_KEEP_MS = 7 * 86_400_000


class AlertInputError(ValueError):
    """A bad API request (unknown alert, invalid silence); the message names the field."""


class AlertEngine:
    """Rules x readings -> alerts, silences, notifications. No I/O, no clock of its own."""

    def __init__(self, cfg: AlertsConfig, calendars: Calendars,
                 snapshot: EngineSnapshot | None = None) -> None:
        self.cfg = cfg
        self.calendars = calendars
        self.rules: dict[str, RuleConfig] = {r.id: r for r in cfg.rules if r.enabled}
        windows = [(maintenance_window(m), parse_matchers(m.matchers)) for m in cfg.maintenance]
        self._suppressor = Suppressor(cfg.inhibit, windows, calendars)
        self._pacing = Pacing(cfg.group_by, cfg.group_wait_s, cfg.group_interval_s)
        snap = snapshot or EngineSnapshot()
        self._alerts: dict[str, AlertState] = {a.id: a for a in snap.alerts}
        self._live: dict[str, str] = {a.fingerprint: a.id for a in snap.alerts
                                      if a.status != "resolved"}
        self._silences: dict[str, SilenceState] = {s.id: s for s in snap.silences}
        self._groups: dict[str, GroupState] = {g.key: g for g in snap.groups}
        self._history: list[AlertState] = list(snap.history)
        self._seq = snap.seq

    # ---- evaluation -------------------------------------------------------------------

    def step(self, now_ms: int, evaluations: Iterable[Evaluation] = ()) -> StepResult:
        """Advance every alert to ``now_ms`` given fresh readings (see module docstring)."""
        touched: dict[str, AlertState] = {}
        moved: list[tuple[AlertState, Transition]] = []
        index = self._index()
        for ev in evaluations:
            rule = self.rules.get(ev.rule)
            if rule is not None:
                self._evaluate(rule, ev, index.get((ev.rule, ev.scope), []), now_ms, moved, touched)
        self._close_inactive(now_ms, moved, touched)
        live = [a for a in self._alerts.values() if a.status != "resolved"]
        notices = self._notices(live, now_ms)
        suppressed = self._suppressor.apply(live, list(self._silences.values()), now_ms)
        for a in suppressed:
            touched[a.id] = a
            if a.suppressed_by:
                a.notified_ms = None  # when it comes back, it is news again
        changes = self._announce(live, moved)
        notifications = flush(list(self._alerts.values()), self._groups, self._pacing,
                              self._repeat_s, self.view, now_ms)
        self._retire(now_ms)
        opened = any(a.status == "pending" and a.active_ms == now_ms for a in touched.values())
        return StepResult(
            changes=tuple(changes), notifications=tuple(notifications), notices=tuple(notices),
            updated=tuple(self.view(a) for a in touched.values()),
            silences=tuple(n.silence for n in notices),
            significant=bool(moved or changes or notifications or notices or suppressed or opened),
        )

    def _index(self) -> dict[tuple[str, str], list[AlertState]]:
        out: dict[tuple[str, str], list[AlertState]] = {}
        for alert_id in self._live.values():
            a = self._alerts[alert_id]
            out.setdefault((a.rule, a.scope), []).append(a)
        return out

    def _evaluate(self, rule: RuleConfig, ev: Evaluation, existing: list[AlertState],
                  now_ms: int, moved: list[tuple[AlertState, Transition]],
                  touched: dict[str, AlertState]) -> None:
        if rule.schedule == "business_hours" and not self.calendars.of(ev.scope).is_open(now_ms):
            return  # closed: _close_inactive ends what is live
        seen: set[str] = set()
        for reading in ev.readings:
            labels = self._labels(rule, ev, reading)
            fp = fingerprint(labels)
            seen.add(fp)
            alert = self._alerts.get(self._live.get(fp, ""))
            if alert is None:
                if not breaches(rule, reading):
                    continue
                alert = open_alert(rule, labels, ev.scope, reading, now_ms)
                self._alerts[alert.id], self._live[fp] = alert, alert.id
                touched[alert.id] = alert
            self._advance(alert, rule, reading, now_ms, moved, touched)
        for alert in existing:
            if alert.fingerprint not in seen and alert.status != "resolved":
                self._advance(alert, rule, None, now_ms, moved, touched)

    def _advance(self, alert: AlertState, rule: RuleConfig, reading: Reading | None,
                 now_ms: int, moved: list[tuple[AlertState, Transition]],
                 touched: dict[str, AlertState]) -> None:
        before = (alert.status, alert.value)
        transition = advance(alert, rule, reading, now_ms)
        self._record(alert, transition, moved)
        if (alert.status, alert.value) != before:
            touched[alert.id] = alert

    def _record(self, alert: AlertState, transition: Transition,
                moved: list[tuple[AlertState, Transition]]) -> None:
        if transition is None:
            return
        moved.append((alert, transition))
        if alert.status == "resolved":
            self._live.pop(alert.fingerprint, None)
        if transition == "dropped":
            del self._alerts[alert.id]

    @staticmethod
    def _labels(rule: RuleConfig, ev: Evaluation, reading: Reading) -> dict[str, str]:
        labels = {**rule.labels, **ev.labels, **reading.labels}
        labels.update(rule=rule.id, severity=rule.severity, scope=ev.scope)
        return labels

    def _close_inactive(self, now_ms: int, moved: list[tuple[AlertState, Transition]],
                        touched: dict[str, AlertState]) -> None:
        for alert_id in list(self._live.values()):
            alert = self._alerts[alert_id]
            rule = self.rules.get(alert.rule)
            reason = ""
            if rule is None:
                reason = "rule_removed"
            elif alert.severity != rule.severity or any(
                    alert.labels.get(k) != v for k, v in rule.labels.items()):
                reason = "rule_changed"  # its label set is gone: the new one starts afresh
            elif (rule.schedule == "business_hours"
                  and not self.calendars.of(alert.scope).is_open(now_ms)):
                reason = "out_of_hours"
            if reason:
                self._record(alert, close(alert, now_ms, reason), moved)
                touched[alert.id] = alert

    def _notices(self, live: list[AlertState], now_ms: int) -> list[SilenceNotice]:
        found = silence_notices(list(self._silences.values()), live, now_ms,
                                self.cfg.silence_reminder_s)
        return [SilenceNotice(id=f"{s.id}-{event}", ts_ms=now_ms, event=event,
                              silence=silence_view(s, now_ms), alerts=ids)
                for event, s, ids in found]

    def _announce(self, live: list[AlertState], moved: list[tuple[AlertState, Transition]]
                  ) -> list[AlertView]:
        out = [self.view(a) for a, t in moved if t == "resolved" and a.announced]
        for a in live:
            if a.status == "firing" and not a.suppressed_by and not a.announced:
                a.announced = True
                out.append(self.view(a))
        return out

    def _repeat_s(self, rule_id: str) -> float:
        rule = self.rules.get(rule_id)
        return rule.repeat_interval_s if rule else 0.0

    def _retire(self, now_ms: int) -> None:
        """Resolved alerts leave once no notification is owed for them; old silences go."""
        for alert_id, a in list(self._alerts.items()):
            if a.status == "resolved" and (a.notified_ms is None or a.resolved_notified):
                del self._alerts[alert_id]
                self._history.append(a)
        del self._history[: max(0, len(self._history) - self.cfg.history_limit)]
        for sid, s in list(self._silences.items()):
            if s.expired and now_ms - s.ends_ms > EXPIRED_SILENCE_KEEP_MS:
                del self._silences[sid]

    # ---- views and API -----------------------------------------------------------------

    def view(self, a: AlertState) -> AlertView:
        rule = self.rules.get(a.rule)
        return AlertView(
            id=a.id, fingerprint=a.fingerprint, rule=a.rule, status=a.status,
            severity=a.severity, scope=a.scope, labels=dict(a.labels),
            metric=rule.metric if rule else "", window=rule.window if rule else "",
            op=rule.op if rule else "", threshold=rule.threshold if rule else 0.0,
            recovery=rule.recovery_level if rule else 0.0, value=a.value, sample=a.sample,
            min_sample=rule.min_sample if rule else 0, active_ms=a.active_ms,
            starts_ms=a.starts_ms, ends_ms=a.ends_ms, updated_ms=a.updated_ms,
            end_reason=a.end_reason, suppressed_by=tuple(a.suppressed_by),
            acknowledged=a.ack, playbook=rule.playbook if rule else Playbook(),
        )

    def alerts(self) -> list[AlertView]:
        """Live alerts (pending and firing), most severe and oldest first."""
        live = [self._alerts[i] for i in self._live.values()]
        live.sort(key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.status != "firing",
                                 a.active_ms, a.id))
        return [self.view(a) for a in live]

    def get(self, alert_id: str) -> AlertView | None:
        a = self._alerts.get(alert_id)
        if a is None:
            a = next((h for h in reversed(self._history) if h.id == alert_id), None)
        return self.view(a) if a else None

    def history(self) -> list[AlertView]:
        """Resolved alerts, newest first (bounded by ``history_limit``)."""
        return [self.view(a) for a in reversed(self._history)]

    def silences(self, now_ms: int) -> list[SilenceView]:
        return [silence_view(s, now_ms) for s in
                sorted(self._silences.values(), key=lambda s: (s.ends_ms, s.id))]

    def acknowledge(self, alert_id: str, who: str, comment: str, now_ms: int) -> AlertView:
        """Record who took a live alert; an acknowledged alert is not re-sent on repeat."""
        a = self._alerts.get(alert_id)
        if a is None or a.status == "resolved":
            raise AlertInputError(f"alert_id: no live alert {alert_id!r}")
        if not who.strip():
            raise AlertInputError("who: required")
        a.ack = Ack(by=who.strip(), at_ms=now_ms, comment=comment.strip())
        return self.view(a)

    def add_silence(self, matchers: Sequence[str], starts_ms: int, ends_ms: int,
                    created_by: str, comment: str, now_ms: int) -> SilenceView:
        """A silence must match something specific, must end, and not beyond
        ``max_silence_s``: "forever" silences are how real problems get hidden."""
        if not matchers:
            raise AlertInputError("matchers: at least one matcher is required")
        try:
            parse_matchers(matchers)
        except ValueError as exc:
            raise AlertInputError(f"matchers: {exc}") from None
        if not created_by.strip():
            raise AlertInputError("created_by: required")
        if ends_ms <= max(starts_ms, now_ms):
            raise AlertInputError("ends: must be in the future and after starts")
        if ends_ms - max(starts_ms, now_ms) > self.cfg.max_silence_s * 1000:
            raise AlertInputError(f"ends: a silence may last at most {self.cfg.max_silence_s:g} s")
        self._seq += 1
        s = SilenceState(id=f"sil-{self._seq}-{now_ms:x}", matchers=list(matchers),
                         starts_ms=starts_ms, ends_ms=ends_ms, created_by=created_by.strip(),
                         created_ms=now_ms, comment=comment.strip())
        self._silences[s.id] = s
        return silence_view(s, now_ms)

    def remove_silence(self, silence_id: str, who: str, now_ms: int) -> SilenceView:
        """Expire a silence now; what it muted is notified again at the next step."""
        s = self._silences.get(silence_id)
        if s is None:
            raise AlertInputError(f"silence_id: no silence {silence_id!r}")
        if not s.expired and now_ms < s.ends_ms:
            s.ends_ms, s.expired, s.removed_by = now_ms, True, who.strip() or "unknown"
        return silence_view(s, now_ms)

    def snapshot(self, now_ms: int) -> EngineSnapshot:
        """An independent, serialisable copy of the whole state."""
        snap = EngineSnapshot(taken_ms=now_ms, alerts=list(self._alerts.values()),
                              silences=list(self._silences.values()),
                              groups=list(self._groups.values()), history=self._history,
                              seq=self._seq)
        return msgspec.json.decode(msgspec.json.encode(snap), type=EngineSnapshot)
