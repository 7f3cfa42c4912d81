"""Voice workers through a real NATS: latency, ASR backlog behaviour, live-mic capacity.

One nats-server, a ``VoiceWorker`` and an ``AsrWorker`` in this process:

1. **latency, no ASR worker**: clips played in real time; end of speech -> ``cx.voice``
   event (VAD closing delay + emotion + publish; ``asr`` = ``no_worker``);
2. **latency, warm ASR worker**: the same with speech recognition (model loaded first);
3. **burst**: many mics start speaking at once (default backlog of 30 s of speech):
   how many utterances are recognised and how many skipped (``backlog``), how long the
   last one takes, and the ASR worker's real-time factor;
4. **capacity**: ``--mics`` simulated microphones (``simulators.audio.MicFeed``:
   conversations over room noise, 8/16/48 kHz) without ASR; CPU time of the worker's
   audio callback per second of audio -> live mics one core sustains.

    .venv/bin/python bench/voice_workers.py [--mics 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxpulse.config import Config, load_config_text
from simulators.audio import CLIP_RATE_HZ, AudioFrame, MicFeed, load_clips
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats
from voice.asr import DEFAULT_CACHE_DIR
from voice.asr_worker import AsrWorker
from voice.worker import VoiceWorker


def config(prefix: str, data_dir: str, asr: bool = True) -> Config:
    return load_config_text(f"""
[core]
data_dir = "{data_dir}"
[nats]
prefix = "{prefix}"
[voice]
model_cache_dir = "{DEFAULT_CACHE_DIR}"
asr_enabled = {str(asr).lower()}
[[locations]]
id = "ru1"
language = "ru"
[[locations]]
id = "en1"
language = "en"
""")


def frames(
    clips: dict[str, Any], names: list[str], t0_ms: int, gap_s: float = 2.5
) -> list[AudioFrame]:
    parts = [np.zeros(2 * CLIP_RATE_HZ, np.float32)]
    for n in names:
        parts += [clips[n].pcm, np.zeros(int(gap_s * CLIP_RATE_HZ), np.float32)]
    x = np.concatenate(parts)
    x = x + np.random.default_rng(len(names)).standard_normal(len(x)).astype(np.float32) * 120
    pcm = np.clip(x, -32768, 32767).astype("<i2")
    return [AudioFrame(i + 1, t0_ms + i * 100, 16000, pcm[i * 1600:(i + 1) * 1600].tobytes())
            for i in range(len(pcm) // 1600)]


async def play(nc: Any, subject: str, fr: list[AudioFrame], paced: bool) -> None:
    start = time.time()
    for i, f in enumerate(fr):
        if paced:
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.1 - time.time()))
        await nc.publish(subject, f.pcm, headers=f.headers())
    await nc.flush()


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[float, dict[str, Any]]] = []

    async def on_msg(self, msg: Any) -> None:
        self.items.append((time.time(), json.loads(msg.data)))

    async def wait(self, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.items) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def latency(
    nc: Any, clips: dict[str, Any], subject: str, names: list[str], pad_ms: int
) -> list[float]:
    ev = Events()
    sub = await nc.subscribe(subject.replace(".audio.", ".voice."), cb=ev.on_msg)
    await play(nc, subject, frames(clips, names, int(time.time() * 1000)), paced=True)
    await ev.wait(len(names), 30)
    await sub.unsubscribe()
    return [t * 1000 - (d["end"] - pad_ms) for t, d in ev.items]


async def burst(
    nc: Any, worker: VoiceWorker, asr: AsrWorker, clips: dict[str, Any], mics: int
) -> dict[str, Any]:
    ev = Events()
    sub = await nc.subscribe("cx.voice.>", cb=ev.on_msg)
    busy0, audio0 = asr.busy_s, asr.audio_s
    ru = [n for n in clips if n.startswith("ru_")]
    t0 = int(time.time() * 1000) - 60_000
    started = time.time()
    total = 0
    for m in range(mics):
        names = [ru[(m * 3 + k) % len(ru)] for k in range(3)]
        total += len(names)
        await play(nc, f"cx.audio.ru1.burst{m}", frames(clips, names, t0, gap_s=1.0), paced=False)
    await ev.wait(total, 120)
    await sub.unsubscribe()
    asr_of = [d["asr"] for _, d in ev.items]
    ok = [t for t, d in ev.items if d["asr"] == "ok"]
    return {"utterances": len(ev.items), "expected": total, "ok": asr_of.count("ok"),
            "backlog": asr_of.count("backlog"), "last_ok_s": max(ok) - started if ok else None,
            "rtf": round((asr.busy_s - busy0) / max(asr.audio_s - audio0, 1e-9), 3)}


async def capacity(url: str, tmp: str, mics: int, seconds: int) -> dict[str, float]:
    cfg = config("cap", tmp, asr=False)
    nc = await connect(cfg.nats, url, "cap")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    worker = VoiceWorker(cfg, nc, js)
    await worker.start()
    busy = [0.0]
    inner = worker._on_audio

    async def timed(msg: Any) -> None:
        t = time.thread_time()
        await inner(msg)
        busy[0] += time.thread_time() - t

    for sub in worker._subs[:1]:  # re-route the audio subscription through the timer
        await sub.unsubscribe()
    worker._subs[0] = await nc.subscribe(worker.subjects.audio_wildcard, cb=timed)
    clips = load_clips()
    feeds = [MicFeed.seeded("ru1", f"m{i}", clips, seed=7) for i in range(mics)]
    t0 = int(time.time() * 1000) - seconds * 1000
    pub = await connect(cfg.nats, url, "cap-pub")
    sent = 0
    for k in range(seconds * 10):
        for f in feeds:
            fr = f.frame(t0 + k * 100, agitation=0.3)
            if fr is not None:
                await pub.publish(f"cap.audio.{f.location}.{f.mic}", fr.pcm, headers=fr.headers())
                sent += 1
        await pub.flush()
        await asyncio.sleep(0)
    deadline = time.monotonic() + 60
    while worker.counts["chunks"] < sent and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    audio_s = mics * seconds
    result = {"mics": mics, "audio_s": audio_s, "cpu_s": busy[0], "chunks": worker.counts["chunks"],
              "sent": sent, "utterances": worker.counts["utterances"],
              "streams_per_core": audio_s / busy[0] if busy[0] else 0.0}
    await worker.stop()
    await pub.close()
    await nc.close()
    return result


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    clips = {c.info.file: c for c in load_clips()}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedNats(Path(tmp) / "nats") as srv:
        cfg = config("cx", tmp)
        nc = await connect(cfg.nats, srv.url, "bench")
        js = nc.jetstream()
        await ensure_streams(js, cfg)
        worker = VoiceWorker(cfg, nc, js)
        await worker.start()
        names = [
            "ru_greeting_1.wav",
            "ru_question_2.wav",
            "ru_complaint_1.wav",
            "ru_farewell_1.wav",
        ]
        vad_only = await latency(nc, clips, "cx.audio.ru1.lat0", names, cfg.voice.pad_ms)
        asr_nc = await connect(cfg.nats, srv.url, "bench-asr")
        asr = AsrWorker(cfg, asr_nc)
        await asr.start()
        load_s = time.monotonic()
        await asyncio.to_thread(asr.transcriber.transcribe, clips[names[0]].pcm / np.float32(32768),
                                "ru")
        load_s = time.monotonic() - load_s
        with_asr = await latency(nc, clips, "cx.audio.ru1.lat1", names + names, cfg.voice.pad_ms)
        b = await burst(nc, worker, asr, clips, args.burst_mics)
        await worker.stop()
        await asr.stop()
        cap = await capacity(srv.url, tmp, args.mics, args.seconds)
        await nc.close()
        await asr_nc.close()
    rows = [
        {
            "figure": "end of speech -> cx.voice event, no ASR worker (median / max ms)",
            "value": f"{statistics.median(vad_only):.0f} / {max(vad_only):.0f}",
            "target": "real time",
        },
        {
            "figure": "end of speech -> cx.voice event with transcript, warm ASR (median / max ms)",
            "value": f"{statistics.median(with_asr):.0f} / {max(with_asr):.0f}",
            "target": "",
        },
        {"figure": "ASR model load + first utterance (s)", "value": f"{load_s:.2f}", "target": ""},
        {
            "figure": f"burst: {args.burst_mics} mics x 3 utterances at once, 30 s backlog",
            "value": f"{b['ok']} recognised, {b['backlog']} skipped (backlog) of {b['expected']}; "
            f"last transcript after {b['last_ok_s']:.1f} s; ASR RTF {b['rtf']}",
            "target": "",
        },
        {
            "figure": f"live mics per core, VAD+silero+emotion through NATS ({cap['mics']} mics, "
            f"{cap['audio_s']} s of audio)",
            "value": f"{cap['streams_per_core']:.0f} ({cap['cpu_s']:.1f} CPU s; "
            f"{cap['chunks']}/{cap['sent']} chunks, {cap['utterances']} utterances)",
            "target": ">= 200",
        },
    ]
    print("| figure | value | target |\n|---|---|---|")
    for r in rows:
        print(f"| {r['figure']} | {r['value']} | {r['target']} |")
    return {"title": "voice workers through NATS", "rows": rows}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mics", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--burst-mics", type=int, default=8)
    ap.add_argument("--json", help="write the rows as JSON here")
    a = ap.parse_args()
    out = asyncio.run(main(a))
    if a.json:
        Path(a.json).write_text(json.dumps(out, ensure_ascii=False, indent=1))
