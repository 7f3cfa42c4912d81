"""Publish simulated traffic to the NATS of a config (cxpulse simulate), as a device does:
against the embedded server of ``cxpulse run`` it connects as the ``device`` user (the
login is in the data dir), against an external cluster with the ``device`` entry of
``[nats] credentials_file``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from urllib.parse import urlsplit

from nats.aio.client import Client as NATS

from cxpulse.config import Config, load_config
from cxpulse.connections import connect_as, device_login
from simulators.backfill import DAYS, backfill
from simulators.model import build_network
from simulators.publisher import Publisher
from simulators.runner import RunOptions, run
from simulators.scenarios import SCENARIOS
from stream.nats_io import connect, ensure_streams
from stream.nats_server import port_open
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.simulate")


def build_parser() -> argparse.ArgumentParser:
    scenarios = "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values())
    p = argparse.ArgumentParser(prog="cxpulse simulate", description=__doc__,
                                epilog=f"Scenarios: {scenarios}.")
    p.add_argument("--config", default="config.toml", help="config file (default: %(default)s)")
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--locations", type=int, default=0, metavar="N",
                   help="generate N more locations (sim-001, ...) beyond the config's")
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="replay X times faster than real time, in the past, ending now")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="wall-clock seconds to run (default: the scenario's span / speed; "
                        "open-ended at speed 1)")
    p.add_argument("--seed", type=int, default=None, metavar="K",
                   help="repeatable run (same seed and start: same events and ids)")
    p.add_argument("--nats-url", default=None, metavar="URL",
                   help="default: [nats] url, else the embedded server of `cxpulse run`")
    p.add_argument("--target", default=None, metavar="LOCATION",
                   help="the location bad-shift degrades / outage silences (default: first)")
    p.add_argument("--mics", type=int, default=2, metavar="N",
                   help="locations whose microphones stream audio at speed 1 (0: no audio)")
    p.add_argument("--events", type=int, default=200_000, metavar="N",
                   help="load: how many events to pre-generate and publish")
    p.add_argument("--no-history", action="store_true",
                   help="demo: skip the 13-month back-fill of a fresh archive")
    return p


def nats_url(cfg: Config, override: str | None) -> str:
    """``--nats-url``, else the config's URL, else the embedded server ``cxpulse run`` starts."""
    if override:
        return override
    if cfg.nats.url:
        return cfg.nats.url
    return f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}"


async def _reachable(url: str, timeout_s: float = 5.0) -> bool:
    """True once one of the URL's servers accepts TCP (nats-py would retry forever)."""
    servers = [urlsplit(u.strip() if "://" in u else f"nats://{u.strip()}")
               for u in url.split(",") if u.strip()]
    deadline = time.monotonic() + timeout_s
    while True:
        for srv in servers:
            if await asyncio.to_thread(port_open, srv.hostname or "127.0.0.1", srv.port or 4222):
                return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)


async def demo_history(cfg: Config, url: str, device_nc: NATS, *, days: int = DAYS,
                       volume: float = 1.0, wait_s: float = 60.0) -> int:
    """The demo's 13 months of history, back-filled into the archive: an import, so it goes
    in as the ``admin`` user (as ``cxpulse import`` does); a device may not query the
    archive. Without per-service logins the simulator's own connection is used."""
    if device_login(cfg) is None:
        return await backfill(cfg, device_nc, int(time.time() * 1000), days=days,
                              volume=volume, wait_s=wait_s)
    try:
        admin = await connect_as(cfg, url, "admin", "cxpulse-simulate-history", attempts=4)
    except Exception as exc:  # noqa: BLE001 - the live demo runs on without history
        log.warning("simulate: no history back-fill: cannot connect as admin (%s)", exc)
        return 0
    try:
        return await backfill(cfg, admin, int(time.time() * 1000), days=days, volume=volume,
                              wait_s=wait_s)
    finally:
        await admin.drain()


async def _main(cfg: Config, args: argparse.Namespace) -> int:
    url = nats_url(cfg, args.nats_url)
    if not await _reachable(url):
        log.error("simulate: nothing listens at %s; is `cxpulse run` running? (or pass "
                  "--nats-url)", url)
        return 1
    login = device_login(cfg)
    try:
        nc = await connect(cfg.nats, url, f"cxpulse-simulate-{args.scenario}", login=login,
                           attempts=4)
    except Exception as exc:  # noqa: BLE001 - any connect failure gets the same advice
        log.error("simulate: cannot reach NATS at %s (%s); is `cxpulse run` running, or pass "
                  "--nats-url", url, exc)
        return 1
    try:
        if login is None:  # a device may not touch streams (the core has made them)
            await ensure_streams(nc.jetstream(), cfg)
        pub = Publisher(nc, Subjects(cfg.nats.prefix))
        opts = RunOptions(
            scenario=args.scenario, extra_locations=args.locations, speed=args.speed,
            duration_s=args.duration, seed=args.seed, target=args.target,
            mic_locations=args.mics, load_events=args.events,
        )
        history = (asyncio.create_task(demo_history(cfg, url, nc))
                   if args.scenario == "demo" and not args.no_history else None)
        try:
            return await run(cfg, pub, opts)
        finally:
            if history is not None and not history.done():
                history.cancel()
    finally:
        await nc.drain()


async def _until_signalled(cfg: Config, args: argparse.Namespace) -> int:
    """Run; SIGTERM (``cxpulse run`` stopping its simulator) or Ctrl-C ends it cleanly."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await _main(cfg, args)
    except asyncio.CancelledError:
        log.info("simulate: stopped")
        return 0


def main(argv: list[str]) -> int:
    """Entry point of ``cxpulse simulate ARGS``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be positive")
    if args.locations < 0 or args.mics < 0 or args.events <= 0:
        parser.error("--locations, --mics and --events must not be negative")
    cfg = load_config(args.config)
    if args.target and args.target not in {loc.id for loc in build_network(cfg, args.locations)}:
        parser.error(f"--target {args.target!r} is not a simulated location")
    return asyncio.run(_until_signalled(cfg, args))
