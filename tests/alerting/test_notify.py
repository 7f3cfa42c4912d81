"""Pure engine tests: grouping, repeat interval, acknowledgement, inhibition, snapshots."""

from __future__ import annotations

import msgspec

from alerting.engine import AlertEngine
from alerting.model import EngineSnapshot, Evaluation
from tests.alerting.helpers import MIN_MS, T0, alerts_cfg, always, engine, ev, rule
from tests.support.checks import present

RULES = (
    rule("nps-drop", recovery=30, repeat_interval_s=3600),
    rule("red-button", metric="buttons.shares.1", op=">", threshold=0.3, repeat_interval_s=3600),
    rule("flow-surge", metric="flow.this_hour / flow.usual_this_hour", op=">", threshold=1.5),
)


def bad_shift(scope: str = "loc-a") -> list[Evaluation]:
    return [ev("nps-drop", 5, scope=scope), ev("red-button", 0.5, scope=scope),
            ev("flow-surge", 2.0, scope=scope)]


def test_group_wait_gathers_a_location_into_one_message() -> None:
    eng = engine(*RULES, group_wait_s=30, group_interval_s=300)
    first = eng.step(T0, [ev("nps-drop", 5), ev("nps-drop", 5, scope="loc-b")])
    assert len(first.changes) == 2 and first.notifications == ()  # NATS now, webhooks wait
    mid = eng.step(T0 + 20_000, bad_shift())
    assert mid.notifications == ()
    sent = eng.step(T0 + 30_000, bad_shift()).notifications
    assert len(sent) == 2
    by_loc = {n.group["location"]: n for n in sent}
    assert sorted(a.rule for a in by_loc["loc-a"].alerts) == [
        "flow-surge",
        "nps-drop",
        "red-button",
    ]
    assert [a.rule for a in by_loc["loc-b"].alerts] == ["nps-drop"]
    assert all(n.reason == "new" and n.status == "firing" for n in sent)


def test_group_interval_paces_follow_ups_and_resolution_is_sent() -> None:
    eng = engine(*RULES, group_wait_s=0, group_interval_s=300)
    assert len(eng.step(T0, [ev("nps-drop", 5)]).notifications) == 1
    assert eng.step(T0 + MIN_MS, [ev("red-button", 0.5)]).notifications == ()
    later = eng.step(T0 + 5 * MIN_MS, [ev("red-button", 0.5)]).notifications
    assert [sorted(a.rule for a in n.alerts) for n in later] == [["nps-drop", "red-button"]]
    eng.step(T0 + 6 * MIN_MS, [ev("nps-drop", 40)])  # recovers, resolved owed
    done = eng.step(T0 + 10 * MIN_MS, [ev("red-button", 0.5)]).notifications
    assert done[0].reason == "resolved"
    assert {(a.rule, a.status) for a in done[0].alerts} == {("nps-drop", "resolved"),
                                                             ("red-button", "firing")}
    assert [h.rule for h in eng.history()] == ["nps-drop"]


def test_repeat_interval_and_acknowledgement() -> None:
    eng = engine(rule("nps-drop", repeat_interval_s=3600))
    sends = []
    for minute in range(0, 181, 5):
        r = eng.step(T0 + minute * MIN_MS, [ev("nps-drop", 5)])
        sends += [(minute, n.reason) for n in r.notifications]
    assert sends == [(0, "new"), (60, "repeat"), (120, "repeat"), (180, "repeat")]

    alert = eng.alerts()[0]
    acked = eng.acknowledge(alert.id, "Ольга", "иду в зал", T0 + 181 * MIN_MS)
    ack = present(acked.acknowledged)
    assert ack.by == "Ольга" and ack.comment == "иду в зал"
    quiet = [
        eng.step(T0 + m * MIN_MS, [ev("nps-drop", 5)]).notifications for m in range(185, 400, 5)
    ]
    assert not any(quiet)
    assert present(eng.alerts()[0].acknowledged).at_ms == T0 + 181 * MIN_MS


def test_inhibition_offline_location_does_not_fire_its_metric_alerts() -> None:
    rules = (rule("device-silent", metric="device.silent_minutes", op=">=", threshold=30,
                  labels={"kind": "offline"}),
             rule("low-response", metric="response_rate", op="<", threshold=0.7, window="today",
                  labels={"kind": "metric"}))
    eng = engine(*rules, inhibit=[{"source": ["kind=offline"], "target": ["kind=metric"],
                                   "equal": ["location"]}])
    r = eng.step(T0, [ev("device-silent", 45, device="term-1"), ev("low-response", 0.2),
                      ev("low-response", 0.2, scope="loc-b")])
    fired = {(c.rule, c.labels["location"]) for c in r.changes}
    assert fired == {("device-silent", "loc-a"), ("low-response", "loc-b")}
    muted = next(a for a in eng.alerts() if a.rule == "low-response" and a.scope == "loc-a")
    assert muted.status == "firing" and muted.suppressed_by[0].startswith("inhibited:")
    assert all(a.rule != "low-response" or a.labels["location"] == "loc-b"
               for n in r.notifications for a in n.alerts)
    back = eng.step(T0 + MIN_MS, [ev("device-silent", 0, device="term-1"), ev("low-response", 0.2)])
    assert {(c.rule, c.status) for c in back.changes} == {("device-silent", "resolved"),
                                                          ("low-response", "firing")}


def test_snapshot_restore_neither_loses_nor_refires() -> None:
    eng = engine(*RULES)
    eng.step(T0, bad_shift())
    eng.acknowledge(eng.alerts()[0].id, "ops", "", T0 + 1)
    blob = msgspec.json.encode(eng.snapshot(T0 + 1))
    restored = AlertEngine(alerts_cfg(*RULES), always(),
                           msgspec.json.decode(blob, type=EngineSnapshot))
    assert [a.id for a in restored.alerts()] == [a.id for a in eng.alerts()]
    r = restored.step(T0 + MIN_MS, bad_shift())
    assert r.changes == () and r.notifications == ()
    assert present(restored.alerts()[0].acknowledged).by == "ops"
    fixed = restored.step(T0 + 2 * MIN_MS, [ev("nps-drop", 50)])
    assert [(c.rule, c.status) for c in fixed.changes] == [("nps-drop", "resolved")]


def test_removed_rule_resolves_its_alerts_after_restart() -> None:
    eng = engine(*RULES)
    eng.step(T0, bad_shift())
    restored = AlertEngine(alerts_cfg(*RULES[:2]), always(), eng.snapshot(T0))
    r = restored.step(T0 + MIN_MS)
    assert [(c.rule, c.end_reason) for c in r.changes] == [("flow-surge", "rule_removed")]
    critical = (rule("nps-drop", recovery=30, severity="critical"), *RULES[1:2])
    again = AlertEngine(alerts_cfg(*critical), always(), restored.snapshot(T0 + MIN_MS))
    r = again.step(T0 + 2 * MIN_MS, bad_shift()[:2])
    assert sorted((c.rule, c.status, c.severity, c.end_reason) for c in r.changes) == [
        ("nps-drop", "firing", "critical", ""), ("nps-drop", "resolved", "warning", "rule_changed")]
