"""The voice worker: live microphones (``cx.audio``) in, utterances, encounters and voice
incidents out. A thin NATS adapter around pure parts:

    worker = VoiceWorker(cfg, nc, js)
    worker.anger_hooks.append(lambda loc, mic, ts_ms: alerts.voice.record("anger_events", loc, ts_ms))
    worker.seen_hooks.append(lambda loc, mic, ts_ms: alerts.devices.seen(loc, mic, ts_ms))
    await worker.start()   ...   await worker.stop()

Per ``cx.audio.{location}.{mic}`` message: ``voice.audio.parse_audio`` (bad ones to
``cx.dlq.audio`` with the reason) -> ``SeqTracker`` (dropouts counted, duplicates and late
chunks dropped) -> the mic's ``VoicePipeline`` (VAD, segmentation, silero confirmation,
emotion). Each finished utterance goes to speech recognition (``AsrClient``: NATS
request/reply to the ``asr`` queue group, bounded backlog) and, when that answers or is
skipped, out as a ``VoiceEvent`` on ``cx.voice.{location}.{mic}`` (JetStream, id
``v-{loc}-{mic}-{start_ms}``), into the mic's ``IncidentSensor`` (incidents to
``cx.incident.{location}``) and ``EncounterTracker`` (``cx.encounter.{location}.{mic}``;
``cx.feedback.>`` visits and ratings close encounters). VAD and emotion never wait for
recognition: the anger hook fires as soon as the utterance ends.

Audio lives in memory only; with ``[voice] store_audio = true`` utterances are also
written as WAV files under ``[core] data_dir``/audio, never otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import wave
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from dsp.emotion import Baseline
from dsp.redact import redact
from dsp.segment import SegmentOptions
from dsp.silero import SileroGate
from stream.events import (
    EncounterEvent,
    FeedbackEvent,
    Limits,
    Rejection,
    VoiceEmotion,
    VoiceEvent,
    encode,
    validate_event,
)
from stream.nats_io import (
    connect,
    ensure_streams,
    publish_dead_letter,
    serve_until,
    stop_on_signals,
)
from stream.subjects import Subjects
from voice.asr import Transcript
from voice.asr_client import AsrClient
from voice.audio import AudioChunk, SeqTracker, mic_event_id, parse_audio
from voice.baselines import BaselineStore, MicKey
from voice.config import VoiceSettings
from voice.encounters import EncounterOptions, EncounterTracker, closed_by_of, rating_of
from voice.incident_sensor import IncidentSensor, SensorOptions, incident_event
from voice.keywords import KeywordMatcher, keyword_hits
from voice.outbox import Outbox
from voice.pipeline import PipelineOptions, Utterance, VoicePipeline

log = logging.getLogger("cxpulse.voice")
Hook = Callable[[str, str, int], None]  # (location, mic, ts_ms)


@dataclass(frozen=True, slots=True)
class VoiceWorkerOptions:
    asr_timeout_s: float = 30.0
    asr_max_inflight: int = 2        # batches (30 s packing windows) in flight at once
    idle_flush_s: float = 2.0        # no audio from a mic this long: close its utterance
    tick_s: float = 0.5              # idle flushes and encounter silence checks
    encounter_settle_ms: int = 5_000
    seen_every_ms: int = 1_000       # mic last-seen hook at most this often per mic
    evict_idle_s: float = 3_600.0    # a mic silent this long (and settled) is forgotten
    outbox_max: int = 10_000
    baselines_save_s: float = 60.0   # how often learnt emotion baselines are saved to KV


@dataclass(eq=False)
class _Mic:
    location: str
    mic: str
    language: str
    pipeline: VoicePipeline
    encounters: EncounterTracker
    sensor: IncidentSensor
    seq: SeqTracker = field(default_factory=SeqTracker)
    clock_ms: int = 0        # audio clock: epoch ms at the end of the last chunk
    last_rx: float = 0.0     # monotonic time of the last chunk
    seen_ms: int = 0
    unflushed: bool = False  # audio fed since the last flush
    utterances: int = 0

    def now_ms(self) -> int:
        """The audio clock, running on while the mic is silent."""
        return self.clock_ms + int((time.monotonic() - self.last_rx) * 1000)


@dataclass(frozen=True, slots=True, eq=False)
class _Pending:
    id: str
    mic: _Mic
    utt: Utterance
    language: str


class VoiceWorker:
    """Microphones in, voice events out; see the module docstring."""

    def __init__(self, cfg: VoiceSettings, nc: Any, js: Any, *, options: VoiceWorkerOptions | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.nc = nc
        self.js = js
        self.options = o = options or VoiceWorkerOptions()
        self.clock = clock
        self.subjects = Subjects(cfg.nats.prefix)
        self.limits = Limits(int(cfg.core.max_clock_skew_s * 1000), cfg.core.retention_days * 86_400_000)
        v = cfg.voice
        self.matcher = KeywordMatcher(v.lexicons())
        self.pipeline_options = PipelineOptions(
            segment=SegmentOptions(v.pad_ms, v.min_speech_ms, v.min_silence_ms, v.max_utterance_ms),
            confirm=SileroGate() if v.silero_confirm else None)
        self.sensor_options = SensorOptions.from_config(v)
        self.encounter_options = EncounterOptions(int(v.encounter_silence_s * 1000), o.encounter_settle_ms)
        self.asr = AsrClient(nc, self.subjects.asr, v.max_asr_backlog_s, self._on_asr,
                             timeout_s=o.asr_timeout_s, max_inflight=o.asr_max_inflight, clock=clock)
        self.outbox = Outbox(js, o.outbox_max)
        self.audio_dir = Path(cfg.core.data_dir) / "audio"
        self.anger_hooks: list[Hook] = []
        self.seen_hooks: list[Hook] = []
        self.mics: dict[tuple[str, str], _Mic] = {}
        # every mic's emotion baseline, kept past eviction and saved to KV (voice/baselines.py)
        self.baselines: dict[MicKey, Baseline] = {}
        self.baseline_store = BaselineStore(js, cfg.nats.prefix, cfg.nats.replicas)
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self._subs: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Warm the kernels up (numba, silero) off the loop, then subscribe."""
        await asyncio.to_thread(self._warm_up)
        try:
            await self.baseline_store.open()
            self.baselines.update(await self.baseline_store.load_all())
        except Exception as exc:  # noqa: BLE001 - the mics then learn their baselines anew
            log.warning("voice: stored emotion baselines not loaded: %s", exc)
        self.outbox.start()
        await self.asr.start()
        self._subs = [await self.nc.subscribe(self.subjects.audio_wildcard, cb=self._on_audio),
                      await self.nc.subscribe(self.subjects.feedback_wildcard, cb=self._on_feedback)]
        self._ticker = asyncio.create_task(self._tick_loop(), name="cxpulse-voice-tick")

    async def stop(self) -> None:
        """Unsubscribe, close open utterances and encounters, publish what is left."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for mic in self.mics.values():
            for utt in mic.pipeline.flush():
                self._resolve(self._pending(mic, utt), None, "shutdown")
        await self.asr.stop()
        for mic in self.mics.values():
            self._publish_encounters(mic.encounters.flush())
        await self._save_baselines()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outbox.stop()

    def _warm_up(self) -> None:
        noise = (np.random.default_rng(0).standard_normal(16000) * 100).astype(np.int16)
        VoicePipeline(self.pipeline_options).feed(noise.tobytes(), 0)
        if self.pipeline_options.confirm is not None:
            self.pipeline_options.confirm.accepts(noise.astype(np.float32) / np.float32(32768))

    def health(self) -> dict[str, object]:
        seq = Counter[str]()
        for mic in self.mics.values():
            seq.update(mic.seq.counters())
        return {"mics": len(self.mics), **self.counts, "audio": dict(seq),
                "rejected": dict(self.rejected), "asr": self.asr.stats(),
                "outbox": {"queued": len(self.outbox), "published": self.outbox.published,
                           "dropped": self.outbox.dropped, "retries": self.outbox.retries}}

    # -- audio ----------------------------------------------------------------------------

    async def _on_audio(self, msg: Any) -> None:
        now_ms = int(self.clock() * 1000)
        chunk = parse_audio(self.subjects, msg.subject, msg.headers, msg.data, now_ms, self.limits)
        if isinstance(chunk, Rejection):
            await self._dead_letter(msg, chunk)
            return
        mic = self._mic(chunk.location, chunk.mic)
        if not mic.seq.admit(chunk.seq, chunk.ts_ms, chunk.end_ms):
            return
        try:
            utterances = self._feed(mic, chunk)
        except Exception as exc:  # noqa: BLE001 - one bad chunk must not stop the mic
            log.exception("voice: %s/%s: chunk %d failed", chunk.location, chunk.mic, chunk.seq)
            await self._dead_letter(msg, Rejection("unprocessable", f"audio could not be processed: {exc}"))
            return
        for utt in utterances:
            self._utterance(mic, utt)
        self._publish_encounters(mic.encounters.poll(mic.clock_ms))

    def _feed(self, mic: _Mic, chunk: AudioChunk) -> list[Utterance]:
        self.counts["chunks"] += 1
        mic.clock_ms = max(mic.clock_ms, chunk.end_ms)
        mic.last_rx = time.monotonic()
        mic.unflushed = True
        if chunk.ts_ms - mic.seen_ms >= self.options.seen_every_ms:
            mic.seen_ms = chunk.ts_ms
            self._call(self.seen_hooks, mic.location, mic.mic, chunk.ts_ms)
        return mic.pipeline.feed(chunk.pcm, chunk.ts_ms, chunk.rate_hz)

    async def _dead_letter(self, msg: Any, rejection: Rejection) -> None:
        self.rejected[rejection.code] += 1
        try:
            await publish_dead_letter(self.js, self.subjects, "audio", msg.subject,
                                      msg.headers, msg.data, rejection)
        except Exception as exc:  # noqa: BLE001 - counted above; NATS trouble is logged
            log.warning("voice: dead letter for %s not stored: %s", msg.subject, exc)

    def _mic(self, location: str, mic_id: str) -> _Mic:
        mic = self.mics.get((location, mic_id))
        if mic is None:
            loc = self.cfg.location(location)
            language = (loc.language if loc and loc.language else None) or self.cfg.core.language
            baseline = self.baselines.setdefault((location, mic_id), Baseline())
            mic = _Mic(location, mic_id, language, VoicePipeline(self.pipeline_options, baseline),
                       EncounterTracker(location, mic_id, self.encounter_options),
                       IncidentSensor(self.sensor_options))
            self.mics[(location, mic_id)] = mic
        return mic

    # -- utterances -----------------------------------------------------------------------

    def _pending(self, mic: _Mic, utt: Utterance) -> _Pending:
        mic.utterances += 1
        self.counts["utterances"] += 1
        mic.encounters.begin(utt.start_ms)
        return _Pending(mic_event_id("v", mic.location, mic.mic, utt.start_ms), mic, utt, mic.language)

    def _utterance(self, mic: _Mic, utt: Utterance) -> None:
        """A finished utterance: anger hook now, audio to recognition (or skipped)."""
        p = self._pending(mic, utt)
        log.debug("voice: %s: %.1f s utterance, anger %.2f, %.0f ms after its end", p.id,
                  (utt.end_ms - utt.start_ms) / 1000, utt.emotion.anger, self.clock() * 1000 - utt.end_ms)
        if utt.emotion.anger >= self.cfg.voice.anger_threshold:
            self._call(self.anger_hooks, mic.location, mic.mic, utt.end_ms)
        if self.cfg.voice.store_audio:
            self._spawn(asyncio.to_thread(self._write_wav, p))
        if not self.cfg.voice.asr_enabled:
            self._resolve(p, None, "disabled")
        elif not self.asr.submit(p, p.id, utt.audio, p.language):
            self._resolve(p, None, "backlog")

    def _on_asr(self, key: Any, transcript: Transcript | None, status: str) -> None:
        self._resolve(key, transcript, status)

    def _resolve(self, p: _Pending, transcript: Transcript | None, status: str) -> None:
        """Publish the voice event; feed the incident sensor and the encounter tracker."""
        u, mic = p.utt, p.mic
        hits = keyword_hits(transcript, u.start_ms, self.matcher, p.language) if transcript else []
        text = redact(transcript.text)[:8000] if transcript and transcript.text else None
        if self.cfg.voice.transcript_retention_days == 0:
            text = None  # transcripts are not kept: keywords only
        emotion = VoiceEmotion(_unit(u.emotion.arousal), _unit(u.emotion.anger))
        event = VoiceEvent(id=p.id, ts=u.end_ms, location=mic.location, mic=mic.mic, start=u.start_ms,
                           end=u.end_ms, emotion=emotion, loudness_db=round(float(u.loudness_db), 2),
                           keywords=hits,
                           transcript=text, language=p.language, asr=status)
        self.outbox.put(self.subjects.voice(mic.location, mic.mic), encode(event), p.id)
        log.debug("voice: %s: published (asr %s), %.0f ms after its end", p.id, status,
                  self.clock() * 1000 - u.end_ms)
        self.counts["voice_events"] += 1
        self.counts[f"asr_{status}"] += 1
        trigger = mic.sensor.observe(u.start_ms, u.end_ms, emotion.anger, hits)
        if trigger is not None:
            inc = incident_event(mic.location, mic.mic, trigger, text, status)
            self.outbox.put(self.subjects.incident(mic.location), encode(inc), inc.id)
            self.counts["incidents"] += 1
        mic.encounters.finish(u.start_ms, u.end_ms, emotion.anger, frozenset(h.category for h in hits))
        self._publish_encounters(mic.encounters.poll(mic.now_ms()))

    def _publish_encounters(self, encounters: list[EncounterEvent]) -> None:
        for e in encounters:
            self.outbox.put(self.subjects.encounter(e.location, e.mic), encode(e), e.id)
            self.counts["encounters"] += 1

    # -- feedback, ticks ------------------------------------------------------------------

    async def _on_feedback(self, msg: Any) -> None:
        """A visit or rating at a location closes the encounters of its microphones."""
        parsed = self.subjects.parse(msg.subject)
        if parsed is None or len(parsed[1]) != 1:
            return
        location = parsed[1][0]
        result = validate_event("feedback", location, msg.data, int(self.clock() * 1000), self.limits)
        if isinstance(result, Rejection):
            return  # the core dead-letters it
        event, ts_ms = result
        assert isinstance(event, FeedbackEvent)
        for mic in [m for m in self.mics.values() if m.location == location]:
            mic.encounters.close(ts_ms, closed_by_of(event), rating_of(event))
            self._publish_encounters(mic.encounters.poll(mic.now_ms()))

    async def _tick_loop(self) -> None:
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(self.options.tick_s)
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - keep ticking
                log.exception("voice: tick failed")
            if time.monotonic() - last_save >= self.options.baselines_save_s:
                last_save = time.monotonic()
                await self._save_baselines()

    async def _save_baselines(self) -> None:
        try:
            written = await self.baseline_store.save_changed(self.baselines)
            self.counts["baselines_saved"] += written
        except Exception as exc:  # noqa: BLE001 - kept in memory; the next save retries
            log.warning("voice: saving emotion baselines failed: %s", exc)

    def _tick(self) -> None:
        """Close utterances of mics that stopped sending, close encounters by silence,
        forget mics silent for ``evict_idle_s`` (their state is re-learnt, all but the emotion
        baseline, which ``self.baselines`` keeps)."""
        o = self.options
        now = time.monotonic()
        for key, mic in list(self.mics.items()):
            if mic.unflushed and now - mic.last_rx >= o.idle_flush_s:
                mic.unflushed = False
                for utt in mic.pipeline.flush():
                    self._utterance(mic, utt)
            self._publish_encounters(mic.encounters.poll(mic.now_ms()))
            if now - mic.last_rx >= o.evict_idle_s and mic.encounters.idle:
                del self.mics[key]
                self.counts["mics_evicted"] += 1

    # -- helpers --------------------------------------------------------------------------

    def _call(self, hooks: list[Hook], location: str, mic: str, ts_ms: int) -> None:
        for hook in hooks:
            try:
                hook(location, mic, ts_ms)
            except Exception:  # noqa: BLE001 - a consumer's bug must not stop the audio
                log.exception("voice: hook failed")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write_wav(self, p: _Pending) -> None:
        """Only with ``store_audio = true``: the utterance as 16 kHz PCM16 WAV."""
        path = self.audio_dir / p.mic.location / p.mic.mic / f"{p.id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm = np.clip(p.utt.audio * 32768.0, -32768, 32767).astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(pcm.tobytes())


def _unit(x: float) -> float:
    return round(min(max(float(x), 0.0), 1.0), 4)


async def run_voice(cfg: VoiceSettings, url: str) -> None:
    """``cxpulse voice``: the voice worker as its own process, until SIGINT/SIGTERM."""
    if not cfg.voice.enabled:
        log.warning("voice worker: [voice] enabled = false; nothing to do")
        return
    stop = stop_on_signals()
    nc = await connect(cfg.nats, url, "cxpulse-voice")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    worker = VoiceWorker(cfg, nc, js)
    await worker.start()
    log.info("voice worker: listening on %s", worker.subjects.audio_wildcard)
    await serve_until(stop, worker, nc)
    log.info("voice worker stopped: %s", msgspec.json.encode(worker.health()).decode())
