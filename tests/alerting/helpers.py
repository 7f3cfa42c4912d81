"""Builders shared by the alerting tests: rules, calendars, evaluations, a clock in ms."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from alerting.engine import AlertEngine
from alerting.model import Evaluation, Reading
from alerting.schedule import ALWAYS_HOURS, Calendar, Calendars
from alerting.schema import AlertsConfig

MIN_MS = 60_000
T0 = int(dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)  # a Wednesday


def rule(id: str = "nps-drop", **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": id, "metric": "nps", "op": "<", "threshold": 20.0, "window": "1h"}
    base.update(kw)
    return base


def alerts_cfg(*rules: dict[str, Any], **kw: Any) -> AlertsConfig:
    kw.setdefault("group_wait_s", 0)
    kw.setdefault("group_interval_s", 0)
    return msgspec.convert({"rules": list(rules), **kw}, AlertsConfig)


def always() -> Calendars:
    return Calendars(Calendar(ZoneInfo("UTC"), ALWAYS_HOURS))


def engine(*rules: dict[str, Any], calendars: Calendars | None = None,
           **kw: Any) -> AlertEngine:
    return AlertEngine(alerts_cfg(*rules, **kw), calendars or always())


def ev(rule_id: str, value: float | None, sample: int | None = 100, scope: str = "loc-a",
       **labels: str) -> Evaluation:
    base = {"location": scope} if scope != "network" else {}
    return Evaluation(rule_id, scope, base, (Reading(value, sample, labels),))


def empty(rule_id: str, scope: str = "loc-a") -> Evaluation:
    return Evaluation(rule_id, scope, {"location": scope}, ())
