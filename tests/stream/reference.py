"""A deliberately naive reference for every metric: loops over a list of events.

It shares no code with the engine beyond the config and event schemas: windows are decided
per event from their documented definitions, working time is counted minute by minute.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from cxpulse.config import Config
from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    FlowEvent,
    IncidentEvent,
    InputEvent,
    NpsEvent,
    VisitEvent,
)
from tests.support.checks import present

HOUR = 3_600_000
_REF = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
Events = list[tuple[InputEvent, int]]


def tz_of(cfg: Config, loc: str) -> ZoneInfo:
    return ZoneInfo(cfg.timezone_of(loc))


def offset_of(cfg: Config, loc: str) -> int:
    off = present(_REF.astimezone(tz_of(cfg, loc)).utcoffset())
    return int(off.total_seconds() * 1000) % HOUR


def region_of(cfg: Config, loc: str) -> str | None:
    lc = cfg.location(loc)
    return lc.region if lc else None


def members(cfg: Config, scope: str, seen: set[str]) -> set[str]:
    every = {loc.id for loc in cfg.locations} | seen
    if scope == "network":
        return every
    regions = {loc.region for loc in cfg.locations}
    if scope in regions:
        return {loc for loc in every if region_of(cfg, loc) == scope}
    return {scope}


def local_midnight(cfg: Config, loc: str, now_ms: int) -> int:
    tz = tz_of(cfg, loc)
    d = dt.datetime.fromtimestamp(now_ms / 1000, tz).date()
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


def in_window(cfg: Config, scope: str, window: str, loc: str, ts: int, now: int) -> bool:
    """Is an event of ``loc`` at ``ts`` inside ``window`` of ``scope``? (bucket semantics)"""
    is_location = scope == loc
    if window == "1h":
        return now // 60000 - 59 <= ts // 60000 <= now // 60000
    off = offset_of(cfg, loc) if (is_location or window == "today") else 0
    b, nb = (ts - off) // HOUR, (now - off) // HOUR
    if window == "today":
        mid = local_midnight(cfg, loc, now)
        return (mid - off) // HOUR <= b <= nb
    span = {"7d": 168, "30d": 720}[window]
    return nb - span + 1 <= b <= nb


def unique(events: Events) -> Events:
    seen: set[str] = set()
    out: Events = []
    for ev, ts in events:
        if ev.id not in seen:
            seen.add(ev.id)
            out.append((ev, ts))
    return out


def ratio(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


def feedback_metrics(cfg: Config, events: Events, scope: str, window: str,
                     now: int) -> dict[str, Any]:
    seen = {ev.location for ev, _ in events}
    locs = members(cfg, scope, seen)
    sel = [(ev, ts) for ev, ts in events
           if ev.location in locs and not isinstance(ev, (FlowEvent, IncidentEvent))]
    win = [(ev, ts) for ev, ts in sel if in_window(cfg, scope, window, ev.location, ts, now)]
    nps = [ev.value for ev, _ in win if isinstance(ev, NpsEvent)]
    p = sum(v >= 9 for v in nps)
    d = sum(v <= 6 for v in nps)
    csat = [ev.value for ev, _ in win if isinstance(ev, CsatEvent)]
    ces = [ev.value for ev, _ in win if isinstance(ev, CesEvent)]
    btn = [ev for ev, _ in win if isinstance(ev, ButtonEvent)]
    visits = sum(isinstance(ev, VisitEvent) for ev, _ in win)
    # a session counts once, at its earliest answer; an answer without session is its own
    first: dict[tuple[str, str], tuple[int, str]] = {}
    sessions = 0
    for ev, ts in sel:
        if isinstance(ev, (NpsEvent, CsatEvent, CesEvent, CsiEvent)):
            if ev.session:
                key = (ev.location, ev.session)
                if key not in first or ts < first[key][0]:
                    first[key] = (ts, ev.location)
            elif in_window(cfg, scope, window, ev.location, ts, now):
                sessions += 1
    sessions += sum(in_window(cfg, scope, window, loc, ts, now) for ts, loc in first.values())
    silent = max(visits - sessions, 0)
    det_nr = d + (silent if cfg.core.non_responders_as == "detractor" else 0)
    csi = [ev for ev, _ in win if isinstance(ev, CsiEvent)]
    factors: dict[str, list[float]] = {}
    questions: dict[tuple[str, str], list[float]] = {}
    for ev in csi:
        x = (ev.value - 1) / (ev.scale - 1)
        factors.setdefault(ev.factor, []).append(x)
        questions.setdefault((ev.factor, ev.question), []).append(x)
    return {
        "promoters": p, "detractors": d, "passives": len(nps) - p - d, "responses": len(nps),
        "nps": ratio(100 * (p - d), len(nps)),
        "visits": visits, "sessions": sessions,
        "response_rate": None if visits == 0 else min(sessions / visits, 1.0),
        "nps_with_non_responders": ratio(100 * (p - det_nr), len(nps) + silent),
        "csat": ratio(100 * sum(v >= 4 for v in csat), len(csat)), "csat_responses": len(csat),
        "ces": ratio(sum(ces), len(ces)), "ces_responses": len(ces),
        "csi_total": ratio(sum(sum(v) for v in factors.values()), len(csi)),
        "csi_factors": {f: sum(v) / len(v) for f, v in factors.items()},
        "csi_questions": {k: (sum(v) / len(v), len(v)) for k, v in questions.items()},
        "btn_presses": len(btn),
        "btn_index": ratio(100 * sum((b.value - 1) / (b.scale - 1) for b in btn), len(btn)),
        "btn_shares": {str(v): sum(b.value == v for b in btn) / len(btn) for v in range(1, 6)}
        if btn else {},
    }


def flow_metrics(cfg: Config, events: Events, scope: str, window: str,
                 now: int) -> dict[str, Any]:
    seen = {ev.location for ev, _ in events}
    locs = members(cfg, scope, seen)
    win = [ev for ev, ts in events if isinstance(ev, FlowEvent) and ev.location in locs
           and in_window(cfg, scope, window, ev.location, ts, now)]

    def mean(name: str) -> float | None:
        vals = [round(getattr(e, name) * 10) / 10 for e in win if getattr(e, name) is not None]
        return ratio(sum(vals), len(vals))

    ans = [e.answered for e in win if e.answered is not None]
    fcr = [e.first_contact_resolved for e in win if e.first_contact_resolved is not None]
    return {
        "contacts": len(win),
        "by_channel": {
            c: sum(e.channel == c for e in win)
            for c in ("phone", "site", "marketplace", "social", "email", "chat", "walk_in", "other")
        },
        "answered_share": ratio(sum(ans), len(ans)),
        "fcr": ratio(sum(fcr), len(fcr)),
        "mean_wait_s": mean("wait_s"),
        "mean_handle_s": mean("handle_s"),
        "mean_hold_s": mean("hold_s"),
    }


# -- incidents -------------------------------------------------------------------------------

def _open_at(cfg: Config, loc: str, ms: int) -> bool:
    tz = tz_of(cfg, loc)
    t = dt.datetime.fromtimestamp(ms / 1000, tz)
    lc = cfg.location(loc)
    holidays = set(cfg.calendar.holidays) | set(lc.holidays if lc else ())
    if t.date().isoformat() in holidays:
        return False
    span = (lc.hours if lc and lc.hours else cfg.calendar.hours).minutes()[t.weekday()]
    return span is not None and span[0] <= t.hour * 60 + t.minute < span[1]


_OPEN_CACHE: dict[tuple[int, str, int], bool] = {}


def open_minute(cfg: Config, loc: str, minute: int) -> bool:
    key = (id(cfg), loc, minute)
    if key not in _OPEN_CACHE:
        _OPEN_CACHE[key] = _open_at(cfg, loc, minute * 60_000)
    return _OPEN_CACHE[key]


def working_deadline(cfg: Config, loc: str, start: int, minutes: int) -> int:
    """Walk minute by minute until ``minutes`` of open time have passed."""
    remaining = minutes * 60_000
    t = start
    while True:
        nxt = (t // 60_000 + 1) * 60_000
        if open_minute(cfg, loc, t // 60_000):
            if nxt - t >= remaining:
                return t + remaining
            remaining -= nxt - t
        t = nxt


def review_deadline(cfg: Config, loc: str, start: int, days: int) -> int:
    """Closing time of the ``days``-th working day after the day of ``start``."""
    tz = tz_of(cfg, loc)
    d = dt.datetime.fromtimestamp(start / 1000, tz).date()
    counted = 0
    while True:
        d += dt.timedelta(days=1)
        mid = int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000) // 60_000
        opens = [m for m in range(mid, mid + 24 * 60) if open_minute(cfg, loc, m)]
        if opens:
            counted += 1
            if counted >= days:
                return (opens[-1] + 1) * 60_000


def incident_records(cfg: Config, events: Events, now: int) -> list[dict[str, Any]]:
    steps: dict[tuple[str, str], list[tuple[int, int, str, IncidentEvent]]] = {}
    rank = {"open": 0, "assign": 1, "comment": 2, "resolve": 3, "reopen": 4}
    for ev, ts in events:
        if isinstance(ev, IncidentEvent):
            steps.setdefault((ev.location, ev.incident), []).append(
                (ts, rank[ev.action], ev.id, ev)
            )
    out = []
    for (loc, _), st in steps.items():
        st.sort(key=lambda s: s[:3])
        opens = [s for s in st if s[1] == 0]
        if not opens:
            continue
        opened, first = opens[0][0], opens[0][3]
        handled = resolved = None
        for ts, _, _, ev in st:
            if ev.action in ("assign", "resolve") and (handled is None or ts < handled):
                handled = ts
            if ev.action == "resolve":
                resolved = ts
            if ev.action == "reopen" and resolved is not None:
                resolved = None
        if first.category == "thanks":
            handled = resolved = opened
        if first.channel in cfg.sla.live_call_channels:
            tdl = opened + int(cfg.sla.live_call_transfer_minutes * 60_000)
        else:
            tdl = working_deadline(cfg, loc, opened, int(cfg.sla.transfer_working_hours * 60))
        rdl = (opened + int(cfg.sla.claim_hours * HOUR) if first.category == "claim"
               else review_deadline(cfg, loc, opened, cfg.sla.review_working_days))
        late = ((handled is None and now > tdl) or (handled is not None and handled > tdl)
                or (resolved is None and now > rdl) or (resolved is not None and resolved > rdl))
        out.append({"loc": loc, "category": first.category, "opened": opened,
                    "resolved": resolved, "late": late and first.category != "thanks",
                    "tdl": tdl, "rdl": rdl})
    return out


def incident_metrics(cfg: Config, events: Events, scope: str, window: str,
                     now: int) -> dict[str, Any]:
    seen = {ev.location for ev, _ in events}
    locs = members(cfg, scope, seen)
    recs = [r for r in incident_records(cfg, events, now) if r["loc"] in locs]

    def started(r: dict[str, Any], ts: int | None) -> bool:
        return ts is not None and ts <= now and in_window(cfg, scope, window, r["loc"], ts, now)

    real = [r for r in recs if r["category"] != "thanks"]
    opened = [r for r in real if started(r, r["opened"])]
    thanks = [r for r in recs if r["category"] == "thanks" and started(r, r["opened"])]
    resolved = [r for r in real if started(r, r["resolved"])]
    open_now = [r for r in real if r["resolved"] is None and r["opened"] <= now]
    return {
        "open": len(open_now), "opened": len(opened), "resolved": len(resolved),
        "sla_breached": sum(r["late"] for r in opened),
        "open_breached": sum(r["late"] for r in open_now),
        "within_sla": ratio(sum(not r["late"] for r in resolved), len(resolved)),
        "thanks_share": ratio(len(thanks), len(thanks) + len(opened)),
        "mean_resolve_s": ratio(sum((r["resolved"] - r["opened"]) / 1000 for r in resolved),
                                len(resolved)),
    }
