"""Voice test helpers: the voice config of two locations, clips turned into live
``cx.audio`` frames, a collector of the workers' output, and the voice side of a running
stack (a voice worker and, unless told otherwise, an ASR worker on their own connections).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from cxpulse.config import Config, load_config_text
from simulators.audio import CLIP_RATE_HZ, AudioFrame, resample
from stream.nats_io import connect, ensure_streams
from stream.natscreds import Login, login_for
from voice.asr import DEFAULT_CACHE_DIR
from voice.asr_worker import AsrWorker
from voice.worker import VoiceWorker, VoiceWorkerOptions

FAST = VoiceWorkerOptions(idle_flush_s=0.5, tick_s=0.1, encounter_settle_ms=300, asr_timeout_s=20)


def voice_config(data_dir: str, prefix: str = "cx", **voice: object) -> Config:
    voice = {"model_cache_dir": str(DEFAULT_CACHE_DIR), "max_asr_backlog_s": 120, **voice}
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in voice.items())
    return load_config_text(f"""
[core]
data_dir = "{data_dir}"
snapshot_interval_s = 3600
[nats]
prefix = "{prefix}"
[voice]
{extra}
[[locations]]
id = "ru1"
region = "r"
language = "ru"
[[locations]]
id = "en1"
region = "r"
language = "en"
""")


def clip_frames(clips: dict[str, Any], names: list[str], t0_ms: int, *, rate_hz: int = 16000,
                lead_s: float = 2.0, gap_s: float = 1.5, frame_ms: int = 100,
                noise_rms: float = 120.0, seed: int = 0) -> list[AudioFrame]:
    """Clips after ``lead_s`` of room noise, ``gap_s`` apart, cut into ``cx.audio`` frames."""
    parts = [np.zeros(int(lead_s * CLIP_RATE_HZ), np.float32)]
    for name in names:
        parts += [clips[name].pcm, np.zeros(int(gap_s * CLIP_RATE_HZ), np.float32)]
    return frames_of(np.concatenate(parts), t0_ms, rate_hz=rate_hz, frame_ms=frame_ms,
                     noise_rms=noise_rms, seed=seed)


def frames_of(x16: np.ndarray, t0_ms: int, *, rate_hz: int = 16000, frame_ms: int = 100,
              noise_rms: float = 120.0, seed: int = 0) -> list[AudioFrame]:
    x = resample(x16.astype(np.float32), CLIP_RATE_HZ, rate_hz)
    x = x + np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32) * noise_rms
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2")
    n = rate_hz * frame_ms // 1000
    return [AudioFrame(i + 1, t0_ms + i * frame_ms, rate_hz, pcm[i * n:(i + 1) * n].tobytes())
            for i in range(len(pcm) // n)]


async def play(nc: Any, subject: str, frames: list[AudioFrame], *,
               paced: bool = False) -> list[float]:
    """Publish frames as a microphone would; paced: each when its audio is complete (real
    time). Returns the wall time (s) each frame was published."""
    sent = []
    start = time.time()
    frame_s = len(frames[0].pcm) / 2 / frames[0].rate_hz if frames else 0.0
    for i, f in enumerate(frames):
        if paced:
            await asyncio.sleep(max(0.0, start + (i + 1) * frame_s - time.time()))
        await nc.publish(subject, f.pcm, headers=f.headers())
        sent.append(time.time())
    await nc.flush()
    return sent


@dataclass
class Collector:
    """Every message on a subject pattern, decoded, with its arrival time."""

    items: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)

    async def on_msg(self, msg: Any) -> None:
        self.items.append((time.time(), msg.subject, json.loads(msg.data)))

    def on(self, subject: str) -> list[dict[str, Any]]:
        return [d for _, s, d in self.items if s == subject]

    async def wait(self, pred: Callable[[], bool], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not pred():
            got = [(s, d.get("asr")) for _, s, d in self.items]
            assert time.monotonic() < deadline, f"timed out; got {got}"
            await asyncio.sleep(0.05)


async def voice_stack(url: str, cfg: Config, *, asr: AsrWorker | bool | None = True,
                      options: VoiceWorkerOptions = FAST,
                      logins: dict[str, Login] | None = None) -> SimpleNamespace:
    """A voice worker (and, unless ``asr`` is False, an ASR worker) on their own connections,
    plus a test connection collecting ``voice``/``encounter`` output; with ``logins`` (a
    secured server) as the ``voice``, ``asr`` and ``admin`` users."""
    logins = logins or {}
    nc = await connect(cfg.nats, url, "test-voice", login=login_for(logins, "voice"))
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    worker = VoiceWorker(cfg, nc, js, options=options)
    await worker.start()
    asr_nc = asr_worker = None
    if asr is not False:
        asr_nc = await connect(cfg.nats, url, "test-asr", login=login_for(logins, "asr"))
        asr_worker = AsrWorker(cfg, asr_nc, name="asr-1",
                               transcriber=asr.transcriber if isinstance(asr, AsrWorker) else None)
        await asr_worker.start()
    client = await connect(cfg.nats, url, "test-client", login=login_for(logins, "admin"))
    out = Collector()
    p = cfg.nats.prefix
    await client.subscribe(f"{p}.voice.>", cb=out.on_msg)
    await client.subscribe(f"{p}.encounter.>", cb=out.on_msg)
    await client.flush()
    return SimpleNamespace(cfg=cfg, nc=nc, js=js, worker=worker, asr=asr_worker, asr_nc=asr_nc,
                           client=client, out=out, prefix=p)


async def close_stack(s: SimpleNamespace) -> None:
    await s.worker.stop()
    if s.asr is not None:
        await s.asr.stop()
        await s.asr_nc.close()
    await s.nc.close()
    await s.client.close()
