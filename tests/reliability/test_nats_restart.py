"""The nats-server goes away during a burst (once SIGTERM, once SIGKILL) and comes back on
the same port and store; the core runs as its own process throughout and needs no help."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats
from tests.support.faults import (
    assert_equals_scratch,
    config,
    dead_letters,
    interleave,
    malformed,
    publish_reliably,
    settled_core,
    sim_items,
    start_core_process,
    stop_process,
    wait_caught_up,
)


async def _bounce(server: EmbeddedNats, at_s: float, hard: bool, down_s: float = 0.7) -> None:
    await asyncio.sleep(at_s)
    server.kill() if hard else server.stop()
    await asyncio.sleep(down_s)
    server.start()


async def test_nats_restarts_mid_burst_core_process_catches_up(tmp_path: Path) -> None:
    text, cfg = config()
    (tmp_path / "config.toml").write_text(text)
    server = EmbeddedNats(tmp_path / "js").start()
    good = sim_items(cfg, 40, seed=3)
    bad = [malformed(i, int(time.time() * 1000))[:3] for i in range(len(good) // 20)]
    items = interleave(good, bad)
    names = stream_names(cfg.nats.prefix)
    proc = None
    nc = await connect(cfg.nats, server.url, "burst")
    try:
        js = nc.jetstream()
        await ensure_streams(js, cfg)
        proc = start_core_process(server.url, tmp_path / "config.toml", tmp_path / "core.log")
        faults = asyncio.gather(_bounce(server, 0.8, hard=False), _bounce(server, 2.6, hard=True))
        resent = await publish_reliably(js, items, chunk=400, pause_s=0.1)
        await faults
        assert resent > 0  # the faults did land mid-burst
        last = await wait_caught_up(js, names["input"], proc, tmp_path / "core.log")
        assert stop_process(proc) == 0  # still alive, stops cleanly, final snapshot
        letters = await dead_letters(js, names["dlq"])
        assert {h["Cx-Orig-Nats-Msg-Id"] for h in letters} == {b[2] for b in bad}
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        await nc.close()

    now_s = time.time()
    core = await settled_core(cfg, server.url, now_s)
    try:
        assert core.engine.last_seq == last  # the process's own snapshot covered everything
        assert_equals_scratch(core, items, int(now_s * 1000))
        # a bad message may be stored or delivered twice across the restarts: the health
        # counter may then count it twice, but it is dead-lettered under one id
        assert sum(core.engine.rejects.values()) >= len(bad)
    finally:
        await core.stop(snapshot_state=False)
        server.stop()
