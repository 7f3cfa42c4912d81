"""Runs a scenario against NATS: maps wall time to event time, paces feeds, reports.

The clock: at ``--speed 1`` event time is wall time (after an instant back-fill of the
scenario's ``backfill_s``, so the demo wall is never empty). At ``--speed X > 1`` a run of
S wall seconds covers X*S seconds of event time that END at the run's end, i.e. the
replay lies in the past and catches up with the wall clock exactly at the finish, so the
core never sees an event from the future. Audio is live by nature: it only streams at
``--speed 1``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from dataclasses import dataclass

from simulators.audio import MicFeed, load_clips
from simulators.model import SimLocation, build_network
from simulators.publisher import Publisher
from simulators.scenarios import SCENARIOS, Plan
from simulators.traffic import Traffic, make_plan, questionnaire
from stream.config import StreamSettings

log = logging.getLogger("cxpulse.simulate")
TICK_S = 0.25
REPORT_EVERY_S = 10.0


@dataclass(frozen=True)
class RunOptions:
    scenario: str
    extra_locations: int = 0
    speed: float = 1.0
    duration_s: float | None = None
    seed: int | None = None
    target: str | None = None
    mic_locations: int = 2
    load_events: int = 200_000


@dataclass(frozen=True)
class Timeline:
    """Event-time range of a run and how wall time maps onto it."""

    start_ms: int  # first event time generated
    end_ms: int | None  # None: until stopped
    anchor_ms: int  # event time at wall-clock start; it then advances at ``speed``
    speed: float
    wall_s: float | None


def timeline(scenario: str, speed: float, duration_s: float | None, now_ms: int) -> Timeline:
    """Where a run's event time lies (see the module docstring)."""
    sc = SCENARIOS[scenario]
    if speed <= 1.0:
        end = None if duration_s is None else now_ms + int(duration_s * speed * 1000)
        return Timeline(now_ms - int(sc.backfill_s * 1000), end, now_ms, speed, duration_s)
    wall_s = duration_s if duration_s is not None else sc.span_s / speed
    end = now_ms + int(wall_s * 1000)
    start = end - int(wall_s * speed * 1000)
    return Timeline(start, end, start, speed, wall_s)


def resolve_seed(seed: int | None) -> int:
    if seed is not None:
        return seed
    fresh = random.SystemRandom().randrange(2**31)
    log.info("simulate: seed %d (pass --seed %d to repeat this run)", fresh, fresh)
    return fresh


async def run(cfg: StreamSettings, pub: Publisher, opts: RunOptions) -> int:
    """Run one scenario until its end (or until cancelled); returns an exit code."""
    network = build_network(cfg, opts.extra_locations)
    seed = resolve_seed(opts.seed)
    if opts.scenario == "load":
        await run_load(cfg, pub, network, seed, opts)
        return 0
    now_ms = int(time.time() * 1000)
    tl = timeline(opts.scenario, opts.speed, opts.duration_s, now_ms)
    plan = make_plan(network, opts.scenario, tl.start_ms, tl.end_ms, seed, opts.target)
    traffic = Traffic(plan, network, questionnaire(cfg))
    log.info("simulate: %s on %d locations (target %s), event time %s .. %s, speed %g",
             opts.scenario, len(network), plan.target, _iso(tl.start_ms),
             _iso(tl.end_ms) if tl.end_ms else "open-ended", tl.speed)
    mics = []
    if tl.speed == 1.0 and opts.mic_locations > 0:
        mics = [asyncio.create_task(_mic_loop(pub, plan, feed, tl))
                for feed in _mic_feeds(network, traffic, seed, opts.mic_locations)]
    try:
        await _event_loop(pub, traffic, tl)
    finally:
        for task in mics:
            task.cancel()
        await asyncio.gather(*mics, return_exceptions=True)
        await pub.flush()
    s = pub.stats
    log.info("simulate: done: %d events acked (%d duplicates, %d errors), %d audio frames",
             s.acked, s.duplicates, s.errors, s.audio_frames)
    return 1 if s.errors else 0


async def _event_loop(pub: Publisher, traffic: Traffic, tl: Timeline) -> None:
    """Release events as event time passes; a slow publish just means a bigger next batch."""
    t0 = time.monotonic()
    last_report, published = t0, 0
    while True:
        elapsed = time.monotonic() - t0
        clock_ms = tl.anchor_ms + int(elapsed * tl.speed * 1000)
        published += await pub.publish_events(traffic.advance(clock_ms))
        if tl.end_ms is not None and clock_ms >= tl.end_ms:
            return
        if time.monotonic() - last_report >= REPORT_EVERY_S:
            last_report = time.monotonic()
            log.info("simulate: %d events published, event time %s", published, _iso(clock_ms))
        await asyncio.sleep(TICK_S)


def _mic_feeds(network: tuple[SimLocation, ...], traffic: Traffic, seed: int,
               n_locations: int) -> list[MicFeed]:
    """Mic feeds of the target location first, then the next ones, up to ``n_locations``;
    each plays its location's desk conversations, in step with the location's events."""
    clips = load_clips()
    if not clips:
        log.warning("simulate: no speech clips found; microphones carry noise only")
    ordered = sorted(network, key=lambda loc: loc.id != traffic.plan.target)[:n_locations]
    return [MicFeed.seeded(loc.id, mic, clips, seed, loc.language, desk=traffic.desks[loc.id])
            for loc in ordered for mic in loc.mics]


async def _mic_loop(pub: Publisher, plan: Plan, feed: MicFeed, tl: Timeline) -> None:
    """Stream one mic in real time; frame times are exact, sleeps absorb the jitter."""
    start_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    k = 0
    while tl.end_ms is None or start_ms + k * feed.frame_ms < tl.end_ms:
        ts_ms = start_ms + k * feed.frame_ms
        cond = plan.conditions(feed.location, ts_ms)
        frame = feed.frame(ts_ms, cond.agitation, cond.mic_down)
        if frame is not None:
            await pub.publish_audio(feed.location, feed.mic, frame)
        k += 1
        await asyncio.sleep(max(0.0, t0 + k * feed.frame_ms / 1000 - time.monotonic()))


async def run_load(cfg: StreamSettings, pub: Publisher, network: tuple[SimLocation, ...], seed: int,
                   opts: RunOptions) -> None:
    """Pre-generate and encode events, then publish them as fast as JetStream acks them."""
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 7 * 86_400_000
    plan = make_plan(network, "load", start_ms, now_ms, seed)
    traffic = Traffic(plan, network, questionnaire(cfg))
    prepared: list[tuple[str, bytes, str]] = []
    t_gen = time.perf_counter()
    cursor = start_ms
    while len(prepared) < opts.load_events and cursor < now_ms:
        cursor = min(cursor + 600_000, now_ms)
        prepared.extend(pub.prepare(e) for e in traffic.advance(cursor))
    del prepared[opts.load_events:]
    gen_s = time.perf_counter() - t_gen
    log.info("load: %d events generated and encoded in %.1f s", len(prepared), gen_s)
    gc.collect()
    gc.freeze()  # the prepared events stay alive: keep the collector off them
    deadline = None if opts.duration_s is None else time.perf_counter() + opts.duration_s
    t0 = time.perf_counter()
    for i, (subject, payload, msg_id) in enumerate(prepared):
        await pub.publish_raw(subject, payload, msg_id)
        if deadline is not None and i % 1000 == 0 and time.perf_counter() > deadline:
            break
    await pub.flush()
    wall_s = time.perf_counter() - t0
    gc.unfreeze()
    s = pub.stats
    print(f"load: {s.acked} events acked in {wall_s:.2f} s = {s.acked / wall_s:,.0f} events/s "
          f"({s.duplicates} duplicates, {s.errors} errors)", flush=True)


def _iso(ts_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_ms / 1000))
