"""Every ``/api/history`` point equals a naive per-event recomputation, for random event sets
over 400 days in several time zones (DST included); and a location's or a same-date scope's
today equals the live engine's ``today``.

The naive side shares no code with the archive or the engine: local dates from ``zoneinfo``,
plain loops, the documented formulas.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.comments import TextHooks
from archive.history import HistoryQuery, history
from archive.metricpath import value
from archive.periods import By, label
from archive.store import ArchiveStore
from cxpulse.config import load_config_text
from stream.engine import MetricsEngine
from stream.events import Limits, Rejection, validate_event
from stream.query import metrics

CFG = load_config_text("""
[[regions]]
id = "r"
[[locations]]
id = "a"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "k"
region = "far"
timezone = "Asia/Kolkata"
[[locations]]
id = "ny"
region = "far"
timezone = "America/New_York"
""")
NOW = int(dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)  # one date everywhere
LOCS = ("a", "b", "k", "ny", "z")  # z: unknown, default zone
MIN = 60_000
SCOPES = ("network", "r", "far", "a", "k", "ny", "z")


def _tz(loc: str) -> ZoneInfo:
    return ZoneInfo(CFG.timezone_of(loc))


def _members(scope: str) -> set[str]:
    if scope == "network":
        return set(LOCS)
    if scope in ("r", "far"):
        return {loc.id for loc in CFG.locations if loc.region == scope}
    return {scope}


event = st.tuples(
    st.sampled_from(LOCS),
    st.one_of(st.integers(0, 400 * 1440), st.integers(0, 600)),  # minutes ago (often today)
    st.sampled_from(["nps", "csat", "ces", "button", "csi", "visit", "flow", "open", "resolve"]),
    st.integers(0, 10),  # value seed
    st.integers(0, 6),  # session seed (0: none)
)


def _body(i: int, e: tuple) -> tuple[str, dict]:
    loc, ago, kind, v, s = e
    base = {"id": f"e{i}", "ts": NOW - ago * MIN, "location": loc}
    if s:
        base["session"] = f"s{s}"
    if kind == "nps":
        return "feedback", {**base, "type": "nps", "value": v}
    if kind == "csat":
        return "feedback", {**base, "type": "csat", "value": 1 + v % 5}
    if kind == "ces":
        return "feedback", {**base, "type": "ces", "value": 1 + v % 7}
    if kind == "button":
        return "feedback", {**base, "type": "button", "value": 1 + v % 3, "scale": 3}
    if kind == "csi":
        return "feedback", {**base, "type": "csi", "factor": "f", "question": f"q{v % 2}",
                            "value": 1 + v % 5}
    if kind == "visit":
        return "feedback", {"id": base["id"], "ts": base["ts"], "location": loc, "type": "visit"}
    if kind == "flow":
        return "flow", {"id": base["id"], "ts": base["ts"], "location": loc, "channel": "phone",
                        "answered": v % 3 > 0, "wait_s": v * 1.5}
    body = {"id": base["id"], "ts": base["ts"], "location": loc, "incident": f"i{v % 4}",
            "action": kind}
    if s % 4:  # a case's source (contract v2); none: a desk's event
        body["source"] = ("desk", "api", "auto")[s % 4 - 1]
    if kind == "open":
        body["category"] = "thanks" if v % 5 == 0 else "claim"
    return "incident", body


def _naive(rows: list[tuple[str, dict[str, Any]]], scope: str,
           by: By) -> dict[str, dict[str, float | None]]:
    """period label -> {metric: value} computed per event."""
    members = _members(scope)
    first_session: dict[tuple[str, str], int] = {}
    for kind, b in rows:
        if kind == "feedback" and b["type"] in ("nps", "csat", "ces", "csi") and b.get("session"):
            key = (b["location"], b["session"])
            first_session[key] = min(first_session.get(key, b["ts"]), b["ts"])
    opens: dict[tuple[str, str], tuple[int, str]] = {}
    for kind, b in rows:
        if kind == "incident" and b["action"] == "open":
            key = (b["location"], b["incident"])
            if key not in opens or b["ts"] < opens[key][0]:
                opens[key] = (b["ts"], b["category"])
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def period(loc: str, ts: int) -> str:
        d = dt.datetime.fromtimestamp(ts / 1000, _tz(loc)).date()
        start = {"day": d, "week": d - dt.timedelta(days=d.weekday()), "month": d.replace(day=1)}
        return label(start[by], by)

    for kind, b in rows:
        loc = b["location"]
        if loc not in members:
            continue
        a = acc[period(loc, b["ts"])]
        if kind == "flow":
            a["contacts"] += 1
            a["wait_n"] += 1
            a["wait_sum"] += b["wait_s"]
            a["ans_yes"] += b["answered"]
            continue
        if kind == "incident":
            continue
        t, v = b["type"], b.get("value", 0)
        if t in ("nps", "csat", "ces", "csi"):
            s = b.get("session")
            a["sessions"] += 1 if not s or first_session[(loc, s)] == b["ts"] else 0
        if t == "visit":
            a["visits"] += 1
        elif t == "nps":
            a["n"] += 1
            a["p"] += v >= 9
            a["d"] += v <= 6
        elif t == "csat":
            a["csat_n"] += 1
            a["csat_sat"] += v >= 4
        elif t == "ces":
            a["ces_n"] += 1
            a["ces_sum"] += v
        elif t == "button":
            a["btn_n"] += 1
            a["btn_sum"] += (v - 1) / 2
            a["btn_1"] += v == 1
        elif t == "csi":
            a["csi_n"] += 1
            a["csi_sum"] += (v - 1) / 4
    for (loc, _), (ts, category) in opens.items():
        if loc in members:
            acc[period(loc, ts)]["thanks" if category == "thanks" else "opened"] += 1
    out: dict[str, dict[str, float | None]] = {}
    for p, a in acc.items():
        out[p] = {
            "nps": 100 * (a["p"] - a["d"]) / a["n"] if a["n"] else None,
            "nps_with_non_responders": (
                100 * (a["p"] - a["d"]) / (a["n"] + max(a["visits"] - a["sessions"], 0))
                if a["n"] + max(a["visits"] - a["sessions"], 0)
                else None
            ),
            "response_rate": min(a["sessions"] / a["visits"], 1) if a["visits"] else None,
            "csat": 100 * a["csat_sat"] / a["csat_n"] if a["csat_n"] else None,
            "ces": a["ces_sum"] / a["ces_n"] if a["ces_n"] else None,
            "buttons.index": 100 * a["btn_sum"] / a["btn_n"] if a["btn_n"] else None,
            "buttons.shares.1": a["btn_1"] / a["btn_n"] if a["btn_n"] else None,
            "csi.total": a["csi_sum"] / a["csi_n"] if a["csi_n"] else None,
            "flow.contacts": a["contacts"],
            "flow.mean_wait_s": a["wait_sum"] / a["wait_n"] if a["wait_n"] else None,
            "flow.answered_share": a["ans_yes"] / a["wait_n"] if a["wait_n"] else None,
            "incidents.opened": a["opened"],
            "incidents.thanks_share": (
                a["thanks"] / (a["opened"] + a["thanks"]) if a["opened"] + a["thanks"] else None
            ),
        }
    return out


METRICS = ("nps", "nps_with_non_responders", "response_rate", "csat", "ces", "buttons.index",
           "buttons.shares.1", "csi.total", "flow.contacts", "flow.mean_wait_s",
           "flow.answered_share", "incidents.opened", "incidents.thanks_share")


SOURCE_METRICS = tuple(f"incidents.by_source.{src}.{name}" for src in ("desk", "api", "auto")
                       for name in ("opened", "resolved", "within_sla", "same_day_share",
                                    "mean_first_action_s", "mean_resolve_s"))


def _close(got: float | None, want: float | None) -> bool:
    if want is None or got is None:
        return got == want or (want == 0 and got is None) or (got == 0 and want is None)
    return got == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=150), st.sampled_from(SCOPES),
       st.sampled_from(["day", "week", "month"]))
def test_history_equals_naive_and_live(events: list[tuple[str, int, str, int, int]], scope: str,
                                       by: By) -> None:
    rows = [_body(i, e) for i, e in enumerate(events)]
    limits = Limits(retention_ms=500 * 86_400_000)
    items = []
    for kind, b in rows:
        result = validate_event(kind, b["location"], json.dumps(b).encode(), NOW, limits)
        assert not isinstance(result, Rejection), result
        items.append(result)
    store = ArchiveStore(CFG, ":memory:", hooks=TextHooks(mask=str))
    store.open(NOW)
    half = len(items) // 2  # two writes: sessions and rollups across batches
    store.write(items[half:], {"input": 1})
    store.write(items[:half], {"input": 2})
    store.refresh()
    first, last = dt.date(2024, 5, 1), dt.date(2025, 6, 15)
    known = [s for s in SCOPES if store.geo.known(s)]
    if scope in known:
        want = _naive(rows, scope, by)
        for metric in METRICS:
            got = history(store.reader(), CFG, store.geo, HistoryQuery(
                scope=scope, metric=metric, by=by, first=first, last=last), NOW)
            for point in got.points:
                expected = want.get(point.period, {}).get(metric)
                assert _close(point.value, expected), (scope, by, metric, point)
    engine = MetricsEngine(CFG)
    engine.apply_batch(items)
    for scope in known:
        live = metrics(engine, scope, "today", NOW)
        for metric in (*METRICS, "incidents.within_sla", "incidents.same_day_share",
                       "incidents.mean_first_action_s", *SOURCE_METRICS):
            got = history(store.reader(), CFG, store.geo, HistoryQuery(
                scope=scope, metric=metric, by="day", first=last, last=last), NOW)
            assert _close(got.points[-1].value, value(metric, live)), (scope, metric)
            if metric.startswith("incidents.by_source.") and "first_action" not in metric:
                source, name = metric.split(".")[2:]
                res = live.incidents.by_source.get(source)
                want_n = 0 if res is None else res.opened if name == "opened" else res.resolved
                assert got.points[-1].n == want_n, (scope, metric)
    store.close()
