"""Pure engine tests on synthetic series: for, hysteresis, minimum sample, no data."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.engine import AlertEngine
from alerting.model import StepResult
from tests.alerting.helpers import MIN_MS, T0, empty, engine, ev
from tests.support.checks import present


def run(eng: AlertEngine, series: Sequence[float | None], rule_id: str = "nps-drop",
        step_ms: int = MIN_MS) -> tuple[int, int, list[StepResult]]:
    """Feed one value per minute; return (fired, resolved) change counts and the results."""
    results = [eng.step(T0 + i * step_ms, [ev(rule_id, v)]) for i, v in enumerate(series)]
    statuses = [c.status for r in results for c in r.changes]
    return statuses.count("firing"), statuses.count("resolved"), results


def test_for_duration_holds_pending_until_elapsed() -> None:
    eng = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20, "for_s": 300})
    fired, _, results = run(eng, [10] * 7)
    assert fired == 1
    first = next(i for i, r in enumerate(results) if r.changes)
    assert first == 5  # 09:00 breach, 09:05 fires (5 min later), not before
    assert eng.alerts()[0].status == "firing"
    assert eng.alerts()[0].starts_ms == T0 + 5 * MIN_MS
    assert eng.alerts()[0].active_ms == T0


def test_one_good_reading_resets_pending() -> None:
    eng = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20, "for_s": 300})
    fired, _, _ = run(eng, [10, 10, 10, 10, 25, 10, 10, 10, 10])
    assert fired == 0
    assert [a.status for a in eng.alerts()] == ["pending"]


def test_hysteresis_stops_flapping_across_threshold() -> None:
    hovering = [15, 21, 19, 24, 18, 29, 17, 22, 19, 23]
    flappy = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20})
    f_fired, f_resolved, _ = run(flappy, hovering)
    assert f_fired == 5 and f_resolved == 5  # without a dead band it pages every other minute

    damped = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20,
                     "recovery": 30})
    fired, resolved, _ = run(damped, [*hovering, 31])
    assert (fired, resolved) == (1, 1)
    assert damped.history()[0].end_reason == "recovered"
    assert damped.history()[0].ends_ms == T0 + len(hovering) * MIN_MS


def test_resolve_for_keeps_firing_through_a_short_recovery() -> None:
    eng = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20,
                  "recovery": 30, "resolve_for_s": 180})
    fired, resolved, results = run(eng, [10, 35, 35, 12, 35, 35, 35, 35])
    assert (fired, resolved) == (1, 1)
    assert [c.status for c in results[7].changes] == ["resolved"]  # 3 min after 09:04


def test_minimum_sample_blocks_small_samples() -> None:
    eng = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20,
                  "min_sample": 10})
    assert not eng.step(T0, [ev("nps-drop", -50, sample=2)]).changes
    assert eng.alerts() == []
    assert eng.step(T0 + MIN_MS, [ev("nps-drop", -50, sample=10)]).changes[0].status == "firing"


def test_missing_data_keeps_a_firing_alert_by_default() -> None:
    keep = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20,
                   "min_sample": 10})
    keep.step(T0, [ev("nps-drop", 5, sample=50)])
    r = keep.step(T0 + MIN_MS, [ev("nps-drop", None, sample=0)])
    assert not r.changes and keep.alerts()[0].status == "firing"
    keep.step(T0 + 2 * MIN_MS, [empty("nps-drop")])  # source reported nothing at all
    assert keep.alerts()[0].status == "firing"

    drop = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20,
                   "no_data": "resolve"})
    drop.step(T0, [ev("nps-drop", 5)])
    r = drop.step(T0 + MIN_MS, [empty("nps-drop")])
    assert [c.end_reason for c in r.changes] == ["no_data"]


def test_deduplicates_by_labels_and_keeps_one_alert_per_label_set() -> None:
    eng = engine({"id": "nps-drop", "metric": "nps", "op": "<", "threshold": 20})
    first = eng.step(T0, [ev("nps-drop", 5), ev("nps-drop", 5)])
    again = eng.step(T0 + MIN_MS, [ev("nps-drop", 4)])
    assert len(first.changes) == 1 and not again.changes
    assert len(eng.alerts()) == 1
    other = eng.step(T0 + 2 * MIN_MS, [ev("nps-drop", 4, scope="loc-b")])
    assert len(other.changes) == 1 and len(eng.alerts()) == 2
    assert len({a.fingerprint for a in eng.alerts()}) == 2


def test_alert_carries_labels_value_threshold_and_playbook() -> None:
    eng = engine({"id": "red-button", "metric": "buttons.shares.1", "op": ">", "threshold": 0.3,
                  "recovery": 0.25, "severity": "critical", "labels": {"team": "cs"},
                  "playbook": {"ru": {"event": "Клиент нажал красную кнопку",
                                      "tasks": ["Дать клиенту высказаться"],
                                      "actions": ["Позвать администратора?"]}}})
    change = eng.step(T0, [ev("red-button", 0.4, scope="msk-arbat")]).changes[0]
    assert change.labels == {"team": "cs", "location": "msk-arbat", "rule": "red-button",
                             "severity": "critical", "scope": "msk-arbat"}
    assert (change.value, change.threshold, change.recovery, change.op) == (0.4, 0.3, 0.25, ">")
    ru = present(change.playbook.ru)
    assert ru.event == "Клиент нажал красную кнопку"
    assert ru.actions == ("Позвать администратора?",)
