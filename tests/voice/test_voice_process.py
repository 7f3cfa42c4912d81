"""``cxpulse voice`` as its own process: its anger and its microphones reach the alert
service in another process only through NATS (``CX_VOICE``, ``cx.mic``), no in-process
hook. A real subprocess runs the voice worker against a real nats-server; the alert service
runs here; angry speech is published as live ``cx.audio`` frames."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from alerting.service import AlertService
from cxpulse.config import load_config
from simulators.audio import Clip
from stream.nats_io import connect
from stream.nats_server import EmbeddedNats
from tests.alerting.fakes import FakeReader
from tests.support.voice import clip_frames, play

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[core]
data_dir = "{data}"
[nats]
url = "{url}"
prefix = "proc"
[voice]
asr_enabled = false
[[locations]]
id = "en1"
region = "r"
language = "en"
[alerts]
eval_interval_s = 3600
[[alerts.rules]]
id = "anger"
metric = "voice.anger_events"
window = "15m"
op = ">="
threshold = 1
severity = "critical"
[[alerts.rules]]
id = "mic-heard"
metric = "device.silent_minutes"
op = "<"
threshold = 1
"""


async def wait_ready(proc: subprocess.Popen[bytes], marker: bytes, timeout_s: float) -> None:
    """Read the process's log until ``marker`` (it logs to stderr)."""
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    seen, deadline = b"", time.monotonic() + timeout_s
    while marker not in seen:
        assert proc.poll() is None, f"cxpulse voice exited: {seen.decode(errors='replace')}"
        assert time.monotonic() < deadline, f"not ready: {seen.decode(errors='replace')}"
        seen += proc.stderr.read() or b""
        await asyncio.sleep(0.05)


async def test_an_anger_alert_fires_when_cxpulse_voice_runs_elsewhere(
    nats: EmbeddedNats, clips: dict[str, Clip], tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(data=tmp_path, url=nats.url))
    cfg = load_config(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "voice", "--config", str(path)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    nc = await connect(cfg.nats, nats.url, "test-alerts")
    service = AlertService(cfg, nc, FakeReader({"en1": "r"}))
    try:
        # seconds with numba's cache warm (the in-process voice tests fill it); a clean
        # clone run of this file alone compiles the kernels first
        await wait_ready(proc, b"voice worker: listening", 180)
        await service.start()
        frames = clip_frames(clips, ["en_complaint_2.wav"], int(time.time() * 1000) - 10_000)
        await play(nc, "proc.audio.en1.desk1", frames)

        deadline = time.monotonic() + 15
        while {a.rule for a in service.list_alerts(status="firing")} != {"anger", "mic-heard"}:
            assert time.monotonic() < deadline, [(a.rule, a.status) for a in service.list_alerts()]
            await asyncio.sleep(0.2)
            await service.evaluate()
        alerts = {a.rule: a for a in service.list_alerts()}
        assert alerts["anger"].labels["location"] == "en1" and alerts["anger"].value == 1.0
        assert alerts["mic-heard"].labels["device"] == "desk1"
    finally:
        await service.stop()
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        await nc.close()
