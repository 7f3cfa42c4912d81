"""The JetStream directory's disk fills up during a burst, then space returns.

nats-server 2.x treats ENOSPC on a stream's block file as a *critical write error* that
sticks until the server restarts (every later store of that stream fails, even with space
back), so recovery means: space returns and the embedded server's supervisor
(``EmbeddedNats.supervise``, run by ``cxpulse run``) restarts it on the same store by itself.
Proven: publishers get no ack while the disk is full and keep their events (nothing
acknowledged is lost), the server log names the cause, the store is not corrupted, and the
core process that ran throughout catches up without being touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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

DISK_MB = 48


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MB at ``path`` (root only)."""
    path.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, leave_bytes: int) -> Path:
    st = os.statvfs(path)
    filler = path / "filler"
    with open(filler, "wb") as f:
        f.truncate(0)
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_bytes))
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small tmpfs")
async def test_disk_full_then_space_returns(tmp_path: Path) -> None:
    # streams unbounded: this disk fills by other means (bounded streams: bench/flood.py)
    text, cfg = config("\n[nats]\nmax_bytes_input = -1\nmax_bytes_voice = -1\n"
                       "max_bytes_dlq = -1\n")
    (tmp_path / "config.toml").write_text(text)
    with small_disk(tmp_path / "disk") as disk:
        log_file = tmp_path / "nats.log"
        server = EmbeddedNats(disk / "js", log_file=log_file).start()
        now_ms = int(time.time() * 1000)
        good = sim_items(cfg, 30, seed=5, now_ms=now_ms)
        bad = [malformed(i, now_ms)[:3] for i in range(len(good) // 25)]
        items = interleave(good, bad)
        half = len(items) // 3
        names = stream_names(cfg.nats.prefix)
        nc = await connect(cfg.nats, server.url, "burst")
        proc = None
        try:
            js = nc.jetstream()
            await ensure_streams(js, cfg)
            proc = start_core_process(server.url, tmp_path / "config.toml", tmp_path / "core.log")
            await publish_reliably(js, items[:half], chunk=400)
            await wait_caught_up(js, names["input"], proc, tmp_path / "core.log")
            filler = fill(disk, 150_000)
            rest = asyncio.create_task(publish_reliably(js, items[half:], chunk=400,
                                                        deadline_s=90))
            deadline = time.monotonic() + 20
            while b"no space left on device" not in log_file.read_bytes():
                assert time.monotonic() < deadline, "the disk never filled"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # a while with a full disk, publishers retrying
            assert not rest.done() and proc.poll() is None
            supervisor = asyncio.create_task(server.supervise(0.2))
            await asyncio.sleep(0.5)
            assert server.disk_full and server.restarts == 0  # noticed, waiting for space
            filler.unlink()  # space returns: the supervisor restarts the server by itself
            resent = await asyncio.wait_for(rest, 90)
            assert server.restarts == 1 and not server.disk_full
            supervisor.cancel()
            assert resent > 0
            await wait_caught_up(js, names["input"], proc, tmp_path / "core.log")
            assert stop_process(proc) == 0
            letters = await dead_letters(js, names["dlq"])
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
            await nc.close()
        assert {h["Cx-Orig-Nats-Msg-Id"] for h in letters} == {b[2] for b in bad}
        assert all(h["Cx-Reason"] and h["Cx-Reason-Code"] for h in letters)
        now_s = time.time()
        core = await settled_core(cfg, server.url, now_s)
        try:
            assert_equals_scratch(core, items, int(now_s * 1000))
        finally:
            await core.stop(snapshot_state=False)
            server.stop()
