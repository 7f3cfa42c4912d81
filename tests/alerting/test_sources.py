"""Sources and collection (pure): core metrics by path and ratio, voice event windows,
device silence counted from opening time, scope selectors and their labels."""

from __future__ import annotations

import datetime as dt

from alerting.engine import AlertEngine
from alerting.model import Evaluation
from alerting.schedule import calendars_from_config
from alerting.sources import (
    CoreSource,
    EventCounter,
    LastSeen,
    MetricSource,
    collect,
    topology_of,
)
from cxpulse.config import load_config_text
from stream.readmodel import ButtonsResult, FlowResult
from tests.alerting.fakes import FakeReader

CFG = load_config_text("""
[[locations]]
id = "loc-a"
region = "r1"
timezone = "Asia/Yekaterinburg"
devices = ["term-1"]
[[locations]]
id = "loc-b"
region = "r2"
timezone = "Europe/Moscow"
[[alerts.rules]]
id = "flow-surge"
metric = "flow.this_hour / flow.usual_this_hour"
window = "today"
op = ">"
threshold = 1.5
min_sample = 20
[[alerts.rules]]
id = "red-button"
metric = "buttons.shares.1"
window = "today"
scope = "each_region"
op = ">"
threshold = 0.3
min_sample = 20
[[alerts.rules]]
id = "anger"
metric = "voice.anger_events"
window = "15m"
op = ">="
threshold = 3
[[alerts.rules]]
id = "device-silent"
metric = "device.silent_minutes"
op = ">="
threshold = 30
schedule = "business_hours"
""")
TOPO = topology_of([("loc-a", "r1"), ("loc-b", "r2")])
CALS = calendars_from_config(CFG)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def sources(reader: FakeReader, voice: EventCounter | None = None,
            devices: LastSeen | None = None) -> dict[str, MetricSource]:
    return {"core": CoreSource(reader), "voice": voice or EventCounter(),
            "device": devices or LastSeen()}


def by_rule(evaluations: list[Evaluation]) -> dict[tuple[str, str], Evaluation]:
    return {(e.rule, e.scope): e for e in evaluations}


def test_core_ratio_and_sample_paths_and_region_scopes() -> None:
    reader = FakeReader({"loc-a": "r1", "loc-b": "r2"})
    reader.set("loc-a", "today", flow=FlowResult(this_hour=36, usual_this_hour=20.0))
    reader.set("r1", "today", buttons=ButtonsResult(shares={"1": 0.4}, presses=25))
    now = utc(2026, 3, 4, 6, 0)
    evs = by_rule(collect(CFG.alerts.rules, TOPO, sources(reader), CALS, now))
    flow = evs[("flow-surge", "loc-a")]
    assert (flow.readings[0].value, flow.readings[0].sample) == (1.8, 36)
    assert flow.labels == {"location": "loc-a", "region": "r1"}
    assert evs[("flow-surge", "loc-b")].readings[0].value is None  # no usual profile yet
    red = evs[("red-button", "r1")]
    assert (red.readings[0].value, red.readings[0].sample, red.labels) == (
        0.4,
        25,
        {"region": "r1"},
    )
    assert ("red-button", "loc-a") not in evs


def test_only_changed_scopes_are_read() -> None:
    reader = FakeReader({"loc-a": "r1", "loc-b": "r2"})
    evs = collect(CFG.alerts.rules, TOPO, sources(reader), CALS, utc(2026, 3, 4, 6), {"loc-b"})
    assert {e.scope for e in evs} == {"loc-b"}


def test_voice_events_are_counted_over_the_window() -> None:
    voice = EventCounter()
    now = utc(2026, 3, 4, 6, 0)
    for minutes_ago in (20, 14, 9, 1):
        voice.record("anger_events", "loc-a", now - minutes_ago * 60_000)
    voice.record("anger_events", "loc-b", now - 60_000)
    evs = by_rule(collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), voice=voice), CALS, now))
    assert evs[("anger", "loc-a")].readings[0].value == 3.0
    assert evs[("anger", "loc-b")].readings[0].value == 1.0
    eng = AlertEngine(CFG.alerts, CALS)
    fired = eng.step(now, list(evs.values())).changes
    assert [(c.rule, c.scope) for c in fired] == [("anger", "loc-a")]


def test_silent_device_counts_from_opening_not_from_last_night() -> None:
    devices = LastSeen()
    devices.expect("loc-a", "term-1", utc(2026, 3, 3, 10))  # configured; never heard
    devices.seen("loc-b", "mic-7", utc(2026, 3, 3, 14))      # heard yesterday afternoon
    # 09:20 in Yekaterinburg (+5) is 04:20 UTC: open 20 minutes, silent 20 minutes, no alert.
    early = by_rule(collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), devices=devices),
                            CALS, utc(2026, 3, 4, 4, 20)))
    reading = early[("device-silent", "loc-a")].readings[0]
    assert reading.value == 20.0 and reading.labels == {"location": "loc-a", "device": "term-1"}
    assert ("device-silent", "loc-b") not in early  # 07:20 in Moscow: closed, not read
    later = collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), devices=devices), CALS,
                    utc(2026, 3, 4, 6, 40))  # 11:40 in Yekaterinburg, 09:40 in Moscow
    eng = AlertEngine(CFG.alerts, CALS)
    fired = {(c.scope, c.labels["device"], c.value) for c in eng.step(utc(2026, 3, 4, 6, 40),
                                                                       later).changes}
    # term-1 never spoke (silent since 09:00 local, 160 min); mic-7 spoke yesterday, but
    # counts only from today's 09:00 opening in Moscow: 40 min.
    assert fired == {("loc-a", "term-1", 160.0), ("loc-b", "mic-7", 40.0)}
    devices.seen("loc-b", "mic-7", utc(2026, 3, 4, 6, 41))
    now = utc(2026, 3, 4, 6, 42)
    back = eng.step(now, collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), devices=devices),
                                 CALS, now)).changes
    assert [(c.labels["device"], c.status) for c in back] == [("mic-7", "resolved")]


def test_scope_selectors_resolve_to_members_and_labels() -> None:
    assert [(s.id, s.locations, s.labels) for s in TOPO.resolve("region:r1")] == [
        ("r1", ("loc-a",), {"region": "r1"})]
    assert [s.id for s in TOPO.resolve("each_region")] == ["r1", "r2"]
    assert TOPO.resolve("network")[0].locations == ("loc-a", "loc-b")
    new = TOPO.resolve("location:loc-new")[0]  # not seen by the core yet
    assert (new.locations, new.labels) == (("loc-new",), {"location": "loc-new"})


async def test_a_fresh_start_raises_no_device_silent_storm() -> None:
    """Issue 20: at start the core's device view holds old times (the demo's back-fill, a
    replay still catching up): a device not heard since the start is unknown, not silent,
    until it has been watched for a full silence period (30 min) in opening hours."""
    from alerting.service import AlertService

    t0 = utc(2026, 3, 4, 7, 0)  # 12:00 in Yekaterinburg, 10:00 in Moscow: both open
    clock = [t0]
    reader = FakeReader({"loc-a": "r1", "loc-b": "r2"})
    reader.seen = {("loc-a", "a-btn"): t0 - 115 * 60_000, ("loc-b", "b-term"): t0 - 115 * 60_000}
    svc = AlertService(CFG, None, reader, clock=lambda: clock[0])
    await svc.start()

    def device_alerts() -> set[tuple[str, str]]:
        return {(a.labels["device"], a.status) for a in svc.engine.alerts()
                if a.rule == "device-silent"}

    for minutes in (0, 1, 10, 29):
        clock[0] = t0 + minutes * 60_000
        if minutes == 10:
            reader.seen[("loc-b", "b-term")] = clock[0]  # heard again after the start
        await svc.evaluate()
        assert device_alerts() == set(), minutes
    clock[0] = t0 + 31 * 60_000  # watched a full period: the unheard ones are silent now
    await svc.evaluate()
    assert device_alerts() == {("a-btn", "firing"), ("term-1", "firing")}
    values = {a.labels["device"]: a.value for a in svc.engine.alerts()}
    assert values == {"a-btn": 146.0, "term-1": 31.0}  # a-btn: silent since 115 min before
    await svc.stop()


def test_an_alert_firing_before_a_restart_is_kept_while_its_device_is_unknown() -> None:
    devices = LastSeen(started_ms=utc(2026, 3, 4, 6, 0))
    devices.seen("loc-b", "mic-7", utc(2026, 3, 4, 5, 0))  # before the restart
    now = utc(2026, 3, 4, 6, 40)  # 09:40 Moscow: opened 40 min ago, watched 40 min
    eng = AlertEngine(CFG.alerts, CALS)
    fired = eng.step(now, collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), devices=devices),
                                  CALS, now)).changes
    assert [(c.labels["device"], c.status, c.value) for c in fired] == [("mic-7", "firing", 40.0)]
    restarted = LastSeen(started_ms=utc(2026, 3, 4, 6, 45))  # a restart: unknown again
    restarted.seen("loc-b", "mic-7", utc(2026, 3, 4, 5, 0))
    later = utc(2026, 3, 4, 6, 50)
    evs = collect(CFG.alerts.rules, TOPO, sources(FakeReader({}), devices=restarted), CALS, later)
    assert by_rule(evs)[("device-silent", "loc-b")].readings[0].value is None  # unknown
    assert eng.step(later, evs).changes == ()  # neither resolved nor fired again
