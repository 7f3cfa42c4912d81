"""The demo's back-fill: realistic, seeded history with trends; through a running writer
once (a second run stores nothing), recent days also in the live core."""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path

import msgspec

from archive.comments import TextHooks
from archive.service import ArchiveService
from cxpulse.config import load_config
from simulators.backfill import Event, backfill, history_events
from stream.core import Core
from stream.nats_server import EmbeddedNats
from tests.archive.support import config
from tests.support.checks import present

DAY_MS = 86_400_000


def _nps(events: list[Event], location: str, first: int, last: int) -> float:
    p = d = n = 0
    for kind, loc, payload in events:
        body = msgspec.json.decode(payload)
        if (loc == location and kind == "feedback" and body["type"] == "nps"
                and first <= body["ts"] < last):
            n += 1
            p += body["value"] >= 9
            d += body["value"] <= 6
    return 100 * (p - d) / n


def test_history_is_seeded_and_has_its_trends(repo_root: Path) -> None:
    cfg = load_config(repo_root / "config.toml")
    now = int(time.time() * 1000)
    events = list(history_events(cfg, now, days=396, volume=0.3))
    assert events[:50] == list(islice(history_events(cfg, now, days=396, volume=0.3), 50))
    start = now - 396 * DAY_MS
    ids = [loc.id for loc in cfg.locations]
    early, late = (start, start + 60 * DAY_MS), (now - 61 * DAY_MS, now)
    assert _nps(events, ids[1], *late) > _nps(events, ids[1], *early) + 15  # improving
    assert _nps(events, ids[2], *late) < _nps(events, ids[2], *early) - 15  # declining
    kinds = {k for k, _, _ in events}
    assert kinds == {"feedback", "flow", "incident"}


async def test_backfill_through_the_writer_once(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    cfg = config(data_dir=str(tmp_path))
    core = Core(cfg, nats_server.url)
    await core.start()
    writer = ArchiveService(cfg, core.nc, hooks=TextHooks(mask=str))
    await writer.start()
    now = int(time.time() * 1000)
    stored = await backfill(cfg, core.nc, now, days=40, volume=0.3)
    want = list(history_events(cfg, now, days=40, volume=0.3))
    assert stored == len(want)
    assert await core.wait_idle(30) and await present(writer.writer).wait_idle(30)
    live_after = now - (cfg.core.retention_days - 1) * DAY_MS
    recent = sum(msgspec.json.decode(p)["ts"] >= live_after and k != "flow" for k, _, p in want)
    assert core.engine.applied == recent
    assert await backfill(cfg, core.nc, now, days=40, volume=0.3) == 0
    await writer.stop()
    await core.stop()
