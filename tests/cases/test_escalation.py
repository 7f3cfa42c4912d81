"""Overdue cases step up once per working day (``cases.escalation``), pure, and live:
through a real NATS, core, case service and alert service with an injected clock, across
a weekend in Yekaterinburg (UTC+5)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from cases.escalation import level_due, overdue_since, stepped
from stream.config import HoursConfig
from stream.readmodel import IncidentView
from stream.workcal import WorkCalendar
from tests.support.cases import cases_of, cases_stack, wait_case
from tests.support.network import config_text
from tests.support.stack import until

EKB = ZoneInfo("Asia/Yekaterinburg")
FRI = dt.date(2026, 11, 27)


def at(day: dt.date, hh: int, mm: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=EKB).timestamp() * 1000)


def days(n: int, base: dt.date = FRI) -> dt.date:
    return base + dt.timedelta(days=n)


@pytest.mark.parametrize(("now", "level"), [
    ((0, 14, 59), 0), ((0, 15, 0), 1), ((0, 23, 0), 1),  # Friday: missed at 15:00
    ((1, 12, 0), 1), ((2, 23, 59), 1),                   # the weekend adds nothing
    ((3, 8, 59), 1), ((3, 9, 0), 2), ((3, 17, 0), 2),    # Monday's opening
    ((4, 9, 30), 3), ((7, 9, 0), 6),                     # Tuesday; the next Friday
])
def test_one_level_per_working_day_across_the_weekend(
    now: tuple[int, int, int], level: int
) -> None:
    cal = WorkCalendar(EKB, HoursConfig().minutes())
    d, hh, mm = now
    assert level_due(cal, at(FRI, 15), at(days(d), hh, mm)) == level


def test_holidays_are_skipped_and_a_weekend_miss_waits_for_monday() -> None:
    cal = WorkCalendar(EKB, HoursConfig().minutes(), frozenset({days(4)}))  # Tuesday off
    assert level_due(cal, at(FRI, 15), at(days(4), 12)) == 2
    assert level_due(cal, at(FRI, 15), at(days(5), 9)) == 3
    saturday_miss = at(days(1), 11)  # a claim's 24 calendar hours ran out on Saturday
    assert level_due(cal, saturday_miss, at(days(2), 20)) == 0
    assert level_due(cal, saturday_miss, at(days(3), 9)) == 1


def test_severity_steps_up_and_stays_critical() -> None:
    assert [stepped("low", n) for n in (0, 1, 2, 3, 4)] == [
        "low", "normal", "high", "critical", "critical"]
    assert stepped(None, 1) == "high"


def test_overdue_since_the_first_missed_deadline() -> None:
    v = IncidentView(location="ekb", incident="c", category="service", status="open",
                     opened_ms=0, assigned_ms=None, resolved_ms=None, transfer_deadline_ms=100,
                     resolve_deadline_ms=1000, breached=False, problem=False)
    assert overdue_since(v, 50) is None and overdue_since(v, 101) == 100
    late = msgspec.structs.replace(v, assigned_ms=150, status="assigned")
    assert overdue_since(late, 200) == 100  # assigned after its transfer deadline
    on_time = msgspec.structs.replace(v, assigned_ms=50, status="assigned")
    assert overdue_since(on_time, 500) is None and overdue_since(on_time, 1001) == 1000
    assert overdue_since(msgspec.structs.replace(v, status="resolved"), 5000) is None


ALERT_RULE = """
[[alerts.rules]]
id = "case-overdue"
metric = "case.escalation"
window = "1d"
op = ">="
threshold = 1
no_data = "resolve"
repeat_interval_s = 0
[alerts.rules.playbook.en]
event = "A case is overdue"
"""


def last_friday() -> dt.date:
    """A Friday at least five days ago (its Tuesday is in the past; all within retention)."""
    today = dt.datetime.now(EKB).date() - dt.timedelta(days=5)
    return today - dt.timedelta(days=(today.weekday() - 4) % 7)


async def test_an_overdue_case_escalates_once_per_working_day_live(tmp_path: Path) -> None:
    fri = last_friday()
    # only the test drives escalation: the service's own round (every 30 s) would race it
    # on a slow machine, with the clock the test has set
    text = config_text() + ALERT_RULE + "\n[cases]\nescalate_check_s = 86400\n"
    async with cases_stack(tmp_path, text, alerts=True) as stack:
        opened = {"id": "c-late-open", "ts": at(fri, 10), "location": "ekb",
                  "incident": "c-late", "action": "open", "category": "service",
                  "assignee": "cs-07", "source": "api", "who": "sup_ekb", "text": "x"}
        await stack.publish(opened, kind="incident")
        worker = stack.cases.worker
        levels: list[object] = []
        for day, hh, mm in ((0, 13, 30), (0, 17, 0), (1, 12, 0), (2, 20, 0), (3, 9, 5),
                            (3, 16, 0), (4, 9, 10), (4, 9, 11)):
            worker.clock = functools.partial(int, at(days(day, fri), hh, mm))
            steps = await stack.cases.escalate_once()
            levels.append(max((s.escalation or 0 for s in steps), default=None))
            assert await stack.running_core.wait_idle(10)
            if steps:  # the step is in the stream: wait until the core has applied it
                await wait_case(stack, lambda items, n=steps[-1].escalation:
                                items and items[0]["escalations"] >= n, 10, location="ekb")
            [case] = await cases_of(stack, location="ekb")
            levels.append((case["escalations"], case["severity"]))
        # per round: the level its step reached (None: no step), then the case as read back
        assert levels == [1, (1, "high"), None, (1, "high"), None, (1, "high"), None, (1, "high"),
                          2, (2, "critical"), None, (2, "critical"), 3, (3, "critical"),
                          None, (3, "critical")]
        assert [s["escalation"] for s in case["steps"] if s["escalation"]] == [1, 2, 3]

        await stack.alerts.evaluate()
        [alert] = [a for a in stack.alerts.list_alerts() if a.rule == "case-overdue"]
        assert alert.status == "firing"
        assert (alert.labels["incident"], alert.labels["assignee"], alert.labels["level"]) == (
            "c-late", "cs-07", "3")
        await stack.publish({"id": "c-late-done", "ts": at(days(4, fri), 10),
                             "location": "ekb", "incident": "c-late", "action": "resolve"},
                            kind="incident")
        await stack.alerts.evaluate()
        assert not [a for a in stack.alerts.list_alerts() if a.rule == "case-overdue"]

        async def quiet() -> bool:
            return not await stack.cases.escalate_once()

        await until(quiet, 2.0, "no escalation of a resolved case")
