"""kill -9 of the archive writer mid-burst, and of a whole ``cxpulse run``; after a restart
the archive holds every accepted id exactly once: count and checksum against the stream."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from archive.comments import TextHooks
from archive.intake import Intake
from archive.service import ArchiveService
from archive.writer import stored_ms
from cxpulse.config import Config
from stream.events import Rejection
from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats, free_port
from tests.archive.support import CONFIG, Sent, config, make_events
from tests.reliability.test_run_kill import start_run, wait_healthy
from tests.support.checks import present
from tests.support.faults import publish_reliably, stop_process


def _items(events: list[Sent], resend: int, rng: random.Random) -> list[tuple[str, bytes, str]]:
    items = [(s, json.dumps(b, ensure_ascii=False).encode(), f"{b['location']}:{b['id']}")
             for s, b in events]
    again = [(s, p, f"again-{m}") for s, p, m in rng.sample(items, resend)]
    junk = [("cx.feedback.a", b'{"id": "j%d", "type": "nps"}' % i, f"junk{i}") for i in range(50)]
    out = items + again + junk
    rng.shuffle(out)
    return out


async def stream_keys(js: JetStreamContext, cfg: Config) -> set[str]:
    """Every (location, id) the core accepts from the input stream, by its own rules."""
    intake = Intake(cfg)
    sub = await js.pull_subscribe(f"{cfg.nats.prefix}.>", stream=stream_names("cx")["input"],
                                  config=ConsumerConfig(ack_policy=AckPolicy.NONE))
    total = (await js.stream_info(stream_names("cx")["input"])).state.messages
    keys: set[str] = set()
    seen = 0
    while seen < total:
        msgs = await sub.fetch(1000, timeout=5.0)
        seen += len(msgs)
        for msg in msgs:
            result = intake.decode("input", msg.subject, msg.data, stored_ms(msg))
            if not isinstance(result, Rejection):
                keys.add(f"{result[0].location}:{result[0].id}")
    await sub.unsubscribe()
    return keys


def archived_keys(service: ArchiveService) -> list[str]:
    rows = present(service.store).reader().execute(
        "SELECT location || ':' || id FROM feedback UNION ALL SELECT location || ':' || id FROM "
        "flow UNION ALL SELECT location || ':' || id FROM incident_steps").fetchall()
    return [r[0] for r in rows]


def checksum(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


async def _assert_exactly_once(cfg: Config, url: str) -> None:
    nc = await connect(cfg.nats, url, "check")
    service = ArchiveService(cfg, nc, hooks=TextHooks(mask=str))
    await service.start()
    assert service.leading
    assert await present(service.writer).wait_idle(30)
    want = await stream_keys(nc.jetstream(), cfg)
    got = archived_keys(service)
    assert len(got) == len(set(got)), "an id stored twice"
    assert len(got) == len(want)
    assert checksum(got) == checksum(want)
    await service.stop()
    await nc.close()


async def test_kill_minus_nine_of_the_archive_writer_mid_burst(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = config(data_dir=str(tmp_path))
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG.replace("[core]\n", f'[core]\ndata_dir = "{tmp_path}"\n', 1))
    rng = random.Random(17)
    items = _items(make_events(4000, int(time.time() * 1000), rng), 300, rng)
    nc = await connect(cfg.nats, nats_server.url, "burst")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    cmd = [sys.executable, "-m", "cxpulse.cli", "archive", "--config", str(cfg_path),
           "--nats-url", nats_server.url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kills = 0
    try:
        third = len(items) // 3
        for k in range(3):
            burst = asyncio.create_task(publish_reliably(js, items[k * third:(k + 1) * third]
                                                         if k < 2 else items[2 * third:],
                                                         chunk=200, pause_s=0.05))
            if k < 2:
                await asyncio.sleep(1.2 + rng.random())  # the writer is up and writing
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await burst
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        await nc.close()
    assert kills == 2
    await asyncio.sleep(cfg.archive.lease_s)  # the dead writer's lease expires
    await _assert_exactly_once(cfg, nats_server.url)


async def test_kill_minus_nine_of_cxpulse_run(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    port = free_port()
    text = CONFIG.replace("[core]\n", f'[core]\ndata_dir = "{tmp_path}"\n', 1) + (
        f'\n[nats]\nurl = "{nats_server.url}"\n[server]\nport = {port}\n[auth]\nenabled = false\n'
        "[voice]\nenabled = false\n[dashboards]\nenabled = false\n")
    (tmp_path / "config.toml").write_text(text)
    cfg = config(data_dir=str(tmp_path))
    rng = random.Random(23)
    items = _items(make_events(2500, int(time.time() * 1000), rng), 200, rng)
    nc = await connect(cfg.nats, nats_server.url, "burst")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    log_path = tmp_path / "run.log"
    proc = start_run(tmp_path / "config.toml", log_path)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc, log_path)
        half = len(items) // 2
        for k in range(2):
            burst = asyncio.create_task(publish_reliably(js, items[:half] if k == 0
                                                         else items[half:],
                                                         chunk=200, pause_s=0.1))
            if k == 0:
                await asyncio.sleep(0.6)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                await asyncio.sleep(cfg.archive.lease_s)
                proc = start_run(tmp_path / "config.toml", log_path)
            await burst
            await wait_healthy(f"http://127.0.0.1:{port}", proc, log_path)
        await asyncio.sleep(2.0)
        assert stop_process(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        await nc.close()
    await _assert_exactly_once(cfg, nats_server.url)
