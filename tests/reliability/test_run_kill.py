"""``kill -9`` of the whole ``cxpulse run`` (core, alert service, HTTP server) during a burst,
twice, with the nats-server outside it; each restart serves again by itself.

The core-only crash test is tests/stream/test_crash.py; this one adds what ``run`` puts
around the core: the API answers after each restart, and at the end its numbers equal a
from-scratch recomputation, as do the core's state after a graceful stop.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msgspec

from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats, free_port
from stream.query import metrics
from tests.support.faults import (
    assert_equals_scratch,
    config,
    interleave,
    malformed,
    publish_reliably,
    scratch,
    settled_core,
    sim_items,
    stop_process,
)


def start_run(config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "run", "--config",
                                 str(config_path), "--no-dashboards"], stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        log.close()


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> float:
    """Seconds until ``/api/health`` answers 200. The bound is generous on purpose: this is
    no timing test, and a restart on a loaded 2-core CI machine (imports, numba's cache,
    Litestar) has been seen to take over 30 s (bench/archive.py measures restarts)."""
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() - t0 < 120, "cxpulse run never became healthy"
            try:
                if (await http.get("/api/health")).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


def comparable(m: dict) -> dict:
    return {k: v for k, v in m.items() if not k.endswith("_ms")}


async def test_kill_minus_nine_of_cxpulse_run(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    port = free_port()
    text, cfg = config(f'\n[nats]\nurl = "{nats_server.url}"\n[server]\nport = {port}\n'
                       f'[auth]\nenabled = false\n'
                       # the pure engine below knows no case rules: cases open nothing here
                       f'[cases]\nenabled = false\n')
    text = text.replace("[core]\n", f'[core]\ndata_dir = "{tmp_path}"\n', 1)
    (tmp_path / "config.toml").write_text(text)
    log_path = tmp_path / "run.log"
    base = f"http://127.0.0.1:{port}"
    now_ms = int(time.time() * 1000)
    good = sim_items(cfg, 20, seed=41, now_ms=now_ms)
    items = interleave(good, [malformed(i, now_ms)[:3] for i in range(300)])
    nc = await connect(cfg.nats, nats_server.url, "burst")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    proc = start_run(tmp_path / "config.toml", log_path)
    try:
        await wait_healthy(base, proc, log_path)
        third = len(items) // 3
        for k in range(3):
            burst = asyncio.create_task(publish_reliably(js, items[k * third:(k + 1) * third]
                                                         if k < 2 else items[2 * third:],
                                                         chunk=300, pause_s=0.1))
            if k < 2:
                await asyncio.sleep(0.4)  # mid-burst
                assert not burst.done(), "the kill was meant to land mid-burst"
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = start_run(tmp_path / "config.toml", log_path)
            await burst
            await wait_healthy(base, proc, log_path)
        last = (await js.stream_info(stream_names("cx")["input"])).state.last_seq
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 90
            while (await http.get("/api/health")).json()["last_seq"] < last:
                assert time.monotonic() < deadline, "cxpulse run did not catch up"
                await asyncio.sleep(0.1)
            api = {w: (await http.get("/api/metrics/network", params={"window": w})).json()
                   for w in ("7d", "30d")}
        fresh, _ = scratch(cfg, items, int(time.time() * 1000))
        for window, got in api.items():
            want = metrics(fresh, "network", window, int(time.time() * 1000))
            assert comparable(got) == comparable(msgspec.to_builtins(want)), window
        assert stop_process(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        await nc.close()
    now_s = time.time()
    core = await settled_core(cfg, nats_server.url, now_s)
    try:
        assert_equals_scratch(core, items, int(now_s * 1000))
    finally:
        await core.stop(snapshot_state=False)
