"""Thirteen months of realistic history for the demo, so trends show on a fresh install.

``history_events`` generates every day of every location (pure, seeded): visits by the
weekday x hour profile, survey answers, button presses, contacts and incidents, with a
yearly season (summer better and busier, the New Year rush worse), one location improving
steadily and one declining. ``backfill`` sends them to the archive writer of a running
deployment (``ArchiveService.import_events``, de-duplicated there, so a second run adds
nothing) and publishes the days inside the live retention to live input too, so the
core's 7- and 30-day windows hold them — except the contacts: the live demo runs at several
times an ordinary branch's traffic, and its hour-of-day profile would read against ordinary
history as a permanent surge. It does nothing when the archive already holds
feedback older than two months (not a fresh install) or when no archive runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import random
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from archive.config import ArchiveSettings
from archive.records import FeedbackQuery
from archive.service import ArchiveError, ArchiveService, ArchiveUnavailable
from simulators.comments import comment_chance, write_comment
from simulators.model import SimLocation, build_network
from simulators.profiles import (
    CHANNEL_MIX,
    WEEKDAY_FACTOR,
    hour_weight,
    lognormal_s,
    on_scale,
    pick,
    poisson,
    satisfaction,
)
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.simulate")
DAYS = 396  # 13 months and a day: the trend tile's month view has last year's line
DAY_MS = 86_400_000
CHUNK_BYTES = 600_000
Event = tuple[str, str, bytes]  # (kind, location, payload)
_enc = msgspec.json.Encoder()


def season(day: dt.date) -> tuple[float, float]:
    """(quality offset, traffic factor) of a date: best in July, worst around New Year."""
    phase = 2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25
    rush = 0.06 if (day.month, day.day) >= (12, 15) else 0.0
    return 0.05 * math.cos(phase) - rush, 1.0 + 0.12 * math.cos(phase) + 2 * rush


def trend(index: int, progress: float) -> float:
    """Quality drift: the second location improves, the third declines, others hold."""
    return {1: -0.22 + 0.3 * progress, 2: 0.12 - 0.3 * progress}.get(index, 0.0)


def _hours(rng: random.Random, weekday: int, n: int) -> list[float]:
    weights = [hour_weight(weekday, h) for h in range(24)]
    return sorted(h + rng.random() for h in rng.choices(range(24), weights, k=n))


def day_events(loc: SimLocation, day: dt.date, quality: float, traffic: float,
               rng: random.Random, questions: list[tuple[str, str]],
               until_ms: int) -> list[Event]:
    """One location's events of one local day (nothing at or after ``until_ms``)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(loc.timezone)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    out: list[Event] = []
    tag = f"bf-{loc.id}-{day.isoformat()}"

    def at(hour: float) -> int:
        return int((midnight + dt.timedelta(hours=hour)).timestamp() * 1000)

    def add(kind: str, body: dict[str, Any]) -> None:
        if body["ts"] >= until_ms:
            return
        body = {"id": f"{tag}-{len(out)}", "location": loc.id, **body}
        out.append((kind, loc.id, _enc.encode(body)))

    visits = poisson(rng, 140 * loc.traffic * traffic * WEEKDAY_FACTOR[day.weekday()])
    for k, hour in enumerate(_hours(rng, day.weekday(), visits)):
        ts = at(hour)
        add("feedback", {"type": "visit", "ts": ts})
        if rng.random() > loc.response_rate:
            continue
        u = satisfaction(rng, quality)
        session = {"session": f"{tag}-s{k}", "channel": "terminal", "ts": ts + 60_000}
        nps = on_scale(rng, u, 0, 10, 0.8)
        body: dict[str, Any] = {"type": "nps", "value": nps, **session,
                                "staff": rng.choice(loc.staff)}
        if rng.random() < comment_chance(nps / 10):
            body["comment"] = write_comment(rng, loc.language, nps / 10)
        add("feedback", body)
        if rng.random() < 0.5:
            add("feedback", {"type": "csat", "value": on_scale(rng, u, 1, 5), **session})
        if questions and rng.random() < 0.6:
            factor, question = rng.choice(questions)
            add("feedback", {"type": "csi", "factor": factor, "question": question,
                             "value": on_scale(rng, u, 1, 5), **session})
        if rng.random() < 0.4:
            value = on_scale(rng, satisfaction(rng, quality), 1, loc.button_scale, 0.5)
            add("feedback", {"type": "button", "value": value, "scale": loc.button_scale,
                             "ts": ts + 90_000})
    flows = poisson(rng, 90 * loc.flow_scale * traffic)
    for hour in _hours(rng, day.weekday(), flows):
        answered = rng.random() < 0.75 + 0.2 * quality
        add("flow", {"ts": at(hour), "channel": pick(rng, CHANNEL_MIX), "answered": answered,
                     "wait_s": lognormal_s(rng, 40 / max(quality, 0.2), 0.6, 1800)})
    for n, hour in enumerate(_hours(rng, day.weekday(), poisson(rng, 1.2 + 2 * (1 - quality)))):
        incident = f"{tag}-i{n}"
        category = "thanks" if rng.random() < 0.3 * quality else rng.choice(
            ["claim", "consultation", "service", "product_quality"])
        add("incident", {"ts": at(hour), "incident": incident, "action": "open",
                         "category": category})
        if category != "thanks":
            later = min(hour + rng.uniform(0.5, 30), 47.9)
            add("incident", {"ts": at(later), "incident": incident, "action": "resolve"})
    return out


def history_events(cfg: ArchiveSettings, end_ms: int, days: int = DAYS, seed: int = 15,
                   volume: float = 1.0) -> Iterator[Event]:
    """Every location's events of the ``days`` local days before the day of ``end_ms``
    (``volume`` scales the traffic)."""
    network = build_network(cfg)
    questions = [(q.factor, q.id) for q in cfg.csi.questions]
    last = dt.datetime.fromtimestamp(end_ms / 1000, dt.UTC).date() - dt.timedelta(days=1)
    for offset in range(days, 0, -1):
        day = last - dt.timedelta(days=offset - 1)
        q_season, traffic = season(day)
        for index, loc in enumerate(network):
            rng = random.Random(f"{seed}:{loc.id}:{day.isoformat()}")
            quality = min(max(loc.quality + q_season + trend(index, 1 - offset / days), 0.1), 0.95)
            yield from day_events(loc, day, quality, traffic * volume, rng, questions,
                                    end_ms - 60_000)


async def fresh(service: ArchiveService, now_ms: int) -> bool:
    """True when the archive holds no feedback older than two months."""
    page = await service.feedback(FeedbackQuery(until_ms=now_ms - 60 * DAY_MS, limit=1))
    return not page.items


async def backfill(cfg: ArchiveSettings, nc: Any, now_ms: int, *, days: int = DAYS,
                   volume: float = 1.0, wait_s: float = 0.0) -> int:
    """Send the history to the running archive (and recent days to live input); returns
    how many events the archive stored (0 when it had history already). ``wait_s``: how
    long to keep asking an archive that does not answer yet (it may still be starting)."""
    service = ArchiveService(cfg, nc)  # not started: it forwards to the writer
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if not await fresh(service, now_ms):
                log.info("simulate: the archive has history already; no back-fill")
                return 0
            break
        except (ArchiveUnavailable, ArchiveError) as exc:
            if time.monotonic() >= deadline:
                log.info("simulate: no archive to back-fill (%s)", exc)
                return 0
            await asyncio.sleep(2.0)
    js, subjects = nc.jetstream(), Subjects(cfg.nats.prefix)
    live_after = now_ms - (cfg.core.retention_days - 1) * DAY_MS
    stored, part, size = 0, [], 0
    for kind, location, payload in history_events(cfg, now_ms, days, volume=volume):
        part.append((kind, location, payload))
        size += len(payload) + 32
        if size >= CHUNK_BYTES:
            stored += await _send(service, js, subjects, part, live_after)
            part, size = [], 0
            await asyncio.sleep(0)  # let live traffic through
    if part:
        stored += await _send(service, js, subjects, part, live_after)
    log.info("simulate: back-filled %d days of history (%d events archived)", days, stored)
    return stored


async def _send(service: ArchiveService, js: Any, subjects: Subjects, part: list[Event],
                live_after: int) -> int:
    reply = await service.import_events(part)
    for kind, location, payload in part:
        body = msgspec.json.decode(payload)
        if body["ts"] >= live_after and kind != "flow":
            await js.publish_async(subjects.input(kind, location), payload,
                                   headers={"Nats-Msg-Id": f"{location}:{body['id']}"})
    await js.publish_async_completed()
    return reply.stored
