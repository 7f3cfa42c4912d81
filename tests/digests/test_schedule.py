"""Schedule math (pure): slots in local time across zones and DST, and the ledger's rule."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from digests.config import DigestConfig
from digests.ledger import STALE_SENDING_MS, SlotRecord, backoff_ms, decide
from digests.schedule import (
    covered_start,
    latest_slot,
    local_instant,
    next_slot,
    slot_for_period,
    slots_between,
)

NY, MSK, UTC = ZoneInfo("America/New_York"), ZoneInfo("Europe/Moscow"), ZoneInfo("UTC")


def spec(**kw: object) -> DigestConfig:
    return DigestConfig(id="d", to=("a@example.com",), **kw)  # type: ignore[arg-type]


def ms(*args: int, tz: dt.tzinfo = UTC) -> int:
    return int(dt.datetime(*args, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc,arg-type]


def utc(ms_: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms_ / 1000, UTC).replace(tzinfo=None)


def test_daily_at_local_time_in_two_zones() -> None:
    s = spec(at="08:00")
    after = ms(2025, 3, 4, 12, 0)
    assert utc(next_slot(s, MSK, after).due_ms) == dt.datetime(2025, 3, 5, 5, 0)   # UTC+3
    assert utc(next_slot(s, NY, after).due_ms) == dt.datetime(2025, 3, 4, 13, 0)   # EST -5
    slot = next_slot(s, MSK, after)
    assert (slot.label, slot.send_date) == ("2025-03-04", dt.date(2025, 3, 5))  # yesterday


def test_dst_gap_runs_the_gap_later_and_once() -> None:
    # 02:30 does not exist in New York on 2025-03-09 (02:00 -> 03:00)
    s = spec(at="02:30")
    due = local_instant(dt.date(2025, 3, 9), 2, 30, NY)
    assert dt.datetime.fromtimestamp(due / 1000, NY).strftime("%H:%M %Z") == "03:30 EDT"
    slots = slots_between(s, NY, ms(2025, 3, 8, tz=NY), ms(2025, 3, 11, tz=NY))
    assert [x.label for x in slots] == ["2025-03-07", "2025-03-08", "2025-03-09"]
    assert [utc(x.due_ms).hour for x in slots] == [7, 7, 6]  # EST 02:30, gap, EDT 02:30


def test_dst_fold_takes_the_first_of_the_two_and_once() -> None:
    # 01:30 happens twice in New York on 2025-11-02 (EDT, then EST)
    s = spec(at="01:30")
    slots = slots_between(s, NY, ms(2025, 11, 1, 12, tz=NY), ms(2025, 11, 3, 12, tz=NY))
    assert [x.label for x in slots] == ["2025-11-01", "2025-11-02"]
    fold_day = slots[0]
    assert dt.datetime.fromtimestamp(fold_day.due_ms / 1000, NY).strftime("%H:%M %Z") == \
        "01:30 EDT"
    assert slots[1].due_ms - fold_day.due_ms == 25 * 3_600_000  # the 25-hour day


def test_a_day_every_24_hours_in_a_zone_without_dst() -> None:
    s = spec(at="08:00")
    slots = slots_between(s, MSK, ms(2025, 1, 1), ms(2025, 12, 31))
    assert len({x.label for x in slots}) == len(slots) == 364
    assert {b.due_ms - a.due_ms for a, b in itertools.pairwise(slots)} == {86_400_000}


def test_weekly_covers_the_last_iso_week() -> None:
    s = spec(period="week", weekday="mon", at="09:00")
    slot = next_slot(s, MSK, ms(2025, 3, 4, 12))
    assert slot.send_date == dt.date(2025, 3, 10)
    assert (slot.label, slot.start, slot.last) == ("2025-W10", dt.date(2025, 3, 3),
                                                   dt.date(2025, 3, 9))
    wed = spec(period="week", weekday="wed")
    assert next_slot(wed, MSK, ms(2025, 3, 4, 12)).label == "2025-W09"


def test_monthly_day_past_the_month_end_is_its_last_day() -> None:
    s = spec(period="month", day=31, at="09:00")
    slots = slots_between(s, MSK, ms(2025, 1, 15), ms(2025, 5, 15))
    assert [x.send_date for x in slots] == [dt.date(2025, 1, 31), dt.date(2025, 2, 28),
                                            dt.date(2025, 3, 31), dt.date(2025, 4, 30)]
    assert [x.label for x in slots] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    first = spec(period="month", day=1)
    assert next_slot(first, MSK, ms(2025, 3, 4)).label == "2025-03"


def test_latest_and_for_period() -> None:
    s = spec(at="08:00")
    assert latest_slot(s, MSK, ms(2025, 3, 5, 4, 59)).label == "2025-03-03"
    assert latest_slot(s, MSK, ms(2025, 3, 5, 5, 0)).label == "2025-03-04"
    w = spec(period="week", weekday="fri")
    assert slot_for_period(w, MSK, dt.date(2025, 3, 5)).label == "2025-W10"
    assert slot_for_period(w, MSK, dt.date(2025, 3, 5)).send_date == dt.date(2025, 3, 14)
    assert covered_start("month", dt.date(2025, 1, 1)) == dt.date(2024, 12, 1)


@pytest.mark.parametrize(("record", "now_after_due", "expected"), [
    (None, 60_000, "send"),
    (None, 25 * 3_600_000, "skip"),  # outside the 24 h catch-up window
    (SlotRecord(state="sending", owner="x", due_ms=0, marked_ms=0), STALE_SENDING_MS, "resume"),
    (SlotRecord(state="sending", owner="x", due_ms=0, marked_ms=0), 60_000, "skip"),
    (SlotRecord(state="retrying", owner="x", due_ms=0, marked_ms=0, next_ms=10), 60_000, "retry"),
    (SlotRecord(state="retrying", owner="x", due_ms=0, marked_ms=0, next_ms=10**9), 60_000,
     "skip"),
    (SlotRecord(state="sent", owner="x", due_ms=0, marked_ms=0), 60_000, "skip"),
    (SlotRecord(state="failed", owner="x", due_ms=0, marked_ms=0), 60_000, "skip"),
])
def test_ledger_decides(record: SlotRecord | None, now_after_due: int, expected: str) -> None:
    assert decide(record, due_ms=0, now_ms=now_after_due, catch_up_ms=24 * 3_600_000,
                  in_flight=False) == expected
    assert decide(record, due_ms=0, now_ms=now_after_due, catch_up_ms=24 * 3_600_000,
                  in_flight=True) == "skip"


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_ms(n, 30, 200) for n in range(1, 6)] == [30_000, 60_000, 120_000,
                                                              200_000, 200_000]
