"""Pure engine tests: silences with expiry and reminder, maintenance windows, business hours
in each location's own time zone across DST changes."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.engine import AlertInputError
from alerting.schedule import calendars_from_config
from cxpulse.config import load_config_text
from tests.alerting.helpers import MIN_MS, T0, engine, ev, rule

TOML = """
[core]
default_timezone = "Europe/Moscow"
[[locations]]
id = "ber"
timezone = "Europe/Berlin"
[[locations]]
id = "nyc"
timezone = "America/New_York"
[[locations]]
id = "ekb"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "msk"
timezone = "Europe/Moscow"
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def test_silence_mutes_reminds_before_expiry_and_reports_what_still_fires() -> None:
    eng = engine(rule("nps-drop"), silence_reminder_s=900)
    eng.step(T0, [ev("nps-drop", 5)])
    alert_id = eng.alerts()[0].id
    sil = eng.add_silence(["rule=nps-drop", "location=loc-a"], T0, T0 + 61 * MIN_MS,
                          "ольга", "чиним терминал", T0 + MIN_MS)
    seen = {}
    for m in range(1, 70):
        r = eng.step(T0 + m * MIN_MS, [ev("nps-drop", 5), ev("nps-drop", 5, scope="loc-b")])
        for n in r.notices:
            seen[n.event] = (m, n.alerts)
        if m == 30:
            assert eng.alerts()[0].suppressed_by == (f"silence:{sil.id}",)
        if 1 < m < 61:
            assert all(a.labels["location"] == "loc-b" for n in r.notifications for a in n.alerts)
        if m == 61:
            back = r.notifications
    assert seen == {"expiring": (46, (alert_id,)), "expired": (61, (alert_id,))}
    assert any(a.id == alert_id for n in back for a in n.alerts)
    assert eng.silences(T0 + 70 * MIN_MS)[0].state == "expired"


def test_alert_born_under_a_silence_is_announced_when_it_ends() -> None:
    eng = engine(rule("nps-drop"))
    sil = eng.add_silence(["location=~loc-.*"], T0, T0 + 10 * MIN_MS, "ops", "", T0)
    assert eng.step(T0 + MIN_MS, [ev("nps-drop", 5)]).changes == ()
    eng.remove_silence(sil.id, "ops", T0 + 2 * MIN_MS)
    r = eng.step(T0 + 2 * MIN_MS, [ev("nps-drop", 5)])
    assert [c.status for c in r.changes] == ["firing"] and r.notifications
    assert r.notices == ()  # removed by hand: no "expired" notice


@pytest.mark.parametrize(("matchers", "ends", "field"), [
    ([], T0 + MIN_MS, "matchers"),
    (["location~loc"], T0 + MIN_MS, "matchers"),
    (["rule=nps-drop"], T0 - MIN_MS, "ends"),
    (["rule=nps-drop"], T0 + 8 * 86_400_000, "ends"),
])
def test_silences_must_be_specific_and_end(matchers: list[str], ends: int, field: str) -> None:
    eng = engine(rule("nps-drop"))
    with pytest.raises(AlertInputError, match=f"^{field}:"):
        eng.add_silence(matchers, T0, ends, "ops", "", T0)


def test_maintenance_window_uses_each_locations_own_clock() -> None:
    cals = calendars_from_config(load_config_text(TOML))
    eng = engine(
        rule("nps-drop"),
        calendars=cals,
        maintenance=[{"id": "nightly", "weekdays": ["wed", "thu"], "hours": "02:00-04:00"}],
    )
    at = utc(2026, 3, 4, 21, 30)  # Wed 21:30 UTC = Thu 02:30 in Yekaterinburg, 00:30 in Moscow
    r = eng.step(at, [ev("nps-drop", 5, scope="ekb"), ev("nps-drop", 5, scope="msk")])
    assert [c.scope for c in r.changes] == ["msk"]
    ekb = next(a for a in eng.alerts() if a.scope == "ekb")
    assert ekb.suppressed_by == ("maintenance:nightly",)
    r = eng.step(utc(2026, 3, 4, 23, 0), [ev("nps-drop", 5, scope="ekb")])  # 04:00 local
    assert [c.scope for c in r.changes] == ["ekb"]


def test_business_hours_across_dst_in_two_time_zones() -> None:
    cals = calendars_from_config(load_config_text(TOML))  # default hours Mon-Fri 09-18
    eng = engine(rule("nps-drop", schedule="business_hours"), calendars=cals)

    def fire(at: int, scope: str) -> list[str]:
        changes = eng.step(at, [ev("nps-drop", 5, scope=scope)]).changes
        return [c.status for c in changes if c.scope == scope]

    # New York switched to EDT on 8 March: 13:30 UTC is 08:30 EST on Fri 6 Mar (closed) but
    # 09:30 EDT on Mon 9 Mar (open).
    assert fire(utc(2026, 3, 6, 13, 30), "nyc") == []
    assert fire(utc(2026, 3, 9, 13, 30), "nyc") == ["firing"]
    # Berlin switched on 29 March: Fri 27 Mar 07:30 UTC is 08:30 CET (closed); Mon 30 Mar
    # 07:30 UTC is 09:30 CEST (open). New York at those instants is at night: closed.
    assert fire(utc(2026, 3, 27, 7, 30), "ber") == []
    assert [a.scope for a in eng.alerts()] == []  # nyc ended at its own closing time
    assert eng.history()[0].end_reason == "out_of_hours"
    assert eng.history()[0].ends_ms == utc(2026, 3, 27, 7, 30)
    assert fire(utc(2026, 3, 30, 7, 30), "ber") == ["firing"]
    assert fire(utc(2026, 3, 30, 7, 30), "nyc") == []
    # Berlin resolves at 18:00 local = 16:00 UTC in CEST, not at 17:00 UTC.
    assert fire(utc(2026, 3, 30, 15, 59), "ber") == []
    assert [(c.status, c.end_reason) for c in eng.step(utc(2026, 3, 30, 16, 0)).changes] == [
        ("resolved", "out_of_hours")]
    # Saturday: closed.
    assert fire(utc(2026, 4, 4, 12, 0), "ber") == []
